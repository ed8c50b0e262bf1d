import Glibc
import Testing
import GatehouseCore
import MIME
import PCRE2
@testable import SpamRules

func seconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

@Suite struct RuleMatcherTests {
    @Test func gtubeIsBuiltIn() throws {
        let m = try matcher("body OTHER /nothing/", builtIns: true)
        #expect(m.ruleNames == ["OTHER", "GTUBE"])
        let result = m.scan(fixture("gtube.eml"))  // base64-encoded body: found after decoding
        #expect(result.hits.map(\.name) == ["GTUBE"])
        #expect(result.score == 1000)
        #expect(result.hits[0].evidence == BuiltInRules.gtube)
        #expect(result.hits[0].summary == "Generic Test for Unsolicited Bulk Email")
        // A set may define its own GTUBE (and its own score).
        let own = try matcher("body GTUBE /GTUBE-STANDARD/\nscore GTUBE 50", builtIns: true)
        #expect(own.scan(fixture("gtube.eml")).score == 50)
        // Without built-ins.
        #expect(try matcher("body OTHER /nothing/").scan(fixture("gtube.eml")).hits.isEmpty)
    }

    @Test func headerRules() throws {
        let m = try matcher("""
        header SUBJ        Subject =~ /^Prix spécial$/
        header SUBJ_RAW    Subject:raw =~ /^=\\?iso-8859-1\\?q\\?Prix_sp=E9cial\\?=$/i
        header FROM_ADDR   From:addr =~ /^ceo\\@example\\.com$/m
        header FROM_NAME   From:name =~ /^The CEO$/m
        header TWO_RCVD    Received =~ /\\A[^\\n]*\\n[^\\n]*\\n\\z/
        header ALL_ORDER   ALL =~ /^Subject: .*\\n^Received:/m
        header NO_LIST     List-Id !~ /./
        header UNSET       X-Missing =~ /^default$/ [if-unset: default]
        header MISSING     X-Missing =~ /./
        header HAS_DATE    exists:Date
        header HAS_CC      exists:Cc
        header HAS_TOCC    exists:ToCc
        header HAS_MSGID   exists:MESSAGEID
        header MSGID       MESSAGEID =~ /\\@example\\.org>$/m
        header TOCC        ToCc:addr =~ /^b\\@example\\.org$/m
        header ENV         EnvelopeFrom =~ /bounce/
        """)
        let result = scan(m, """
        Return-Path: <bounce@example.net>
        From: The CEO <ceo@example.com>
        To: a@example.org
        Cc: b@example.org
        Subject: =?iso-8859-1?q?Prix_sp=E9cial?=
        Received: from a by b
        Received: from c by d
        Date: Mon, 1 Jan 2024 10:00:00 +0000
        Resent-Message-ID: <1@example.org>

        body
        """)
        #expect(result.hits.map(\.name) == [
            "SUBJ", "SUBJ_RAW", "FROM_ADDR", "FROM_NAME", "TWO_RCVD", "ALL_ORDER", "NO_LIST", "UNSET", "HAS_DATE", "HAS_CC", "HAS_TOCC", "HAS_MSGID", "MSGID", "TOCC", "ENV",
        ])
        #expect(result.hits[0].evidence == "Prix spécial")
        #expect(result.hits.first { $0.name == "NO_LIST" }?.evidence == "no match in List-Id")
        #expect(result.hits.first { $0.name == "HAS_CC" }?.evidence == "Cc")
    }

    @Test func bodyIsSubjectThenParagraphs() throws {
        let m = try matcher("""
        body SUBJECT_LINE  /^Weekly offer$/
        body JOINED        /^first line second line$/
        body SECOND_PARA   /^Second paragraph\\.$/
        body NOT_ACROSS    /second line.Second/
        body HTML_TEXT     /^Bold and link$/
        body NO_TAGS       /<b>/
        body CASE          /WEEKLY OFFER/i
        """)
        let result = scan(m, """
        Subject: Weekly
         offer
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary=b

        --b
        Content-Type: text/plain

        first   line
        second line

        Second paragraph.
        --b
        Content-Type: text/html

        <p><b>Bold</b> and <a href="http://example.com/">link</a></p>
        --b--
        """)
        #expect(result.hits.map(\.name) == ["SUBJECT_LINE", "JOINED", "SECOND_PARA", "HTML_TEXT", "CASE"])
    }

    @Test func rawbodyUriAndFullRules() throws {
        let m = try matcher("""
        rawbody RAW_TAG     /<b>Bold<\\/b>/
        rawbody RAW_QP      /=3D/
        uri     URI_HOST    /^http:\\/\\/example\\.com\\/path$/
        uri     URI_NUMERIC /^http:\\/\\/127\\.0\\.0\\.1\\//
        uri     URI_NONE    /nomatch/
        full    FULL_QP     /^Content-Transfer-Encoding: quoted-printable\\r$/m
        full    FULL_EQ     /=3D/
        """)
        let result = scan(m, """
        Subject: s
        Content-Type: text/html
        Content-Transfer-Encoding: quoted-printable

        <p><b>Bold</b> <a href=3D"HTTP://EXAMPLE.COM:80/path">x</a> http://0x7f.1/a</p>
        """)
        #expect(result.hits.map(\.name) == ["RAW_TAG", "URI_HOST", "URI_NUMERIC", "FULL_QP", "FULL_EQ"])
        #expect(result.hits.first { $0.name == "URI_NUMERIC" }?.evidence == "http://127.0.0.1/")
    }

    @Test func mimeRules() throws {
        let m = try matcher("""
        mime EXE      attachment-type executable
        mime PE       attachment-type pe
        mime EXE_NAME attachment-name /\\.exe$/i
        mime SHORT    text-shorter-than 20
        mime LONG     text-shorter-than 3
        mime HTML     html-only
        mime DISPLAY  display-name-address
        mime URLS     url-count-above 0
        mime HIDDEN   defect hidden-html-text
        """)
        let pe: [UInt8] = Array("MZ".utf8) + [UInt8](repeating: 0, count: 58) + [64, 0, 0, 0] + Array("PE\0\0".utf8) + [UInt8](repeating: 0, count: 200)
        let result = m.scan(message("""
        From: "boss@example.com" <attacker@example.net>
        Subject: invoice
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary=b

        --b
        Content-Type: text/plain

        see attached
        --b
        Content-Type: application/pdf; name=invoice.pdf.exe
        Content-Transfer-Encoding: base64
        Content-Disposition: attachment; filename=invoice.pdf.exe

        \(Base64Encode(pe))
        --b--
        """))
        #expect(result.hits.map(\.name) == ["EXE", "PE", "EXE_NAME", "SHORT", "DISPLAY"])
        #expect(result.hits[0].evidence == "invoice.pdf.exe: pe")
        #expect(result.hits.first { $0.name == "DISPLAY" }?.evidence == "boss@example.com")
    }

    @Test func catastrophicPatternIsBoundedAndReported() throws {
        var limits = RuleLimits.default
        limits.regex.matchLimit = 200_000
        let m = try matcher("""
        body EVIL   /^(a+)+$/
        body FINE   /aaaa/
        header HEVIL Subject =~ /^(\\w+\\s?)*$/
        """, limits: limits)
        let start = seconds()
        let result = scan(m, "Subject: " + String(repeating: "word ", count: 30) + "!\n\n" + String(repeating: "a", count: 5_000) + "b\n")
        #expect(seconds() - start < 2)
        #expect(result.hits.map(\.name) == ["FINE"])
        #expect(result.failures == [
            RuleFailure(rule: "EVIL", error: .matchLimit(limit: 200_000)), RuleFailure(rule: "HEVIL", error: .matchLimit(limit: 200_000)),
        ])
        // With the default limits too, and the interpreter.
        let interp = try RuleMatcher(pack("body EVIL /^(a+)+$/"), builtIns: false, jit: false)
        let t2 = seconds()
        #expect(interp.scan(message("Subject: s\n\n" + String(repeating: "a", count: 40) + "b\n")).failures.count == 1)
        #expect(seconds() - t2 < 5)
    }

    @Test func invalidUTF8InHeadersAndFull() throws {
        let m = try matcher("""
        header SUBJ_DECODED  Subject =~ /caf/
        header SUBJ_RAW_BYTE Subject:raw =~ /caf\\xe9/
        header SUBJ_RAW_UTF  Subject:raw =~ /ché/i
        full   FULL_UTF      /ché/
        full   FULL_BYTES    /caf\\xe9\\xff/
        body   BODY_UTF      /ché/
        """)
        // Latin-1 é and a stray 0xFF in an undeclared 8-bit header, then UTF-8.
        let raw = Array("From: a@example.org\r\nSubject: caf".utf8) + [0xE9, 0xFF] + Array(" ché\r\n\r\nun ché\r\n".utf8)
        let result = m.scan(raw)
        #expect(result.failures.isEmpty)
        #expect(result.hits.map(\.name) == ["SUBJ_DECODED", "SUBJ_RAW_BYTE", "SUBJ_RAW_UTF", "FULL_UTF", "FULL_BYTES", "BODY_UTF"])
        #expect(result.hits.first { $0.name == "SUBJ_RAW_BYTE" }?.evidence == "caf\u{FFFD}")
    }

    @Test func evidenceIsCutAtACharacterBoundary() throws {
        var limits = RuleLimits.default
        limits.maxEvidenceBytes = 10
        let m = try matcher("body LONG /ab+é+/", limits: limits)
        let result = scan(m, "Subject: s\n\nabbbbbbbbééé\tx\n")
        #expect(result.hits.first?.evidence == "abbbbbbbb…")
        let tabs = try matcher("body TAB /x\\sy/").scan(message("Subject: s\n\nx\ty\n"))
        #expect(tabs.hits.first?.evidence == "x y")
    }

    @Test func scanLimitsAreReported() throws {
        var limits = RuleLimits.default
        limits.maxBodyBytesPerPart = 100
        limits.maxFullBytes = 50
        limits.maxURIs = 1
        let m = try matcher("""
        body EARLY /early/
        body LATE  /late/
        full FULL_LATE /late/
        uri  SECOND /second/
        """, limits: limits)
        let text = "Subject: s\n\nearly " + String(repeating: "x ", count: 100) + "late http://first.example/ http://second.example/\n"
        let result = scan(m, text)
        #expect(result.hits.map(\.name) == ["EARLY"])
        #expect(result.truncated == [.body, .full, .uri])
    }

    @Test func scoresAndSubRules() throws {
        let m = try matcher("""
        body __SUB  /x/
        body ZERO   /x/
        score ZERO  0
        body NEG    /x/
        score NEG   -2
        body T_TEST /x/
        body PLAIN  /x/
        meta USES   __SUB && ZERO
        score USES  3
        """)
        let result = scan(m, "Subject: s\n\nx\n")
        #expect(result.hits.map(\.name) == ["NEG", "T_TEST", "PLAIN", "USES"])
        let expected: Double = -2 + 0.01 + 1 + 3
        #expect(result.score == expected)
        // ZERO is evaluated only because USES needs it.
        #expect(m.activeCount == 6)
        let unused = try matcher("body ZERO /x/\nscore ZERO 0")
        #expect(unused.activeCount == 0)
    }

    /// 2.0 + 0.8 + 0.4 + 1.0 is 4.199999999999999 in binary floating point, and with a further 0.8
    /// 4.999999999999999; the sum is rounded to thousandths, so a message at exactly the threshold
    /// reaches it.
    @Test func scoreSumsAreRoundedToThousandths() throws {
        let m = try matcher("body A /x/\nscore A 2.0\nbody B /x/\nscore B 0.8\nbody C /x/\nscore C 0.4\nbody D /x/\nscore D 1.0\nbody E /x/\nscore E 0.8")
        #expect(scan(m, "Subject: s\n\nx\n").score == 5.0)
        let unrounded: Double = 2.0 + 0.8 + 0.4 + 1.0 + 0.8
        #expect(unrounded < 5.0)
        #expect(RuleScore.sum(0.1 + 0.2) == 0.3)
        #expect(RuleScore.sum(-1.5 + 0.0004) == -1.5)
    }

    @Test func defaultPackOnPhishing() throws {
        let m = try DefaultRules.matcher()
        let result = m.scan(fixture("phish.eml"))
        let names = Set(result.hits.map(\.name))
        for expected in ["FROM_NAME_BRAND_MISMATCH", "REPLY_TO_FREEMAIL", "SUBJECT_ALL_CAPS", "SUBJECT_EXCLAMATIONS", "URI_SHORTENER",
                         "URI_IP_LITERAL", "HREF_TEXT_HOST_MISMATCH", "HTML_FORM", "ACCOUNT_THREAT", "GENERIC_GREETING",
                         "PHISH_COMBINATION", "MISSING_DATE", "MISSING_MESSAGE_ID"] {
            #expect(names.contains(expected), "\(expected) did not hit: \(result.hits)")
        }
        #expect(result.score >= 10)
        #expect(result.failures.isEmpty)
        #expect(!result.hit("GTUBE"))
        #expect(m.scan(fixture("gtube.eml")).hit("GTUBE"))
    }

    /// The forged mail-program fingerprints of the default pack: each fires on a message that
    /// claims a client without that client's headers, and stays quiet on what the client writes.
    @Test func defaultPackForgedMailerFingerprints() throws {
        let m = try DefaultRules.matcher()
        func hits(_ header: String, body: String = "Hello there, this is an ordinary message.\n") -> Set<String> {
            Set(scan(m, header + "\n\n" + body).hits.map(\.name))
        }
        let base = "From: Ann <ann@example.org>\nTo: Bob <bob@example.net>\nSubject: lunch\nDate: Mon, 1 Jan 2024 10:00:00 +0100\n"
        let ownFingerprints: Set<String> = [
            "OUTLOOK_EXPRESS_FORGED_ID", "OUTLOOK_IMO_FORGED_ID", "MSMAIL_PRIORITY_NO_MIMEOLE", "OUTLOOK_HTML_ONLY",
            "DATE_ZONE_INVALID", "FROM_YAHOO_NOT_VIA_YAHOO", "HEADER_8BIT_NOT_UTF8", "FROM_FREEMAIL_DIGITS",
        ]
        // What the real clients write: none of the fingerprint rules.
        let outlookExpress = base + "Message-ID: <000801c24a9a$1f2e3d4c$0a00a8c0@pc1>\nX-Mailer: Microsoft Outlook Express 6.00.2600.0000\nX-MSMail-Priority: Normal\nX-MimeOLE: Produced By Microsoft MimeOLE V6.00.2600.0000\n"
        #expect(hits(outlookExpress).isDisjoint(with: ownFingerprints))
        let imo = base + "Message-ID: <BCEFLMCEIJHPCPLGADJIGEEFCAAA.ann@example.org>\nX-Mailer: Microsoft Outlook IMO, Build 9.0.2416 (9.0.2911.0)\n"
        #expect(hits(imo).isDisjoint(with: ownFingerprints))
        let yahoo = "From: Ann <ann@yahoo.com>\nTo: bob@example.net\nSubject: hi\nDate: Mon, 1 Jan 2024 10:00:00 -0930\nMessage-ID: <1@yahoo.com>\nReceived: from [1.2.3.4] by web1.mail.yahoo.com via HTTP\nReceived: from web1.mail.yahoo.com (unknown [1.2.3.4]) by mx.example.net\n"
        #expect(hits(yahoo).isDisjoint(with: ownFingerprints))
        let utf8Subject = base.replacingOccurrences(of: "Subject: lunch", with: "Subject: Grüße") + "Message-ID: <2@example.org>\n"
        #expect(hits(utf8Subject).isDisjoint(with: ownFingerprints))

        // The forgeries.
        #expect(hits(base + "Message-ID: <E17k2hm-00016W-00@relay.example.org>\nX-Mailer: Microsoft Outlook Express 5.00.2919.6700\n").contains("OUTLOOK_EXPRESS_FORGED_ID"))
        #expect(hits(base + "Message-ID: <200208281704.g7SH48Z01928@relay.example.org>\nX-Mailer: Microsoft Outlook IMO Build 9.0.2416 (9.0.2910.0)\n").contains("OUTLOOK_IMO_FORGED_ID"))
        #expect(hits(base + "Message-ID: <3@example.org>\nX-MSMail-Priority: Normal\n").contains("MSMAIL_PRIORITY_NO_MIMEOLE"))
        let html = "Content-Type: text/html\nMessage-ID: <4@example.org>\nX-Mailer: Microsoft Outlook, Build 10.0.2627\n"
        #expect(hits(base + html, body: "<html><body><p>Special offer for you today, read on.</p></body></html>\n").contains("OUTLOOK_HTML_ONLY"))
        for zone in ["+1900", "-0017", "+2500"] {
            let forged = base.replacingOccurrences(of: "+0100", with: zone) + "Message-ID: <5@example.org>\n"
            #expect(hits(forged).contains("DATE_ZONE_INVALID"), "\(zone)")
        }
        for zone in ["+0545", "-0330", "+1400", "+0000 (GMT)"] {
            let real = base.replacingOccurrences(of: "+0100", with: zone) + "Message-ID: <6@example.org>\n"
            #expect(!hits(real).contains("DATE_ZONE_INVALID"), "\(zone)")
        }
        let notViaYahoo = yahoo.replacingOccurrences(of: "web1.mail.yahoo.com", with: "dsl-1-2-3-4.example.biz")
        #expect(hits(notViaYahoo).contains("FROM_YAHOO_NOT_VIA_YAHOO"))
        // A HELO or a "for" clause naming yahoo.com is not Yahoo's server.
        let claimed = "From: Ann <ann@yahoo.com>\nTo: bob@yahoo.com\nSubject: hi\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <2@yahoo.com>\nReceived: from yahoo.com (unknown [5.6.7.8]) by mx.example.net for <bob@yahoo.com>\n"
        #expect(hits(claimed).contains("FROM_YAHOO_NOT_VIA_YAHOO"))
        // Current Outlook: X-MSMail-Priority with an importance set, no X-MimeOLE.
        #expect(!hits(base + "Message-ID: <10@example.org>\nX-MSMail-Priority: High\nImportance: High\nX-Mailer: Microsoft Outlook 16.0\n").contains("MSMAIL_PRIORITY_NO_MIMEOLE"))
        #expect(!hits(base + "Message-ID: <11@example.org>\nX-MSMail-Priority: High\nThread-Index: AdkA1B2C3D4E5F6G7H8I9J0K\n").contains("MSMAIL_PRIORITY_NO_MIMEOLE"))
        let latin1 = message(base + "Message-ID: <7@example.org>\n") + Array("X-Note: caf".utf8) + [0xE9, 13, 10, 13, 10] + Array("body\r\n".utf8)
        #expect(m.scan(latin1).hit("HEADER_8BIT_NOT_UTF8"))
        #expect(hits(base.replacingOccurrences(of: "ann@example.org", with: "ann1977@hotmail.com") + "Message-ID: <8@example.org>\n").contains("FROM_FREEMAIL_DIGITS"))

        // Body rules of the bulk-mail kind.
        #expect(hits(base, body: "To be removed from our list, send an email with REMOVE in the subject.\n").contains("REMOVE_INSTRUCTIONS"))
        #expect(hits(base, body: "This is a one-time mailing. No removal is necessary.\n").contains("REMOVE_INSTRUCTIONS"))
        #expect(!hits(base, body: "To unsubscribe from this list, visit the list page.\n").contains("REMOVE_INSTRUCTIONS"))
        #expect(hits(base, body: "You agreed to receive offers from our marketing partners.\n").contains("MARKETING_PARTNERS"))
        #expect(!hits(base, body: "This is a one-time email to confirm your address.\n").contains("REMOVE_INSTRUCTIONS"))
        let huge = "Content-Type: text/html\nMessage-ID: <9@example.org>\n"
        #expect(hits(base + huge, body: "<html><body><font size=\"+5\">BIG</font> and more text here</body></html>\n").contains("HTML_FONT_HUGE"))
        #expect(hits(base + huge, body: "<html><body><font size=+3>BIG</font> and more text here</body></html>\n").contains("HTML_FONT_HUGE"))
        #expect(!hits(base + huge, body: "<html><body><font size=\"2\">small</font> and more text here</body></html>\n").contains("HTML_FONT_HUGE"))
    }

    @Test func scansRunInParallel() async throws {
        let m = try DefaultRules.matcher()
        let phish = fixture("phish.eml")
        let expected = m.scan(phish)
        let results = await withTaskGroup(of: RuleScanResult.self) { group in
            for _ in 0..<8 { group.addTask { m.scan(phish) } }
            var all: [RuleScanResult] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.allSatisfy { $0 == expected })
    }

    /// The default pack over the shared corpus: spam scores well above ham, few ham messages reach 5.
    @Test func defaultPackOnTheCorpus() throws {
        guard let shared = sharedDirectory else {
            Issue.record("shared/corpus not found beside the repository")
            return
        }
        let m = try DefaultRules.matcher()
        var counts: [String: (ham: Int, spam: Int)] = [:]
        func run(_ folder: String) -> (count: Int, over5: Int, mean: Double) {
            let files = listDirectory(shared + "/corpus/" + folder)
            var over = 0
            var total = 0.0
            for file in files {
                guard let bytes = readFile(file) else { continue }
                let r = m.scan(bytes)
                #expect(r.failures.isEmpty, "\(file): \(r.failures)")
                total += r.score
                if r.score >= 5 { over += 1 }
                for hit in r.hits {
                    var c = counts[hit.name, default: (0, 0)]
                    if folder == "ham" { c.ham += 1 } else { c.spam += 1 }
                    counts[hit.name] = c
                }
            }
            return (files.count, over, files.isEmpty ? 0 : total / Double(files.count))
        }
        let ham = run("ham")
        let spam = run("spam")
        print("default pack: ham \(ham.count) messages, \(ham.over5) at 5 or more, mean \(ham.mean); spam \(spam.count), \(spam.over5) at 5 or more, mean \(spam.mean)")
        for (name, c) in counts.sorted(by: { $0.key < $1.key }) { print("  \(name): ham \(c.ham), spam \(c.spam)") }
        #expect(ham.count > 1000 && spam.count > 100)
        #expect(spam.mean > 2 * ham.mean)
        #expect(Double(ham.over5) / Double(ham.count) < 0.01)
    }
}

/// Base64 with 76-character lines (test helper; the MIME target's encoder is internal).
func Base64Encode(_ bytes: [UInt8]) -> String {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    var out = ""
    var line = 0
    var i = 0
    while i < bytes.count {
        let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
        out.append(table[Int(b0 >> 2)])
        out.append(table[Int((b0 & 3) << 4 | b1 >> 4)])
        out.append(i + 1 < bytes.count ? table[Int((b1 & 15) << 2 | b2 >> 6)] : "=")
        out.append(i + 2 < bytes.count ? table[Int(b2 & 63)] : "=")
        i += 3
        line += 4
        if line >= 76 && i < bytes.count {
            out += "\n"
            line = 0
        }
    }
    return out
}
