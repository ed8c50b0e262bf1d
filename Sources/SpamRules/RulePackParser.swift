// RulePackParser.swift — Gatehouse's own rule-pack format, version 1 (docs/rules.md).
//
// Grammar (docs/rules.md, "Syntax"):
//   pack      := *( blank / comment ) version-line *( blank / comment / directive )
//   version   := "gatehouse-rules" 1*WSP "1"
//   comment   := *WSP "#" *CHAR              ; whole lines only: "#" inside a pattern is data
//   directive := "header" name header-test
//              / ( "body" / "rawbody" / "uri" / "full" ) name regex
//              / "meta" name meta-expression
//              / "mime" name mime-check
//              / "score" name number
//              / "describe" name text
//
// What it does: reads a pack into a `RuleSet`. Strict, unlike SpamAssassin's reader: an unknown
// directive, a duplicate rule, a score or description for a rule the file does not define, a
// malformed test — each is an error with file:line, and all of them are reported together.
// Regular expressions and meta references are checked when the set is compiled (`RuleMatcher`,
// strict mode), with the same file:line.
//
// Security notes: file size and line length are bounded (`RuleLimits`); the file must be UTF-8.
internal import PCRE2

/// Reads Gatehouse rule packs.
public enum RulePackParser {
    /// The version this engine reads.
    public static let version = 1

    /// Parses a pack. Throws every problem found, in file order.
    public static func parse(_ bytes: [UInt8], file: String, limits: RuleLimits = .default) throws(RulePackError) -> RuleSet {
        var diagnostics: [RuleDiagnostic] = []
        func fail(_ line: Int, _ rule: String?, _ problem: RuleProblem) {
            diagnostics.append(RuleDiagnostic(origin: RuleOrigin(file: file, line: line), rule: rule, problem: problem))
        }
        if bytes.count > limits.maxRuleFileBytes {
            throw RulePackError(diagnostics: [RuleDiagnostic(origin: RuleOrigin(file: file, line: 1), problem: .fileTooLarge(limit: limits.maxRuleFileBytes))])
        }
        var set = RuleSet()
        var sawVersion = false
        var scoreLines: [String: Int] = [:]
        var describeLines: [String: Int] = [:]

        for line in RuleSyntax.lines(bytes) {
            if line.bytes.count > limits.maxLineLength {
                fail(line.number, nil, .lineTooLong(limit: limits.maxLineLength))
                continue
            }
            let content = RuleSyntax.trim(line.bytes)
            if content.isEmpty || content.first == UInt8(ascii: "#") { continue }
            guard PCRE2Regex.isValidUTF8(content) else {
                fail(line.number, nil, .invalidUTF8)
                continue
            }
            let (directiveBytes, afterDirective) = RuleSyntax.word(content)
            let directive = RuleSyntax.string(directiveBytes)
            if !sawVersion {
                if directive == "gatehouse-rules" {
                    sawVersion = true
                    let version = RuleSyntax.string(afterDirective)
                    if version != String(RulePackParser.version) { fail(line.number, nil, .unsupportedVersion(version)) }
                    continue
                }
                fail(line.number, nil, .missingVersionLine)
                return try finish(diagnostics)
            }
            let (nameBytes, argument) = RuleSyntax.word(afterDirective)
            let name = RuleSyntax.string(nameBytes)
            let origin = RuleOrigin(file: file, line: line.number)
            let known = ["header", "body", "rawbody", "uri", "full", "meta", "mime", "score", "describe"]
            guard known.contains(directive) else {
                fail(line.number, nil, directive == "gatehouse-rules" ? .unexpectedArgument(directive) : .unknownDirective(directive))
                continue
            }
            guard !nameBytes.isEmpty else {
                fail(line.number, nil, .missingArgument("rule name"))
                continue
            }
            guard RuleSyntax.isValidName(nameBytes, limit: limits.maxNameLength) else {
                fail(line.number, nil, .invalidName(name))
                continue
            }
            if directive != "describe" && argument.isEmpty {
                fail(line.number, name, .missingArgument(directive == "score" ? "score" : "test"))
                continue
            }
            do throws(RuleProblem) {
                switch directive {
                case "score":
                    let (value, extra) = RuleSyntax.word(argument)
                    guard let score = RuleSyntax.score(value) else { throw .invalidScore(RuleSyntax.string(value)) }
                    if !extra.isEmpty { throw .unexpectedArgument(RuleSyntax.string(extra)) }
                    if scoreLines[name] != nil { throw .duplicateScore(name) }
                    scoreLines[name] = line.number
                    set.setScore(score, for: name)
                case "describe":
                    if describeLines[name] != nil { throw .duplicateDescription(name) }
                    describeLines[name] = line.number
                    set.setDescription(RuleSyntax.string(argument), for: name)
                default:
                    if set[name] != nil { throw .duplicateRule(name) }
                    if set.count >= limits.maxRules { throw .tooManyRules(limit: limits.maxRules) }
                    let test = try RulePackParser.test(directive, argument, limits: limits)
                    set.define(RuleDefinition(name: name, test: test, origin: origin))
                }
            } catch {
                fail(line.number, name, error)
            }
        }
        if !sawVersion {
            fail(1, nil, .missingVersionLine)
        }
        for (name, line) in scoreLines where set[name] == nil { fail(line, name, .undefinedRule(name)) }
        for (name, line) in describeLines where set[name] == nil { fail(line, name, .undefinedRule(name)) }
        _ = try finish(diagnostics)
        return set
    }

    private static func finish(_ diagnostics: [RuleDiagnostic]) throws(RulePackError) -> RuleSet {
        if diagnostics.isEmpty { return RuleSet() }
        throw RulePackError(diagnostics: diagnostics.sorted { ($0.origin.line, $0.rule ?? "") < ($1.origin.line, $1.rule ?? "") })
    }

    static func test(_ directive: String, _ argument: ArraySlice<UInt8>, limits: RuleLimits) throws(RuleProblem) -> RuleTest {
        let trimmed = RuleSyntax.trim(argument)
        if directive != "meta" && trimmed.starts(with: "eval:".utf8) {
            throw .evalNotSupported(RuleSyntax.string(trimmed.dropFirst(5)))
        }
        switch directive {
        case "header": return try RuleSyntax.headerTest(argument, limits: limits)
        case "body": return .body(try RuleSyntax.regex(argument, limits: limits))
        case "rawbody": return .rawbody(try RuleSyntax.regex(argument, limits: limits))
        case "uri": return .uri(try RuleSyntax.regex(argument, limits: limits))
        case "full": return .full(try RuleSyntax.regex(argument, limits: limits))
        case "meta":
            do {
                return .meta(try MetaExpression.parse(RuleSyntax.string(argument), limits: limits))
            } catch {
                throw .invalidMeta(error)
            }
        case "mime": return .mime(try mimeCheck(argument, limits: limits))
        default: throw .unknownDirective(directive)
        }
    }

    /// Category names and `MIMEFileType` raw values accepted by `attachment-type`.
    static let attachmentTypes: Set<String> = ["executable", "document", "archive", "image", "text", "other"]

    static func mimeCheck(_ argument: ArraySlice<UInt8>, limits: RuleLimits) throws(RuleProblem) -> MIMECheck {
        let (checkBytes, rest) = RuleSyntax.word(argument)
        let check = RuleSyntax.string(checkBytes)
        let arg = RuleSyntax.string(rest)
        func noArgument(_ value: MIMECheck) throws(RuleProblem) -> MIMECheck {
            if !rest.isEmpty { throw .unexpectedArgument(arg) }
            return value
        }
        func count() throws(RuleProblem) -> Int {
            guard let n = Int(arg), n >= 0 else { throw .invalidMIMECheck(RuleSyntax.string(argument)) }
            return n
        }
        switch check {
        case "attachment-type":
            guard attachmentTypes.contains(arg) || MIMEFileTypeNames.all.contains(arg) else { throw .invalidMIMECheck(RuleSyntax.string(argument)) }
            return .attachmentType(arg)
        case "attachment-name": return .attachmentName(try RuleSyntax.regex(rest, limits: limits))
        case "defect":
            guard MIMEFileTypeNames.defects.contains(arg) else { throw .invalidMIMECheck(RuleSyntax.string(argument)) }
            return .defect(arg)
        case "html-only": return try noArgument(.htmlOnly)
        case "type-mismatch": return try noArgument(.typeMismatch)
        case "unscannable": return try noArgument(.unscannable)
        case "display-name-address": return try noArgument(.displayNameAddress)
        case "text-shorter-than": return .textShorterThan(try count())
        case "url-count-above": return .urlCountAbove(try count())
        default: throw .invalidMIMECheck(RuleSyntax.string(argument))
        }
    }
}
