// MessageScanner.swift — runs the engines over one message and gathers what they found as
// `PolicyFacts`: the MIME engine (structure, text, attachments, true types, archives, defects),
// the spam rules, and the anti-virus scanner when one is configured. The same code serves the
// SMTP session (before the reply to DATA) and `gatehouse policy test`.

#if canImport(Glibc)
import Glibc
#endif
public import AntiVirus
public import GatehouseCore
public import MIME
public import Policy
public import SpamBayes
public import SpamRules

/// The envelope and connection facts the engines cannot see in the message.
public struct ScanContext: Sendable {
    public var sender: String
    public var recipients: [String]
    public var listener: String
    public var listenerRole: ListenerRole
    public var internalDomains: Set<String>
    public var clientAddress: IPAddress?
    public var clientName: String?
    public var authenticatedUser: String?
    /// Local hour and weekday (1 = Monday) for time conditions.
    public var hour: Int
    public var weekday: Int

    public init(sender: String, recipients: [String], listener: String, listenerRole: ListenerRole, internalDomains: Set<String>,
                clientAddress: IPAddress? = nil, clientName: String? = nil, authenticatedUser: String? = nil, hour: Int = 12, weekday: Int = 1) {
        self.sender = sender
        self.recipients = recipients
        self.listener = listener
        self.listenerRole = listenerRole
        self.internalDomains = internalDomains
        self.clientAddress = clientAddress
        self.clientName = clientName
        self.authenticatedUser = authenticatedUser
        self.hour = hour
        self.weekday = weekday
    }

    /// The node's local hour (0–23) and weekday (1 = Monday … 7 = Sunday) at `seconds` since 1970,
    /// for the policy's `time` condition.
    public static func localClock(at seconds: Int64) -> (hour: Int, weekday: Int) {
        var clock = time_t(seconds)
        var parts = tm()
        localtime_r(&clock, &parts)
        return (Int(parts.tm_hour), parts.tm_wday == 0 ? 7 : Int(parts.tm_wday))
    }

    /// Inbound listeners carry mail from outside to us; the other roles carry mail from inside,
    /// to a foreign recipient (outbound) or to one of ours (internal).
    public func direction(of recipient: String) -> Direction {
        if listenerRole == .inbound { return .inbound }
        let domain = recipient.lastIndex(of: "@").map { recipient[recipient.index(after: $0)...].lowercased() } ?? ""
        return internalDomains.contains(domain) ? .internal : .outbound
    }
}

/// The engines could not be set up from the configuration.
public enum ScannerSetupError: Error, Hashable, Sendable, CustomStringConvertible {
    case rules(file: String, String)

    public var description: String {
        switch self {
        case .rules(let file, let why): return "spam rules \(file): \(why)"
        }
    }
}

/// Scans messages; one per node, shared by every session.
public struct MessageScanner: Sendable {
    let parser: MIMEParser
    let rules: RuleMatcher
    /// Score at or above which a message is spam.
    public var spamThreshold: Double
    let antiVirus: (any AntiVirusScanner)?
    /// The trained Bayesian classifier; nil until one is trained (`gatehouse spam train`). The
    /// node swaps in a newer one when administrators' feedback changes the database.
    public var bayes: BayesFilter?
    /// Where the tokens each Bayes verdict combined are noted, for the database's upkeep
    /// (`BayesStore.maintain`); nil: not noted.
    public var bayesUsage: BayesUsage?

    /// The built-in pack plus `ruleFiles` (ours, or SpamAssassin's `.cf` subset for files ending in
    /// `.cf`, whose unsupported rules are skipped as SpamAssassin's own tools would warn).
    public init(ruleFiles: [String], spamThreshold: Double, antiVirus: (any AntiVirusScanner)?, bayes: BayesFilter? = nil) throws(ScannerSetupError) {
        var set: RuleSet
        do { set = try DefaultRules.ruleSet() } catch { throw .rules(file: "default.rules", "\(error)") }
        var assassin = SpamAssassinReader()
        var hasAssassin = false
        for file in ruleFiles {
            let bytes: [UInt8]
            do { bytes = try SmallFile.read(file) } catch { throw .rules(file: file, error.description) }
            if file.hasSuffix(".cf") {
                assassin.read(bytes, file: file)
                hasAssassin = true
            } else {
                do { set.merge(try RulePackParser.parse(bytes, file: file)) } catch { throw .rules(file: file, "\(error)") }
            }
        }
        if hasAssassin { set.merge(assassin.finish().rules) }
        let matcher: RuleMatcher
        do { matcher = try RuleMatcher(set, mode: hasAssassin ? .lenient : .strict) } catch { throw .rules(file: ruleFiles.joined(separator: ", "), "\(error)") }
        self.init(rules: matcher, spamThreshold: spamThreshold, antiVirus: antiVirus, bayes: bayes)
    }


    public init(rules: RuleMatcher, spamThreshold: Double = 5, antiVirus: (any AntiVirusScanner)? = nil, bayes: BayesFilter? = nil) {
        self.bayes = bayes
        parser = MIMEParser()
        self.rules = rules
        self.spamThreshold = spamThreshold
        self.antiVirus = antiVirus
    }

    /// Every engine over `raw`; the anti-virus scan (network) is the only suspension point.
    public func scan(_ raw: [UInt8], context: ScanContext) async -> PolicyFacts {
        await scanMessage(raw, context: context).facts
    }

    /// Like `scan`, with the parsed message (for rewriting the delivered copies).
    public func scanMessage(_ raw: [UInt8], context: ScanContext) async -> (facts: PolicyFacts, message: MIMEMessage) {
        let message = parser.parse(raw)
        let spam = rules.scan(message, raw: raw)
        // The classifier's bucket (BAYES_00 … BAYES_999) adds to the rule score, as in SpamAssassin.
        let bayes = self.bayes?.score(message)
        if let bayes, let bayesUsage { bayesUsage.note(bayes.evidence) }
        var virus = VirusFacts.notScanned
        if let antiVirus {
            switch await antiVirus.scan(raw) {
            case .clean: virus = .clean
            case .infected(let signatures): virus = .infected(signatures)
            case .error(let why): virus = .failed(why)
            case .unavailable(let why): virus = .failed("\(why)")
            }
        }
        var defects = Set(MIMEDefects.allFlags.filter { message.defects.contains($0.0) }.map(\.1))
        if message.isUnscannable { defects.insert("unscannable") }
        let attachments = message.attachments.map { part in
            AttachmentFacts(
                names: part.filenames, trueType: part.trueType == .empty ? nil : part.trueType.rawValue,
                declaredType: part.contentType.description, typeMismatch: part.hasTypeMismatch, encrypted: part.isEncrypted,
                unscannable: !part.defects.intersection(.unscannable).isEmpty, depth: MessageScanner.archiveDepth(part, in: message),
                size: part.decodedSize)
        }
        let headers = message.header.fields.map { (name: $0.name, value: $0.value) }
        if !spam.failures.isEmpty { defects.insert("rule-limit") }  // a rule that hit a match limit must not pass silently
        let facts = PolicyFacts(
            sender: context.sender, recipients: context.recipients, listener: context.listener,
            directions: context.recipients.map(context.direction(of:)), clientAddress: context.clientAddress,
            clientName: context.clientName, authenticatedUser: context.authenticatedUser, size: raw.count, headers: headers,
            subject: message.subject ?? "", bodyText: message.bodyText, attachments: attachments, defects: defects,
            spamScore: RuleScore.sum(spam.score + (bayes?.bucket.score ?? 0)), spamThreshold: spamThreshold,
            spamHits: spam.hits.map { (name: $0.name, score: $0.score) } + (bayes.map { [(name: $0.bucket.name, score: $0.bucket.score)] } ?? []),
            virus: virus, hour: context.hour, weekday: context.weekday)
        return (facts, message)
    }

    /// How many archives a part sits in.
    static func archiveDepth(_ part: MIMEPart, in message: MIMEMessage) -> Int {
        var depth = 0
        var current = part
        var steps = 0
        while let parent = current.parent, steps < 1_000 {
            if case .archiveEntry = current.origin { depth += 1 }
            current = message.parts[parent]
            steps += 1
        }
        return depth
    }
}
