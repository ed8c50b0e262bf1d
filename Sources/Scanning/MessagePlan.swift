// MessagePlan.swift — turns a policy decision into what the node must write before it answers
// the client: the copies to queue (each with its recipients, content and route), the quarantine
// entries, the recipients dropped, and the notifications to send.
//
// Pure: no I/O. The node executes the plan (quarantine and queue writes, each fsynced) and only
// then sends the 250, so everything the plan names is durable when the client hears "accepted".
//
// Per recipient: `deliver` recipients are grouped by the changes their rules ask for (header
// edits, subject tag, disclaimer, stripped parts, route), one queued copy per group, so two
// recipients with different verdicts each get what their own rules say; `redirect` replaces the
// recipient and `add_recipient` adds one to the same copy; `copy` queues the message as received
// to an archive address; `quarantine` holds the message as received in the named folder; `delete`
// and (in an accepted message) `reject` drop the recipient, logged, never bounced.

public import MIME
public import Policy

/// What the node stamps on every delivered copy, independent of the rules.
public struct StampSettings: Sendable, Hashable {
    /// X-Spam-Status and X-Spam-Score on scanned mail (SpamAssassin's field names; forged ones
    /// from outside are replaced).
    public var spamHeaders: Bool

    public init(spamHeaders: Bool = true) {
        self.spamHeaders = spamHeaders
    }
}

public struct MessagePlan: Sendable {
    /// One copy to queue.
    public struct Delivery: Sendable, Hashable {
        public var recipients: [String]
        public var content: [UInt8]
        /// Whether `content` differs from the message as received.
        public var modified: Bool
        /// A next hop chosen by the policy (`route` action).
        public var route: String?
        /// Sign with this domain's key (`dkim_sign`), after every other change.
        public var dkimSign: DKIMSignRequest?
        /// Rules whose changes shaped this copy.
        public var rules: [String]
    }

    /// One quarantine entry.
    public struct Hold: Sendable, Hashable {
        public var folder: String
        public var recipients: [String]
        public var rules: [String]
    }

    /// A notification to compose from a template.
    public struct Notice: Sendable, Hashable {
        public var target: NotifyTarget
        public var template: String
        /// The original recipients it is about, with what became of each.
        public var about: [String]
        public var disposition: String
        /// The rules that asked for it (`group/rule`).
        public var rules: [String]
    }

    /// Which key signs a copy.
    public struct DKIMSignRequest: Sendable, Hashable {
        public var domain: String
        public var selector: String
    }

    public var deliveries: [Delivery] = []
    public var holds: [Hold] = []
    public var dropped: [(recipient: String, reason: String)] = []
    public var notices: [Notice] = []
    /// Parts the rules asked to strip that could not be (reported in the log).
    public var unstrippable: [Int] = []

    /// The plan for an accepted message (`decision.sessionReply == .accept`).
    public static func make(raw: [UInt8], message: MIMEMessage, facts: PolicyFacts, decision: PolicyDecision,
                            stamps: StampSettings = StampSettings()) -> MessagePlan {
        var plan = MessagePlan()
        var groups: [(changes: Changes, recipients: [String], rules: [String])] = []
        var archive: [String] = []
        var holds: [String: (recipients: [String], rules: [String])] = [:]
        var holdOrder: [String] = []
        var notices: [Notice] = []

        for verdict in decision.verdicts {
            for action in verdict.actions {
                if case .copy(let to) = action, !archive.contains(to) { archive.append(to) }
                if case .notify(let target, let template) = action {
                    let disposition = "\(verdict.disposition)"
                    if let i = notices.firstIndex(where: { $0.target == target && $0.template == template && $0.disposition == disposition }) {
                        notices[i].about.append(verdict.recipient)
                        for rule in verdict.rulesFired where !notices[i].rules.contains(rule) { notices[i].rules.append(rule) }
                    } else {
                        notices.append(Notice(target: target, template: template, about: [verdict.recipient], disposition: disposition,
                                              rules: verdict.rulesFired))
                    }
                }
            }
            switch verdict.disposition {
            case .reject, .tempfail:
                plan.dropped.append((verdict.recipient, "rejected by policy (\(verdict.rulesFired.joined(separator: ", ")))"))
            case .delete:
                plan.dropped.append((verdict.recipient, "deleted by policy (\(verdict.rulesFired.joined(separator: ", ")))"))
            case .quarantine(let folder):
                if holds[folder] == nil { holdOrder.append(folder); holds[folder] = ([], []) }
                holds[folder]!.recipients.append(verdict.recipient)
                for rule in verdict.rulesFired where !holds[folder]!.rules.contains(rule) { holds[folder]!.rules.append(rule) }
            case .deliver:
                let changes = Changes(message: message, facts: facts, actions: verdict.actions)
                var recipients = [verdict.recipient]
                for action in verdict.actions {
                    switch action {
                    case .redirect(let to): recipients = [to]
                    case .addRecipient(let extra): if !recipients.contains(extra) { recipients.append(extra) }
                    default: break
                    }
                }
                if let i = groups.firstIndex(where: { $0.changes == changes }) {
                    for r in recipients where !groups[i].recipients.contains(r) { groups[i].recipients.append(r) }
                    for rule in verdict.rulesFired where !groups[i].rules.contains(rule) { groups[i].rules.append(rule) }
                } else {
                    groups.append((changes, recipients, verdict.rulesFired))
                }
            }
        }
        let stampEdits = MessagePlan.stampEdits(facts: facts, stamps: stamps)
        for group in groups {
            var rewriter = MIMERewriter()
            rewriter.headerEdits = stampEdits + group.changes.headerEdits
            rewriter.removeParts = group.changes.strip
            rewriter.disclaimer = group.changes.disclaimer
            let modified = !rewriter.headerEdits.isEmpty || !rewriter.removeParts.isEmpty || rewriter.disclaimer != nil
            var content = raw
            if modified {
                let result = rewriter.rewrite(raw, message: message)
                content = result.bytes
                plan.unstrippable += result.skipped
            }
            plan.deliveries.append(Delivery(recipients: group.recipients, content: content, modified: modified,
                                            route: group.changes.route, dkimSign: group.changes.dkimSign, rules: group.rules))
        }
        if !archive.isEmpty {
            plan.deliveries.append(Delivery(recipients: archive, content: raw, modified: false, route: nil, dkimSign: nil, rules: []))
        }
        plan.holds = holdOrder.map { Hold(folder: $0, recipients: holds[$0]!.recipients, rules: holds[$0]!.rules) }
        plan.notices = notices
        return plan
    }

    /// X-Spam-* fields for every delivered copy. (Authentication-Results is stamped by sender
    /// authentication before the scan, so quarantined copies carry it too.)
    static func stampEdits(facts: PolicyFacts, stamps: StampSettings) -> [MIMERewriter.HeaderEdit] {
        var edits: [MIMERewriter.HeaderEdit] = []
        if stamps.spamHeaders, let score = facts.spamScore {
            let spam = score >= facts.spamThreshold
            let tests = facts.spamHits.map(\.name).prefix(50).joined(separator: ",")
            edits.append(.set(name: "X-Spam-Status", value: "\(spam ? "Yes" : "No"), score=\(format(score)) required=\(format(facts.spamThreshold)) tests=\(tests.isEmpty ? "none" : tests)"))
            edits.append(.set(name: "X-Spam-Score", value: format(score)))
        }
        return edits
    }

    /// One decimal, as SpamAssassin prints scores.
    public static func format(_ x: Double) -> String {
        let tenths = (x * 10).rounded()
        let sign = tenths < 0 ? "-" : ""
        let magnitude = Int(abs(tenths))
        return "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }

    /// The content changes one recipient's rules ask for; recipients with equal changes share a copy.
    struct Changes: Hashable {
        var headerEdits: [MIMERewriter.HeaderEdit] = []
        var strip: Set<Int> = []
        var disclaimer: MIMERewriter.Disclaimer?
        var route: String?
        var dkimSign: DKIMSignRequest?

        init(message: MIMEMessage, facts: PolicyFacts, actions: [PolicyAction]) {
            var tags: [String] = []
            for action in actions {
                switch action {
                case .addHeader(let name, let value): headerEdits.append(.add(name: name, value: value))
                case .setHeader(let name, let value): headerEdits.append(.set(name: name, value: value))
                case .removeHeader(let name): headerEdits.append(.remove(name: name))
                case .tagSubject(let tag): if !tags.contains(tag) { tags.append(tag) }
                case .disclaimer(let text, let html):
                    disclaimer = MIMERewriter.Disclaimer(text: text, html: html ?? Changes.html(text))
                case .strip(let names, let types):
                    for part in message.parts where part.isAttachment {
                        let byName = part.filenames.contains { name in names.contains { $0.matches(name) } }
                        let byType = types.contains(part.trueType.rawValue)
                        if byName || byType { strip.insert(part.index) }
                    }
                case .route(let hop): route = hop
                case .dkimSign(let domain, let selector): dkimSign = DKIMSignRequest(domain: domain, selector: selector)
                default: break
                }
            }
            // A tag already in front of the subject is not added again (a reply to a tagged message).
            let subject = facts.subject
            let missing = tags.filter { !subject.hasPrefix($0) }
            if !missing.isEmpty {
                headerEdits.append(.set(name: "Subject", value: (missing + [subject]).joined(separator: " ")))
            }
        }

        /// Plain text as HTML: escaped, line breaks kept.
        static func html(_ text: String) -> String {
            var out = "<p>"
            for c in text {
                switch c {
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "&": out += "&amp;"
                case "\"": out += "&quot;"
                case "\n": out += "<br>"
                default: out.append(c)
                }
            }
            return out + "</p>"
        }
    }
}
