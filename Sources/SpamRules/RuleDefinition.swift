// RuleDefinition.swift — a rule as read from a rule file, before compilation.
//
// What it does: `RuleDefinition` is one named test with its origin (file:line); `RuleTest` says
// what it looks at (header, body, rawbody, uri, full, meta, mime); `HeaderSelector` names the
// header subject ("From:addr", "ALL:raw", "MESSAGEID"); `RegexSource` is a pattern as written
// (Perl literal) with the options it asks for. Both readers (our pack format and SpamAssassin's
// .cf subset) produce these; `RuleSet` gathers them with scores and descriptions.
//
// Security notes: nothing here is compiled or run; see RuleMatcher.swift for the bounds that
// apply when they are.
public import PCRE2

/// Where a rule (or a problem) was read: file and 1-based line.
public struct RuleOrigin: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }

    /// For rules built into the engine (GTUBE).
    public static let builtIn = RuleOrigin(file: "<built-in>", line: 0)
}

/// What a rule looks at.
public enum RuleKind: String, Sendable, Hashable, CaseIterable {
    case header, body, rawbody, uri, full, meta, mime
}

/// A regular expression as written in a rule file.
public struct RegexSource: Sendable, Hashable, CustomStringConvertible {
    /// The literal as written (`/re/i`).
    public var literal: [UInt8]
    /// The pattern between the delimiters.
    public var pattern: [UInt8]
    /// The options of the modifiers.
    public var options: PCRE2Regex.Options

    /// Reads a Perl literal (`/re/i`, `m{re}i`).
    public init(literal: some Collection<UInt8>) throws(PerlRegexLiteralError) {
        self.literal = Array(literal)
        let parsed = try PerlRegexLiteral(self.literal)
        pattern = parsed.pattern
        options = parsed.options
    }

    public var description: String { String(decoding: literal, as: UTF8.self) }

    /// The options the pattern is compiled with: UTF-8 mode (with Unicode properties) where the
    /// pattern needs it — it asks with `u`, holds non-ASCII characters (valid UTF-8), or uses
    /// `\p{…}`, `\P{…}`, `\X` or `\x{…}` — and bytes otherwise, as Perl matches SpamAssassin's rules.
    /// A pattern whose non-ASCII bytes are not valid UTF-8 (a Latin-1 rule file) matches bytes.
    public var compileOptions: PCRE2Regex.Options {
        var options = options
        if !options.contains(.utf) && RegexSource.needsUTF(pattern) { options.formUnion([.utf, .ucp]) }
        return options
    }

    static func needsUTF(_ pattern: [UInt8]) -> Bool {
        var nonASCII = false
        var i = 0
        while i < pattern.count {
            let c = pattern[i]
            if c >= 0x80 { nonASCII = true }
            if c == UInt8(ascii: "\\"), i + 1 < pattern.count {
                let n = pattern[i + 1]
                if n == UInt8(ascii: "p") || n == UInt8(ascii: "P") || n == UInt8(ascii: "X") { return PCRE2Regex.isValidUTF8(pattern) }
                if n == UInt8(ascii: "x"), i + 2 < pattern.count, pattern[i + 2] == UInt8(ascii: "{") { return PCRE2Regex.isValidUTF8(pattern) }
                i += 2
                continue
            }
            i += 1
        }
        return nonASCII && PCRE2Regex.isValidUTF8(pattern)
    }
}

/// Which header fields a header rule looks at, and in which form.
public struct HeaderSelector: Sendable, Hashable, CustomStringConvertible {
    /// The field or pseudo-field.
    public enum Field: Sendable, Hashable {
        /// Every field of this name (lower-cased).
        case named(String)
        /// `ALL`: the whole header, one "Name: value" line per field.
        case all
        /// `ToCc`: To and Cc.
        case toCc
        /// `MESSAGEID`: Message-Id, Resent-Message-Id, X-Message-Id, X-Original-Message-ID.
        case messageID
        /// `EnvelopeFrom`: Return-Path, else X-Envelope-From.
        case envelopeFrom
    }

    /// What of each field's value is matched.
    public enum Form: String, Sendable, Hashable {
        /// The value, RFC 2047 encoded words decoded.
        case value
        /// `:addr`: the addr-spec of every address in the field.
        case address = "addr"
        /// `:name`: the display name of every address in the field.
        case displayName = "name"
    }

    public var field: Field
    public var form: Form
    /// `:raw`: the value as received (unfolded, not decoded).
    public var raw: Bool
    /// The selector as written.
    public var text: String

    public var description: String { text }

    /// Reads a selector: a field name (or ALL, ToCc, MESSAGEID, EnvelopeFrom) with optional
    /// `:raw`, `:addr`, `:name` modifiers.
    public init(parsing text: String) throws(RuleProblem) {
        self.text = text
        let pieces = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let name = pieces[0]
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw .invalidHeaderSelector(text) }
        switch name {
        case "ALL": field = .all
        case "ToCc": field = .toCc
        case "MESSAGEID": field = .messageID
        case "EnvelopeFrom": field = .envelopeFrom
        default:
            // SpamAssassin's computed pseudo-headers (relays, trust path) do not exist here: a
            // negated rule on one would always hit.
            let lower = name.lowercased()
            if lower.hasPrefix("x-spam-relays-") || lower.hasPrefix("all-") || lower == "x-spam-relays" {
                throw .unsupportedHeader(name)
            }
            field = .named(lower)
        }
        var form = Form.value
        var raw = false
        for modifier in pieces.dropFirst() {
            switch modifier {
            case "raw": raw = true
            case "addr" where form == .value: form = .address
            case "name" where form == .value: form = .displayName
            default: throw .unsupportedHeaderModifier(modifier)
            }
        }
        if field == .all && form != .value { throw .unsupportedHeaderModifier(form.rawValue) }
        self.form = form
        self.raw = raw
    }
}

/// A fact about the message's structure that the MIME engine reports (our format only).
public enum MIMECheck: Sendable, Hashable {
    /// Some attachment's true type (by content) is this `MIMEFileType` or belongs to this category
    /// (executable, document, archive, image, text, other).
    case attachmentType(String)
    /// Some attachment has a filename (any spelling) that matches.
    case attachmentName(RegexSource)
    /// The message has this MIME defect (stable names of `MIMEDefects.allFlags`).
    case defect(String)
    /// Every body text part is HTML (no plain-text alternative).
    case htmlOnly
    /// The visible body text has fewer than this many characters (white space not counted).
    case textShorterThan(Int)
    /// Some part's declared type or filename disagrees with its content.
    case typeMismatch
    /// Some content could not be inspected (a limit, an encrypted or unreadable archive).
    case unscannable
    /// A From display name holds an address other than the real sender's.
    case displayNameAddress
    /// More than this many distinct URLs.
    case urlCountAbove(Int)
}

/// What a rule tests.
public enum RuleTest: Sendable, Hashable {
    /// A header subject matches (`=~`) or does not match (`!~`); `ifUnset` stands in for a missing field.
    case header(HeaderSelector, RegexSource, negated: Bool, ifUnset: String?)
    /// A header field is present (`exists:Name`).
    case headerExists(String)
    /// The visible body text (subject line first, one paragraph per line).
    case body(RegexSource)
    /// The decoded text parts with HTML markup, one source line per line.
    case rawbody(RegexSource)
    /// Each normalised URL.
    case uri(RegexSource)
    /// The raw message.
    case full(RegexSource)
    /// A boolean or arithmetic expression over other rules.
    case meta(MetaExpression)
    /// A structural fact from the MIME engine.
    case mime(MIMECheck)

    public var kind: RuleKind {
        switch self {
        case .header, .headerExists: return .header
        case .body: return .body
        case .rawbody: return .rawbody
        case .uri: return .uri
        case .full: return .full
        case .meta: return .meta
        case .mime: return .mime
        }
    }
}

/// One rule as read.
public struct RuleDefinition: Sendable, Hashable {
    public var name: String
    public var test: RuleTest
    public var origin: RuleOrigin

    public init(name: String, test: RuleTest, origin: RuleOrigin) {
        self.name = name
        self.test = test
        self.origin = origin
    }

    /// Whether the rule is a sub-rule ("__NAME"): evaluated for metas, never scored or reported.
    public var isSubRule: Bool { name.hasPrefix("__") }

    /// The score of a rule with no `score` line: 1, 0.01 for test rules ("T_NAME"), 0 for
    /// sub-rules — as SpamAssassin does (Mail::SpamAssassin::Conf, "score").
    public var defaultScore: Double {
        if isSubRule { return 0 }
        return name.hasPrefix("T_") ? 0.01 : 1
    }
}

/// Rules with their scores and descriptions, in definition order. Later definitions of a name
/// replace earlier ones (as SpamAssassin reads its files); scores and descriptions may come
/// before or after the rule they name.
public struct RuleSet: Sendable, Hashable {
    public private(set) var rules: [RuleDefinition] = []
    public private(set) var scores: [String: Double] = [:]
    public private(set) var descriptions: [String: String] = [:]
    private var index: [String: Int] = [:]

    public init() {}

    /// The rule called `name`.
    public subscript(name: String) -> RuleDefinition? { index[name].map { rules[$0] } }

    public var count: Int { rules.count }

    /// Adds a rule, replacing any rule of the same name (in place, keeping its position).
    public mutating func define(_ rule: RuleDefinition) {
        if let k = index[rule.name] {
            rules[k] = rule
        } else {
            index[rule.name] = rules.count
            rules.append(rule)
        }
    }

    /// Removes the rule called `name` (its score and description stay, as SpamAssassin keeps them).
    public mutating func remove(_ name: String) {
        guard let k = index.removeValue(forKey: name) else { return }
        rules.remove(at: k)
        for i in k..<rules.count { index[rules[i].name] = i }
    }

    public mutating func setScore(_ score: Double, for name: String) { scores[name] = score }
    public mutating func setDescription(_ text: String, for name: String) { descriptions[name] = text }

    /// The score in force for `name`: its `score` line, else the default for its name.
    public func score(of rule: RuleDefinition) -> Double { scores[rule.name] ?? rule.defaultScore }

    /// Adds every rule, score and description of `other` (which wins on conflicts).
    public mutating func merge(_ other: RuleSet) {
        for rule in other.rules { define(rule) }
        scores.merge(other.scores) { $1 }
        descriptions.merge(other.descriptions) { $1 }
    }
}
