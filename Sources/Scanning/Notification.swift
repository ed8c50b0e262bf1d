// Notification.swift — notifications to the sender, the recipients or the administrator about
// what the policy did, from Mustache templates (https://mustache.github.io/mustache.5.html).
//
// A template is a text file: a `Subject:` line, an empty line, then the body. Values are inserted
// as text (no HTML escaping): `{{sender}}`, `{{recipients}}`, `{{subject}}`, `{{from}}`,
// `{{queue_id}}`, `{{disposition}}`, `{{rules}}`, `{{spam_score}}`, `{{viruses}}`, `{{date}}`,
// `{{hostname}}`, and the section `{{#recipient_list}}{{address}}{{/recipient_list}}`. Templates
// are read from the configured directory (`NAME.mustache`); the built-in ones below serve when
// the directory has none of that name.
//
// The message composed is RFC 5322 with `Auto-Submitted: auto-replied` (RFC 3834) from the null
// sender, so it never triggers another notification or a bounce loop; it is never sent to the
// null sender. Inserted values come from the message (hostile): they are cut to one line and a
// bounded length, and the subject is encoded (RFC 2047) when not ASCII.

import MIME
import Mustache
public import Policy

public struct NotificationComposer: Sendable {
    /// Templates by name.
    let templates: [String: String]
    public let hostname: String
    /// Where `admin` notifications go.
    public let administrator: String?

    /// The built-in templates.
    public static let builtIn: [String: String] = [
        "quarantined": """
            Subject: Message held: {{subject}}

            A message addressed to you was held by the mail gateway {{hostname}} and not delivered.

              From:    {{from}}
              Sender:  {{sender}}
              Subject: {{subject}}
              Date:    {{date}}
              Reason:  {{rules}}
              Id:      {{queue_id}}

            If you expected this message, ask your mail administrator to release it.

            """,
        "virus-sender": """
            Subject: Undelivered: virus found in your message "{{subject}}"

            The mail gateway {{hostname}} found malware ({{viruses}}) in your message to
            {{recipients}} and did not deliver it.

              Subject: {{subject}}
              Date:    {{date}}
              Id:      {{queue_id}}

            """,
        "admin": """
            Subject: [{{disposition}}] {{subject}}

            The mail gateway {{hostname}} applied the policy to a message:

              Queue id:    {{queue_id}}
              Sender:      {{sender}}
              Recipients:  {{recipients}}
              From:        {{from}}
              Subject:     {{subject}}
              Disposition: {{disposition}}
              Rules:       {{rules}}
              Spam score:  {{spam_score}}
              Viruses:     {{viruses}}

            """,
    ]

    /// `configured` overrides the built-in templates by name.
    public init(hostname: String, administrator: String?, templates configured: [String: String] = [:]) {
        self.hostname = hostname
        self.administrator = administrator
        self.templates = NotificationComposer.builtIn.merging(configured) { _, mine in mine }
    }

    /// Names of every template known.
    public var templateNames: Set<String> { Set(templates.keys) }

    /// Whether `text` parses as a template (for checking configuration).
    public static func validate(_ text: String) -> String? {
        do { _ = try MustacheTemplate(string: text) } catch { return "\(error)" }
        return nil
    }

    /// One composed notification.
    public struct Composed: Sendable {
        public var recipients: [String]
        public var bytes: [UInt8]
    }

    /// Composes `notice` about a message; nil when there is nobody to send it to (null sender,
    /// no administrator) or the template is unknown.
    public func compose(_ notice: MessagePlan.Notice, facts: PolicyFacts, queueID: String, date: String, messageID: String) -> Composed? {
        let to: [String]
        switch notice.target {
        case .sender: to = facts.sender.isEmpty ? [] : [facts.sender]
        case .recipients: to = notice.about
        case .admin: to = administrator.map { [$0] } ?? []
        }
        guard !to.isEmpty, let source = templates[notice.template],
              let template = try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source) else { return nil }
        let from = facts.headers.first { $0.name.lowercased() == "from" }?.value ?? ""
        var viruses = "none"
        if case .infected(let names) = facts.virus { viruses = names.joined(separator: ", ") }
        let values: [String: Any] = [
            "sender": NotificationComposer.clean(facts.sender.isEmpty ? "<>" : facts.sender),
            "recipients": NotificationComposer.clean(notice.about.joined(separator: ", ")),
            "recipient_list": notice.about.map { ["address": NotificationComposer.clean($0)] },
            "subject": NotificationComposer.clean(facts.subject),
            "from": NotificationComposer.clean(from),
            "queue_id": queueID,
            "disposition": notice.disposition,
            "rules": NotificationComposer.clean(notice.rules.joined(separator: ", ")),
            "spam_score": facts.spamScore.map { MessagePlan.format($0) } ?? "not scored",
            "viruses": NotificationComposer.clean(viruses),
            "date": date,
            "hostname": hostname,
        ]
        let (subject, body) = NotificationComposer.split(template.render(values), fallback: "Notification from \(hostname)")
        var header = "From: Mail Gateway <postmaster@\(hostname)>\r\n"
        header += "To: " + to.map { "<\($0)>" }.joined(separator: ", ") + "\r\n"
        header += "Subject: " + (subject.utf8.allSatisfy { $0 < 0x80 } ? subject : EncodedWord.encode(subject)) + "\r\n"
        header += "Date: \(date)\r\nMessage-ID: <\(messageID)@\(hostname)>\r\nAuto-Submitted: auto-replied\r\n"
        header += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        var bytes = Array(header.utf8)
        bytes += QuotedPrintable.encode(NotificationComposer.crlf(body))
        return Composed(recipients: to, bytes: bytes)
    }

    /// The `Subject:` line of a rendered template and the body after the empty line.
    static func split(_ rendered: String, fallback: String) -> (subject: String, body: String) {
        let lines = rendered.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, first.hasPrefix("Subject:") else { return (fallback, rendered) }
        let subject = clean(String(first.dropFirst(8))).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        var rest = lines.dropFirst()
        while let line = rest.first, line.allSatisfy({ $0 == "\r" || $0 == " " }) { rest = rest.dropFirst() }
        return (subject.isEmpty ? fallback : subject, rest.joined(separator: "\n"))
    }

    /// Text with CRLF line ends (lone CR or LF become CRLF).
    static func crlf(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte == 0x0A && previous != 0x0D { out.append(0x0D) }
            if previous == 0x0D && byte != 0x0A { out.append(0x0A) }
            out.append(byte)
            previous = byte
        }
        if previous == 0x0D { out.append(0x0A) }
        return out
    }

    /// One line, at most 200 characters, no control characters.
    static func clean(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(200).map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }
}
