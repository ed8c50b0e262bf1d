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

    /// A message whose attachment is `inner` as a base64 message/rfc822.
    func encapsulated(_ inner: [UInt8], name: String = "forwarded.eml") -> [UInt8] {
        var m = message("""
        From: a@example.com
        To: b@example.com
        Subject: fwd
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="outer"

        --outer
        Content-Type: text/plain

        see the forwarded message
        --outer
        Content-Type: message/rfc822; name="\(name)"
        Content-Transfer-Encoding: base64


        """)
        m += Base64.encode(inner)
        m += message("\n--outer--\n")
        return m
    }

    @Test func stripsAPartInsideABase64Message() {
        let input = encapsulated(original)
        let m = MIMEParser().parse(input)
        let exe = m.parts.first { $0.filename == "evil.exe" }!
        #expect(exe.source == 1)
        var rewriter = MIMERewriter()
        rewriter.removeParts = [exe.index]
        let result = rewriter.rewrite(input, message: m)
        #expect(result.skipped.isEmpty)
        let again = MIMEParser().parse(result.bytes)
        #expect(!again.parts.contains { $0.filename == "evil.exe" || $0.trueType == .pe })
        #expect(again.parts.contains { $0.text?.contains("evil.exe was removed") == true })
        #expect(again.parts.contains { $0.filename == "keep.pdf" && $0.trueType == .pdf })
        #expect(again.parts.contains { $0.text == "Hello café" })
        // The encapsulated message is still a base64 message/rfc822; what precedes it is untouched.
        let container = m.parts.first { $0.contentType.mimeType == "message/rfc822" }!
        #expect(Array(result.bytes[0..<container.bodyRange.lowerBound]) == Array(input[0..<container.bodyRange.lowerBound]))
        #expect(again.parts.contains { $0.contentType.mimeType == "message/rfc822" && $0.transferEncoding == .base64 })
        #expect(!again.defects.contains(.malformedBase64))
    }

    @Test func stripsAPartTwoEncodedContainersDeep() {
        let input = encapsulated(encapsulated(original, name: "inner.eml"))
        let m = MIMEParser().parse(input)
        let exe = m.parts.first { $0.filename == "evil.exe" }!
        #expect(exe.source == 2)
        var rewriter = MIMERewriter()
        rewriter.removeParts = [exe.index]
        let result = rewriter.rewrite(input, message: m)
        #expect(result.skipped.isEmpty)
        let again = MIMEParser().parse(result.bytes)
        #expect(!again.parts.contains { $0.filename == "evil.exe" || $0.trueType == .pe })
        #expect(again.parts.contains { $0.filename == "keep.pdf" && $0.trueType == .pdf })
        #expect(again.parts.contains { $0.text?.contains("evil.exe was removed") == true })
    }

    @Test func strippingAnAlternativeReadingStripsTheEntityItReads() {
        let input = message("""
        From: a@example.com
        Content-Type: multipart/mixed; boundary="b1"

        --b1
        Content-Type: text/plain

        hello
        --b1
        Content-Type: text/plain
        Content-Type: application/octet-stream; name="evil.exe"
        Content-Transfer-Encoding: base64

        TVqQAAMAAAAEAAAA
        --b1--

        """)
        let m = MIMEParser().parse(input)
        let reading = m.parts.first { if case .alternativeReading = $0.origin { return true }; return false }!
        guard case .alternativeReading(let of, _) = reading.origin else { return }
        var rewriter = MIMERewriter()
        rewriter.removeParts = [reading.index]
        let result = rewriter.rewrite(input, message: m)
        #expect(result.skipped.isEmpty)
        #expect(result.strippedInstead == [reading.index: of])
        let again = MIMEParser().parse(result.bytes)
        #expect(!again.parts.contains { $0.trueType == .pe })
        #expect(again.parts.contains { $0.text == "hello" })
        #expect(!again.isAmbiguous)
    }

    @Test func strippingAnArchiveEntryStripsTheArchive() {
        let input = withAttachment(fixture("nested-ok.zip"), type: "application/zip", filename: "ok.zip")
        let m = MIMEParser().parse(input)
        let entry = m.parts.first { $0.trueType == .pe }!
        var rewriter = MIMERewriter()
        rewriter.removeParts = [entry.index]
        let result = rewriter.rewrite(input, message: m)
        #expect(result.skipped.isEmpty)
        #expect(result.strippedInstead == [entry.index: 2])
        let again = MIMEParser().parse(result.bytes)
        #expect(!again.parts.contains { $0.trueType == .pe || $0.isArchive })
        #expect(again.parts.contains { $0.text?.contains("ok.zip was removed") == true })
    }

    @Test func quotedPrintableHTMLWithSoftBreakInsideBodyClose() {
        let input = message("""
        From: a@example.com
        Content-Type: text/html; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        <html><body><p>Hello caf=C3=A9</p></bo=
        dy></html>

        """)
        let m = MIMEParser().parse(input)
        var rewriter = MIMERewriter()
        rewriter.disclaimer = .init(text: "Scanned", html: "<p>Scanned by Gatehouse</p>")
        let out = rewriter.rewrite(input, message: m).bytes
        let again = MIMEParser().parse(out)
        let html = again.parts[0].html ?? ""
        #expect(html.contains("<p>Hello café</p><p>Scanned by Gatehouse</p></body></html>"))
        #expect(again.parts[0].text == "Hello café\nScanned by Gatehouse")
        #expect(!again.defects.contains(.malformedQuotedPrintable))
        for line in string(out).split(separator: "\r\n") { #expect(line.utf8.count <= 76) }
    }

    @Test func quotedPrintableHTMLWithEncodedBodyClose() {
        let input = message("""
        From: a@example.com
        Content-Type: text/html; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        <html><body><p>Hi</p>=3C/BODY></html>

        """)
        let m = MIMEParser().parse(input)
        var rewriter = MIMERewriter()
        rewriter.disclaimer = .init(text: "Scanned", html: "<p>Scanned</p>")
        let again = MIMEParser().parse(rewriter.rewrite(input, message: m).bytes)
        #expect(again.parts[0].html?.contains("<p>Hi</p><p>Scanned</p></BODY></html>") == true)
    }
}
