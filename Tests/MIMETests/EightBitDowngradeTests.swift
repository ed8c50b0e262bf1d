// Tests of EightBitDowngrade.swift: RFC 6152 downgrade, checked against Python's `email`
// package (an independent MIME implementation) and the project's own parser and decoders.
import Foundation
import PropertyBased
import Testing
@testable import MIME

@Suite struct EightBitDowngradeTests {
    // MARK: Samples

    /// UTF-8 text with everything quoted-printable must escape: a long line, trailing white space,
    /// "=", lines starting with ".", "-", "From ", a tab.
    static let utf8Text = "Grüße aus Köln — naïve café ☕ " + String(repeating: "ärger ", count: 30) + "\n"
        + "trailing spaces   \n" + "tab\tand trailing tab\t\n" + "equals = sign =3D\n" + ".dot line\n"
        + "--not-a-boundary\n" + "From the start\n" + "end without break é"

    static let simple: [UInt8] = message("""
    From: a@example.com
    To: b@example.net
    Subject: simple
    MIME-Version: 1.0
    Content-Type: text/plain; charset=utf-8
    Content-Transfer-Encoding: 8bit

    \(utf8Text)

    """)

    /// multipart/mixed { multipart/alternative { latin-1 text, UTF-8 html }, base64 attachment,
    /// message/rfc822 8bit { multipart/mixed { UTF-8 text, binary octets } } }.
    static var nested: [UInt8] {
        var m = message("""
        From: a@example.com
        To: b@example.net
        Subject: =?utf-8?q?nested?=
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="outer"
        Content-Transfer-Encoding: 8bit

        This is a multi-part message in MIME format.
        --outer
        Content-Type: multipart/alternative; boundary="alt"

        --alt
        Content-Type: text/plain; charset=iso-8859-1
        Content-Transfer-Encoding: 8bit

        LATIN1

        --alt
        Content-Type: text/html; charset=utf-8
        Content-Transfer-Encoding: 8bit

        <html><body><p>Schöne Grüße — 日本語</p></body></html>
        --alt--

        --outer
        Content-Type: application/octet-stream; name="a.bin"
        Content-Transfer-Encoding: base64

        AAECAwQFBgcICQ==
        --outer
        Content-Type: message/rfc822
        Content-Transfer-Encoding: 8bit

        From: c@example.org
        Subject: inner
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="inner"

        --inner
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit

        Inner text: ünïcödé
        --inner
        Content-Type: application/octet-stream
        Content-Transfer-Encoding: binary

        BINARY
        --inner--

        --outer--
        epilogue

        """)
        let latin1: [UInt8] = Array("Gr".utf8) + [0xFC, 0xDF, 0x65] + Array(" aus K".utf8) + [0xF6] + Array("ln, ".utf8)
            + [0xE0, 0x20, 0x62, 0x69, 0x65, 0x6E, 0x74, 0xF4, 0x74] + Array(" =  \r\nzweite Zeile\t".utf8)
        // Octets 0–255 with CR and LF alone, a CR LF pair, NUL and 8-bit.
        var binary: [UInt8] = Array(0...255)
        binary += [13, 10, 10, 13, 0, 0xFF, 45, 45, 111, 117, 116, 101, 114]
        m = replace(m, "LATIN1", latin1)
        m = replace(m, "BINARY", binary)
        return m
    }

    static let sevenBit: [UInt8] = message("""
    From: a@example.com
    To: b@example.net
    Subject: plain
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="b"
    Content-Transfer-Encoding: 8bit

    --b
    Content-Type: text/plain; charset=us-ascii
    Content-Transfer-Encoding: 8bit

    Only ASCII here, with = signs and trailing spaces   
    --b--

    """)

    // MARK: Python's email package

    struct PyLeaf: Decodable, Equatable {
        var type: String
        var cte: String?
        var payload: String  // hex of get_payload(decode=True)
    }

    struct PyReport: Decodable {
        var original: [PyLeaf]
        var converted: [PyLeaf]
        var subjects: [String]
        var defects: [String]
    }

    /// Parses both messages with Python's `email` package (compat32) and lists every leaf with
    /// its decoded payload; `subjects` are the converted message's decoded Subject fields (top
    /// level and encapsulated), `defects` what the parser found wrong in the converted message.
    static func python(original: [UInt8], converted: [UInt8]) throws -> PyReport {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-8bit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(original).write(to: dir.appendingPathComponent("original.eml"))
        try Data(converted).write(to: dir.appendingPathComponent("converted.eml"))
        let script = """
        import email, json, sys
        from email.header import decode_header, make_header
        def leaves(path):
            m = email.message_from_bytes(open(path, 'rb').read())
            out, subjects, defects = [], [], []
            for part in m.walk():
                defects += [type(d).__name__ for d in part.defects]
                if part.get('Subject') is not None:
                    subjects.append(str(make_header(decode_header(part['Subject']))))
                if part.is_multipart():
                    continue
                out.append({'type': part.get_content_type(), 'cte': part.get('Content-Transfer-Encoding'),
                            'payload': (part.get_payload(decode=True) or b'').hex()})
            return out, subjects, defects
        o, _, _ = leaves(sys.argv[1] + '/original.eml')
        c, subjects, defects = leaves(sys.argv[1] + '/converted.eml')
        print(json.dumps({'original': o, 'converted': c, 'subjects': subjects, 'defects': defects}))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, dir.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try JSONDecoder().decode(PyReport.self, from: data)
    }

    // MARK: Helpers

    static func replace(_ bytes: [UInt8], _ marker: String, _ with: [UInt8]) -> [UInt8] {
        let m = Array(marker.utf8)
        var i = 0
        while i + m.count <= bytes.count {
            if Array(bytes[i..<(i + m.count)]) == m { return Array(bytes[..<i]) + with + Array(bytes[(i + m.count)...]) }
            i += 1
        }
        Issue.record("marker \(marker) not found")
        return bytes
    }

    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: 10, omittingEmptySubsequences: false).map { $0.last == 13 ? $0.dropLast() : $0 }
    }

    /// Every octet < 0x80 and no line over 998 octets.
    static func checkSevenBit(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!bytes.contains { $0 >= 0x80 }, sourceLocation: sourceLocation)
        #expect(lines(bytes).allSatisfy { $0.count <= 998 }, sourceLocation: sourceLocation)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    // MARK: Tests

    @Test func sevenBitMessageIsReturnedUnchanged() throws {
        let result = try EightBitDowngrade().downgrade(Self.sevenBit)
        #expect(!result.changed)
        #expect(result.bytes == Self.sevenBit)
        #expect(result.problems.isEmpty)
    }

    @Test func simpleUTF8TextDecodesToTheSameOctetsInPython() throws {
        let result = try EightBitDowngrade().downgrade(Self.simple)
        #expect(result.changed)
        #expect(result.reencodedParts == 1)
        #expect(result.problems.isEmpty)
        Self.checkSevenBit(result.bytes)
        let report = try Self.python(original: Self.simple, converted: result.bytes)
        #expect(report.converted.map(\.cte) == ["quoted-printable"])
        #expect(report.converted.map(\.payload) == report.original.map(\.payload))
        #expect(report.original.first?.payload == Self.hex(message(Self.utf8Text + "\n")))
        #expect(report.defects.isEmpty)
    }

    @Test func quotedPrintableLinesFollowRFC2045() throws {
        let result = try EightBitDowngrade().downgrade(Self.simple)
        let text = String(decoding: result.bytes, as: UTF8.self)
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        for line in body.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 76, "\(line)")
            #expect(!line.hasPrefix("."), "\(line)")
            #expect(!line.hasPrefix("-"), "\(line)")
            #expect(!line.hasPrefix("From "), "\(line)")
            #expect(!(line.hasSuffix(" ") || line.hasSuffix("\t")), "\(line)")
        }
        #expect(text.contains("trailing spaces  =20\r\n"))
        #expect(text.contains("equals =3D sign =3D3D\r\n"))
        #expect(text.contains("=2E"))
        #expect(text.contains("=2D-not-a-boundary"))
        #expect(text.contains("=46rom the start"))
        // Only the encoding field changed in the header.
        #expect(text.hasPrefix("From: a@example.com\r\nTo: b@example.net\r\nSubject: simple\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"))
    }

    @Test func nestedMultipartDecodesToTheSameOctetsInPython() throws {
        let original = Self.nested
        let result = try EightBitDowngrade().downgrade(original)
        #expect(result.changed)
        #expect(result.problems.isEmpty)
        #expect(result.reencodedParts == 4)
        Self.checkSevenBit(result.bytes)
        let report = try Self.python(original: original, converted: result.bytes)
        #expect(report.defects.isEmpty)
        #expect(report.original.count == 5)
        #expect(report.converted.map(\.type) == report.original.map(\.type))
        #expect(report.converted.map(\.payload) == report.original.map(\.payload))
        #expect(report.converted.map(\.cte) == ["quoted-printable", "quoted-printable", "base64", "quoted-printable", "quoted-printable"])

        // The containers carry 7bit; the base64 part is byte for byte the same.
        let text = String(decoding: result.bytes, as: UTF8.self)
        #expect(text.contains("Content-Type: multipart/mixed; boundary=\"outer\"\r\nContent-Transfer-Encoding: 7bit\r\n"))
        #expect(text.contains("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n"))
        #expect(text.contains("Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--outer\r\n"))
        #expect(text.contains("This is a multi-part message in MIME format.\r\n--outer\r\n"))
        #expect(!text.contains("8bit"))
        #expect(!text.contains("binary"))
        // The binary part has its CR and LF encoded (binary mode), the 8bit text keeps hard breaks.
        #expect(text.contains("=0D=0A"))
        #expect(text.contains("=3D =20\r\nzweite Zeile=09\r\n\r\n--alt\r\n"))
    }

    @Test func nestedMessageMatchesTheProjectParserToo() throws {
        let original = Self.nested
        let result = try EightBitDowngrade().downgrade(original)
        let before = MIMEParser().parse(original)
        let after = MIMEParser().parse(result.bytes)
        #expect(after.defects.isEmpty, "\(after.defects)")
        let a = before.leaves.filter { $0.origin == .mime }
        let b = after.leaves.filter { $0.origin == .mime }
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) {
            #expect(x.contentType == y.contentType)
            #expect(before.decodedBody(of: x, input: original) == after.decodedBody(of: y, input: result.bytes))
        }
    }

    @Test func downgradeIsIdempotent() throws {
        let once = try EightBitDowngrade().downgrade(Self.nested)
        let twice = try EightBitDowngrade().downgrade(once.bytes)
        #expect(!twice.changed)
        #expect(twice.bytes == once.bytes)
    }

    @Test func unstructuredHeadersBecomeEncodedWords() throws {
        let subject = "Prüfbericht für März — Ω and some ASCII words around =?x?q?y?= " + Array(repeating: "größer", count: 12).joined(separator: " ")
        let original = message("""
        From: a@example.com
        Subject: \(subject)
        Comments: kurz ä
        MIME-Version: 1.0
        Content-Type: message/rfc822

        Subject: innen ä
        X-Other: ok

        body ü

        """)
        let result = try EightBitDowngrade().downgrade(original)
        #expect(result.problems.isEmpty)
        #expect(result.encodedHeaderFields == 3)
        Self.checkSevenBit(result.bytes)
        // Lines with encoded words are at most 76 characters (RFC 2047 §2).
        for line in Self.lines(result.bytes) where line.count > 0 {
            #expect(line.count <= 76, "\(String(decoding: line, as: UTF8.self))")
        }
        let report = try Self.python(original: original, converted: result.bytes)
        #expect(report.subjects == [subject, "innen ä"])
        #expect(report.converted.map(\.payload) == report.original.map(\.payload))
        // The project's own decoder reads the same text.
        let parsed = MIMEParser().parse(result.bytes)
        #expect(parsed.subject == subject)
        #expect(parsed.header["comments"] == "kurz ä")
    }

    @Test func structuredAndNonUTF8HeadersAreReported() throws {
        let original = message("""
        From: Jürgen <j@example.com>
        To: b@example.net
        Subject: SUBJ
        X-Note: Größe
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit

        ü

        """)
        let latin1Subject = Self.replace(original, "SUBJ", [0x47, 0x72, 0xF6, 0xDF, 0x65])
        let result = try EightBitDowngrade().downgrade(latin1Subject)
        #expect(!result.isSevenBit)
        let names = result.problems.compactMap { problem -> String? in
            if case .eightBitHeaderField(let name, _) = problem { return name }
            return nil
        }
        #expect(names == ["From", "Subject", "X-Note"])
        #expect(result.problems.allSatisfy { $0.enhancedStatusCode == "5.6.3" })
        // The body is converted all the same; the fields are left as they were.
        #expect(result.reencodedParts == 1)
        #expect(String(decoding: result.bytes, as: UTF8.self).contains("From: Jürgen <j@example.com>\r\n"))

        // With encoding switched off, the UTF-8 Subject is reported too.
        var strict = EightBitDowngrade()
        strict.encodeUnstructuredHeaders = false
        let utf8Subject = Self.replace(original, "SUBJ", Array("Grüße".utf8))
        let reported = try strict.downgrade(utf8Subject).problems
        #expect(reported.count == 3)
    }

    @Test func quotedPrintableAndBase64WithRawOctetsAreEncodedAgain() throws {
        let original = message("""
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary=b

        préambule
        --b
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        caf=C3=A9 and raw café
        --b
        Content-Type: application/octet-stream
        Content-Transfer-Encoding: base64

        AAEC\u{e9}AwQF
        --b--

        """)
        let result = try EightBitDowngrade().downgrade(original)
        #expect(result.problems.isEmpty)
        #expect(result.reencodedParts == 2)
        Self.checkSevenBit(result.bytes)
        let text = String(decoding: result.bytes, as: UTF8.self)
        #expect(text.contains("pr??ambule\r\n--b"))
        #expect(text.contains("caf=C3=A9 and raw caf=C3=A9\r\n--b"))
        #expect(text.contains("AAECAwQF\r\n--b--"))
        let report = try Self.python(original: original, converted: result.bytes)
        #expect(report.converted.map(\.payload) == [Self.hex(Array("café and raw café".utf8)), "000102030405"])
    }

    @Test func topLevelBodyWithoutMIMEHeadersGetsThem() throws {
        let original = message("""
        From: a@example.com
        Subject: legacy

        ümlaut

        """)
        let result = try EightBitDowngrade().downgrade(original)
        let text = String(decoding: result.bytes, as: UTF8.self)
        #expect(text == "From: a@example.com\r\nSubject: legacy\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n=C3=BCmlaut\r\n")
        let report = try Self.python(original: original, converted: result.bytes)
        #expect(report.converted.map(\.payload) == report.original.map(\.payload))
    }

    @Test func cleanEightBitLabelsBecomeSevenBitWithoutTouchingTheBody() throws {
        let original = message("""
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary=b
        Content-Transfer-Encoding: binary

        --b
        Content-Type: text/plain
        Content-Transfer-Encoding: 8bit
        Content-Transfer-Encoding: 8bit

        ascii only
        --b
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit

        ä
        --b--

        """)
        let result = try EightBitDowngrade().downgrade(original)
        let text = String(decoding: result.bytes, as: UTF8.self)
        #expect(text.contains("Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\nascii only\r\n--b"))
        #expect(text.contains("Content-Transfer-Encoding: 7bit\r\n\r\n--b"))
        #expect(text.contains("Content-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A4\r\n--b--"))
    }

    @Test func unconvertibleBodiesAreReported() throws {
        let original = message("""
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary=b

        --b
        Content-Type: message/delivery-status

        Reporting-MTA: dns; ä.example
        --b
        Content-Type: application/x-thing
        Content-Transfer-Encoding: x-custom

        ü
        --b
        Content-Type: multipart/mixed

        no boundary parameter ö
        --b--

        """)
        let result = try EightBitDowngrade().downgrade(original)
        #expect(result.problems.count == 3)
        #expect(result.problems.allSatisfy { $0.enhancedStatusCode == "5.6.3" })
        #expect(result.problems.contains { if case .unknownTransferEncoding("x-custom", _) = $0 { return true }; return false })
        #expect(result.problems.contains { if case .unencodableEntity("message/delivery-status", _) = $0 { return true }; return false })
        #expect(result.problems.contains { if case .unencodableEntity("multipart/mixed", _) = $0 { return true }; return false })
        // The outer multipart keeps its (absent) label: its subtree is not clean.
        #expect(!String(decoding: result.bytes, as: UTF8.self).contains("7bit"))
    }

    @Test func messageGlobalIsEncodedAsAWhole() throws {
        let original = message("""
        MIME-Version: 1.0
        Content-Type: message/global
        Content-Transfer-Encoding: 8bit

        From: ü@example.com
        Subject: ä

        ö

        """)
        let result = try EightBitDowngrade().downgrade(original)
        #expect(result.problems.isEmpty)
        Self.checkSevenBit(result.bytes)
        let text = String(decoding: result.bytes, as: UTF8.self)
        #expect(text.contains("Content-Transfer-Encoding: quoted-printable\r\n\r\nFrom: =C3=BC@example.com\r\n"))
    }

    @Test func headerWithoutEmptyLineGetsOneBeforeAnEncodedBody() throws {
        let original = message("""
        Content-Type: text/plain; charset=utf-8
        Hällo: this line ends the header
        """)
        let result = try EightBitDowngrade().downgrade(original)
        let parsed = MIMEParser().parse(result.bytes)
        #expect(parsed.header.fields.map(\.name) == ["Content-Type", "Content-Transfer-Encoding", "MIME-Version"])
        #expect(parsed.decodedBody(of: parsed.root, input: result.bytes) == Array("Hällo: this line ends the header".utf8))
    }

    @Test func limitsAreTypedErrors() throws {
        var limits = EightBitDowngrade.Limits()
        limits.maxInputBytes = 10
        #expect(throws: EightBitDowngradeError.messageTooLarge(size: Self.simple.count, limit: 10)) {
            try EightBitDowngrade(limits: limits).downgrade(Self.simple)
        }
        limits = EightBitDowngrade.Limits()
        limits.maxNestingDepth = 1
        #expect(throws: EightBitDowngradeError.nestingTooDeep(limit: 1)) {
            try EightBitDowngrade(limits: limits).downgrade(Self.nested)
        }
        limits = EightBitDowngrade.Limits()
        limits.maxParts = 3
        #expect(throws: EightBitDowngradeError.tooManyParts(limit: 3)) {
            try EightBitDowngrade(limits: limits).downgrade(Self.nested)
        }
        limits = EightBitDowngrade.Limits()
        limits.maxHeaderBytes = 40
        #expect(throws: EightBitDowngradeError.headerTooLarge(limit: 40)) {
            try EightBitDowngrade(limits: limits).downgrade(Self.simple)
        }
        // Limits are not even looked at on the fast path.
        limits.maxInputBytes = 1
        #expect(try EightBitDowngrade(limits: limits).downgrade(Self.sevenBit).bytes == Self.sevenBit)
        #expect(EightBitDowngradeError.messageTooLarge(size: 2, limit: 1).enhancedStatusCode == "5.3.4")
    }

    @Test func quotedPrintableRoundTripsAnyOctets() async {
        await propertyCheck(count: 500, input: Gen<UInt8>.value(in: 0...255).array(of: 0...400), Gen.int(in: 0...1)) { data, mode in
            let binary = mode == 1
            let encoded = data.withUnsafeBufferPointer { DowngradePlanner.quotedPrintable($0, binary: binary, eol: [13, 10]) }
            #expect(QuotedPrintable.decode(encoded).bytes == data)
            #expect(!encoded.contains { $0 >= 0x80 || $0 == 0 })
            for line in Self.lines(encoded) {
                #expect(line.count <= 76)
                #expect(line.first != 45 && line.first != 46)
                #expect(line.last != 32 && line.last != 9)
            }
        }
    }

    /// Every message of the shared corpus with 8-bit data is converted; Python's `email` package
    /// must read the same leaves (type and decoded octets) from the original and the result.
    @Test func corpusMessagesDecodeTheSame() throws {
        guard let shared = sharedDirectory else { return }
        let files = listDirectory(shared + "/corpus/ham") + listDirectory(shared + "/corpus/spam") + listDirectory(shared + "/testdata/mime-cpython")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-8bit-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var converted = 0
        var list = ""
        for file in files {
            guard let bytes = readFile(file), EightBitDowngrade.containsEightBit(bytes) else { continue }
            let result: EightBitDowngrade.Result
            do { result = try EightBitDowngrade().downgrade(bytes) } catch { continue }
            // Only header fields that cannot be encoded may keep 8-bit data.
            #expect(result.problems.allSatisfy { if case .eightBitHeaderField = $0 { return true }; return false }, "\(file)")
            if result.problems.isEmpty { Self.checkSevenBit(result.bytes) }
            let name = "m\(converted)"
            try Data(bytes).write(to: dir.appendingPathComponent(name + ".a"))
            try Data(result.bytes).write(to: dir.appendingPathComponent(name + ".b"))
            list += name + "\t" + file + "\n"
            converted += 1
        }
        try list.write(to: dir.appendingPathComponent("list"), atomically: true, encoding: .utf8)
        let script = """
        import email, sys
        def leaves(path):
            m = email.message_from_bytes(open(path, 'rb').read())
            return [(p.get_content_type(), p.get_payload(decode=True)) for p in m.walk() if not p.is_multipart()]
        bad = 0
        for line in open(sys.argv[1] + '/list'):
            name, path = line.rstrip('\\n').split('\\t')
            a = leaves(sys.argv[1] + '/' + name + '.a')
            b = leaves(sys.argv[1] + '/' + name + '.b')
            if a != b:
                bad += 1
                print('MISMATCH', path, len(a), len(b), [x[0] for x in a] if len(a) != len(b) else [i for i in range(len(a)) if a[i] != b[i]])
        print('checked', bad)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, dir.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        #expect(converted > 0)
        #expect(output.hasSuffix("checked 0\n"), "\(output)")
    }
}
