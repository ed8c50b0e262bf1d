#if canImport(Glibc)
import Glibc
#endif
import GatehouseCore
import Policy
import SpamRules
import Testing
@testable import Scanning

@Suite("Message scanner")
struct MessageScannerTests {
    let context = ScanContext(sender: "a@remote.test", recipients: ["bob@example.org", "x@foreign.test"], listener: "mx",
                              listenerRole: .submission, internalDomains: ["example.org"])

    @Test func gtubeIsScoredAndTheFactsCarryTheEnvelope() async throws {
        let scanner = MessageScanner(rules: try DefaultRules.matcher())
        let raw = Array("From: a@remote.test\r\nSubject: test\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n".utf8)
        let (facts, message) = await scanner.scanMessage(raw, context: context)
        #expect((facts.spamScore ?? 0) >= 1000 && facts.spamHits.contains { $0.name == "GTUBE" })
        #expect(facts.directions == [.internal, .outbound])
        #expect(facts.subject == "test" && facts.size == raw.count)
        #expect(message.subject == "test")
        #expect(facts.virus == .notScanned)
    }

    @Test func attachmentsAreDescribedByTrueType() async throws {
        let scanner = MessageScanner(rules: try DefaultRules.matcher())
        let raw = Array(("From: a@remote.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            + "--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n--b\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\r\n--b--\r\n").utf8)
        let facts = await scanner.scan(raw, context: context)
        let attachment = try #require(facts.attachments.first)
        #expect(attachment.names.contains("report.pdf") && attachment.trueType == "pe" && attachment.typeMismatch)
    }

    @Test func extraRuleFilesAreReadAndBadOnesNamed() throws {
        let path = "/tmp/scanner-rules-\(UInt64.random(in: 0...UInt64.max)).rules"
        let good = "gatehouse-rules 1\nbody LOCAL_WORD /frobnicate/i\nscore LOCAL_WORD 3.0\n"
        try #require(fopenWrite(path, good))
        let scanner = try MessageScanner(ruleFiles: [path], spamThreshold: 4, antiVirus: nil)
        #expect(scanner.spamThreshold == 4)
        try #require(fopenWrite(path, "gatehouse-rules 1\nbody BROKEN /(unclosed/\n"))
        #expect(throws: ScannerSetupError.self) { try MessageScanner(ruleFiles: [path], spamThreshold: 5, antiVirus: nil) }
        #expect(throws: ScannerSetupError.self) { try MessageScanner(ruleFiles: ["/nonexistent.rules"], spamThreshold: 5, antiVirus: nil) }
        remove(path)
    }

    func fopenWrite(_ path: String, _ text: String) -> Bool {
        guard let f = fopen(path, "w") else { return false }
        defer { fclose(f) }
        return fputs(text, f) >= 0
    }
}
