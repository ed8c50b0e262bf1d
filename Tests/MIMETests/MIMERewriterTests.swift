import Testing
@testable import MIME

@Suite struct MIMERewriterTests {
    let original = message("""
    Received: from x by y
    From: a@example.com
    To: b@example.com
    Subject: report
    DKIM-Signature: v=1; h=from:to:subject
    Content-Type: multipart/mixed; boundary="b1"

    --b1
    Content-Type: multipart/alternative; boundary="b2"

    --b2
    Content-Type: text/plain; charset=utf-8
    Content-Transfer-Encoding: quoted-printable

    Hello caf=C3=A9
    --b2
    Content-Type: text/html; charset=utf-8
    Content-Transfer-Encoding: base64

    PGh0bWw+PGJvZHk+PHA+SGVsbG88L3A+PC9ib2R5PjwvaHRtbD4=
    --b2--
    --b1
    Content-Type: application/octet-stream; name="evil.exe"
    Content-Transfer-Encoding: base64
    Content-Disposition: attachment; filename="evil.exe"

    TVqQAAMAAAAEAAAA
    --b1
    Content-Type: application/pdf; name="keep.pdf"
    Content-Transfer-Encoding: base64

    JVBERi0xLjQK
    --b1--

    """)

    func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count else { return false }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return true }
        return false
    }

    @Test func stripsAPartAndKeepsOtherBytes() {
        let m = MIMEParser().parse(original)
        let exe = m.parts.first { $0.filename == "evil.exe" }!
        var rewriter = MIMERewriter()
        rewriter.removeParts = [exe.index]
        let out = rewriter.rewrite(original, message: m).bytes
        let again = MIMEParser().parse(out)
        #expect(!again.parts.contains { $0.filename == "evil.exe" })
        #expect(again.parts.contains { $0.text?.contains("evil.exe was removed") == true })
        #expect(again.parts.contains { $0.filename == "keep.pdf" && $0.trueType == .pdf })
        // Everything before the stripped entity and after it is byte-identical.
        #expect(Array(out[0..<exe.headerRange.lowerBound]) == Array(original[0..<exe.headerRange.lowerBound]))
        let tail = Array(original[exe.bodyRange.upperBound...])
        #expect(Array(out.suffix(tail.count)) == tail)
        #expect(again.defects.isEmpty)
    }

    @Test func headerEdits() {
        let m = MIMEParser().parse(original)
        var rewriter = MIMERewriter()
        rewriter.headerEdits = [.add(name: "X-Scanned", value: "clean ✓"), .remove(name: "Received"), .set(name: "Subject", value: "[EXT] report\r\nBcc: injected@example.com")]
        let out = rewriter.rewrite(original, message: m).bytes
        let again = MIMEParser().parse(out)
        #expect(again.header["x-scanned"] == "clean ✓")
        #expect(again.header.first(named: "received") == nil)
        #expect(again.header.values(named: "subject") == ["[EXT] reportBcc: injected@example.com"])
        #expect(again.header.first(named: "bcc") == nil)
        // The body is untouched.
        let bodyStart = m.root.bodyRange.lowerBound
        #expect(Array(out.suffix(original.count - bodyStart)) == Array(original[bodyStart...]))
        #expect(contains(out, Array("DKIM-Signature: v=1; h=from:to:subject\r\n".utf8)))
    }

    @Test func disclaimerOnPlainAndHTML() {
        let m = MIMEParser().parse(original)
        var rewriter = MIMERewriter()
        rewriter.disclaimer = .init(text: "Scanned by Gatehouse — külön", html: "<p>Scanned by Gatehouse</p>")
        let out = rewriter.rewrite(original, message: m).bytes
        let again = MIMEParser().parse(out)
        let plain = again.parts.first { $0.contentType.mimeType == "text/plain" && $0.isBodyText }!
        let html = again.parts.first { $0.contentType.mimeType == "text/html" }!
        #expect(plain.text?.hasPrefix("Hello café") == true)
        #expect(plain.text?.hasSuffix("-- \r\nScanned by Gatehouse — külön") == true)
        #expect(html.text == "Hello\nScanned by Gatehouse")
        #expect(again.parts.contains { $0.filename == "evil.exe" && $0.trueType == .pe })
        #expect(!again.defects.contains(.malformedQuotedPrintable))
    }

    @Test func singlePartPlainMessage() {
        let input = message("From: a@example.com\nSubject: hi\n\nbody line")
        let m = MIMEParser().parse(input)
        var rewriter = MIMERewriter()
        rewriter.disclaimer = .init(text: "disclaimer", html: "<p>disclaimer</p>")
        let out = rewriter.rewrite(input, message: m).bytes
        #expect(string(out) == string(input) + "\r\n\r\n-- \r\ndisclaimer")
    }
}
