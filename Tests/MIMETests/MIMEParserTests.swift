import Testing
@testable import MIME

@Suite struct MIMEParserTests {
    // MARK: Structure

    @Test func simpleMessage() {
        let m = parse("From: a@example.com\nSubject: =?utf-8?q?h=C3=A9llo?=\n\nHello\nworld\n")
        #expect(m.parts.count == 1)
        #expect(m.subject == "héllo")
        #expect(m.root.isBodyText)
        #expect(m.root.text == "Hello\r\nworld\r\n")
        #expect(m.defects.isEmpty)
    }

    @Test func multipartWithPreambleEpilogueAndNestedMessage() {
        let text = """
        From: a@example.com
        Content-Type: multipart/mixed; boundary="outer"

        This is the preamble.
        --outer
        Content-Type: multipart/alternative; boundary=inner

        --inner
        Content-Type: text/plain; charset=iso-8859-1
        Content-Transfer-Encoding: quoted-printable

        caf=E9
        --inner
        Content-Type: text/html

        <p>caf&eacute; <a href="HTTP://Example.COM:80/a">x</a></p>
        --inner--
        --outer
        Content-Type: message/rfc822

        From: b@example.com
        Subject: inner

        inner body
        --outer--
        epilogue here
        """
        let input = message(text)
        let m = MIMEParser().parse(input)
        #expect(m.parts.map(\.contentType.mimeType) == [
            "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "message/rfc822", "text/plain",
        ])
        #expect(m.parts.map(\.parent) == [nil, 0, 1, 1, 0, 4])
        #expect(m.parts[2].text == "café")
        #expect(m.parts[3].text == "café x")
        #expect(m.urls == ["http://example.com/a"])
        #expect(m.parts[5].header["subject"] == "inner")
        #expect(m.parts[5].isBodyText)
        #expect(string(Array(input[m.root.preambleRange!])) == "This is the preamble.")
        #expect(string(Array(input[m.root.epilogueRange!])) == "epilogue here")
        #expect(m.defects.isEmpty)
        #expect(m.bodyTextParts.count == 3)
    }

    @Test func bodyRangesExcludeTheDelimiterLineBreak() {
        let input = message("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nabc\n--b\n\n\n--b--\n")
        let m = MIMEParser().parse(input)
        #expect(string(Array(input[m.parts[1].bodyRange])) == "abc")
        #expect(m.parts[2].bodyRange.isEmpty)
    }

    @Test func missingFinalBoundaryIsClosedByOuterBoundary() throws {
        let m = parse("""
        Content-Type: multipart/mixed; boundary=a

        --a
        Content-Type: multipart/mixed; boundary=b

        --b

        one
        --a

        two
        --a--
        """)
        try #require(m.parts.count == 4)
        #expect(m.parts[1].defects.contains(.missingFinalBoundary))
        #expect(m.parts[3].parent == 0)
        #expect(m.parts[3].text == "two")
    }

    @Test func missingFinalBoundaryAtEnd() {
        let m = parse("Content-Type: multipart/mixed; boundary=a\n\n--a\n\nlast part without end\n")
        #expect(m.parts[0].defects.contains(.missingFinalBoundary))
        #expect(m.parts[1].text == "last part without end\r\n")
    }

    @Test func noStartBoundaryIsScannedAsText() {
        let m = parse("Content-Type: multipart/mixed; boundary=zzz\n\nvisit http://spam.example/\n")
        #expect(m.root.defects.contains(.noStartBoundary))
        #expect(m.root.kind == .leaf)
        #expect(m.urls == ["http://spam.example/"])
    }

    @Test func missingBoundaryParameter() {
        let m = parse("Content-Type: multipart/mixed\n\nhello\n")
        #expect(m.root.defects.contains(.missingBoundary))
        #expect(m.root.kind == .leaf)
    }

    @Test func digestDefaultsToMessage() {
        let m = parse("Content-Type: multipart/digest; boundary=d\n\n--d\n\nFrom: x@example.com\n\nhi\n--d--\n")
        #expect(m.parts[1].contentType.mimeType == "message/rfc822")
        #expect(m.parts[2].header["from"] == "x@example.com")
    }

    @Test func mboxFromLineAndFoldedHeaders() {
        let m = parse("From sender@example.com Mon Jan  1 00:00:00 2024\nSubject: one\n two\n\nbody\n")
        #expect(m.unixFrom?.hasPrefix("From sender") == true)
        #expect(m.subject == "one two")
    }

    @Test func messageGlobalAndUTF8Headers() {
        let m = parse("Content-Type: message/global\n\nFrom: Jörg <jörg@exämple.de>\nSubject: Grüße\n\nHallo\n")
        #expect(m.parts.count == 2)
        #expect(m.parts[1].header["subject"] == "Grüße")
        #expect(!m.defects.contains(.eightBitInHeader))
    }

    @Test func uuencodedBlockInText() {
        let pe: [UInt8] = Array("MZ".utf8) + [UInt8](repeating: 0, count: 100)
        let body = "Here it is:\n\n" + string(UUEncode.encode(pe, filename: "run.exe")) + "\nbye\n"
        let m = parse("Subject: x\n\n" + body)
        #expect(m.root.defects.contains(.uuencodedContent))
        let file = m.parts[1]
        #expect(file.origin == .uuencoded)
        #expect(file.filenames == ["run.exe"])
        #expect(file.trueType == .pe)
        #expect(file.sha256 == MIMEDigest.sha256(pe))
    }

    @Test func attachmentMetadata() {
        let data: [UInt8] = Array("%PDF-1.4\n".utf8) + [UInt8](repeating: 65, count: 100)
        let m = MIMEParser().parse(withAttachment(data, type: "application/pdf", filename: "invoice.pdf"))
        let a = m.parts[2]
        #expect(a.isAttachment)
        #expect(a.filenames == ["invoice.pdf"])
        #expect(a.decodedSize == data.count)
        #expect(a.sha256 == MIMEDigest.sha256(data))
        #expect(a.trueType == .pdf)
        #expect(!a.hasTypeMismatch)
        #expect(m.decodedBody(of: a, input: withAttachment(data, type: "application/pdf", filename: "invoice.pdf")) == data)
    }

    @Test func declaredTypeMismatch() {
        let pe: [UInt8] = Array("MZ".utf8) + [UInt8](repeating: 0, count: 100)
        let m = MIMEParser().parse(withAttachment(pe, type: "image/jpeg", filename: "photo.jpg"))
        #expect(m.parts[2].trueType == .pe)
        #expect(m.parts[2].hasTypeMismatch)
        #expect(m.defects.contains(.typeMismatch))
    }

    @Test func eightBitInSevenBitBody() {
        let m = MIMEParser().parse(message("Subject: x\n\n") + [0xE9] + message("\n"))
        #expect(m.root.defects.contains(.eightBitIn7BitBody))
    }

    /// Folded fields: the raw value is every line of the field after the colon (and the white
    /// space after it), line breaks (LF, and a CR just before it) left out, other CRs kept.
    @Test func foldedFieldValuesAreUnfolded() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var text = ""
            var expected: [(String, String)] = []
            for f in 0..<Int.random(in: 1...6, using: &generator) {
                let name = "X-F\(f)"
                var value = ["", "v", "a\rb", "x y"].randomElement(using: &generator)!
                text += name + ":" + ["", " ", " \t"].randomElement(using: &generator)! + value
                for _ in 0..<Int.random(in: 0...3, using: &generator) {
                    let line = [" ", "\t"].randomElement(using: &generator)! + ["c", "", "d\re", " "].randomElement(using: &generator)!
                    text += ["\n", "\r\n"].randomElement(using: &generator)! + line
                    value += line
                }
                text += ["\n", "\r\n"].randomElement(using: &generator)!
                expected.append((name, value))
            }
            let m = MIMEParser().parse(Array((text + "\nbody\n").utf8))  // line breaks as written
            #expect(m.header.fields.map(\.name) == expected.map(\.0), "\(text.debugDescription)")
            #expect(m.header.fields.map { String(decoding: $0.rawValue, as: UTF8.self) } == expected.map(\.1), "\(text.debugDescription)")
        }
    }

    /// A header over the size limit keeps what came before the line that crossed it.
    @Test func foldedFieldCutByHeaderLimit() {
        var limits = MIMELimits.default
        limits.maxHeaderBytes = 40
        let m = parse("A: 1234567890\n continued-one\n continued-two\nB: x\n\nbody\n", limits: limits)
        #expect(m.header.fields.map(\.name) == ["A"])
        #expect(m.header.fields.first.map { String(decoding: $0.rawValue, as: UTF8.self) } == "1234567890 continued-one")
        #expect(m.root.defects.contains(.headerTruncated))
    }

    /// The message's body text and hidden text join those of its body text parts, in order
    /// (attachments left out, empty hidden texts skipped).
    @Test func bodyAndHiddenTextJoinTheBodyTextParts() {
        let m = parse("""
        Content-Type: multipart/mixed; boundary=b

        --b
        Content-Type: text/plain

        one
        --b
        Content-Type: text/html

        <p>two<span style="display:none">h1</span></p>
        --b
        Content-Type: text/html

        <p>three</p>
        --b
        Content-Type: text/html
        Content-Disposition: attachment

        <p>four<span hidden>h2</span></p>
        --b
        Content-Type: text/html

        <div hidden>h3</div>
        --b--
        """)
        #expect(m.bodyText == "one\n\ntwo\n\nthree\n\n")
        #expect(m.hiddenText == "h1\nh3")
    }

    // MARK: Ambiguities

    @Test func duplicateContentTypeScansBothReadings() {
        let m = parse("""
        Content-Type: text/plain
        Content-Type: multipart/mixed; boundary=x

        --x
        Content-Type: application/octet-stream; name=evil.exe
        Content-Transfer-Encoding: base64

        TVqQAAMAAAAEAAAA
        --x--
        """)
        #expect(m.root.defects.contains(.duplicateContentType))
        #expect(m.root.kind == .leaf)
        #expect(m.isAmbiguous)
        let alternative = m.parts.first { if case .alternativeReading(of: 0, _) = $0.origin { return true }; return false }
        #expect(alternative?.kind == .multipart)
        #expect(m.parts.contains { $0.filenames == ["evil.exe"] && $0.trueType == .pe })
    }

    @Test func duplicateTransferEncoding() {
        let m = parse("Content-Type: application/octet-stream\nContent-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n")
        #expect(m.root.defects.contains(.duplicateTransferEncoding))
        #expect(m.parts.contains { $0.trueType == .pe })
    }

    @Test func conflictingBoundaries() {
        let m = parse("""
        Content-Type: multipart/mixed; boundary=aaa; boundary=bbb

        --aaa

        first reading
        --aaa--
        --bbb
        Content-Type: application/octet-stream; name=second.exe

        MZ
        --bbb--
        """)
        #expect(m.root.defects.contains(.repeatedBoundary))
        #expect(m.root.defects.contains(.conflictingBoundary))
        #expect(m.parts.contains { $0.filenames == ["second.exe"] })
        #expect(m.parts.contains { $0.text == "first reading" })
    }

    @Test func unknownTransferEncodingToken() {
        let m = parse("Content-Type: text/plain\nContent-Transfer-Encoding: base64 foo\n\naGVsbG8=\n")
        #expect(m.root.defects.contains(.unknownTransferEncoding))
        #expect(m.root.text == "hello")
        #expect(m.parts.count == 2)
        #expect(m.parts[1].text == "aGVsbG8=\r\n")
    }

    @Test func nameDisagreesWithFilename() {
        let m = parse("Content-Type: application/pdf; name=\"a.pdf\"\nContent-Disposition: attachment; filename=\"a.exe\"\n\nx\n")
        #expect(m.root.defects.contains(.filenameMismatch))
        #expect(m.root.filenames == ["a.exe", "a.pdf"])
    }

    @Test func malformedBase64IsFlagged() {
        let m = parse("Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\naGVs!!bG8=\n")
        #expect(m.root.defects.contains(.malformedBase64))
        #expect(m.root.decodedSize == 5)
    }

    @Test func headerEndedByNonHeaderLine() {
        let m = parse("Subject: x\nthis is not a header\nmore\n")
        #expect(m.root.defects.contains(.headerNotEndedByEmptyLine))
        #expect(m.root.text == "this is not a header\r\nmore\r\n")
    }

    @Test func headerEndedByBoundary() {
        let m = parse("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b\n\nok\n--b--\n")
        #expect(m.parts[1].defects.contains(.headerNotEndedByEmptyLine))
        #expect(m.parts[2].text == "ok")
    }

    @Test func boundaryPrefixLineIsNotADelimiter() {
        let m = parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--bX\ntwo\n--b--\n")
        #expect(m.root.defects.contains(.boundaryPrefixLine))
        #expect(m.parts.count == 2)
        #expect(m.parts[1].text == "one\r\n--bX\r\ntwo")
    }

    @Test func base64EncodedMessageIsDecodedAndParsed() {
        let inner = Base64.encode(message("From: x@example.com\nContent-Type: application/octet-stream; name=a.exe\n\nMZ\n"))
        let m = MIMEParser().parse(message("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n") + inner + message("\n"))
        #expect(m.root.defects.contains(.encodingDomain))
        #expect(m.decodedSources.count == 1)
        #expect(m.parts.contains { $0.filenames == ["a.exe"] && $0.source == 1 })
    }

    // MARK: Limits

    @Test func nestingLimit() {
        var limits = MIMELimits.default
        limits.maxNestingDepth = 3
        var text = ""
        for i in 0..<6 { text += "Content-Type: multipart/mixed; boundary=b\(i)\n\n--b\(i)\n" }
        text += "\nbottom\n"
        let m = parse(text, limits: limits)
        #expect(m.defects.contains(.nestingTooDeep))
        #expect(m.limitErrors.contains(.nestingTooDeep(limit: 3)))
        #expect(m.isUnscannable)
        #expect(m.parts.map(\.depth).max()! <= 3)
    }

    @Test func partLimit() {
        var limits = MIMELimits.default
        limits.maxParts = 10
        var text = "Content-Type: multipart/mixed; boundary=b\n\n"
        for _ in 0..<50 { text += "--b\n\nx\n" }
        text += "--b--\n"
        let m = parse(text, limits: limits)
        #expect(m.parts.count == 10)
        #expect(m.limitErrors.contains(.tooManyParts(limit: 10)))
        #expect(m.isUnscannable)
        #expect(throws: MIMELimitError.tooManyParts(limit: 10)) { try MIMEParser(limits: limits).parseStrict(message(text)) }
    }

    @Test func headerSizeLimit() {
        var limits = MIMELimits.default
        limits.maxHeaderBytes = 100
        let m = parse("Subject: " + String(repeating: "x", count: 200) + "\nX-Later: y\n\nbody\n", limits: limits)
        #expect(m.root.defects.contains(.headerTruncated))
        #expect(m.root.text == "body\r\n")
        #expect(m.header.first(named: "X-Later") == nil)
    }

    @Test func boundaryLengthLimit() {
        var limits = MIMELimits.default
        limits.maxBoundaryLength = 10
        let m = parse("Content-Type: multipart/mixed; boundary=" + String(repeating: "b", count: 20) + "\n\nx\n", limits: limits)
        #expect(m.root.defects.contains(.boundaryTooLong))
        #expect(m.limitErrors == [.boundaryTooLong(length: 20, limit: 10)])
    }

    @Test func textLimit() {
        var limits = MIMELimits.default
        limits.maxTextBytes = 64 * 1024
        let m = parse("Subject: x\n\n" + String(repeating: "a", count: 100_000) + "\n", limits: limits)
        #expect(m.root.defects.contains(.textTruncated))
        #expect(m.root.text?.utf8.count == 64 * 1024)
        #expect(m.root.decodedSize == 100_002)
    }

    @Test func decodedSizeLimit() {
        var limits = MIMELimits.default
        limits.maxDecodedPartBytes = 1000
        let m = MIMEParser(limits: limits).parse(withAttachment([UInt8](repeating: 7, count: 5000)))
        #expect(m.limitErrors.contains(.decodedPartTooLarge(limit: 1000)))
        #expect(m.parts[2].sha256 == MIMEDigest.sha256([UInt8](repeating: 7, count: 5000)))
    }
}
