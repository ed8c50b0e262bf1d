import Testing
import PropertyBased
@testable import SpamRules

@Suite struct MetaExpressionTests {
    func value(_ text: String, _ hits: Set<String>) throws -> Double {
        try MetaExpression.parse(text).evaluate { hits.contains($0) ? 1 : 0 }
    }

    @Test func precedenceFollowsPerl() throws {
        #expect(try MetaExpression.parse("A || B && C") == .binary(.or, .rule("A"), .binary(.and, .rule("B"), .rule("C"))))
        #expect(try MetaExpression.parse("!A && B") == .binary(.and, .not(.rule("A")), .rule("B")))
        #expect(try MetaExpression.parse("A + B > 1") == .binary(.greater, .binary(.plus, .rule("A"), .rule("B")), .number(1)))
        #expect(try MetaExpression.parse("A + B * 2") == .binary(.plus, .rule("A"), .binary(.times, .rule("B"), .number(2))))
        #expect(try MetaExpression.parse("A - B - C") == .binary(.minus, .binary(.minus, .rule("A"), .rule("B")), .rule("C")))
        #expect(try MetaExpression.parse("A == 1 && B != 0") == .binary(.and, .binary(.equal, .rule("A"), .number(1)), .binary(.notEqual, .rule("B"), .number(0))))
        #expect(try MetaExpression.parse("((A))") == .rule("A"))
        #expect(try MetaExpression.parse("A >= 1.5") == .binary(.greaterOrEqual, .rule("A"), .number(1.5)))
    }

    @Test func evaluation() throws {
        #expect(try value("(A && !B) || C", ["A"]) == 1)
        #expect(try value("(A && !B) || C", ["A", "B"]) == 0)
        #expect(try value("(A && !B) || C", ["A", "B", "C"]) == 1)
        #expect(try value("(A + B + C) > 1", ["A"]) == 0)
        #expect(try value("(A + B + C) > 1", ["A", "C"]) == 1)
        #expect(try value("A + B + C >= 3", ["A", "B", "C"]) == 1)
        #expect(try value("!(A || B)", []) == 1)
        #expect(try value("-A + 2 > 1", ["A"]) == 0)
        #expect(try value("A / 0", ["A"]) == 0)
        #expect(try value("3 * A - 1", ["A"]) == 2)
    }

    @Test func namesInOrder() throws {
        #expect(try MetaExpression.parse("(__B && !A) || __B + C_1 > 1").ruleNames == ["__B", "A", "C_1"])
    }

    @Test func syntaxErrorsWithOffsets() {
        func reason(_ text: String, _ limits: RuleLimits = .default) -> MetaParseError? {
            do {
                _ = try MetaExpression.parse(text, limits: limits)
                return nil
            } catch {
                return error
            }
        }
        #expect(reason("")?.reason == .empty)
        #expect(reason("   ")?.reason == .empty)
        #expect(reason("A &&") == MetaParseError(reason: .unexpectedEnd, offset: 4))
        #expect(reason("(A || B") == MetaParseError(reason: .missingClosingParenthesis, offset: 0))
        #expect(reason("A B") == MetaParseError(reason: .unexpectedToken("B"), offset: 2))
        #expect(reason("A & B") == MetaParseError(reason: .unexpectedCharacter("&"), offset: 2))
        #expect(reason("A ; system('x')") == MetaParseError(reason: .unexpectedCharacter(";"), offset: 2))
        #expect(reason("A)")?.reason == .unexpectedToken(")"))
        #expect(reason("A é")?.reason == .unexpectedCharacter("0xC3"))
        #expect(reason(String(repeating: "(", count: 100) + "A" + String(repeating: ")", count: 100))?.reason == .tooDeep(limit: 64))
        #expect(reason(String(repeating: "!", count: 100) + "A")?.reason == .tooDeep(limit: 64))
        var limits = RuleLimits.default
        limits.maxMetaTerms = 10
        #expect(reason((0..<11).map { "R\($0)" }.joined(separator: "+"), limits)?.reason == .tooManyTerms(limit: 10))
    }

    @Test func cyclesAreRefused() {
        do {
            _ = try matcher("""
            body X /x/
            meta A B && X
            meta B C || X
            meta C A
            meta D A
            meta SELF SELF || X
            meta OK X
            """)
            Issue.record("compiled")
        } catch {
            let byRule = Dictionary(error.diagnostics.map { ($0.rule ?? "", $0.problem) }, uniquingKeysWith: { a, _ in a })
            #expect(byRule["A"] == .metaCycle(["A", "B", "C", "A"]))
            #expect(byRule["B"] == .metaCycle(["A", "B", "C", "A"]))
            #expect(byRule["C"] == .metaCycle(["A", "B", "C", "A"]))
            #expect(byRule["D"] == .dependsOnSkippedRule("A"))
            #expect(byRule["SELF"] == .metaCycle(["SELF", "SELF"]))
            #expect(byRule["OK"] == nil)
        }
    }

    @Test func cyclesAndUnknownNamesAreSkippedInLenientMode() throws {
        let set = try pack("""
        body X /x/
        meta A B && X
        meta B A
        meta U NOPE || X
        meta V U
        meta OK X && !NOT_X
        body NOT_X /not/
        """)
        let m = try RuleMatcher(set, mode: .lenient, builtIns: false)
        #expect(m.ruleNames == ["X", "OK", "NOT_X"])
        #expect(Set(m.skipped.map { $0.rule! }) == ["A", "B", "U", "V"])
        #expect(m.skipped.first { $0.rule == "U" }?.problem == .unknownReference("NOPE"))
        #expect(m.skipped.first { $0.rule == "V" }?.problem == .dependsOnSkippedRule("U"))
        let result = scan(m, "Subject: s\n\nx marks\n")
        #expect(result.hits.map(\.name) == ["X", "OK"])
        #expect(result.hits.first { $0.name == "OK" }?.evidence == "X")
    }

    @Test func metaOrderIsDependencyOrder() throws {
        // Defined before the metas they use: order must still be right.
        let m = try matcher("""
        meta TOP __MID && __LOW
        meta __MID __LOW || Y
        meta __LOW X
        body X /x/
        body Y /y/
        score X 0
        score Y 0
        """)
        #expect(scan(m, "Subject: s\n\nx\n").hits.map(\.name) == ["TOP"])
        #expect(scan(m, "Subject: s\n\ny\n").hits.map(\.name) == [])
        #expect(m.activeCount == 5)
    }

    /// Random token soup never crashes the parser, and whatever parses evaluates.
    @Test func randomExpressionsNeverCrash() async {
        let pieces = ["A", "B", "__C", "1", "2.5", "(", ")", "!", "&&", "||", "+", "-", "*", "/", "<", ">", "<=", ">=", "==", "!=", " ", "&", "|", "=", "é", "9x"]
        let gen = Gen.int(in: 0...(pieces.count - 1)).array(of: 0...40)
        await propertyCheck(count: 1000, input: gen) { indices in
            let text = indices.map { pieces[$0] }.joined()
            if let e = try? MetaExpression.parse(text) {
                _ = e.evaluate { $0 == "A" ? 1 : 0 }
                let program = MetaProgram(e) { name in ["A": 0, "B": 1, "__C": 2][name] ?? 3 }
                var stack: [Double] = []
                let v1 = [1.0, 0, 1, 0].withUnsafeBufferPointer { program.evaluate($0, stack: &stack) }
                let v2 = e.evaluate { ["A": 1.0, "B": 0, "__C": 1][$0] ?? 0 }
                #expect(v1 == v2 || (v1.isNaN && v2.isNaN), "\(text)")
            }
        }
    }
}
