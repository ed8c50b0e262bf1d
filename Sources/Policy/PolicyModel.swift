// PolicyModel.swift — the policy as configuration (DESIGN.md §7): ordered groups, each scoped,
// each holding ordered rules of conditions and actions.
//
// The model is plain values, validated when it is read (`PolicyReader`), so evaluation cannot fail
// on a bad pattern: every regular expression is compiled at load time.

public import GatehouseCore
public import PCRE2

/// Which way a message travels, from the listener's role and the recipient's domain.
public enum Direction: String, Hashable, Sendable, CaseIterable {
    /// From outside to an internal recipient.
    case inbound
    /// From inside (trusted network, authenticated user) to a foreign recipient.
    case outbound
    /// From inside to an internal recipient.
    case `internal`
}

/// A compiled regular expression with its source text (for traces and errors).
public struct PolicyRegex: Sendable, Hashable, CustomStringConvertible {
    public static func == (a: PolicyRegex, b: PolicyRegex) -> Bool { a.source == b.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }

    public let source: String
    public let regex: PCRE2Regex

    /// `/re/flags` (Perl style) or a bare pattern matched case-insensitively.
    public init(_ text: String) throws(PCRE2CompileError) {
        source = text
        if text.hasPrefix("/") {
            regex = try PCRE2Regex(perlLiteral: Array(text.utf8), extraOptions: [.utf])
        } else {
            regex = try PCRE2Regex(text, options: [.caseless, .utf])
        }
    }

    /// The matched text (bounded), or nil.
    public func firstMatch(in text: String) -> String? {
        guard let range = try? regex.firstMatch(in: text) else { return nil }
        let bytes = Array(text.utf8)
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return nil }
        return String(decoding: bytes[range].prefix(200), as: UTF8.self)
    }

    public var description: String { source }
}

/// Addresses and domains as administrators write them: `alice@example.org`, `@example.org`
/// (every address of the domain), `*.example.org` (subdomains too), `*` (anything), a glob with
/// `*` and `?`, or `/regex/`. Compared in lower case.
public struct AddressPattern: Sendable, Hashable, CustomStringConvertible {
    public static func == (a: AddressPattern, b: AddressPattern) -> Bool { a.source == b.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }

    enum Kind: Sendable {
        case any
        case exact(String)
        case domain(String, subdomains: Bool)
        case glob(String)
        case regex(PolicyRegex)
    }
    let kind: Kind
    public let source: String

    public init(_ text: String) throws(PCRE2CompileError) {
        source = text
        let t = text.lowercased()
        if t == "*" {
            kind = .any
        } else if t.hasPrefix("/") {
            kind = .regex(try PolicyRegex(text))
        } else if t.hasPrefix("@*.") {
            kind = .domain(String(t.dropFirst(3)), subdomains: true)
        } else if t.hasPrefix("*.") && !t.contains("@") {
            kind = .domain(String(t.dropFirst(2)), subdomains: true)
        } else if t.hasPrefix("@") {
            kind = .domain(String(t.dropFirst()), subdomains: false)
        } else if t.contains("*") || t.contains("?") {
            kind = .glob(t)
        } else if !t.contains("@") {
            kind = .domain(t, subdomains: false)
        } else {
            kind = .exact(t)
        }
    }

    /// Whether `address` (or, for the null sender, the empty string) matches.
    public func matches(_ address: String) -> Bool {
        let a = address.lowercased()
        let domain = a.lastIndex(of: "@").map { String(a[a.index(after: $0)...]) } ?? ""
        switch kind {
        case .any: return true
        case .exact(let e): return a == e
        case .domain(let d, let subdomains): return domain == d || (subdomains && domain.hasSuffix("." + d))
        case .glob(let g): return AddressPattern.glob(Array(g.utf8), Array(a.utf8))
        case .regex(let r): return r.firstMatch(in: address) != nil
        }
    }

    /// `*` any run, `?` one octet; iterative with backtracking to the last star (linear memory).
    static func glob(_ p: [UInt8], _ s: [UInt8]) -> Bool {
        var pi = 0, si = 0, star = -1, mark = 0
        while si < s.count {
            if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == s[si]) {
                pi += 1; si += 1
            } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
                star = pi; mark = si; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    public var description: String { source }
}

/// File and host names: a glob with `*` and `?` (`*.exe`, `*.example.net`) or `/regex/`,
/// compared in lower case.
public struct NamePattern: Sendable, Hashable, CustomStringConvertible {
    public static func == (a: NamePattern, b: NamePattern) -> Bool { a.source == b.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }

    let regex: PolicyRegex?
    let glob: [UInt8]
    public let source: String

    public init(_ text: String) throws(PCRE2CompileError) {
        source = text
        regex = text.hasPrefix("/") ? try PolicyRegex(text) : nil
        glob = Array(text.lowercased().utf8)
    }

    public func matches(_ name: String) -> Bool {
        if let regex { return regex.firstMatch(in: name) != nil }
        return AddressPattern.glob(glob, Array(name.lowercased().utf8))
    }

    public var description: String { source }
}

/// Where a group applies. Empty lists mean "any".
public struct PolicyScope: Sendable, Hashable {
    public var directions: Set<Direction> = []
    public var listeners: Set<String> = []
    public var senders: [AddressPattern] = []
    public var recipients: [AddressPattern] = []
    public init() {}
}

/// A numeric comparison: `> 10MB`, `>= 5`, `< 3`.
public struct Comparison: Sendable, Hashable, CustomStringConvertible {
    public enum Operator: String, Sendable, Hashable { case greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<=", equal = "==" }
    public var op: Operator
    public var value: Double

    public init(_ op: Operator, _ value: Double) {
        self.op = op
        self.value = value
    }

    public func holds(_ x: Double) -> Bool {
        switch op {
        case .greater: return x > value
        case .greaterOrEqual: return x >= value
        case .less: return x < value
        case .lessOrEqual: return x <= value
        case .equal: return x == value
        }
    }

    public var description: String { "\(op.rawValue) \(value)" }
}

/// A word or phrase of a word-list condition, with its weight.
public struct WeightedWord: Sendable, Hashable {
    public var word: String
    public var weight: Double
    public init(_ word: String, _ weight: Double) {
        self.word = word
        self.weight = weight
    }
}

/// One condition of a rule. Every condition can be negated (`not:`).
public struct PolicyCondition: Sendable, Hashable {
    public enum Test: Sendable, Hashable {
        case sender([AddressPattern])
        case recipient([AddressPattern])
        case direction(Set<Direction>)
        case listener(Set<String>)
        case clientNetwork([IPNetwork])
        case reverseDNS([NamePattern])
        case authenticated(Bool)
        case authenticatedUser([AddressPattern])
        case size(Comparison)
        case header(name: String, PolicyRegex)
        case subject(PolicyRegex)
        case body(PolicyRegex)
        /// Weighted words or phrases (case-insensitive) summed over subject and body against a threshold.
        case wordList(words: [WeightedWord], threshold: Double)
        case attachmentName([NamePattern])
        case attachmentType(Set<String>)
        case typeMismatch
        case encryptedArchive
        case unscannable
        case nestingDepth(Comparison)
        case attachmentCount(Comparison)
        case attachmentSize(Comparison)
        case spamScore(Comparison)
        case spamVerdict(Bool)
        case virus
        case virusScanFailed
        case spf(Set<String>)
        case dkim(Set<String>)
        case dmarc(Set<String>)
        case dnsbl(Set<String>)
        /// Any MIME defect, or one of the named ones.
        case mimeDefect(Set<String>)
        /// Hours in [from, to) of the node's local time, on the given weekdays (1 = Monday; empty = every day).
        case timeOfDay(from: Int, to: Int, weekdays: Set<Int>)
        /// Messages from this sender in the last hour.
        case senderRate(Comparison)
    }
    public var test: Test
    public var negated: Bool

    public init(_ test: Test, negated: Bool = false) {
        self.test = test
        self.negated = negated
    }
}

/// Where a message ends for one recipient. Stronger dispositions win over weaker ones, in this
/// order: reject, tempfail, quarantine, delete, deliver.
public enum Disposition: Sendable, Hashable, CustomStringConvertible {
    case deliver
    case delete
    case quarantine(folder: String)
    case tempfail(SMTPReply)
    case reject(SMTPReply)

    var strength: Int {
        switch self {
        case .deliver: return 0
        case .delete: return 1
        case .quarantine: return 2
        case .tempfail: return 3
        case .reject: return 4
        }
    }

    public var description: String {
        switch self {
        case .deliver: return "deliver"
        case .delete: return "delete"
        case .quarantine(let folder): return "quarantine(\(folder))"
        case .tempfail(let reply): return "tempfail(\(reply))"
        case .reject(let reply): return "reject(\(reply))"
        }
    }
}

/// Who a notification goes to.
public enum NotifyTarget: String, Sendable, CaseIterable { case sender, recipients, admin }

/// One action of a rule.
public enum PolicyAction: Sendable, Hashable {
    case disposition(Disposition)
    /// A copy to an archive address.
    case copy(to: String)
    /// Replace the recipient.
    case redirect(to: String)
    case addRecipient(String)
    /// Remove attachments whose name or true type matches (a notice replaces each).
    case strip(names: [NamePattern], types: Set<String>)
    case addHeader(name: String, value: String)
    case setHeader(name: String, value: String)
    case removeHeader(name: String)
    case tagSubject(String)
    case disclaimer(text: String, html: String?)
    case notify(NotifyTarget, template: String)
    /// Deliver through this next hop instead of the domain's route.
    case route(String)
    case dkimSign(domain: String, selector: String)
    /// Record that the rule fired, change nothing (monitor mode).
    case log
}

/// A rule: when its conditions hold (all, or any), its actions apply.
public struct PolicyRule: Sendable, Hashable {
    public enum Match: String, Sendable, Hashable { case all, any }
    public var name: String
    public var match: Match
    public var conditions: [PolicyCondition]
    public var actions: [PolicyAction]
    /// End evaluation for the recipient when this rule fires.
    public var stop: Bool

    public init(name: String, match: Match = .all, conditions: [PolicyCondition], actions: [PolicyAction], stop: Bool = false) {
        self.name = name
        self.match = match
        self.conditions = conditions
        self.actions = actions
        self.stop = stop
    }
}

public struct PolicyGroup: Sendable, Hashable {
    public var name: String
    public var scope: PolicyScope
    public var rules: [PolicyRule]

    public init(name: String, scope: PolicyScope = PolicyScope(), rules: [PolicyRule]) {
        self.name = name
        self.scope = scope
        self.rules = rules
    }
}

/// The whole policy, in evaluation order.
public struct Policy: Sendable, Hashable {
    public var groups: [PolicyGroup]
    public init(groups: [PolicyGroup] = []) { self.groups = groups }

    /// Whether any rule has a condition for which `test` is true (the node looks up only what
    /// the policy asks about).
    public func contains(condition test: (PolicyCondition.Test) -> Bool) -> Bool {
        groups.contains { $0.rules.contains { $0.conditions.contains { test($0.test) } } }
    }
}
