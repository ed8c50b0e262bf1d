import GatehouseCore
import Policy
import Testing
@testable import Scanning

@Suite("Notifications")
struct NotificationTests {
    let composer = NotificationComposer(hostname: "mx.example.org", administrator: "postmaster@example.org")

    func facts(sender: String = "a@remote.test", subject: String = "Invoice") -> PolicyFacts {
        PolicyFacts(sender: sender, recipients: ["bob@example.org"], listener: "mx", directions: [.inbound], size: 100,
                    headers: [("From", "Alice <a@remote.test>")], subject: subject, spamScore: 7.5, virus: .infected(["Eicar-Signature"]))
    }

    func notice(_ target: NotifyTarget, _ template: String) -> MessagePlan.Notice {
        MessagePlan.Notice(target: target, template: template, about: ["bob@example.org"], disposition: "quarantine(virus)",
                           rules: ["protect/viruses"])
    }

    func text(_ c: NotificationComposer.Composed?) -> String { c.map { String(decoding: $0.bytes, as: UTF8.self) } ?? "" }

    @Test func theBuiltInTemplatesRenderAsMail() throws {
        let c = try #require(composer.compose(notice(.sender, "virus-sender"), facts: facts(), queueID: "Q1", date: "Mon, 23 Nov 2026 10:00:00 +0000",
                                              messageID: "id1"))
        #expect(c.recipients == ["a@remote.test"])
        let out = text(c)
        #expect(out.hasPrefix("From: Mail Gateway <postmaster@mx.example.org>\r\nTo: <a@remote.test>\r\n"))
        #expect(out.contains("Subject: Undelivered: virus found in your message \"Invoice\"\r\n"))
        #expect(out.contains("Auto-Submitted: auto-replied\r\n") && out.contains("Message-ID: <id1@mx.example.org>\r\n"))
        #expect(out.contains("Eicar-Signature"))
        let admin = text(composer.compose(notice(.admin, "admin"), facts: facts(), queueID: "Q1", date: "d", messageID: "id2"))
        #expect(admin.contains("To: <postmaster@example.org>") && admin.contains("protect/viruses") && admin.contains("7.5"))
        let recipients = try #require(composer.compose(notice(.recipients, "quarantined"), facts: facts(), queueID: "Q1", date: "d", messageID: "id3"))
        #expect(recipients.recipients == ["bob@example.org"])
    }

    @Test func nobodyToTellMeansNoNotification() {
        #expect(composer.compose(notice(.sender, "virus-sender"), facts: facts(sender: ""), queueID: "Q", date: "d", messageID: "i") == nil)
        let noAdmin = NotificationComposer(hostname: "mx", administrator: nil)
        #expect(noAdmin.compose(notice(.admin, "admin"), facts: facts(), queueID: "Q", date: "d", messageID: "i") == nil)
        #expect(composer.compose(notice(.sender, "no-such-template"), facts: facts(), queueID: "Q", date: "d", messageID: "i") == nil)
    }

    @Test func hostileValuesCannotAddHeaderFields() {
        let out = text(composer.compose(notice(.sender, "virus-sender"), facts: facts(subject: "x\r\nBcc: victim@example.net"),
                                        queueID: "Q", date: "d", messageID: "i"))
        let header = out.components(separatedBy: "\r\n\r\n")[0]
        #expect(!header.contains("\r\nBcc:"))
    }

    @Test func configuredTemplatesOverrideAndValuesAreNotHTMLEscaped() {
        let custom = NotificationComposer(hostname: "mx", administrator: nil,
                                          templates: ["quarantined": "Subject: Held for {{recipients}}\n\nFrom {{from}} <&>\n"])
        let out = text(custom.compose(notice(.recipients, "quarantined"), facts: facts(), queueID: "Q", date: "d", messageID: "i"))
        #expect(out.contains("Subject: Held for bob@example.org\r\n"))
        #expect(out.contains("From Alice <a@remote.test> <&>"))
        #expect(NotificationComposer.validate("{{#open}}") != nil)
        #expect(NotificationComposer.validate("Subject: x\n\n{{sender}}") == nil)
    }

    @Test func nonASCIISubjectsAreEncoded() {
        let custom = NotificationComposer(hostname: "mx", administrator: nil, templates: ["t": "Subject: Blockiert: {{subject}}\n\nText\n"])
        let out = text(custom.compose(notice(.sender, "t"), facts: facts(subject: "Grüße"), queueID: "Q", date: "d", messageID: "i"))
        #expect(out.contains("Subject: =?utf-8?B?"))
    }
}
