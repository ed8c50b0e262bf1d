// BuiltInRules.swift — rules every matcher has, and the default pack that ships with Gatehouse.
//
// What it does: GTUBE, the Generic Test for Unsolicited Bulk Email
// (https://spamassassin.apache.org/gtube/), is built in with score 1000 so that any installation
// can be tested end to end with a harmless message; a rule set that defines GTUBE itself keeps its
// own. `DefaultRules` reads rules/default.rules, our own pack (docs/rules.md), embedded in the binary.
//
// Security notes: the default pack is parsed strictly; a broken pack is a build defect, caught by
// the tests, never a silent empty rule set.

enum BuiltInRules {
    /// The GTUBE string, with `*` and `.` as written in the test message.
    static let gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

    static let all: [(rule: RuleDefinition, score: Double, summary: String)] = {
        // The pattern is a constant that compiles: covered by the tests.
        let source = try! RegexSource(literal: Array(#"/XJS\*C4JDBQADN1\.NSBN3\*2IDNEN\*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\*C\.34X/"#.utf8))
        return [(RuleDefinition(name: "GTUBE", test: .body(source), origin: .builtIn), 1000, "Generic Test for Unsolicited Bulk Email")]
    }()
}

/// Gatehouse's default rule pack (rules/default.rules).
public enum DefaultRules {
    /// The pack's text.
    public static var text: [UInt8] { PackageResources.default_rules }

    /// The pack, parsed. Throws only if the shipped pack is broken (a test pins that it is not).
    public static func ruleSet(limits: RuleLimits = .default) throws(RulePackError) -> RuleSet {
        try RulePackParser.parse(text, file: "default.rules", limits: limits)
    }

    /// The pack compiled strictly, with the built-in rules.
    public static func matcher(limits: RuleLimits = .default) throws(RulePackError) -> RuleMatcher {
        try RuleMatcher(ruleSet(limits: limits), mode: .strict, limits: limits)
    }
}
