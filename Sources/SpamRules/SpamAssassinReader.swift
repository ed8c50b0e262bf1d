// SpamAssassinReader.swift — the common subset of SpamAssassin's rule files (.cf), so that
// administrators can reuse rules they already own.
//
// What it reads (Mail::SpamAssassin::Conf, "RULE DEFINITIONS AND PRIVILEGED SETTINGS"):
//   header NAME Field[:raw|:addr|:name] =~ /re/mods [if-unset: text]   (also !~, ALL, ToCc, MESSAGEID, EnvelopeFrom)
//   header NAME exists:Field
//   body | rawbody | uri | full NAME /re/mods
//   meta NAME expression
//   score NAME s0 [s1 s2 s3]          the first score (no Bayes, no network tests) is used
//   describe NAME text
//   if EXPR / ifplugin PLUGIN / else / endif
// `tflags` is read only for `nice` (a nice rule without a score scores -1, as in SpamAssassin);
// `priority`, `lang`, `reuse` and every setting that defines no rule are ignored and counted. Comments start at an unescaped "#"; "\#" is a literal "#" (as Conf::Parser does).
//
// Conditions: `ifplugin X` and `plugin(X)` are true only for plugins in `Configuration.plugins`
// (none by default: each plugin's rules are eval tests or need code this engine lacks);
// `can(X)` only for `Configuration.features`; `version` is `Configuration.version` (4.000001,
// the version of Debian's rule set). Blocks whose condition is false are skipped, and the rules
// they define are reported as skipped with the condition, unless defined again elsewhere.
//
// Diagnostics: never fatal. Every rule not loaded is a `RuleDiagnostic` in `report.skipped`
// (eval tests, pseudo-headers such as X-Spam-Relays-External, unsupported modifiers, rule types
// such as mimeheader or askdns, bad literals, rules only in skipped blocks); problems with the
// file itself (unbalanced endif, unreadable condition) are `report.warnings`. Bad regular
// expressions and metas that need a skipped rule are found when compiling (`RuleMatcher`,
// lenient mode) and reported there with the same file:line.
//
// Deviations, on purpose: a rule defined twice keeps the last definition (as SpamAssassin);
// rule names listed by `replace_rules` are skipped, since their patterns hold ReplaceTags
// placeholders this engine does not expand.

/// Reads SpamAssassin .cf files into a `RuleSet`. Feed files in SpamAssassin's order (sorted by name).
public struct SpamAssassinReader: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// The version `if (version >= …)` compares with (SpamAssassin writes 4.0.1 as 4.000001).
        public var version: Double = 4.000001
        /// Plugins considered loaded (full Perl names, e.g. "Mail::SpamAssassin::Plugin::MIMEHeader").
        public var plugins: Set<String> = []
        /// Features `can(…)` is true for (e.g. "Mail::SpamAssassin::Conf::feature_bug6558_free").
        public var features: Set<String> = []

        public init() {}
    }

    public var configuration: Configuration
    public var limits: RuleLimits
    public private(set) var rules = RuleSet()
    private(set) var skipped: [String: RuleDiagnostic] = [:]
    private(set) var replaceRules: [String: RuleOrigin] = [:]
    /// Rules with `tflags … nice`: their default score is negative (Conf::Parser::set_default_scores).
    private(set) var niceRules: Set<String> = []
    private var warnings: [RuleDiagnostic] = []
    private var ignored: [String: Int] = [:]
    private var files = 0
    private var lineCount = 0
    private var skippedBlocks = 0

    public init(configuration: Configuration = Configuration(), limits: RuleLimits = .default) {
        self.configuration = configuration
        self.limits = limits
    }

    /// Directives that define a rule this engine cannot run.
    static let unsupportedRuleDirectives: Set<String> = [
        "mimeheader", "uri_detail", "askdns", "urirhssub", "urirhsbl", "urifullnsrhssub", "uridnsbl", "uridnssub", "urinsrhsbl", "urinsrhssub",
    ]
    static let ruleDirectives: Set<String> = ["header", "body", "rawbody", "uri", "full", "meta"]

    private struct Block {
        var condition: String
        var value: Bool
        var parentActive: Bool
        var active: Bool { parentActive && value }
    }

    /// Reads one file's contents. Never fails: problems are recorded in the report.
    public mutating func read(_ bytes: [UInt8], file: String) {
        files += 1
        if bytes.count > limits.maxRuleFileBytes {
            warnings.append(RuleDiagnostic(origin: RuleOrigin(file: file, line: 1), problem: .fileTooLarge(limit: limits.maxRuleFileBytes)))
            return
        }
        var blocks: [Block] = []
        for line in RuleSyntax.lines(bytes) {
            lineCount += 1
            let origin = RuleOrigin(file: file, line: line.number)
            if line.bytes.count > limits.maxLineLength {
                warnings.append(RuleDiagnostic(origin: origin, problem: .lineTooLong(limit: limits.maxLineLength)))
                continue
            }
            let content = RuleSyntax.trim(SpamAssassinReader.stripComment(line.bytes))
            if content.isEmpty { continue }
            let (directiveBytes, rest) = RuleSyntax.word(content)
            let directive = RuleSyntax.string(directiveBytes).lowercased()
            let active = blocks.last?.active ?? true

            switch directive {
            case "if", "ifplugin":
                if blocks.count >= limits.maxConditionalDepth {
                    warnings.append(RuleDiagnostic(origin: origin, problem: .unsupportedCondition("nesting deeper than \(limits.maxConditionalDepth)")))
                    blocks.append(Block(condition: RuleSyntax.string(content), value: false, parentActive: active))
                    continue
                }
                let text = RuleSyntax.string(rest)
                var value: Bool
                if directive == "ifplugin" {
                    value = configuration.plugins.contains(RuleSyntax.string(RuleSyntax.word(rest).word))
                } else if let v = evaluateCondition(text) {
                    value = v
                } else {
                    value = false
                    if active { warnings.append(RuleDiagnostic(origin: origin, problem: .unsupportedCondition(text))) }
                }
                if active && !value { skippedBlocks += 1 }
                blocks.append(Block(condition: directive + " " + text, value: value, parentActive: active))
                continue
            case "else":
                guard var top = blocks.popLast() else {
                    warnings.append(RuleDiagnostic(origin: origin, problem: .unbalancedConditional("else")))
                    continue
                }
                top.value.toggle()
                top.condition = "else of " + top.condition
                if top.parentActive && !top.value { skippedBlocks += 1 }
                blocks.append(top)
                continue
            case "endif":
                if blocks.popLast() == nil { warnings.append(RuleDiagnostic(origin: origin, problem: .unbalancedConditional("endif"))) }
                continue
            default:
                break
            }

            let (nameBytes, argument) = RuleSyntax.word(rest)
            let name = RuleSyntax.string(nameBytes)
            if directive == "replace_rules" {
                // Listed rules hold ReplaceTags placeholders, whether or not the block is active.
                var names = rest
                while !names.isEmpty {
                    let (n, more) = RuleSyntax.word(names)
                    replaceRules[RuleSyntax.string(n)] = origin
                    names = more
                }
                continue
            }
            guard active else {
                if SpamAssassinReader.ruleDirectives.contains(directive) || SpamAssassinReader.unsupportedRuleDirectives.contains(directive),
                   RuleSyntax.isValidName(nameBytes, limit: limits.maxNameLength), skipped[name] == nil {
                    let text = RuleSyntax.string(argument)
                    let problem: RuleProblem = text.hasPrefix("eval:")
                        ? .evalNotSupported(String(text.dropFirst(5)))
                        : .inSkippedBlock(blocks.last(where: { !$0.value })?.condition ?? "condition")
                    skipped[name] = RuleDiagnostic(origin: origin, rule: name, problem: problem)
                }
                continue
            }
            if SpamAssassinReader.unsupportedRuleDirectives.contains(directive) {
                if RuleSyntax.isValidName(nameBytes, limit: limits.maxNameLength) {
                    skip(name, RuleDiagnostic(origin: origin, rule: name, problem: .unsupportedRuleType(directive)))
                }
                continue
            }
            switch directive {
            case "score":
                guard RuleSyntax.isValidName(nameBytes, limit: limits.maxNameLength), let score = RuleSyntax.score(argument) else {
                    warnings.append(RuleDiagnostic(origin: origin, rule: name, problem: .invalidScore(RuleSyntax.string(argument))))
                    continue
                }
                rules.setScore(score, for: name)
            case "tflags":
                var flags = argument
                var nice = false
                while !flags.isEmpty {
                    let (flag, more) = RuleSyntax.word(flags)
                    if RuleSyntax.string(flag) == "nice" { nice = true }
                    flags = more
                }
                if nice { niceRules.insert(name) } else { niceRules.remove(name) }
                ignored["tflags", default: 0] += 1
            case "describe":
                if RuleSyntax.isValidName(nameBytes, limit: limits.maxNameLength) {
                    rules.setDescription(String(decoding: argument, as: UTF8.self), for: name)
                }
            case _ where SpamAssassinReader.ruleDirectives.contains(directive):
                guard RuleSyntax.isValidName(nameBytes, limit: limits.maxNameLength) else {
                    warnings.append(RuleDiagnostic(origin: origin, problem: .invalidName(name)))
                    continue
                }
                do throws(RuleProblem) {
                    let test = try SpamAssassinReader.test(directive, argument, limits: limits)
                    if rules[name] == nil && rules.count >= limits.maxRules { throw .tooManyRules(limit: limits.maxRules) }
                    rules.define(RuleDefinition(name: name, test: test, origin: origin))
                    skipped[name] = nil
                } catch {
                    skip(name, RuleDiagnostic(origin: origin, rule: name, problem: error))
                }
            default:
                ignored[directive, default: 0] += 1
            }
        }
        for block in blocks.reversed() {
            warnings.append(RuleDiagnostic(origin: RuleOrigin(file: file, line: lineCount), problem: .unbalancedConditional(block.condition)))
        }
    }

    /// A rule that cannot be loaded: forget any earlier definition and record why.
    private mutating func skip(_ name: String, _ diagnostic: RuleDiagnostic) {
        rules.remove(name)
        skipped[name] = diagnostic
    }

    /// The rules read, without those listed by `replace_rules`, and the report.
    public func finish() -> (rules: RuleSet, report: SpamAssassinReport) {
        var set = rules
        var skipped = self.skipped
        for (name, origin) in replaceRules where set[name] != nil {
            set.remove(name)
            skipped[name] = RuleDiagnostic(origin: origin, rule: name, problem: .unsupportedRuleType("replace_rules (ReplaceTags)"))
        }
        // A nice rule without a score scores -1 (-0.01 for T_ rules), as SpamAssassin sets it.
        for rule in set.rules where set.scores[rule.name] == nil && niceRules.contains(rule.name) {
            set.setScore(-rule.defaultScore, for: rule.name)
        }
        var report = SpamAssassinReport()
        report.files = files
        report.lines = lineCount
        for rule in set.rules { report.loaded[rule.test.kind, default: 0] += 1 }
        report.skipped = skipped.values.filter { set[$0.rule ?? ""] == nil }.sorted { ($0.origin.file, $0.origin.line) < ($1.origin.file, $1.origin.line) }
        report.warnings = warnings
        report.ignoredDirectives = ignored
        report.skippedBlocks = skippedBlocks
        return (set, report)
    }

    static func test(_ directive: String, _ argument: ArraySlice<UInt8>, limits: RuleLimits) throws(RuleProblem) -> RuleTest {
        if argument.isEmpty { throw .missingArgument("test") }
        return try RulePackParser.test(directive, argument, limits: limits)
    }

    /// The line without its comment: from the first "#" not preceded by "\", and "\#" made "#".
    static func stripComment(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var out: [UInt8] = []
        var hasEscape = false
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            if c == 35 {  // #
                if i > line.startIndex && line[i - 1] == 92 {
                    hasEscape = true
                } else {
                    break
                }
            }
            i += 1
        }
        let kept = line[line.startIndex..<i]
        guard hasEscape else { return kept }
        var k = kept.startIndex
        while k < kept.endIndex {
            if kept[k] == 92, k + 1 < kept.endIndex, kept[k + 1] == 35 {
                out.append(35)
                k += 2
                continue
            }
            out.append(kept[k])
            k += 1
        }
        return out[...]
    }

    /// Evaluates an `if` condition: `version`, `perl_version`, `plugin(X)`, `can(X)`, `has(X)`,
    /// numbers, comparisons, `!`, `&&`, `||` and parentheses. nil if it holds anything else.
    func evaluateCondition(_ text: String) -> Bool? {
        var bytes = Array(text.utf8)[...]
        var rewritten = ""
        while let c = bytes.first {
            if MetaParser.isNameStart(c) {
                var end = bytes.startIndex
                while end < bytes.endIndex, MetaParser.isNameByte(bytes[end]) || bytes[end] == 58 { end += 1 }
                let word = RuleSyntax.string(bytes[bytes.startIndex..<end])
                bytes = bytes[end...]
                switch word {
                case "version": rewritten += String(configuration.version)
                case "perl_version": rewritten += "5.036"
                case "plugin", "can", "has":
                    guard bytes.first == 40, let close = bytes.firstIndex(of: 41) else { return nil }
                    let argument = RuleSyntax.string(RuleSyntax.trim(bytes[(bytes.startIndex + 1)..<close]))
                    bytes = bytes[(close + 1)...]
                    let truth = word == "plugin" ? configuration.plugins.contains(argument) : configuration.features.contains(argument)
                    rewritten += truth ? "1" : "0"
                default:
                    return nil
                }
                continue
            }
            rewritten.unicodeScalars.append(UnicodeScalar(c))
            bytes = bytes.dropFirst()
        }
        guard let expression = try? MetaExpression.parse(rewritten, limits: limits), expression.ruleNames.isEmpty else { return nil }
        return expression.evaluate { _ in 0 } != 0
    }
}

/// What reading SpamAssassin files loaded, skipped and ignored.
public struct SpamAssassinReport: Sendable, Hashable, CustomStringConvertible {
    public var files = 0
    public var lines = 0
    /// Rules loaded, by kind (before compilation).
    public var loaded: [RuleKind: Int] = [:]
    /// Rules not loaded, with the reason, in file order.
    public var skipped: [RuleDiagnostic] = []
    /// Problems with the files themselves.
    public var warnings: [RuleDiagnostic] = []
    /// Settings that define no rule (tflags, lang, util_rb_tld, …), by directive.
    public var ignoredDirectives: [String: Int] = [:]
    /// `if`/`ifplugin` blocks skipped because their condition was false.
    public var skippedBlocks = 0

    public init() {}

    public var loadedCount: Int { loaded.values.reduce(0, +) }

    /// Skipped rules counted by `RuleProblem.category`.
    public var skippedByCategory: [String: Int] {
        var counts: [String: Int] = [:]
        for d in skipped { counts[d.problem.category, default: 0] += 1 }
        return counts
    }

    public var description: String {
        let kinds = RuleKind.allCases.compactMap { k in loaded[k].map { "\(k.rawValue) \($0)" } }.joined(separator: ", ")
        let reasons = skippedByCategory.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "\(files) files, \(lines) lines: loaded \(loadedCount) rules (\(kinds)); skipped \(skipped.count) (\(reasons)); "
            + "\(skippedBlocks) conditional blocks skipped; \(warnings.count) warnings; "
            + "\(ignoredDirectives.values.reduce(0, +)) other settings ignored"
    }
}

extension MetaExpression {
    /// The value, recursively (for `if` conditions; rules run the compiled `MetaProgram`).
    func evaluate(_ value: (String) -> Double) -> Double {
        switch self {
        case .rule(let n): return value(n)
        case .number(let v): return v
        case .not(let x): return x.evaluate(value) == 0 ? 1 : 0
        case .negate(let x): return -x.evaluate(value)
        case .binary(let op, let l, let r): return op.apply(l.evaluate(value), r.evaluate(value))
        }
    }
}
