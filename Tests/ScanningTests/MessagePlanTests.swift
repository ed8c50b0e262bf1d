import GatehouseCore
import MIME
@testable import Policy
import Testing
@testable import Scanning

@Suite("Message plan")
struct MessagePlanTests {
    static let raw = Array((
        "From: a@remote.test\r\nTo: bob@example.org\r\nSubject: quarterly numbers\r\nX-Internal: secret\r\n"
        + "X-Spam-Status: No, forged\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        + "--b\r\nContent-Type: text/plain\r\n\r\nHello Bob.\r\n"
        + "--b\r\nContent-Type: application/octet-stream; name=\"setup.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\r\n--b--\r\n").utf8)
    static let message = MIMEParser().parse(raw)

    func facts(_ recipients: [String], spamScore: Double? = 1.2) -> PolicyFacts {
        PolicyFacts(sender: "a@remote.test", recipients: recipients, listener: "mx", directions: recipients.map { _ in .inbound },
                    size: MessagePlanTests.raw.count, headers: [("From", "a@remote.test"), ("Subject", "quarterly numbers")],
                    subject: "quarterly numbers", spamScore: spamScore, spamThreshold: 5, spamHits: [("SOME_RULE", 1.2)])
    }

    func verdict(_ recipient: String, _ disposition: Disposition = .deliver, _ actions: [PolicyAction] = [],
                 rules: [String] = []) -> RecipientVerdict {
        RecipientVerdict(recipient: recipient, disposition: disposition, actions: actions, rulesFired: rules)
    }

    func plan(_ verdicts: [RecipientVerdict], stamps: StampSettings = StampSettings(spamHeaders: false)) -> MessagePlan {
        MessagePlan.make(raw: MessagePlanTests.raw, message: MessagePlanTests.message, facts: facts(verdicts.map(\.recipient)),
                         decision: PolicyDecision(verdicts: verdicts, trace: []), stamps: stamps)
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func equalVerdictsShareOneUnchangedCopy() {
        let p = plan([verdict("bob@example.org"), verdict("carol@example.org")])
        #expect(p.deliveries.count == 1)
        #expect(p.deliveries[0].recipients == ["bob@example.org", "carol@example.org"])
        #expect(!p.deliveries[0].modified && p.deliveries[0].content == MessagePlanTests.raw)
        #expect(p.holds.isEmpty && p.dropped.isEmpty && p.notices.isEmpty)
    }

    @Test func differentChangesMakeSeparateCopies() {
        let p = plan([verdict("bob@example.org"), verdict("ceo@example.org", .deliver, [.tagSubject("[EXTERNAL]")], rules: ["vip/tag"])])
        #expect(p.deliveries.map(\.recipients) == [["bob@example.org"], ["ceo@example.org"]])
        #expect(text(p.deliveries[1].content).contains("Subject: [EXTERNAL] quarterly numbers\r\n"))
        #expect(!text(p.deliveries[0].content).contains("[EXTERNAL]"))
        #expect(p.deliveries[1].rules == ["vip/tag"])
    }

    @Test func aTagAlreadyThereIsNotAddedAgain() {
        var f = facts(["bob@example.org"])
        f.subject = "[EXTERNAL] quarterly numbers"
        let p = MessagePlan.make(raw: MessagePlanTests.raw, message: MessagePlanTests.message, facts: f,
                                 decision: PolicyDecision(verdicts: [verdict("bob@example.org", .deliver, [.tagSubject("[EXTERNAL]")])], trace: []),
                                 stamps: StampSettings(spamHeaders: false))
        #expect(!p.deliveries[0].modified)
    }

    @Test func headerEditsDisclaimerAndStrip() throws {
        let exe = try NamePattern("*.exe")
        let p = plan([verdict("bob@example.org", .deliver, [
            .addHeader(name: "X-Stamped", value: "yes"), .removeHeader(name: "X-Internal"),
            .disclaimer(text: "From outside.", html: nil), .strip(names: [exe], types: []),
        ])])
        let out = text(p.deliveries[0].content)
        #expect(out.contains("X-Stamped: yes\r\n") && !out.contains("X-Internal"))
        #expect(out.contains("From outside.") && out.contains("Hello Bob."))
        #expect(!out.contains("TVqQAAMA") && out.contains("setup.exe was removed"))
        #expect(p.unstrippable.isEmpty)
    }

    @Test func quarantineDeleteRejectAndArchive() {
        let p = plan([
            verdict("bob@example.org", .quarantine(folder: "spam"), [.copy(to: "archive@example.org")], rules: ["p/spam"]),
            verdict("carol@example.org", .quarantine(folder: "spam"), rules: ["p/spam"]),
            verdict("dave@example.org", .delete, rules: ["p/drop"]),
            verdict("eve@example.org", .reject(SMTPReply(550, EnhancedStatusCode(5, 7, 1), "no")), rules: ["p/no"]),
        ])
        #expect(p.holds == [MessagePlan.Hold(folder: "spam", recipients: ["bob@example.org", "carol@example.org"], rules: ["p/spam"])])
        #expect(p.dropped.map(\.recipient) == ["dave@example.org", "eve@example.org"])
        #expect(p.deliveries.map(\.recipients) == [["archive@example.org"]], "the archive copy is the message as received")
        #expect(p.deliveries[0].content == MessagePlanTests.raw)
    }

    @Test func redirectAddRecipientAndRoute() {
        let p = plan([
            verdict("old@example.org", .deliver, [.redirect(to: "new@example.org"), .addRecipient("boss@example.org")]),
            verdict("bob@example.org", .deliver, [.route("10.0.0.5:2525")]),
        ])
        #expect(p.deliveries.map(\.recipients) == [["new@example.org", "boss@example.org"], ["bob@example.org"]])
        #expect(p.deliveries.map(\.route) == [nil, "10.0.0.5:2525"])
    }

    @Test func spamHeadersReplaceForgedOnes() {
        let p = plan([verdict("bob@example.org")], stamps: StampSettings(spamHeaders: true))
        let out = text(p.deliveries[0].content)
        #expect(out.contains("X-Spam-Status: No, score=1.2 required=5.0 tests=SOME_RULE\r\n"))
        #expect(out.contains("X-Spam-Score: 1.2\r\n"))
        #expect(!out.contains("forged"))
        #expect(out.hasPrefix("X-Spam-Status:"))
    }

    @Test func notificationsGroupRecipientsPerTemplate() {
        let p = plan([
            verdict("bob@example.org", .quarantine(folder: "spam"), [.notify(.recipients, template: "quarantined")], rules: ["p/spam"]),
            verdict("carol@example.org", .quarantine(folder: "spam"), [.notify(.recipients, template: "quarantined")], rules: ["p/spam"]),
        ])
        #expect(p.notices.count == 1)
        #expect(p.notices[0].about == ["bob@example.org", "carol@example.org"] && p.notices[0].rules == ["p/spam"])
    }

    @Test(arguments: [(0.0, "0.0"), (1.25, "1.3"), (-2.04, "-2.0"), (1000, "1000.0"), (4.96, "5.0")])
    func scoresPrintWithOneDecimal(value: Double, expected: String) {
        #expect(MessagePlan.format(value) == expected)
    }
}
