import Testing
import MIME
@testable import SpamBayes

@Suite struct BayesTokenizerTests {
    func words(_ text: String, limits: BayesLimits = .default) -> [String] {
        var out: [String] = []
        BayesTokenizer(limits: limits).words(in: text) { out.append($0) }
        return out
    }

    @Test func bodyWordsFollowGraham() {
        // Lower-cased; "-", "'", "$" are word characters; "." and "," only between digits;
        // short words and pure numbers are left out.
        #expect(words("Buy NOW for $19.95 -- don't wait! 1,000 a to 2002 e-mail") ==
                ["buy", "now", "for", "$19.95", "don't", "wait", "e-mail"])
        #expect(words("end. Next,word") == ["end", "next", "word"])
        // Leading and trailing "-" and "'" are dropped.
        #expect(words("--'quoted'-- -x-") == ["quoted"])
    }

    @Test func longWordsBecomeSkipTokens() {
        #expect(words("abcdefghijklmnopqrstuvwxyz0123456789") == ["skip:a 30"])
        #expect(words(String(repeating: "Z", count: 21)) == ["skip:z 20"])
        #expect(words(String(repeating: "z", count: 20)) == [String(repeating: "z", count: 20)])
        var limits = BayesLimits.default
        limits.maxWordLength = 5
        limits.minWordLength = 2
        #expect(words("ab abcdef abcde", limits: limits) == ["ab", "skip:a 0", "abcde"])
    }

    @Test func unicodeWords() {
        // Letters of any script; length counted in scalars, not bytes.
        #expect(words("Prix spécial, ÉNORME réduction — Ünïcödé") == ["prix", "spécial", "énorme", "réduction", "ünïcödé"])
        #expect(words("日本語のメール") == ["日本語のメール"])
        #expect(words("€100 ok") == [])  // "€" is not a word character, "100" is a number, "ok" too short
        // A long run of CJK text is one skip token, not one token per variant.
        #expect(words(String(repeating: "語", count: 45)) == ["skip:語 40"])
    }

    @Test func headerTokens() {
        let t = tokens("""
        Return-Path: <bounce@lists.example.net>
        Received: from mail.sender.example.org (mail.sender.example.org [192.0.2.17])
        \tby mx.example.com with ESMTP id 123; Mon, 1 Jan 2024 10:00:00 +0000
        From: "Cheap Meds" <sales@pharma.example>
        Reply-To: orders@elsewhere.example
        To: a@example.com, b@example.com, c@example.com
        Subject: FREE VIAGRA NOW!!!
        Message-ID: <abc@Mailer.Example>
        X-Mailer: Microsoft Outlook Express 6.00.2600.0000
        X-Spam-Status: No, hits=0.1
        Date: Mon, 1 Jan 2024 10:00:00 +0000

        hello world
        """).tokens
        for expected in [
            "header:from", "header:subject", "header:x-mailer",
            "subject:free", "subject:viagra", "subject:now", "subject:caps", "subject:bang",
            "from:addr:sales@pharma.example", "from:domain:pharma.example", "from:name:cheap", "from:name:meds",
            "reply-to:domain:elsewhere.example", "reply-to:differs",
            "return-path:domain:lists.example.net",
            "to:count:3-5", "cc:none",
            "message-id:domain:mailer.example", "message-id:shape:a+",
            "date:zone:+0000",
            "x-mailer:microsoft outlook express",
            "received:count:1", "received:mail.sender.example.org", "received:example.org",
            "received:ip:192.0.2", "received:ip:192.0",
            "hello", "world",
        ] {
            #expect(t.contains(expected), "\(expected)")
        }
        // Another filter's verdict is never read.
        #expect(!t.contains { $0.hasPrefix("header:x-spam") })
        #expect(!t.contains("date:none"))
        // The receiving host ("by") is not the sender's.
        #expect(!t.contains("received:mx.example.com"))
        // Header words are prefixed, so the body's "hello" and a Subject "hello" differ.
        #expect(!t.contains("subject:hello"))
    }

    @Test func dateZoneAndMessageIDShape() {
        #expect(BayesTokenizer.zone(of: "Mon, 1 Jan 2024 10:00:00 +0200") == "+0200")
        #expect(BayesTokenizer.zone(of: "Mon, 1 Jan 2024 10:00:00 -0700 (PDT)") == "-0700")
        #expect(BayesTokenizer.zone(of: " Tue, 2 Jul 2002 3:04:05 EST ") == "EST")
        #expect(BayesTokenizer.zone(of: "Tue, 2 Jul 2002 3:04:05") == "none")
        #expect(BayesTokenizer.zone(of: "") == "none")
        #expect(BayesTokenizer.shape("3F2504E0-4F89.JavaMail") == "9A9+A9-9A9+.Aa+Aa+")
        #expect(BayesTokenizer.shape("") == "")
        #expect(BayesTokenizer.shape(Substring(String(repeating: "a1", count: 100))).count == 40)
        let t = tokens("Message-ID: <20020701.ab12@host.example>\nDate: Mon, 1 Jul 2002 10:00:00 GMT\n\nhi\n", features: .default).tokens
        #expect(t.contains("message-id:shape:9+.a+9+") && t.contains("date:zone:GMT"))
    }

    @Test func defaultFeatures() {
        let text = "From: a@b.example\nSubject: hi there\nReturn-Path: <x@y.example>\nContent-Type: text/html\n\n<p>Hello <b>world</b></p>\n"
        let t = tokens(text, features: .default).tokens
        #expect(t.contains("subject:there") && t.contains("hello") && t.contains("html:only"))
        // Off by default (measured: redundant evidence, docs/spam.md): header names, HTML tags, Return-Path.
        #expect(!t.contains { $0.hasPrefix("header:") || $0.hasPrefix("html:tag:") || $0.hasPrefix("return-path:") })
        #expect(BayesTokenizer().features == .default)
        // Each kind can be left out.
        let bodyOnly = tokens(text, features: .body).tokens
        #expect(bodyOnly == ["hello", "world"])
        #expect(tokens(text, features: [.body, .bodyPairs]).tokens == ["hello", "world", "hello world"])
        #expect(tokens("Subject: s\n\nBUY NOW!! Ok DVD\n", features: [.body, .shouting]).tokens == ["buy", "now", "dvd", "bang:many", "caps:BUY", "caps:NOW", "caps:DVD"])
        let none = tokens(text, features: []).tokens
        #expect(none.isEmpty)
    }

    @Test func receivedUsesTheSendingHostOnly() {
        let t = tokens("""
        Received: from localhost (localhost [127.0.0.1]) by collector.example.org (Postfix)
        Received: from relay.sender.example (relay.sender.example [198.51.100.9]) by mx.example.com (InterMail vM.4.01.03.27)
        Received: by only.receiver.example with SMTP

        b
        """).tokens.filter { $0.hasPrefix("received:") }
        #expect(t == ["received:count:3-5", "received:relay.sender.example", "received:sender.example", "received:ip:198.51.100",
                      "received:ip:198.51"])
    }

    @Test func controlCharactersNeverReachTokens() {
        let t = tokens("X-Mailer: a\u{1}b\n\nhttp://www.exa\u{7}mple.com/ text\n").tokens
        for token in t { #expect(!token.utf8.contains { $0 < 32 || $0 == 127 }, "\(token)") }
    }

    @Test func missingFields() {
        let t = tokens("Message-ID: not-an-id\n\nbody text\n").tokens
        for expected in ["subject:none", "from:none", "to:none", "date:none", "x-mailer:none", "message-id:malformed", "received:count:0"] {
            #expect(t.contains(expected), "\(expected)")
        }
        #expect(tokens("From: x@y.example\n\nb\n").tokens.contains("from:noname"))
        #expect(tokens("Return-Path: <>\n\nb\n").tokens.contains("return-path:empty"))
        #expect(tokens("To: undisclosed-recipients:;\n\nb\n").tokens.contains("to:count:0"))
    }

    @Test func htmlMarkersAndURLs() {
        let t = tokens("""
        From: a@b.example
        Content-Type: text/html; charset=windows-1252

        <html><body><!-- x --><p>Click <a href="http://www.Offers.Example.COM:8080/buy?id=1">here</a>
        <div style="display:none">invisible words</div>
        <img src="http://192.0.2.1/pixel.gif"></body></html>
        """).tokens
        for expected in [
            "html:only", "html:hidden", "html:comment", "html:tag:html", "html:tag:body", "html:tag:a", "html:tag:div", "html:tag:img",
            "charset:windows-1252", "content-type:text/html", "part:text/html",
            "url:scheme:http", "url:www.offers.example.com", "url:example.com", "url:port", "url:ip",
            "click",
        ] {
            #expect(t.contains(expected), "\(expected)")
        }
        let alternative = tokens("""
        Content-Type: multipart/alternative; boundary=b

        --b
        Content-Type: text/plain

        plain words
        --b
        Content-Type: text/html

        <p>html words</p>
        --b--
        """).tokens
        #expect(alternative.contains("html:alternative"))
        #expect(!alternative.contains("html:only"))
        #expect(alternative.contains("part:text/plain"))
    }

    @Test func attachments() {
        let t = tokens("""
        Content-Type: multipart/mixed; boundary=b

        --b
        Content-Type: text/plain

        see attached
        --b
        Content-Type: application/octet-stream; name="invoice.PDF.exe"
        Content-Disposition: attachment; filename="invoice.PDF.exe"
        Content-Transfer-Encoding: base64

        TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==
        --b--
        """).tokens
        for expected in ["attach:type:application/octet-stream", "attach:ext:exe", "attach:count:1", "encoding:base64"] {
            #expect(t.contains(expected), "\(expected)")
        }
        #expect(t.contains { $0.hasPrefix("attach:true:") })
    }

    @Test func tokensAreDistinctAndBounded() {
        let body = (0..<5_000).map { "word\($0)x" }.joined(separator: " ")
        var limits = BayesLimits.default
        limits.maxTokensPerMessage = 100
        let t = tokens("Subject: s\n\n\(body) word1x word1x\n", limits: limits)
        #expect(t.tokens.count == 100)
        #expect(t.truncated)
        #expect(Set(t.tokens).count == t.tokens.count)
        // Without the cut: every distinct word once.
        let small = tokens("Subject: s\n\nalpha beta alpha beta gamma\n")
        #expect(!small.truncated)
        #expect(small.tokens.filter { $0 == "alpha" }.count == 1)
    }

    @Test func bodyBytesAndTokenLengthAreBounded() {
        var limits = BayesLimits.default
        limits.maxBodyBytes = 12
        let t = tokens("Subject: s\n\nfirst second third fourth\n", limits: limits).tokens
        #expect(t.contains("first") && t.contains("second"))
        #expect(!t.contains("fourth"))
        // Long tokens are cut at a character boundary: still valid text, never longer than the limit.
        limits = .default
        limits.maxTokenBytes = 20
        let long = tokens("From: x@\(String(repeating: "é", count: 30)).example\n\nb\n", limits: limits).tokens
        for token in long { #expect(token.utf8.count <= 20) }
        #expect(long.contains { $0.hasPrefix("from:domain:é") })
    }

    @Test func receivedFieldsAreBounded() {
        var limits = BayesLimits.default
        limits.maxReceivedFields = 2
        let header = (0..<10).map { "Received: from host\($0).example.org by mx.example.com" }.joined(separator: "\n")
        let t = tokens(header + "\n\nb\n", limits: limits).tokens
        #expect(t.contains("received:host0.example.org") && t.contains("received:host1.example.org"))
        #expect(!t.contains("received:host2.example.org"))
        #expect(t.contains("received:count:6-10"))
    }
}
