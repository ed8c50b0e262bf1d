import Testing
import PropertyBased
@testable import SpamRules

@Suite struct RulePackParserTests {
    @Test func readsEveryDirective() throws {
        let set = try pack("""
        # comment
          # indented comment

        header   SUBJ     Subject =~ /hello/i
        header   RAW      Subject:raw !~ /x/ [if-unset: none]
        header   ADDR     From:addr =~ /@example\\.com$/m
        header   HAS_LIST exists:List-Id
        body     BODY     /money # not a comment/
        rawbody  RAW_B    /<b>/
        uri      URI      m{^https?://example\\.net/}
        full     FULL     /^X-Mailer: x/m
        mime     EXE      attachment-type executable
        mime     NAME     attachment-name /\\.exe$/i
        mime     SHORT    text-shorter-than 10
        mime     DEFECT   defect hidden-html-text
        meta     META     (SUBJ && !BODY) || (URI + FULL + RAW) > 1
        score    SUBJ     2.5
        score    META     -1
        describe SUBJ     Says hello
        """)
        #expect(set.count == 13)
        #expect(set.scores["SUBJ"] == 2.5)
        #expect(set.scores["META"] == -1)
        #expect(set.descriptions["SUBJ"] == "Says hello")
        #expect(set["SUBJ"]?.origin == RuleOrigin(file: "test.rules", line: 5))
        guard case .header(let selector, let regex, let negated, let ifUnset)? = set["RAW"]?.test else {
            Issue.record("RAW is not a header rule")
            return
        }
        #expect(selector.raw && selector.field == .named("subject") && negated && ifUnset == "none")
        #expect(regex.pattern == Array("x".utf8))
        guard case .body(let body)? = set["BODY"]?.test else { Issue.record("BODY"); return }
        #expect(String(decoding: body.pattern, as: UTF8.self) == "money # not a comment")
        #expect(set["HAS_LIST"]?.test == .headerExists("List-Id"))
        #expect(set["SHORT"]?.test == .mime(.textShorterThan(10)))
        #expect(set["META"]?.test.kind == .meta)
        #expect(set["EXE"]?.test.kind == .mime)
        #expect(set["SUBJ"].map(set.score(of:)) == 2.5)
        #expect(set["BODY"].map(set.score(of:)) == 1)
    }

    @Test func errorsCarryLineNumbers() {
        let text = """
        gatehouse-rules 1
        body GOOD /fine/
        bodyy TYPO /x/
        body 9BAD /x/
        body GOOD /again/
        score GOOD lots
        score MISSING 1
        header H Subject ~~ /x/
        body NOPAT
        meta M (GOOD &&
        mime X attachment-type nonsense
        body B /unterminated
        describe NOWHERE text
        header R X-Spam-Relays-External =~ /x/
        header P Subject:host =~ /x/
        body E eval:check_something()
        """
        do {
            _ = try RulePackParser.parse(Array(text.utf8), file: "bad.rules")
            Issue.record("parsed")
        } catch {
            let lines = error.diagnostics.map(\.origin.line)
            #expect(lines == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
            let problems = error.diagnostics.map(\.problem)
            #expect(problems[0] == .unknownDirective("bodyy"))
            #expect(problems[1] == .invalidName("9BAD"))
            #expect(problems[2] == .duplicateRule("GOOD"))
            #expect(problems[3] == .invalidScore("lots"))
            #expect(problems[4] == .undefinedRule("MISSING"))
            #expect(problems[5] == .invalidHeaderTest("Subject ~~ /x/"))
            #expect(problems[6] == .missingArgument("test"))
            #expect(problems[7].category == "bad-meta")
            #expect(problems[8] == .invalidMIMECheck("attachment-type nonsense"))
            #expect(problems[9].category == "bad-regex")
            #expect(problems[10] == .undefinedRule("NOWHERE"))
            #expect(problems[11] == .unsupportedHeader("X-Spam-Relays-External"))
            #expect(problems[12] == .unsupportedHeaderModifier("host"))
            #expect(problems[13] == .evalNotSupported("check_something()"))
            #expect(error.diagnostics[0].description == "bad.rules:3: unknown directive 'bodyy'")
            #expect(error.description.split(separator: "\n").count == 14)
        }
    }

    @Test func versionLine() {
        #expect(throws: RulePackError.self) { try RulePackParser.parse(Array("body A /x/\n".utf8), file: "f") }
        #expect(throws: RulePackError.self) { try RulePackParser.parse(Array("gatehouse-rules 2\nbody A /x/\n".utf8), file: "f") }
        #expect(throws: RulePackError.self) { try RulePackParser.parse([], file: "f") }
        #expect((try? RulePackParser.parse(Array("# header comment\n\ngatehouse-rules 1\r\nbody A /x/\r\n".utf8), file: "f"))?.count == 1)
        do {
            _ = try RulePackParser.parse(Array("\nbody A /x/\n".utf8), file: "f")
        } catch {
            #expect(error.diagnostics == [RuleDiagnostic(origin: RuleOrigin(file: "f", line: 2), problem: .missingVersionLine)])
        }
    }

    @Test func regexAndMetaProblemsFoundAtCompileWithLines() {
        do {
            _ = try matcher("""
            body A /(unclosed/
            body B /fine/
            meta C B && UNKNOWN
            meta D E
            meta E D || B
            """)
            Issue.record("compiled")
        } catch {
            let found = error.diagnostics.map { "\($0.origin.line) \($0.rule ?? "") \($0.problem.category)" }
            #expect(found == ["2 A bad-regex", "4 C meta-unknown-rule", "5 D meta-cycle", "6 E meta-cycle"])
        }
    }

    @Test func limits() {
        var limits = RuleLimits.default
        limits.maxLineLength = 20
        limits.maxRules = 2
        limits.maxPatternLength = 5
        let text = "gatehouse-rules 1\nbody A /aaaaaa/\nbody B /b/\nbody C /c/\nbody E /e/\nbody D /this line is far too long/\n"
        do {
            _ = try RulePackParser.parse(Array(text.utf8), file: "f", limits: limits)
        } catch {
            #expect(error.diagnostics.map(\.problem) == [
                .patternTooLong(length: 6, limit: 5), .tooManyRules(limit: 2), .lineTooLong(limit: 20),
            ])
        }
        limits = .default
        limits.maxRuleFileBytes = 10
        #expect(throws: RulePackError.self) { try RulePackParser.parse(Array(text.utf8), file: "f", limits: limits) }
    }

    @Test func invalidUTF8LineIsAnError() {
        let bytes = Array("gatehouse-rules 1\nbody A /caf".utf8) + [0xE9] + Array("/\n".utf8)
        do {
            _ = try RulePackParser.parse(bytes, file: "f")
            Issue.record("parsed")
        } catch {
            #expect(error.diagnostics.map(\.problem) == [.invalidUTF8])
        }
    }

    @Test func defaultPackIsValid() throws {
        let set = try DefaultRules.ruleSet()
        let scored = set.rules.filter { !$0.isSubRule }
        #expect(scored.count >= 30 && scored.count <= 120, "\(scored.count) scored rules")
        for rule in scored {
            #expect(set.descriptions[rule.name] != nil, "\(rule.name) has no description")
            #expect(set.scores[rule.name] != nil, "\(rule.name) has no score")
        }
        let m = try DefaultRules.matcher()
        #expect(m.skipped.isEmpty)
        #expect(m.jitStatistics.jit == m.jitStatistics.total)
        #expect(set["GTUBE"] != nil && set.scores["GTUBE"] == 1000)
    }

    /// Random rule text, built from the pieces that make the parsers branch, never crashes
    /// either parser or the compiler.
    @Test func randomRuleTextNeverCrashes() async {
        let pieces = [
            "gatehouse-rules 1\n", "\n", "\r\n", " ", "\t", "#", "\\#", "header ", "body ", "rawbody ", "uri ", "full ", "meta ", "mime ",
            "score ", "describe ", "tflags ", "if ", "ifplugin ", "else\n", "endif\n", "(version >= 3.004000)", "plugin(X)", "can(Y)",
            "A ", "B ", "__C ", "Subject ", "From:addr ", "ALL ", "exists:", "=~ ", "!~ ", "/", "m{", "}", "i", "(", ")", "&&", "||",
            "!", "+", ">", "1", "2.5", "-", "[if-unset: x]", "eval:f()", "\\", "é", "\u{FF}", "attachment-type ", "executable",
            "text-shorter-than ", "(a+)+$", "*", "?",
        ].map { Array($0.utf8) }
        let gen = Gen.int(in: 0...(pieces.count - 1)).array(of: 0...60)
        await propertyCheck(count: 400, input: gen) { indices in
            let bytes = indices.flatMap { pieces[$0] }
            if let set = try? RulePackParser.parse(bytes, file: "random") {
                _ = try? RuleMatcher(set, mode: .strict)
            }
            var reader = SpamAssassinReader()
            reader.read(bytes, file: "random.cf")
            let (set, report) = reader.finish()
            if let m = try? RuleMatcher(set, mode: .lenient, alreadySkipped: report.skipped) {
                _ = m.scan(message("Subject: a\n\nbody\n"))
            }
        }
    }
}
