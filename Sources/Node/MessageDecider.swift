// MessageDecider.swift — the policy in the SMTP session: once the data is in and before the
// reply, scan the message, evaluate the policy, and either refuse it (5xx / 4xx, nothing kept,
// no backscatter) or write everything the decision asks for — quarantine entries, the queued
// copies, notifications — each durably, and only then let the session answer 250.
//
// One decider per configuration version, shared by every session of the node. Scanning is CPU
// work on Swift's cooperative pool (the anti-virus scan is the only network wait); file writes run
// on the node's thread pool, never on an event loop.
//
// Failure: an error while writing is a 451 4.3.0 (the client retries; an entry already written
// may then exist twice — a duplicate, never a loss).

#if canImport(Glibc)
import Glibc
#endif
import AntiVirus
import Configuration
import MailAuth
import GatehouseCore
import NIOCore
import NIOPosix
import Policy
import Quarantine
import Scanning
import SpamBayes
import Spool
import Synchronization

final class MessageDecider: Sendable {
    let scanner: MessageScanner
    let evaluator: PolicyEvaluator
    let composer: NotificationComposer
    let quarantine: QuarantineStore
    let node: NodeConfiguration
    let spool: Spool
    let threadPool: NIOThreadPool
    let log: any LogSink
    let senderRates: SenderRates
    /// SPF, DKIM, DMARC (and ARC) on mail from outside; nil when `scanning.authentication` is off.
    let authenticator: MailAuthenticator?
    /// Reverse DNS and DNS/URI blocklists; nil when neither the policy nor the configuration asks.
    let dnsLists: DNSLists?
    /// Whether some rule tests `virus_scan_failed`; without one a failed scan is a 451.
    let policyHandlesScanFailure: Bool
    /// DKIM keys for `dkim_sign`, by `selector._domainkey.domain`.
    let signers: [String: DKIMSigner]
    /// The current Bayes database; nil when `scanning.spam.bayes` is off.
    let bayes: BayesHolder?
    /// Message data the sessions hold in memory until their decision (`scanning.memory_limit`).
    let memory: ScanMemoryBudget

    /// What the session answers.
    enum Outcome: Sendable {
        /// Accepted; the id to report in the 250.
        case accepted(queueID: String)
        case refused(SMTPReply)
        case failed
    }

    init(node: NodeConfiguration, scanner: MessageScanner, composer: NotificationComposer, quarantine: QuarantineStore, spool: Spool,
         threadPool: NIOThreadPool, log: any LogSink, senderRates: SenderRates, authenticator: MailAuthenticator?,
         dnsLists: DNSLists?, signers: [String: DKIMSigner], bayes: BayesHolder?) {
        self.bayes = bayes
        self.memory = ScanMemoryBudget(limit: node.scanMemoryLimit)
        self.signers = signers
        self.authenticator = authenticator
        self.dnsLists = dnsLists
        self.node = node
        self.scanner = scanner
        self.evaluator = PolicyEvaluator(policy: node.policy)
        self.policyHandlesScanFailure = node.policy.contains { if case .virusScanFailed = $0 { true } else { false } }
        self.composer = composer
        self.quarantine = quarantine
        self.spool = spool
        self.threadPool = threadPool
        self.log = log
        self.senderRates = senderRates
    }

    /// Scans, decides and writes. `raw` is the whole message as the spool would store it.
    func decide(_ received: [UInt8], envelope: Envelope, role: ListenerRole, client: IPAddress?) async -> Outcome {
        // Sender authentication first, on the message as received; its Authentication-Results
        // field (forged ones with our id removed, RFC 8601 §5) is part of every copy from here on.
        var authentication: MailAuthReport?
        if let authenticator, role == .inbound, let ip = client.flatMap({ ClientIP($0.description) }) {
            authentication = await authenticator.authenticate(received, client: ip, helo: envelope.helo, mailFrom: envelope.sender)
        }
        let raw = authentication?.stamped(received) ?? received
        let now = Int64(time(nil))
        let clock = ScanContext.localClock(at: now)
        let clientName: String? = if let dnsLists, let client { await dnsLists.clientName(client) } else { nil }
        let context = ScanContext(
            sender: envelope.sender, recipients: envelope.recipients.map(\.address), listener: envelope.listener, listenerRole: role,
            internalDomains: node.internalDomains, clientAddress: client, clientName: clientName, authenticatedUser: envelope.authenticatedUser,
            hour: clock.hour, weekday: clock.weekday)
        var scanner = self.scanner
        scanner.bayes = bayes?.current
        scanner.bayesUsage = bayes?.usage
        var (scanned, message) = await scanner.scanMessage(raw, context: context)
        scanned.senderRate = senderRates.record(envelope.sender, at: now)
        if let dnsLists {
            scanned.dnsblListings = await dnsLists.listings(client: client, urls: message.urls)
        }
        if let authentication {
            scanned.spf = authentication.spf.code.rawValue
            let codes = authentication.dkim.map(\.code.rawValue)
            scanned.dkim = codes.contains("pass") ? "pass" : codes.first ?? "none"
            scanned.dmarc = authentication.dmarc.code.rawValue
        }
        let facts = scanned
        if case .failed(let why) = facts.virus, !policyHandlesScanFailure {
            // Fail closed: a message the anti-virus engine could not scan is not accepted unless
            // the policy says what to do with it (a `virus_scan_failed` condition).
            log.record(LogRecord(program: "policy", queueID: envelope.queueID, text: "virus scan failed (\(why)); tempfail"))
            return .refused(SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Virus scanner unavailable, try again later"))
        }
        let decision = evaluator.evaluate(facts)
        logDecision(decision, facts: facts, queueID: envelope.queueID)
        switch decision.sessionReply {
        case .reject(let reply), .tempfail(let reply):
            return .refused(reply)
        case .accept:
            break
        }
        let plan = MessagePlan.make(raw: raw, message: message, facts: facts, decision: decision,
                                    stamps: StampSettings(spamHeaders: node.scanning.spamHeaders))
        for (recipient, reason) in plan.dropped {
            log.record(LogRecord(program: "policy", queueID: envelope.queueID, text: "to=<\(recipient)>, dropped: \(reason)"))
        }
        if !plan.unstrippable.isEmpty {
            log.record(LogRecord(program: "policy", queueID: envelope.queueID, text: "warning: parts \(plan.unstrippable) could not be stripped"))
        }
        do {
            try await threadPool.runIfActive { [self] in
                try execute(plan, raw: raw, envelope: envelope, facts: facts, decision: decision, now: now)
            }
            return .accepted(queueID: envelope.queueID)
        } catch {
            log.record(LogRecord(program: "policy", queueID: envelope.queueID, text: "warning: cannot store the message: \(error)"))
            return .failed
        }
    }

    /// One line per recipient with the verdict and the rules that fired, then the trace steps
    /// that fired with their evidence.
    private func logDecision(_ decision: PolicyDecision, facts: PolicyFacts, queueID: String) {
        let score = facts.spamScore.map { ", spam_score=\(MessagePlan.format($0))" } ?? ""
        for verdict in decision.verdicts {
            log.record(LogRecord(program: "policy", queueID: queueID,
                                 text: "to=<\(verdict.recipient)>, verdict=\(verdict.disposition), rules=\(verdict.rulesFired.joined(separator: ","))\(score)"))
        }
        for step in decision.trace where step.fired {
            log.record(LogRecord(program: "policy", queueID: queueID, text: "trace: \(step)"))
        }
    }

    /// The trace steps about `recipients`, as kept with a queued message: at most
    /// `Defaults.Scanning.queuedTraceBytes`, then a line that counts what was left out.
    static func traceLines(_ trace: [TraceEntry], for recipients: [String]) -> [String] {
        let wanted = Set(recipients)
        var lines: [String] = []
        var bytes = 0
        var left = 0
        for entry in trace where wanted.contains(entry.recipient) {
            let line = entry.description
            guard left == 0, bytes + line.utf8.count < Defaults.Scanning.queuedTraceBytes else {
                left += 1
                continue
            }
            bytes += line.utf8.count + 1
            lines.append(line)
        }
        if left > 0 { lines.append("… \(left) more steps not kept here (those that fired are in the mail log)") }
        return lines
    }

    /// The writes, in order: quarantine entries, queued copies, notifications. Blocking.
    private func execute(_ plan: MessagePlan, raw: [UInt8], envelope: Envelope, facts: PolicyFacts, decision: PolicyDecision,
                         now: Int64) throws {
        for hold in plan.holds {
            let id = QuarantineStore.newID()
            var viruses: [String] = []
            if case .infected(let names) = facts.virus { viruses = names }
            let record = QuarantineRecord(
                id: id, queueID: envelope.queueID, folder: hold.folder, arrival: now,
                expires: now + Int64(node.scanning.retention(of: hold.folder)), sender: envelope.sender,
                recipients: hold.recipients.map { QuarantineRecipient(address: $0) },
                from: facts.headers.first { $0.name.lowercased() == "from" }?.value ?? "", subject: facts.subject, size: raw.count,
                rulesFired: hold.rules, spamScore: facts.spamScore, viruses: viruses, clientAddress: envelope.clientAddress,
                listener: envelope.listener, smtputf8: envelope.smtputf8,
                trace: decision.trace.filter { hold.recipients.contains($0.recipient) }.map(\.description))
            try quarantine.store(record, content: raw)
            log.record(LogRecord(program: "quarantine", queueID: envelope.queueID,
                                 text: "held as \(id) in \(hold.folder) for \(hold.recipients.map { "<\($0)>" }.joined(separator: ","))"))
        }
        for (index, delivery) in plan.deliveries.enumerated() {
            var copy = envelope
            copy.queueID = index == 0 ? envelope.queueID : Spool.newQueueID()
            copy.recipients = delivery.recipients.map { address in
                envelope.recipients.first { $0.address == address } ?? QueuedRecipient(address: address)
            }
            copy.route = delivery.route
            copy.trace = MessageDecider.traceLines(decision.trace, for: delivery.recipients)
            var content = delivery.content
            if let request = delivery.dkimSign, let signer = signers[request.selector + "._domainkey." + request.domain] {
                content = try signer.signatureField(for: content, time: now) + content
            }
            if delivery.modified && copy.body != "8BITMIME" && copy.body != "BINARYMIME" && content.contains(where: { $0 >= 0x80 }) {
                copy.body = "8BITMIME"
            }
            try spool.inject(envelope: copy, content: content)
            if index > 0 {
                log.record(LogRecord(program: "policy", queueID: envelope.queueID,
                                     text: "copy queued as \(copy.queueID) for \(delivery.recipients.map { "<\($0)>" }.joined(separator: ","))"))
            }
        }
        let date = rfc5322Date()
        for notice in plan.notices {
            let id = Spool.newQueueID()
            guard let composed = composer.compose(notice, facts: facts, queueID: envelope.queueID, date: date, messageID: id) else { continue }
            let envelope = Envelope.local(queueID: id, arrival: now, sender: "", recipients: composed.recipients, hostname: node.hostname,
                                          listener: "notify", content: composed.bytes)
            // A notification is a side message: failing to queue it must not fail (and so duplicate)
            // the message itself, which is already durable.
            do {
                try spool.inject(envelope: envelope, content: composed.bytes)
                log.record(LogRecord(program: "policy", queueID: envelope.queueID, text: "notification \(notice.template) queued as \(id)"))
            } catch {
                log.record(LogRecord(program: "policy", queueID: envelope.queueID, text: "warning: notification \(notice.template) not queued: \(error)"))
            }
        }
    }
}

/// Messages per envelope sender in the last hour, for the `sender_rate` condition. Two one-hour
/// buckets weighted by how far into the current hour we are (an estimate of a sliding window),
/// bounded in size: when full, the previous hour's senders are forgotten, then new senders are not
/// counted until the hour turns (existing counts are never dropped).
final class SenderRates: Sendable {
    private struct State {
        var hour: Int64 = 0
        var current: [String: Int] = [:]
        var previous: [String: Int] = [:]
    }
    private let state = Mutex(State())
    static let maximumSenders = 200_000

    /// Counts one message from `sender` and returns the count for the last hour, this one included.
    func record(_ sender: String, at now: Int64) -> Int {
        let key = sender.lowercased()
        return state.withLock { s in
            let hour = now / 3_600
            if hour != s.hour {
                s.previous = hour == s.hour + 1 ? s.current : [:]
                s.current = [:]
                s.hour = hour
            }
            let elapsed = Double(now % 3_600) / 3_600
            let earlier = Int((Double(s.previous[key] ?? 0) * (1 - elapsed)).rounded())
            if s.current[key] == nil && s.current.count >= SenderRates.maximumSenders {
                // Full: forget the previous hour first; never the counts of this hour, so a flood
                // of made-up senders cannot reset a throttled sender's count.
                s.previous = [:]
                if s.current.count >= SenderRates.maximumSenders { return 1 }
            }
            s.current[key, default: 0] += 1
            return s.current[key]! + earlier
        }
    }
}

/// The Bayes database of the node, loaded again when its file changes (`gatehouse spam train`,
/// `gatehouse quarantine release --not-spam`, `delete --spam`).
final class BayesHolder: Sendable {
    let path: String
    private let state = Mutex<(filter: BayesFilter?, modified: Int64?)>((nil, nil))
    /// The tokens verdicts used since the last upkeep.
    let usage = BayesUsage()

    init(path: String) {
        self.path = path
    }

    var current: BayesFilter? { state.withLock { $0.filter } }

    /// Reloads when the file's modification time changed. Blocking: call off the event loop.
    func refresh(log: any LogSink) {
        var info = stat()
        let modified: Int64? = stat(path, &info) == 0 ? Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec) : nil
        guard modified != state.withLock({ $0.modified }) else { return }
        let filter: BayesFilter?
        do {
            filter = try BayesFilter.load(path: path)
        } catch {
            // Keep what was loaded before, and try again at the next refresh.
            log.record(LogRecord(program: "spam", text: "warning: Bayes database \(path): \(error); keeping the previous one"))
            return
        }
        if let filter {
            log.record(LogRecord(program: "spam", text: "Bayes database \(path) loaded: \(filter.isReady ? "ready" : "not trained enough yet, no Bayes score")"))
        }
        state.withLock { $0 = (filter, modified) }
    }

    /// The database's upkeep: marks the tokens verdicts used since the last run, prunes tokens
    /// seen once and unused for `pruneDays` days, logs what it did and reloads. Blocking: call off
    /// the event loop.
    func maintain(pruneDays: Int, log: any LogSink) {
        let used = usage.take()
        do {
            guard let done = try BayesStore(path: path).maintain(used: used, pruneDays: pruneDays) else { return }
            log.record(LogRecord(program: "spam", text: "Bayes database upkeep: \(used.count) tokens used by verdicts, \(done.touched) marked as used today, \(done.pruned) pruned, \(done.remaining) kept"))
        } catch .busy {
            // Training holds the database: try again at the next run, keeping what was noted.
            usage.add(used)
            log.record(LogRecord(program: "spam", text: "Bayes database upkeep postponed: the database is being trained"))
            return
        } catch {
            log.record(LogRecord(program: "spam", text: "warning: Bayes database upkeep: \(error)"))
        }
        refresh(log: log)
    }
}

/// Notification templates from a directory: every `NAME.mustache` file, checked when read.
enum NotificationTemplates {
    static func read(directory: String) throws -> [String: String] {
        let names: [String]
        do { names = try DurableFile.names(in: directory) } catch {
            throw ConfigurationFailure("scanning.notifications.templates: \(error)")
        }
        var templates: [String: String] = [:]
        for name in names where name.hasSuffix(".mustache") {
            let path = directory + "/" + name
            let text: String
            do { text = String(decoding: try SmallFile.read(path, limit: 1 << 20), as: UTF8.self) } catch {
                throw ConfigurationFailure("template: \(error)")
            }
            if let problem = NotificationComposer.validate(text) { throw ConfigurationFailure("template \(path): \(problem)") }
            templates[String(name.dropLast(9))] = text
        }
        return templates
    }
}
