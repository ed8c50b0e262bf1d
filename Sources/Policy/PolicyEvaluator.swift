// PolicyEvaluator.swift — runs the policy over a message's facts: per recipient, the groups whose
// scope matches, their rules in order, until a rule says stop. The result is a verdict per
// recipient and the whole decision trace (every group and rule considered, which fired, and the
// evidence), which is stored with the message, logged, and printed by `gatehouse policy test`.

public import GatehouseCore

/// What happens to one recipient.
public struct RecipientVerdict: Sendable {
    public var recipient: String
    public var disposition: Disposition
    /// Every non-disposition action of the rules that fired, in order.
    public var actions: [PolicyAction]
    /// Names of the rules that fired (`group/rule`).
    public var rulesFired: [String]
}

/// One step of the decision trace.
public struct TraceEntry: Sendable, CustomStringConvertible {
    public var recipient: String
    public var group: String
    /// Nil when the whole group was out of scope.
    public var rule: String?
    public var fired: Bool
    /// Each condition with whether it held and what matched.
    public var evidence: [String]
    public var note: String?

    public var description: String {
        var s = "\(recipient): \(group)"
        if let rule { s += "/\(rule): \(fired ? "FIRED" : "no")" } else { s += ": \(note ?? "out of scope")" }
        if !evidence.isEmpty { s += " [" + evidence.joined(separator: "; ") + "]" }
        if let note, rule != nil { s += " (\(note))" }
        return s
    }
}

/// The outcome for the whole message.
public struct PolicyDecision: Sendable {
    public var verdicts: [RecipientVerdict]
    public var trace: [TraceEntry]

    /// The reply after DATA. One reply covers every recipient, so: every recipient rejected → the
    /// (first) rejection; any recipient tempfailed → 451 for the whole message (nothing is kept, the
    /// client retries every recipient, nothing is lost); otherwise the message is accepted and
    /// recipients whose verdict is reject are dropped (logged, never bounced: no backscatter).
    public var sessionReply: SessionOutcome {
        if let first = verdicts.first, case .reject(let reply) = first.disposition,
           verdicts.allSatisfy({ if case .reject = $0.disposition { return true } else { return false } }) {
            return .reject(reply)
        }
        for v in verdicts { if case .tempfail(let reply) = v.disposition { return .tempfail(reply) } }
        return .accept
    }
}

public enum SessionOutcome: Sendable, Equatable {
    case accept
    case reject(SMTPReply)
    case tempfail(SMTPReply)
}

public struct PolicyEvaluator: Sendable {
    public let policy: Policy

    public init(policy: Policy) {
        self.policy = policy
    }

    /// Evaluates every recipient of `facts`.
    public func evaluate(_ facts: PolicyFacts) -> PolicyDecision {
        var verdicts: [RecipientVerdict] = []
        var trace: [TraceEntry] = []
        for (index, recipient) in facts.recipients.enumerated() {
            let direction = index < facts.directions.count ? facts.directions[index] : .inbound
            var verdict = RecipientVerdict(recipient: recipient, disposition: .deliver, actions: [], rulesFired: [])
            groups: for group in policy.groups {
                if let why = outOfScope(group.scope, facts, recipient: recipient, direction: direction) {
                    trace.append(TraceEntry(recipient: recipient, group: group.name, rule: nil, fired: false, evidence: [], note: why))
                    continue
                }
                for rule in group.rules {
                    var evidence: [String] = []
                    var results: [Bool] = []
                    for condition in rule.conditions {
                        let (held, detail) = check(condition, facts, recipient: recipient, direction: direction)
                        results.append(held)
                        evidence.append("\(held ? "✓" : "✗") \(detail)")
                        // all: the first false decides; any: the first true decides.
                        if rule.match == .all && !held || rule.match == .any && held { break }
                    }
                    let fired = rule.conditions.isEmpty || (rule.match == .all ? results.allSatisfy { $0 } && results.count == rule.conditions.count
                                                                                 : results.contains(true))
                    var note: String?
                    if fired {
                        verdict.rulesFired.append("\(group.name)/\(rule.name)")
                        for action in rule.actions {
                            if case .disposition(let d) = action {
                                if d.strength >= verdict.disposition.strength { verdict.disposition = d }
                            } else {
                                verdict.actions.append(action)
                            }
                        }
                        if rule.stop { note = "stop" }
                    }
                    trace.append(TraceEntry(recipient: recipient, group: group.name, rule: rule.name, fired: fired, evidence: evidence, note: note))
                    if fired && rule.stop { break groups }
                }
            }
            verdicts.append(verdict)
        }
        return PolicyDecision(verdicts: verdicts, trace: trace)
    }

    func outOfScope(_ scope: PolicyScope, _ facts: PolicyFacts, recipient: String, direction: Direction) -> String? {
        if !scope.directions.isEmpty && !scope.directions.contains(direction) { return "direction \(direction.rawValue) out of scope" }
        if !scope.listeners.isEmpty && !scope.listeners.contains(facts.listener) { return "listener \(facts.listener) out of scope" }
        if !scope.senders.isEmpty && !scope.senders.contains(where: { $0.matches(facts.sender) }) { return "sender out of scope" }
        if !scope.recipients.isEmpty && !scope.recipients.contains(where: { $0.matches(recipient) }) { return "recipient out of scope" }
        return nil
    }

    /// Whether a condition holds (negation applied) and a short description with the evidence.
    func check(_ condition: PolicyCondition, _ f: PolicyFacts, recipient: String, direction: Direction) -> (Bool, String) {
        let (raw, detail) = test(condition.test, f, recipient: recipient, direction: direction)
        let held = condition.negated ? !raw : raw
        return (held, condition.negated ? "not(\(detail))" : detail)
    }

    private func test(_ t: PolicyCondition.Test, _ f: PolicyFacts, recipient: String, direction: Direction) -> (Bool, String) {
        func any(_ patterns: [AddressPattern], _ value: String) -> AddressPattern? { patterns.first { $0.matches(value) } }
        switch t {
        case .sender(let p):
            let hit = any(p, f.sender)
            return (hit != nil, "sender <\(f.sender)>" + (hit.map { " matches \($0)" } ?? ""))
        case .recipient(let p):
            let hit = any(p, recipient)
            return (hit != nil, "recipient <\(recipient)>" + (hit.map { " matches \($0)" } ?? ""))
        case .direction(let set):
            return (set.contains(direction), "direction \(direction.rawValue)")
        case .listener(let set):
            return (set.contains(f.listener), "listener \(f.listener)")
        case .clientNetwork(let networks):
            guard let address = f.clientAddress else { return (false, "no client address") }
            let hit = networks.first { $0.contains(address) }
            return (hit != nil, "client \(address)" + (hit.map { " in \($0)" } ?? ""))
        case .reverseDNS(let patterns):
            let name = f.clientName ?? ""
            let hit = name.isEmpty ? nil : patterns.first { $0.matches(name) }
            return (hit != nil, "client name \(name.isEmpty ? "unknown" : name)" + (hit.map { " matches \($0)" } ?? ""))
        case .authenticated(let want):
            return ((f.authenticatedUser != nil) == want, f.authenticatedUser.map { "authenticated as \($0)" } ?? "not authenticated")
        case .authenticatedUser(let p):
            guard let user = f.authenticatedUser else { return (false, "not authenticated") }
            return (any(p, user) != nil, "authenticated as \(user)")
        case .size(let c):
            return (c.holds(Double(f.size)), "size \(f.size) \(c)")
        case .header(let name, let re):
            for h in f.headers where h.name.lowercased() == name.lowercased() {
                if let m = re.firstMatch(in: h.value) { return (true, "\(name): matched \"\(m)\"") }
            }
            return (false, "\(name) =~ \(re)")
        case .subject(let re):
            if let m = re.firstMatch(in: f.subject) { return (true, "subject matched \"\(m)\"") }
            return (false, "subject =~ \(re)")
        case .body(let re):
            if let m = re.firstMatch(in: f.bodyText) { return (true, "body matched \"\(m)\"") }
            return (false, "body =~ \(re)")
        case .wordList(let words, let threshold):
            let text = (f.subject + "\n" + f.bodyText).lowercased()
            var total = 0.0
            var found: [String] = []
            for w in words where text.contains(w.word.lowercased()) {
                total += w.weight
                found.append(w.word)
            }
            total = RuleScore.sum(total)  // 0.3 + 0.6 + 0.1 is 0.9999999999999999 unrounded
            return (total >= threshold, "word list \(total) ≥ \(threshold)? found \(found.prefix(10).joined(separator: ", "))")
        case .attachmentName(let patterns):
            for a in f.attachments {
                for name in a.names where patterns.contains(where: { $0.matches(name) }) { return (true, "attachment \"\(name)\"") }
            }
            return (false, "attachment name")
        case .attachmentType(let types):
            for a in f.attachments where a.trueType.map(types.contains) == true {
                return (true, "attachment of true type \(a.trueType!) (\(a.names.first ?? "unnamed"))")
            }
            return (false, "attachment type in \(types.sorted().joined(separator: ","))")
        case .typeMismatch:
            let hit = f.attachments.first { $0.typeMismatch }
            return (hit != nil, hit.map { "declared \($0.declaredType) but is \($0.trueType ?? "?") (\($0.names.first ?? "unnamed"))" } ?? "no type mismatch")
        case .encryptedArchive:
            let hit = f.attachments.first { $0.encrypted }
            return (hit != nil, hit.map { "encrypted: \($0.names.first ?? "unnamed")" } ?? "nothing encrypted")
        case .unscannable:
            let hit = f.attachments.first { $0.unscannable }
            return (hit != nil, hit.map { "unscannable: \($0.names.first ?? "unnamed")" } ?? "everything scannable")
        case .nestingDepth(let c):
            let depth = f.attachments.map(\.depth).max() ?? 0
            return (c.holds(Double(depth)), "nesting depth \(depth) \(c)")
        case .attachmentCount(let c):
            return (c.holds(Double(f.attachments.count)), "\(f.attachments.count) attachments \(c)")
        case .attachmentSize(let c):
            let biggest = f.attachments.map(\.size).max() ?? 0
            return (c.holds(Double(biggest)), "largest attachment \(biggest) \(c)")
        case .spamScore(let c):
            guard let score = f.spamScore else { return (false, "not scored") }
            let hits = f.spamHits.prefix(8).map { "\($0.name)=\($0.score)" }.joined(separator: ",")
            return (c.holds(score), "spam score \(score) \(c) [\(hits)]")
        case .spamVerdict(let spam):
            guard let score = f.spamScore else { return (false, "not scored") }
            return ((score >= f.spamThreshold) == spam, "spam score \(score), threshold \(f.spamThreshold)")
        case .virus:
            if case .infected(let names) = f.virus { return (true, "virus \(names.joined(separator: ","))") }
            return (false, "no virus")
        case .virusScanFailed:
            if case .failed(let why) = f.virus { return (true, "virus scan failed: \(why)") }
            return (false, "virus scan did not fail")
        case .spf(let set):
            return (f.spf.map(set.contains) == true, "spf=\(f.spf ?? "none")")
        case .dkim(let set):
            return (f.dkim.map(set.contains) == true, "dkim=\(f.dkim ?? "none")")
        case .dmarc(let set):
            return (f.dmarc.map(set.contains) == true, "dmarc=\(f.dmarc ?? "none")")
        case .dnsbl(let zones):
            let hits = zones.isEmpty ? f.dnsblListings : f.dnsblListings.intersection(zones)
            return (!hits.isEmpty, hits.isEmpty ? "not listed" : "listed in \(hits.sorted().joined(separator: ","))")
        case .mimeDefect(let names):
            let hits = names.isEmpty ? f.defects : f.defects.intersection(names)
            return (!hits.isEmpty, hits.isEmpty ? "no MIME defect" : "MIME defects \(hits.sorted().joined(separator: ","))")
        case .timeOfDay(let from, let to, let weekdays):
            let inHours = from <= to ? (f.hour >= from && f.hour < to) : (f.hour >= from || f.hour < to)
            let inDays = weekdays.isEmpty || weekdays.contains(f.weekday)
            return (inHours && inDays, "hour \(f.hour), weekday \(f.weekday)")
        case .senderRate(let c):
            return (c.holds(Double(f.senderRate)), "sender rate \(f.senderRate)/h \(c)")
        }
    }
}
