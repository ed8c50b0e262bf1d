// DKIMCanonicalizerTests.swift — RFC 6376 §3.4 canonicalization, with the examples of §3.4.6, empty
// bodies, l= cuts, LF-only messages and header selection with over-signing (§5.4.2).

import Testing
@testable import MailAuth

@Suite struct DKIMCanonicalizerTests {
    /// RFC 6376 §3.4.6, spelled out: <SP> and <HTAB> as written there.
    static let example = Array("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n".utf8)

    func headerAndBody(_ c: DKIMCanonicalization) -> (String, String) {
        let message = RawMessage(Self.example)
        let header = message.fields.flatMap { DKIMCanonicalizer.header(message.octets(of: $0), c) }
        return (String(decoding: header, as: UTF8.self), String(decoding: DKIMCanonicalizer.canonicalBody(message.body, c), as: UTF8.self))
    }

    @Test func rfc6376Section346Relaxed() {
        let (header, body) = headerAndBody(.relaxed)
        #expect(header == "a:X\r\nb:Y Z\r\n")
        #expect(body == " C\r\nD E\r\n")
    }

    @Test func rfc6376Section346Simple() {
        let (header, body) = headerAndBody(.simple)
        #expect(header == "A: X\r\nB : Y\t\r\n\tZ  \r\n")
        #expect(body == " C \r\nD \t E\r\n")
    }

    @Test func emptyBodies() {
        // §3.4.3: an empty body is one CRLF in simple; §3.4.4 (erratum 1384): empty in relaxed.
        for body in ["", "\r\n", "\r\n\r\n\r\n", "\n\n"] {
            #expect(DKIMCanonicalizer.canonicalBody(Array(body.utf8)[...], .simple) == [13, 10])
            #expect(DKIMCanonicalizer.canonicalBody(Array(body.utf8)[...], .relaxed) == [])
        }
        // Lines of white space only are empty lines in relaxed, not in simple.
        #expect(DKIMCanonicalizer.canonicalBody(Array(" \t\r\n \r\n".utf8)[...], .relaxed) == [])
        #expect(DKIMCanonicalizer.canonicalBody(Array(" \t\r\n".utf8)[...], .simple) == Array(" \t\r\n".utf8))
    }

    @Test func missingFinalLineBreakIsAdded() {
        #expect(DKIMCanonicalizer.canonicalBody(Array("abc".utf8)[...], .simple) == Array("abc\r\n".utf8))
        #expect(DKIMCanonicalizer.canonicalBody(Array("abc  ".utf8)[...], .relaxed) == Array("abc\r\n".utf8))
    }

    @Test func bareLFIsCRLFAndBareCRIsData() {
        #expect(DKIMCanonicalizer.canonicalBody(Array("a\nb\n\n".utf8)[...], .simple) == Array("a\r\nb\r\n".utf8))
        #expect(DKIMCanonicalizer.canonicalBody(Array("a\rb\r\n".utf8)[...], .simple) == Array("a\rb\r\n".utf8))
        let lf = RawMessage(Array("Subject: a\n b\nFrom: x\n\nbody\n".utf8))
        #expect(lf.fields.count == 2)
        #expect(DKIMCanonicalizer.header(lf.octets(of: lf.fields[0]), .simple) == Array("Subject: a\r\n b\r\n".utf8))
        #expect(DKIMCanonicalizer.header(lf.octets(of: lf.fields[0]), .relaxed) == Array("subject:a b\r\n".utf8))
    }

    @Test func emptyLinesInsideTheBodyStay() {
        #expect(DKIMCanonicalizer.canonicalBody(Array("a\r\n\r\n\r\nb\r\n\r\n".utf8)[...], .relaxed) == Array("a\r\n\r\n\r\nb\r\n".utf8))
    }

    @Test func lengthLimitCutsTheCanonicalBody() {
        var fed: [UInt8] = []
        let total = DKIMCanonicalizer.body(Array("hello  world\r\nsecond line\r\n".utf8)[...], .relaxed, limit: 8) { fed += $0 }
        #expect(fed == Array("hello wo".utf8))
        #expect(total == "hello world\r\nsecond line\r\n".utf8.count)
        #expect(DKIMCanonicalizer.canonicalBody(Array("x\r\n".utf8)[...], .simple, limit: 0) == [])
    }

    @Test func signatureFieldHasBlankedBAndNoCRLF() {
        let field = Array("DKIM-Signature: v=1; a=rsa-sha256; b=abc\r\n def ; bh=xyz;\r\n d=example.com\r\n".utf8)
        let message = RawMessage(field + Array("\r\n".utf8))
        let tags = try! TagList(parsing: message.value(of: message.fields[0]))
        let b = tags.tag("b")!.valueRange
        let simple = DKIMCanonicalizer.signatureHeader(field, bRange: b, .simple)
        #expect(String(decoding: simple, as: UTF8.self) == "DKIM-Signature: v=1; a=rsa-sha256; b=; bh=xyz;\r\n d=example.com")
        let relaxed = DKIMCanonicalizer.signatureHeader(field, bRange: b, .relaxed)
        #expect(String(decoding: relaxed, as: UTF8.self) == "dkim-signature:v=1; a=rsa-sha256; b=; bh=xyz; d=example.com")
    }

    @Test func headerSelectionIsBottomUpWithOverSigning() {
        let message = RawMessage(crlf("Received: 1\nFrom: first\nSubject: s\nreceived: 2\nFrom: second\n\nbody\n"))
        func names(_ h: [String]) -> [String] {
            DKIMCanonicalizer.selectHeaders(h, from: message.fields).map { String(decoding: message.value(of: $0), as: UTF8.self) }
        }
        #expect(names(["from"]) == [" second"])
        #expect(names(["from", "from"]) == [" second", " first"])
        // A third "from" selects nothing: over-signed.
        #expect(names(["from", "from", "from", "subject"]) == [" second", " first", " s"])
        #expect(names(["received", "received", "to"]) == [" 2", " 1"])
    }
}
