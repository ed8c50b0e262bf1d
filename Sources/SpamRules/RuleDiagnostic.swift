// RuleDiagnostic.swift — problems found while reading or compiling rules.
//
// What it does: `RuleProblem` names each thing that can be wrong with a rule or a rule file;
// `RuleDiagnostic` places it (file:line, rule name). Our pack format treats every diagnostic as an
// error (`RulePackError` holds them all, so an administrator sees every mistake at once); the
// SpamAssassin reader and the lenient compiler treat them as reasons for skipping a rule, never fatal.
//
// Diagnostics: `description` is one line, "file:line: NAME: problem", fit for a log or an editor.

/// What is wrong with a rule or a rule file.
public enum RuleProblem: Error, Sendable, Hashable, CustomStringConvertible {
    // File structure
    case missingVersionLine
    case unsupportedVersion(String)
    case fileTooLarge(limit: Int)
    case lineTooLong(limit: Int)
    case invalidUTF8
    case unknownDirective(String)
    case missingArgument(String)
    case unexpectedArgument(String)
    case invalidName(String)
    case duplicateRule(String)
    case duplicateScore(String)
    case duplicateDescription(String)
    case undefinedRule(String)
    case invalidScore(String)
    case tooManyRules(limit: Int)
    case unbalancedConditional(String)
    case unsupportedCondition(String)
    // Tests
    case invalidRegex(offset: Int, message: String)
    case patternTooLong(length: Int, limit: Int)
    case invalidHeaderSelector(String)
    case unsupportedHeader(String)
    case unsupportedHeaderModifier(String)
    case invalidHeaderTest(String)
    case invalidMIMECheck(String)
    case evalNotSupported(String)
    case unsupportedRuleType(String)
    case inSkippedBlock(String)
    // Meta rules
    case invalidMeta(MetaParseError)
    case unknownReference(String)
    case dependsOnSkippedRule(String)
    case metaCycle([String])

    public var description: String {
        switch self {
        case .missingVersionLine: return "the first line must be 'gatehouse-rules 1'"
        case .unsupportedVersion(let v): return "unsupported rule-pack version '\(v)' (this engine reads version 1)"
        case .fileTooLarge(let l): return "rule file larger than \(l) bytes"
        case .lineTooLong(let l): return "line longer than \(l) bytes"
        case .invalidUTF8: return "the line is not valid UTF-8"
        case .unknownDirective(let d): return "unknown directive '\(d)'"
        case .missingArgument(let what): return "missing \(what)"
        case .unexpectedArgument(let a): return "unexpected '\(a)'"
        case .invalidName(let n): return "invalid rule name '\(n)' (letters, digits and _, starting with a letter or _)"
        case .duplicateRule(let n): return "rule \(n) is already defined"
        case .duplicateScore(let n): return "score of \(n) is already set"
        case .duplicateDescription(let n): return "description of \(n) is already set"
        case .undefinedRule(let n): return "no rule called \(n) in this file"
        case .invalidScore(let s): return "invalid score '\(s)'"
        case .tooManyRules(let l): return "more than \(l) rules"
        case .unbalancedConditional(let d): return "'\(d)' without a matching block"
        case .unsupportedCondition(let c): return "unsupported condition '\(c)' (block skipped)"
        case .invalidRegex(let o, let m): return "invalid regular expression at offset \(o): \(m)"
        case .patternTooLong(let n, let l): return "regular expression of \(n) bytes is longer than \(l)"
        case .invalidHeaderSelector(let s): return "invalid header selector '\(s)'"
        case .unsupportedHeader(let h): return "unsupported pseudo-header '\(h)'"
        case .unsupportedHeaderModifier(let m): return "unsupported header modifier ':\(m)'"
        case .invalidHeaderTest(let t): return "invalid header test '\(t)' (want 'Name =~ /re/', 'Name !~ /re/' or 'exists:Name')"
        case .invalidMIMECheck(let c): return "invalid mime check '\(c)'"
        case .evalNotSupported(let e): return "eval test '\(e)' is not supported"
        case .unsupportedRuleType(let t): return "rule type '\(t)' is not supported"
        case .inSkippedBlock(let c): return "defined only inside a skipped block (\(c))"
        case .invalidMeta(let e): return "invalid meta expression: \(e)"
        case .unknownReference(let n): return "meta refers to unknown rule \(n)"
        case .dependsOnSkippedRule(let n): return "meta depends on skipped rule \(n)"
        case .metaCycle(let names): return "meta rules form a cycle: \(names.joined(separator: " -> "))"
        }
    }

    /// A short stable key for counting problems by kind ("eval", "bad-regex", …).
    public var category: String {
        switch self {
        case .missingVersionLine, .unsupportedVersion, .fileTooLarge, .lineTooLong, .invalidUTF8, .unknownDirective,
             .missingArgument, .unexpectedArgument, .invalidName, .duplicateRule, .duplicateScore, .duplicateDescription,
             .undefinedRule, .invalidScore, .unbalancedConditional, .invalidHeaderTest, .invalidHeaderSelector:
            return "syntax"
        case .tooManyRules: return "too-many-rules"
        case .unsupportedCondition: return "unsupported-condition"
        case .invalidRegex, .patternTooLong: return "bad-regex"
        case .unsupportedHeader: return "pseudo-header"
        case .unsupportedHeaderModifier: return "header-modifier"
        case .invalidMIMECheck: return "mime-check"
        case .evalNotSupported: return "eval"
        case .unsupportedRuleType: return "rule-type"
        case .inSkippedBlock: return "plugin-block"
        case .invalidMeta: return "bad-meta"
        case .unknownReference: return "meta-unknown-rule"
        case .dependsOnSkippedRule: return "meta-needs-skipped-rule"
        case .metaCycle: return "meta-cycle"
        }
    }
}

/// A problem with its place.
public struct RuleDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var origin: RuleOrigin
    /// The rule concerned, if any.
    public var rule: String?
    public var problem: RuleProblem

    public init(origin: RuleOrigin, rule: String? = nil, problem: RuleProblem) {
        self.origin = origin
        self.rule = rule
        self.problem = problem
    }

    public var description: String {
        "\(origin): " + (rule.map { "\($0): " } ?? "") + problem.description
    }
}

/// A rule pack (our format) that is not valid: every problem found, in file order.
public struct RulePackError: Error, Sendable, Hashable, CustomStringConvertible {
    public var diagnostics: [RuleDiagnostic]

    public init(diagnostics: [RuleDiagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
