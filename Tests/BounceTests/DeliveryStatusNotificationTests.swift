// Tests of DeliveryStatusNotification.swift: notifications are parsed back with Python's `email`
// package (an independent reader) and checked field by field; NOTIFY and null-sender rules.
import Foundation
import Testing
@testable import Bounce
import MIME

@Suite struct DeliveryStatusNotificationTests {
    // MARK: Samples

    static func crlf(_ text: String) -> [UInt8] {
        var out = [UInt8]()
        for b in text.utf8 {
            if b == 10 { out.append(13) }
            out.append(b)
        }
        return out
    }

    static let original = crlf("""
    Return-Path: <alice@example.org>
    Received: from client.example.org by mx1.example.org
    From: Alice <alice@example.org>
    To: bob@example.net, carol@example.net
    Subject: Quarterly report
    Message-ID: <q3@example.org>
    MIME-Version: 1.0
    Content-Type: text/plain; charset=us-ascii

    Hello Bob,
    the report is attached.

    """)

    static let arrival: Int64 = 1_795_000_000
    static let now: Int64 = 1_795_003_600

    static func failed(_ rcpt: String = "bob@example.net") -> DeliveryStatusNotification.Recipient {
        .init(finalRecipient: rcpt, originalRecipient: "rfc822;\(rcpt)", action: .failed, status: "5.1.1",
              remoteMTA: "dns; mx.example.net", diagnosticCode: "smtp; 550 5.1.1 <\(rcpt)>: user unknown",
              lastAttemptDate: now - 60)
    }

    static func notification(_ recipients: [DeliveryStatusNotification.Recipient], ret: DeliveryStatusNotification.Return? = nil,
                             original: [UInt8] = original, smtputf8: Bool = false) -> DeliveryStatusNotification {
        DeliveryStatusNotification(reportingMTA: "dns; mx1.example.org", arrivalDate: arrival, envelopeID: "Q3+2Breport",
                                   returnContent: ret, sender: "alice@example.org", smtputf8: smtputf8,
                                   recipients: recipients, originalMessage: original)
    }

    // MARK: Python's email package

    struct Report: Decodable {
        var headers: [String: String]
        var date: Double?
        var contentType: String
        var reportType: String?
        var parts: [String]
        var perMessage: [String: String]
        var perRecipient: [[String: String]]
        var returnedHeaders: [String: String]
        var returnedBody: String?
        var returnedCTE: String?
        var defects: [String]
    }

    /// Parses `bytes` with Python's `email` package (compat32) and returns what a DSN reader sees.
    static func python(_ bytes: [UInt8]) throws -> Report {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gh-dsn-\(UUID().uuidString).eml")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
        import email, email.utils, json, re, sys
        def unfold(v):
            return re.sub(r'\\r?\\n(?=[ \\t])', '', str(v))
        m = email.message_from_bytes(open(sys.argv[1], 'rb').read())
        out = {'headers': {k: unfold(v) for k, v in m.items()},
               'date': email.utils.parsedate_to_datetime(m['Date']).timestamp() if m['Date'] else None,
               'contentType': m.get_content_type(), 'reportType': m.get_param('report-type'),
               'parts': [p.get_content_type() for p in m.get_payload()],
               'perMessage': {}, 'perRecipient': [], 'returnedHeaders': {}, 'returnedBody': None,
               'returnedCTE': None, 'defects': []}
        for p in m.walk():
            out['defects'] += [type(d).__name__ for d in p.defects]
        parts = m.get_payload()
        blocks = parts[1].get_payload()
        out['perMessage'] = {k: unfold(v) for k, v in blocks[0].items()}
        out['perRecipient'] = [{k: unfold(v) for k, v in b.items()} for b in blocks[1:]]
        third = parts[2]
        out['returnedCTE'] = third.get('Content-Transfer-Encoding')
        if third.get_content_type() == 'message/rfc822':
            inner = third.get_payload()[0]
            out['returnedHeaders'] = {k: unfold(v) for k, v in inner.items()}
            body = inner.get_payload(decode=True)
            out['returnedBody'] = body.decode('utf-8', 'replace') if body is not None else None
        elif third.get_content_type() == 'text/rfc822-headers':
            text = third.get_payload(decode=True).decode('utf-8', 'replace')
            out['returnedBody'] = text
            out['returnedHeaders'] = {k: unfold(v) for k, v in email.message_from_string(text).items()}
        print(json.dumps(out))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try JSONDecoder().decode(Report.self, from: data)
    }

    /// CRLF everywhere, no line over 998 octets, nothing but ASCII (no NUL).
    static func checkWireForm(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        var problem: String?
        var column = 0
        for (i, c) in bytes.enumerated() where problem == nil {
            if c >= 0x80 || c == 0 {
                problem = "octet \(c) at \(i)"
            } else if c == 10 {
                if i == 0 || bytes[i - 1] != 13 { problem = "bare LF at \(i)" }
                column = 0
            } else if c == 13 {
                if i + 1 >= bytes.count || bytes[i + 1] != 10 { problem = "bare CR at \(i)" }
            } else {
                column += 1
                if column > 998 { problem = "line over 998 octets at \(i)" }
            }
        }
        #expect(problem == nil, sourceLocation: sourceLocation)
        #expect(bytes.suffix(2) == [13, 10], sourceLocation: sourceLocation)
    }

    // MARK: Failure reports

    @Test func failureReportWithHeadersByDefault() throws {
        let dsn = Self.notification([Self.failed(), Self.failed("carol@example.net")])
        let composed = dsn.compose(date: Self.now, uniqueID: "4XyZ12AB")
        Self.checkWireForm(composed.bytes)
        #expect(composed.envelopeSender == "")
        #expect(composed.envelopeRecipient == "alice@example.org")
        #expect(composed.returned == .headers)
        #expect(!composed.requiresSMTPUTF8)

        let r = try Self.python(composed.bytes)
        #expect(r.defects.isEmpty)
        #expect(r.headers["From"] == "Mail Delivery System <MAILER-DAEMON@mx1.example.org>")
        #expect(r.headers["To"] == "alice@example.org")
        #expect(r.headers["Subject"] == "Undelivered Mail Returned to Sender")
        #expect(r.headers["Auto-Submitted"] == "auto-replied")
        #expect(r.headers["MIME-Version"] == "1.0")
        #expect(r.headers["Message-ID"] == "<4XyZ12AB.\(Self.now)@mx1.example.org>")
        #expect(r.date == Double(Self.now))
        #expect(r.contentType == "multipart/report")
        #expect(r.reportType == "delivery-status")
        #expect(r.parts == ["text/plain", "message/delivery-status", "text/rfc822-headers"])

        #expect(r.perMessage["Reporting-MTA"] == "dns; mx1.example.org")
        #expect(r.perMessage["Original-Envelope-Id"] == "Q3+report")
        #expect(r.perMessage["Arrival-Date"] == "Wed, 18 Nov 2026 11:06:40 +0000")
        #expect(r.perRecipient.count == 2)
        let bob = r.perRecipient[0]
        #expect(bob["Final-Recipient"] == "rfc822; bob@example.net")
        #expect(bob["Original-Recipient"] == "rfc822; bob@example.net")
        #expect(bob["Action"] == "failed")
        #expect(bob["Status"] == "5.1.1")
        #expect(bob["Remote-MTA"] == "dns; mx.example.net")
        #expect(bob["Diagnostic-Code"] == "smtp; 550 5.1.1 <bob@example.net>: user unknown")
        #expect(bob["Last-Attempt-Date"] == "Wed, 18 Nov 2026 12:05:40 +0000")
        #expect(bob["Will-Retry-Until"] == nil)
        #expect(r.perRecipient[1]["Final-Recipient"] == "rfc822; carol@example.net")

        // The returned headers, and nothing of the body.
        #expect(r.returnedHeaders["Subject"] == "Quarterly report")
        #expect(r.returnedHeaders["Message-ID"] == "<q3@example.org>")
        #expect(r.returnedHeaders["To"] == "bob@example.net, carol@example.net")
        #expect(r.returnedBody?.contains("Hello Bob") == false)
        #expect(r.returnedCTE == "7bit")

        // The human part names each recipient and the reason.
        let text = String(decoding: composed.bytes, as: UTF8.self)
        #expect(text.contains("<bob@example.net>: failed, status 5.1.1; host mx.example.net said: 550 5.1.1 <bob@example.net>: user unknown\r\n"))
    }

    @Test func retFullReturnsTheWholeMessage() throws {
        let composed = Self.notification([Self.failed()], ret: .full).compose(date: Self.now, uniqueID: "A1")
        Self.checkWireForm(composed.bytes)
        #expect(composed.returned == .message)
        let r = try Self.python(composed.bytes)
        #expect(r.defects.isEmpty)
        #expect(r.parts == ["text/plain", "message/delivery-status", "message/rfc822"])
        #expect(r.returnedHeaders["Subject"] == "Quarterly report")
        #expect(r.returnedHeaders["Return-Path"] == "<alice@example.org>")
        #expect(r.returnedBody == "Hello Bob,\r\nthe report is attached.\r\n")
        // The original is in the notification byte for byte.
        #expect(DeliveryStatusNotification.contains(composed.bytes, Self.original))
    }

    @Test func retHdrsReturnsHeadersEvenWhenTheDefaultIsFull() throws {
        var options = DeliveryStatusNotification.Options()
        options.returnWhenUnspecified = .full
        let unspecified = Self.notification([Self.failed()]).compose(date: Self.now, uniqueID: "A2", options: options)
        #expect(unspecified.returned == .message)
        let hdrs = Self.notification([Self.failed()], ret: .headers).compose(date: Self.now, uniqueID: "A2", options: options)
        #expect(hdrs.returned == .headers)
        let r = try Self.python(hdrs.bytes)
        #expect(r.parts.last == "text/rfc822-headers")
    }

    @Test func largeOriginalFallsBackToHeaders() throws {
        var options = DeliveryStatusNotification.Options()
        options.returnSizeLimit = 100
        let composed = Self.notification([Self.failed()], ret: .full).compose(date: Self.now, uniqueID: "A3", options: options)
        #expect(composed.returned == .headers)
        #expect(composed.headersOnlyReason == .tooLarge)
        let r = try Self.python(composed.bytes)
        #expect(r.parts.last == "text/rfc822-headers")
    }

    @Test func eightBitOriginalIsReturnedConverted() throws {
        let original = Self.crlf("""
        From: alice@example.org
        To: bob@example.net
        Subject: Grüße
        MIME-Version: 1.0
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit

        Schöne Grüße aus Köln

        """)
        let composed = Self.notification([Self.failed()], ret: .full, original: original).compose(date: Self.now, uniqueID: "A4")
        Self.checkWireForm(composed.bytes)
        #expect(composed.returned == .convertedMessage)
        let r = try Self.python(composed.bytes)
        #expect(r.defects.isEmpty)
        #expect(r.returnedHeaders["Content-Transfer-Encoding"] == "quoted-printable")
        #expect(r.returnedHeaders["Subject"] == "=?utf-8?B?R3LDvMOfZQ==?=")
        #expect(r.returnedBody == "Schöne Grüße aus Köln\r\n")
    }

    @Test func smtputf8OriginalIsReturnedAsMessageGlobal() throws {
        let original = Self.crlf("""
        From: jürgen@example.org
        To: bob@example.net
        Subject: x

        body ü

        """)
        let composed = Self.notification([Self.failed()], ret: .full, original: original, smtputf8: true)
            .compose(date: Self.now, uniqueID: "A5")
        Self.checkWireForm(composed.bytes)
        #expect(composed.returned == .globalMessage)
        let r = try Self.python(composed.bytes)
        #expect(r.parts == ["text/plain", "message/delivery-status", "message/global"])
        // Decoded by the project's parser: the original, octet for octet.
        let parsed = MIMEParser().parse(composed.bytes)
        let global = try #require(parsed.parts.first { $0.contentType.mimeType == "message/global" })
        #expect(global.transferEncoding == .quotedPrintable)
        #expect(parsed.decodedBody(of: global, input: composed.bytes) == original)

        // RET=HDRS of the same: message/global-headers.
        let headers = Self.notification([Self.failed()], ret: .headers, original: original, smtputf8: true)
            .compose(date: Self.now, uniqueID: "A5")
        Self.checkWireForm(headers.bytes)
        #expect(headers.returned == .globalHeaders)
        #expect(try Self.python(headers.bytes).parts.last == "message/global-headers")
    }

    @Test func latin1HeaderFallsBackToEncodedHeaders() throws {
        var original = Self.crlf("From: a@example.org\nSubject: X\n\nbody\n")
        original[original.firstIndex(of: UInt8(ascii: "X"))!] = 0xE9
        let composed = Self.notification([Self.failed()], ret: .full, original: original).compose(date: Self.now, uniqueID: "A6")
        Self.checkWireForm(composed.bytes)
        #expect(composed.returned == .headers)
        #expect(composed.headersOnlyReason == .unconvertible)
        let r = try Self.python(composed.bytes)
        #expect(r.returnedCTE == "quoted-printable")
        #expect(String(decoding: composed.bytes, as: UTF8.self).contains("Subject: =E9\r\n"))
    }

    @Test func overlongLinesFallBackToHeaders() throws {
        let original = Self.crlf("Subject: long\n\n" + String(repeating: "a", count: 1200) + "\n")
        let composed = Self.notification([Self.failed()], ret: .full, original: original).compose(date: Self.now, uniqueID: "A7")
        Self.checkWireForm(composed.bytes)
        #expect(composed.returned == .headers)
        #expect(composed.headersOnlyReason == .notSevenBitClean)
        #expect(try Self.python(composed.bytes).returnedHeaders["Subject"] == "long")
    }

    // MARK: Delay warnings and success reports

    @Test func delayWarningCarriesWillRetryUntilAndOnlyHeaders() throws {
        let until = Self.arrival + 5 * 86_400
        let delayed = DeliveryStatusNotification.Recipient(
            finalRecipient: "bob@example.net", action: .delayed, status: "4.4.1", remoteMTA: "mx.example.net",
            diagnosticCode: "connect to mx.example.net: Connection timed out", lastAttemptDate: Self.now, willRetryUntil: until)
        let composed = Self.notification([delayed], ret: .full).compose(date: Self.now, uniqueID: "D1")
        Self.checkWireForm(composed.bytes)
        #expect(composed.returned == .headers)  // RFC 3461 §4.3: no failure, headers only
        let r = try Self.python(composed.bytes)
        #expect(r.defects.isEmpty)
        #expect(r.headers["Subject"] == "Delayed Mail (still being retried)")
        let block = try #require(r.perRecipient.first)
        #expect(block["Action"] == "delayed")
        #expect(block["Status"] == "4.4.1")
        #expect(block["Will-Retry-Until"] == "Mon, 23 Nov 2026 11:06:40 +0000")
        #expect(block["Remote-MTA"] == "dns; mx.example.net")
        #expect(block["Diagnostic-Code"] == "smtp; connect to mx.example.net: Connection timed out")
        #expect(block["Original-Recipient"] == nil)
        #expect(String(decoding: composed.bytes, as: UTF8.self).contains("It gives up after Mon, 23 Nov 2026 11:06:40 +0000."))
    }

    @Test func successReport() throws {
        let delivered = DeliveryStatusNotification.Recipient(finalRecipient: "bob@example.net", notify: "SUCCESS",
                                                             action: .delivered, status: "2.0.0", remoteMTA: "dns; mx.example.net",
                                                             diagnosticCode: "smtp; 250 2.0.0 OK queued")
        let composed = Self.notification([delivered]).compose(date: Self.now, uniqueID: "S1")
        let r = try Self.python(composed.bytes)
        #expect(r.headers["Subject"] == "Successful Mail Delivery Report")
        #expect(r.perRecipient.first?["Action"] == "delivered")
        #expect(r.perRecipient.first?["Status"] == "2.0.0")
    }

    // MARK: Whether to notify

    @Test func notifyRules() {
        typealias DSN = DeliveryStatusNotification
        // Null sender: never.
        for sender in ["", "<>", " <> "] {
            for action in DSN.Action.allCases {
                #expect(!DSN.mayNotify(sender: sender, notify: "SUCCESS,FAILURE,DELAY", action: action))
            }
        }
        // NEVER: never.
        for action in DSN.Action.allCases { #expect(!DSN.mayNotify(sender: "a@x", notify: "NEVER", action: action)) }
        #expect(!DSN.mayNotify(sender: "a@x", notify: "never", action: .failed))
        // Absent: FAILURE,DELAY.
        #expect(DSN.mayNotify(sender: "a@x", notify: nil, action: .failed))
        #expect(DSN.mayNotify(sender: "a@x", notify: nil, action: .delayed))
        #expect(!DSN.mayNotify(sender: "a@x", notify: nil, action: .delivered))
        #expect(!DSN.mayNotify(sender: "a@x", notify: nil, action: .relayed))
        // Only what was asked for.
        #expect(!DSN.mayNotify(sender: "a@x", notify: "SUCCESS", action: .failed))
        #expect(DSN.mayNotify(sender: "a@x", notify: "SUCCESS", action: .delivered))
        #expect(DSN.mayNotify(sender: "a@x", notify: "success", action: .relayed))
        #expect(DSN.mayNotify(sender: "a@x", notify: "SUCCESS", action: .expanded))
        #expect(!DSN.mayNotify(sender: "a@x", notify: "FAILURE", action: .delayed))
        #expect(DSN.mayNotify(sender: "a@x", notify: "DELAY,FAILURE", action: .delayed))
        // Malformed NOTIFY counts as absent.
        #expect(DSN.Notify(parameter: "NEVER,FAILURE") == nil)
        #expect(DSN.Notify(parameter: "FAILURE,FAILURE") == nil)
        #expect(DSN.Notify(parameter: "") == nil)
        #expect(DSN.Notify(parameter: "SUCCESS,") == nil)
        #expect(DSN.mayNotify(sender: "a@x", notify: "NEVER,SUCCESS", action: .failed))
        #expect(DSN.Notify(parameter: "NEVER") == .never)
        #expect(DSN.Notify(parameter: "success,Delay") == [.success, .delay])
        #expect(DSN.Return(parameter: "hdrs") == .headers)
        #expect(DSN.Return(parameter: "FULL") == .full)
        #expect(DSN.Return(parameter: "ALL") == nil)
    }

    @Test func filteringRecipients() {
        var never = Self.failed("n@example.net")
        never.notify = "NEVER"
        var successOnly = Self.failed("s@example.net")
        successOnly.notify = "SUCCESS"
        let dsn = Self.notification([never, successOnly, Self.failed("d@example.net")])
        let filtered = dsn.filteredForNotification()
        #expect(filtered?.recipients.map(\.finalRecipient) == ["d@example.net"])
        #expect(Self.notification([never, successOnly]).filteredForNotification() == nil)
        var nullSender = dsn
        nullSender.sender = ""
        #expect(nullSender.filteredForNotification() == nil)
    }

    // MARK: Field values

    @Test func addressesAndIdentifiers() throws {
        var r = Self.failed("jürgen@example.net")
        r.originalRecipient = "rfc822;user+2Bext@example.net"
        var utf8 = Self.failed("b@example.net")
        utf8.originalRecipient = "utf-8;j\\x{FC}rgen@example.net"
        var dsn = Self.notification([r, utf8])
        dsn.envelopeID = "bad+ZZ"
        let composed = dsn.compose(date: Self.now, uniqueID: "X")
        Self.checkWireForm(composed.bytes)
        let report = try Self.python(composed.bytes)
        #expect(report.perMessage["Original-Envelope-Id"] == "bad+ZZ")
        #expect(report.perRecipient[0]["Final-Recipient"] == "utf-8; j\\x{FC}rgen@example.net")
        #expect(report.perRecipient[0]["Original-Recipient"] == "rfc822; user+ext@example.net")
        #expect(report.perRecipient[1]["Original-Recipient"] == "utf-8; j\\x{FC}rgen@example.net")
        #expect(DeliveryStatusNotification.utf8AddrXText("a+b=c\\d ü@x") == "a\\x{2B}b\\x{3D}c\\x{5C}d\\x{20}\\x{FC}@x")
        #expect(DeliveryStatusNotification.decodedXText("a+2B+3Db") == "a+=b")
        #expect(DeliveryStatusNotification.decodedXText("a+2b") == nil)
        #expect(DeliveryStatusNotification.decodedXText("+0A") == nil)
    }

    @Test func statusCodesAreRepairedToTheActionsClass() {
        typealias DSN = DeliveryStatusNotification
        #expect(DSN.validStatus("5.7.1", .failed) == "5.7.1")
        #expect(DSN.validStatus("4.7.1", .failed) == "5.0.0")
        #expect(DSN.validStatus("5.1", .failed) == "5.0.0")
        #expect(DSN.validStatus("4.4.7", .delayed) == "4.4.7")
        #expect(DSN.validStatus("x", .delayed) == "4.0.0")
        #expect(DSN.validStatus("2.1.5", .relayed) == "2.1.5")
        #expect(DSN.validStatus("5.1.1000", .failed) == "5.0.0")
    }

    @Test func noInputCanInjectFieldsOrParts() throws {
        var r = Self.failed()
        r.diagnosticCode = "smtp; 550 no\r\nAction: delivered\r\n\r\nFinal-Recipient: rfc822; evil@example.com"
        r.remoteMTA = "mx\nX-Evil: 1"
        var dsn = Self.notification([r])
        dsn.sender = "alice@example.org\r\nBcc: victim@example.com"
        let composed = dsn.compose(date: Self.now, uniqueID: "I1\r\nX-Evil: 2")
        Self.checkWireForm(composed.bytes)
        let report = try Self.python(composed.bytes)
        #expect(report.headers["Bcc"] == nil)
        #expect(report.headers["X-Evil"] == nil)
        #expect(report.perRecipient.count == 1)
        #expect(report.perRecipient[0]["Action"] == "failed")
        #expect(report.perRecipient[0]["X-Evil"] == nil)
    }

    @Test func longDiagnosticIsFoldedAndCut() throws {
        var r = Self.failed()
        let words = (0..<600).map { "word\($0)" }.joined(separator: " ")
        r.diagnosticCode = "smtp; 550 " + words + " " + String(repeating: "x", count: 1500)
        let composed = Self.notification([r]).compose(date: Self.now, uniqueID: "L1")
        Self.checkWireForm(composed.bytes)
        let report = try Self.python(composed.bytes)
        let code = try #require(report.perRecipient.first?["Diagnostic-Code"])
        #expect(code.hasPrefix("smtp; 550 word0 word1 word2"))
        #expect(code.utf8.count <= DeliveryStatusNotification.Options.default.maxFieldLength)
        #expect(report.defects.isEmpty)
    }

    @Test func boundaryNeverOccursInTheContent() throws {
        // An original that holds the first boundary the composer would pick.
        let trap = Self.crlf("Subject: trap\n\n--B1=\(Self.now)/mx1.example.org\n--B1=\(Self.now)/mx1.example.org.1--\n")
        let composed = Self.notification([Self.failed()], ret: .full, original: trap).compose(date: Self.now, uniqueID: "B1")
        let r = try Self.python(composed.bytes)
        #expect(r.parts == ["text/plain", "message/delivery-status", "message/rfc822"])
        let text = String(decoding: composed.bytes, as: UTF8.self)
        #expect(text.contains("boundary=\"B1=\(Self.now)/mx1.example.org.2\""))
        #expect(r.returnedBody == "--B1=\(Self.now)/mx1.example.org\r\n--B1=\(Self.now)/mx1.example.org.1--\r\n")
    }

    @Test func datesAreRFC5322() {
        #expect(RFC5322Date.format(0) == "Thu, 1 Jan 1970 00:00:00 +0000")
        #expect(RFC5322Date.format(951_782_400) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(RFC5322Date.format(1_709_164_800) == "Thu, 29 Feb 2024 00:00:00 +0000")
        #expect(RFC5322Date.format(4_102_444_799) == "Thu, 31 Dec 2099 23:59:59 +0000")
        #expect(RFC5322Date.format(-1) == "Wed, 31 Dec 1969 23:59:59 +0000")
    }

    // MARK: Real messages

    /// The project's shared/ directory (beside the repository), found by walking up from this file.
    static let sharedDirectory: String? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().resolvingSymlinksInPath()
        while dir.path.count > 1 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("shared/corpus").path) {
                return dir.appendingPathComponent("shared").path
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    /// Messages of the shared corpus, returned with RET=FULL: wire form and the three parts
    /// as Python reads them, the returned message's Message-ID, whatever was returned.
    @Test func corpusMessagesMakeWellFormedNotifications() throws {
        guard let shared = Self.sharedDirectory else { return }
        let fm = FileManager.default
        var files: [String] = []
        for sub in ["corpus/ham", "corpus/spam", "testdata/mime-cpython"] {
            let path = shared + "/" + sub
            files += (try? fm.contentsOfDirectory(atPath: path))?.sorted().map { path + "/" + $0 } ?? []
        }
        let dir = fm.temporaryDirectory.appendingPathComponent("gh-dsn-corpus-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        var options = DeliveryStatusNotification.Options()
        options.returnSizeLimit = 4 << 20
        var kinds: [DeliveryStatusNotification.ReturnedContent: Int] = [:]
        for (n, file) in files.enumerated() {
            // Every message with 8-bit data, and every tenth of the others (debug builds are slow).
            guard let data = fm.contents(atPath: file), data.contains(where: { $0 >= 0x80 }) || n % 10 == 0 else { continue }
            let composed = Self.notification([Self.failed()], ret: .full, original: Array(data))
                .compose(date: Self.now, uniqueID: "C\(n)", options: options)
            Self.checkWireForm(composed.bytes)
            kinds[composed.returned, default: 0] += 1
            try Data(composed.bytes).write(to: dir.appendingPathComponent("\(n).eml"))
        }
        let script = """
        import email, os, sys
        bad = 0
        for name in sorted(os.listdir(sys.argv[1])):
            m = email.message_from_bytes(open(os.path.join(sys.argv[1], name), 'rb').read())
            parts = m.get_payload()
            ok = (m.get_content_type() == 'multipart/report' and m.get_param('report-type') == 'delivery-status'
                  and isinstance(parts, list) and len(parts) == 3 and parts[0].get_content_type() == 'text/plain'
                  and parts[1].get_content_type() == 'message/delivery-status'
                  and len(parts[1].get_payload()) == 2 and parts[1].get_payload()[1]['Action'] == 'failed')
            if not ok:
                bad += 1
                print('BAD', name)
        print('checked', bad)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, dir.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(output.hasSuffix("checked 0\n"), "\(output)")
        #expect(kinds[.message, default: 0] > 0)
        #expect(kinds[.convertedMessage, default: 0] > 0)
    }
}
