// RuleScanResult.swift — what scanning one message with a rule set found.
//
// What it does: the total score, the rules that hit (name, score, description, evidence), the
// rules that could not be evaluated (a match limit reached), and which subjects were cut at a limit.
//
// Security notes: evidence is message content. Put it in decision traces (`gatehouse policy test`,
// the rule-hit record of a message), never in the normal log, where message content is "[N bytes]".
public import PCRE2

/// A rule that hit.
public struct RuleHit: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var kind: RuleKind
    public var score: Double
    /// The rule's `describe` text.
    public var summary: String?
    /// What matched, cut to `RuleLimits.maxEvidenceBytes` ("…" marks a cut); for meta rules the
    /// names of the rules it refers to that hit.
    public var evidence: String?

    public init(name: String, kind: RuleKind, score: Double, summary: String?, evidence: String?) {
        self.name = name
        self.kind = kind
        self.score = score
        self.summary = summary
        self.evidence = evidence
    }
}

/// A rule that could not be evaluated on a message: neither a hit nor a miss.
public struct RuleFailure: Sendable, Hashable, CustomStringConvertible {
    public var rule: String
    public var error: PCRE2MatchError

    public var description: String { "\(rule): \(error)" }
}

/// The result of one scan.
public struct RuleScanResult: Sendable, Hashable {
    /// The sum of the scores of the hits.
    public var score: Double
    /// The rules that hit (score not 0, not sub-rules), in rule-set order.
    public var hits: [RuleHit]
    /// Rules that reached a match limit. A sender who can make a rule time out must not make it
    /// pass silently: policy should treat these as it treats unscannable content.
    public var failures: [RuleFailure]
    /// Subjects that were cut at a limit (text past the cut was not scanned).
    public var truncated: Set<RuleSubjectTruncation>

    /// Whether the rule called `name` hit.
    public func hit(_ name: String) -> Bool { hits.contains { $0.name == name } }
}

extension RuleHit {
    public var description: String {
        let score = (self.score * 1000).rounded() / 1000
        return "\(name) (\(score))" + (evidence.map { ": \($0)" } ?? "")
    }
}
