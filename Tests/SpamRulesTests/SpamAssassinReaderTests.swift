import Testing
import MIME
@testable import SpamRules

@Suite struct SpamAssassinReaderTests {
    func read(_ names: String...) -> (RuleSet, SpamAssassinReport) {
        var reader = SpamAssassinReader()
        for name in names { reader.read(fixture(name), file: name) }
        return reader.finish()
    }

    @Test func readsTheCommonSubset() throws {
        let (set, report) = read("basic.cf")
        #expect(report.skipped.isEmpty)
        #expect(report.warnings.isEmpty)
        #expect(set.rules.map(\.name) == [
            "SUBJ_FREE", "FROM_EXAMPLE", "FROM_NAME_BOSS", "__HAS_LIST_ID", "RAW_SUBJ_B64", "ALL_HAS_XSPAM", "NO_XMAILER", "MSGID_BAD",
            "TOCC_MANY", "BODY_MONEY", "RAW_FONT", "URI_EXAMPLE_NET", "FULL_XMAILER", "HASH_ESCAPED", "META_TWO", "META_LIST",
        ])
        // The first of four scores (no Bayes, no network tests).
        #expect(set.scores["SUBJ_FREE"] == 1.5)
        #expect(set.descriptions["BODY_MONEY"] == "Talks about a million dollars")
        // tflags nice: a rule without a score scores -1, as SpamAssassin sets it.
        #expect(set.scores["BODY_MONEY"] == -1)
        #expect(report.ignoredDirectives == ["tflags": 1, "lang": 1, "priority": 1])
        #expect(report.loaded == [.header: 9, .body: 2, .rawbody: 1, .uri: 1, .full: 1, .meta: 2])
        // Comments end at an unescaped #; \# is a literal #.
        guard case .body(let money)? = set["BODY_MONEY"]?.test, case .body(let hash)? = set["HASH_ESCAPED"]?.test else {
            Issue.record("not body rules")
            return
        }
        #expect(money.description == #"/\bmillion dollars\b/i"#)
        #expect(String(decoding: hash.pattern, as: UTF8.self) == "#hashtag")
        guard case .header(let selector, _, _, _)? = set["FROM_NAME_BOSS"]?.test else { Issue.record("header"); return }
        #expect(selector.form == .displayName && selector.field == .named("from"))
        #expect(set["NO_XMAILER"]?.test.kind == .header)
    }

    @Test func basicRulesMatchAMessage() throws {
        let (set, report) = read("basic.cf")
        let m = try RuleMatcher(set, mode: .lenient, builtIns: false, alreadySkipped: report.skipped)
        #expect(m.skipped.isEmpty)
        let result = m.scan(message("""
        From: Boss <boss@example.com>
        To: a@example.org, b@example.org, c@example.org, d@example.org
        Message-ID: <no-at-sign>
        Subject: =?utf-8?b?RlJFRSBtb25leQ==?=
        X-Spam-Flag: YES
        X-Mailer: Spammer 1.0
        MIME-Version: 1.0
        Content-Type: text/html

        <p>A <font color="#ff0000">million dollars</font> at <a href="http://www.Example.NET/x">here</a> #hashtag</p>
        """))
        #expect(result.hits.map(\.name) == [
            "SUBJ_FREE", "FROM_EXAMPLE", "FROM_NAME_BOSS", "RAW_SUBJ_B64", "ALL_HAS_XSPAM", "MSGID_BAD", "TOCC_MANY", "BODY_MONEY",
            "RAW_FONT", "URI_EXAMPLE_NET", "FULL_XMAILER", "HASH_ESCAPED", "META_TWO", "META_LIST",
        ])
        #expect(result.hits.first { $0.name == "SUBJ_FREE" }?.evidence == "FREE")
        #expect(result.hits.first { $0.name == "META_TWO" }?.evidence == "SUBJ_FREE, BODY_MONEY, RAW_FONT")
        #expect(result.hits.first { $0.name == "META_TWO" }?.score == 2)
        #expect(result.hits.first { $0.name == "BODY_MONEY" }?.summary == "Talks about a million dollars")
        // X-Mailer present: the negated rule does not hit; absent, [if-unset: ] makes it hit.
        let plain = m.scan(message("From: x@example.org\nSubject: hi\nList-Id: <l.example.org>\n\nhello\n"))
        #expect(plain.hits.map(\.name) == ["NO_XMAILER"])
    }

    @Test func conditionalsAndUnsupportedRules() {
        let (set, report) = read("conditionals.cf")
        #expect(set.rules.map(\.name) == ["NEW_ENOUGH", "FALLBACK", "NEEDS_EVAL", "NEEDS_MISSING"])
        let reasons = Dictionary(report.skipped.map { ($0.rule!, $0.problem) }, uniquingKeysWith: { a, _ in a })
        #expect(reasons["EVAL_IN_PLUGIN"] == .evalNotSupported("check_stock_info('4')"))
        #expect(reasons["REGEX_IN_PLUGIN"] == .inSkippedBlock("ifplugin Mail::SpamAssassin::Plugin::BodyEval"))
        #expect(reasons["TOO_NEW"] == .inSkippedBlock("if (version >= 9.000000)"))
        #expect(reasons["NOT_FALLBACK"] == .inSkippedBlock("else of if !plugin(Mail::SpamAssassin::Plugin::BodyEval)"))
        #expect(reasons["NEEDS_CAPTURE"] != nil)
        #expect(reasons["MIME_NAME"]?.category == "plugin-block")
        #expect(reasons["EVAL_HEADER"] == .evalNotSupported("check_for_missing_to_header()"))
        #expect(reasons["EVAL_BODY"] == .evalNotSupported("check_body_length('100')"))
        #expect(reasons["RELAY_RULE"] == .unsupportedHeader("X-Spam-Relays-External"))
        #expect(reasons["ASK_RULE"] == .unsupportedRuleType("askdns"))
        #expect(report.skippedBlocks == 5)
        #expect(report.warnings.isEmpty)
        // Metas that need a skipped rule are skipped when compiling, with the reason.
        let m = try? RuleMatcher(set, mode: .lenient, builtIns: false, alreadySkipped: report.skipped)
        #expect(m?.ruleNames == ["NEW_ENOUGH", "FALLBACK"])
        let compileReasons = Dictionary((m?.skipped ?? []).map { ($0.rule!, $0.problem) }, uniquingKeysWith: { _, b in b })
        #expect(compileReasons["NEEDS_EVAL"] == .dependsOnSkippedRule("EVAL_BODY"))
        #expect(compileReasons["NEEDS_MISSING"] == .unknownReference("NOWHERE_DEFINED"))
    }

    @Test func pluginsAndFeaturesCanBeDeclared() {
        var configuration = SpamAssassinReader.Configuration()
        configuration.plugins = ["Mail::SpamAssassin::Plugin::BodyEval"]
        configuration.features = ["Mail::SpamAssassin::Conf::feature_capture_rules"]
        var reader = SpamAssassinReader(configuration: configuration)
        reader.read(fixture("conditionals.cf"), file: "conditionals.cf")
        let (set, _) = reader.finish()
        #expect(set["REGEX_IN_PLUGIN"] != nil)
        #expect(set["NOT_FALLBACK"] != nil)
        #expect(set["FALLBACK"] == nil)
        #expect(set["NEEDS_CAPTURE"] != nil)
    }

    @Test func badRulesAreSkippedNeverFatal() throws {
        let (set, report) = read("bad.cf")
        let m = try RuleMatcher(set, mode: .lenient, builtIns: false, alreadySkipped: report.skipped)
        #expect(m.ruleNames == ["GOOD_AFTER_BAD"])
        let all = Dictionary(m.skipped.map { ($0.rule ?? "-", $0) }, uniquingKeysWith: { a, _ in a })
        #expect(all["BAD_REGEX"]?.origin == RuleOrigin(file: "bad.cf", line: 2))
        #expect(all["BAD_REGEX"]?.problem.category == "bad-regex")
        #expect(all["BAD_MODIFIER"]?.problem == .invalidRegex(offset: 6, message: "unknown modifier 'q' (allowed: i m s x n u)"))
        #expect(all["NO_DELIMITER"]?.problem.category == "bad-regex")
        #expect(all["BAD_HEADER"]?.problem == .invalidHeaderTest("Subject ~~ /x/"))
        #expect(all["BAD_MODIFIER_H"]?.problem == .unsupportedHeaderModifier("host"))
        #expect(all["BAD_META"]?.problem.category == "bad-meta")
        #expect(all["CYCLE_A"]?.problem == .metaCycle(["CYCLE_A", "CYCLE_B", "CYCLE_A"]))
        #expect(all["NEEDS_CYCLE"]?.problem == .dependsOnSkippedRule("CYCLE_A"))
        #expect(all["VARIABLE_LOOKBEHIND"]?.problem.category == "bad-regex")
        #expect(all["VARIABLE_LOOKBEHIND"]?.description.hasPrefix("bad.cf:14: VARIABLE_LOOKBEHIND: invalid regular expression") == true)
        // The bad score and the stray endif are warnings about the file.
        #expect(report.warnings.map(\.problem) == [.invalidScore("notanumber"), .unbalancedConditional("endif")])
        #expect(set.scores["GOOD_AFTER_BAD"] == nil)
    }

    @Test func laterDefinitionsWin() {
        var reader = SpamAssassinReader()
        reader.read(Array("body A /one/\nscore A 1\nbody B eval:x()\n".utf8), file: "10.cf")
        reader.read(Array("body A /two/\nscore A 3\nbody B /now a regex/\nbody C /c/\nbody C eval:y()\n".utf8), file: "20.cf")
        let (set, report) = reader.finish()
        #expect(set.rules.map(\.name) == ["A", "B"])
        #expect(set.scores["A"] == 3)
        guard case .body(let a)? = set["A"]?.test else { Issue.record("A"); return }
        #expect(a.pattern == Array("two".utf8))
        #expect(report.skipped.map(\.rule) == ["C"])
    }

    /// The whole of Debian's rule set loads; what was loaded and skipped, and why, is printed.
    @Test func installedSetLoads() throws {
        let files = listDirectory(spamAssassinRulesDirectory).filter { $0.hasSuffix(".cf") }
        try #require(files.count > 20, "Debian's spamassassin package is not installed (apt-get install spamassassin)")
        let (set, report) = readSpamAssassin(spamAssassinRulesDirectory)
        let m = try RuleMatcher(set, mode: .lenient, alreadySkipped: report.skipped)
        var byReason: [String: Int] = [:]
        for d in m.skipped { byReason[d.problem.category, default: 0] += 1 }
        print("SpamAssassin rules read: \(report)")
        print("SpamAssassin rules compiled: \(m.count) (\(m.activeCount) run per message), JIT \(m.jitStatistics.jit)/\(m.jitStatistics.total); "
              + "skipped \(m.skipped.count): " + byReason.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for d in m.skipped where d.problem.category == "bad-regex" { print("  \(d)") }
        #expect(report.files == files.count)
        #expect(report.warnings.isEmpty, "\(report.warnings)")
        #expect(m.count > 1000)
        #expect(m.jitStatistics.jit == m.jitStatistics.total)
        #expect(byReason["eval", default: 0] > 100)
        #expect(set["GTUBE"] != nil)
        // GTUBE through SpamAssassin's own rule.
        let gtube = m.scan(fixture("gtube.eml"))
        #expect(gtube.hit("GTUBE"))
        #expect(gtube.score >= 999)
    }
}
