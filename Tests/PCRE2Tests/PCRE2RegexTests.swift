import Glibc
import Testing
import PropertyBased
@testable import PCRE2

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

@Suite struct PCRE2RegexTests {
    @Test func compilesAndMatchesWithJIT() throws {
        let r = try PCRE2Regex("wor(ld)", options: .caseless)
        #expect(PCRE2Regex.isJITAvailable)
        #expect(r.isJITCompiled)
        #expect(r.captureCount == 1)
        #expect(try r.firstMatch(in: "Hello WORLD") == 6..<11)
        #expect(try r.firstMatch(in: "Hello") == nil)
        let interpreted = try PCRE2Regex("wor(ld)", options: .caseless, jit: false)
        #expect(!interpreted.isJITCompiled)
        #expect(try interpreted.firstMatch(in: "Hello WORLD") == 6..<11)
    }

    @Test func optionsMatchPerlModifiers() throws {
        #expect(try PCRE2Regex(perlLiteral: Array("/^b/".utf8)).firstMatch(in: "a\nb") == nil)
        #expect(try PCRE2Regex(perlLiteral: Array("/^b/m".utf8)).firstMatch(in: "a\nb") == 2..<3)
        #expect(try PCRE2Regex(perlLiteral: Array("/a.b/".utf8)).firstMatch(in: "a\nb") == nil)
        #expect(try PCRE2Regex(perlLiteral: Array("/a.b/s".utf8)).firstMatch(in: "a\nb") == 0..<3)
        #expect(try PCRE2Regex(perlLiteral: Array("/a b # comment\n c/x".utf8)).firstMatch(in: "abc") == 0..<3)
        #expect(try PCRE2Regex(perlLiteral: Array("m{a{2}}i".utf8)).firstMatch(in: "xAAx") == 1..<3)
        #expect(try PCRE2Regex(perlLiteral: Array("m!a/b!".utf8)).firstMatch(in: "a/b") == 0..<3)
        #expect(try PCRE2Regex(perlLiteral: Array(#"/a\/b/"#.utf8)).firstMatch(in: "a/b") == 0..<3)
        // $ before a final newline, as in Perl.
        #expect(try PCRE2Regex(perlLiteral: Array("/x$/".utf8)).firstMatch(in: "x\n") == 0..<1)
    }

    @Test func perlLiteralErrors() {
        #expect(throws: PerlRegexLiteralError.missingDelimiter(offset: 0)) { try PerlRegexLiteral(Array("abc".utf8)) }
        #expect(throws: PerlRegexLiteralError.unterminated(offset: 4)) { try PerlRegexLiteral(Array("/abc".utf8)) }
        #expect(throws: PerlRegexLiteralError.unknownModifier("q", offset: 5)) { try PerlRegexLiteral(Array("/abc/q".utf8)) }
        #expect(throws: PerlRegexLiteralError.missingDelimiter(offset: 1)) { try PerlRegexLiteral(Array("mabca".utf8)) }
        let literal = try? PerlRegexLiteral(Array("m(a(b)c)gi".utf8))
        #expect(literal?.pattern == Array("a(b)c".utf8))
        #expect(literal?.options == .caseless)
        #expect(literal?.modifiers == "gi")
    }

    @Test func compileErrorsCarryOffsetAndMessage() {
        do {
            _ = try PCRE2Regex("abc(def")
            Issue.record("compiled")
        } catch {
            #expect(error.offset == 7)
            #expect(error.message.contains("missing closing parenthesis"))
            #expect(error.description.hasPrefix("offset 7: "))
        }
        #expect(throws: PCRE2CompileError.self) { try PCRE2Regex("(?<=a+)b") }
        var limits = PCRE2Limits.default
        limits.maxPatternLength = 10
        #expect(throws: PCRE2CompileError.self) { try PCRE2Regex(String(repeating: "a", count: 11), limits: limits) }
        limits = .default
        limits.maxParenthesesNesting = 5
        #expect(throws: PCRE2CompileError.self) { try PCRE2Regex(String(repeating: "(", count: 6) + "a" + String(repeating: ")", count: 6), limits: limits) }
        // \C could split a UTF-8 character: always refused.
        #expect(throws: PCRE2CompileError.self) { try PCRE2Regex(#"a\Cb"#) }
    }

    /// ^(a+)+$ against "aaaa…b" backtracks exponentially; the match limit ends it at once.
    @Test(arguments: [true, false])
    func catastrophicBacktrackingIsBounded(jit: Bool) throws {
        let r = try PCRE2Regex("^(a+)+$", jit: jit)
        let subject = String(repeating: "a", count: 40) + "b"
        var limits = PCRE2Limits.default
        limits.matchLimit = 100_000
        let scratch = PCRE2MatchScratch(limits: limits)
        let start = monotonicSeconds()
        #expect(throws: PCRE2MatchError.matchLimit(limit: 100_000)) { try r.firstMatch(in: subject, scratch: scratch) }
        // The default limit too (5,000,000 steps) ends well within a second.
        #expect(throws: PCRE2MatchError.matchLimit(limit: PCRE2Limits.default.matchLimit)) { try r.firstMatch(in: subject) }
        #expect(monotonicSeconds() - start < 2)
        // The scratch stays usable after a failure.
        #expect(try r.firstMatch(in: "aaaa", scratch: scratch) == 0..<4)
    }

    @Test func depthLimitBoundsTheInterpreter() throws {
        let r = try PCRE2Regex("^(a|b)*$", jit: false)
        var limits = PCRE2Limits.default
        limits.depthLimit = 50
        let scratch = PCRE2MatchScratch(limits: limits)
        let subject = String(repeating: "ab", count: 1_000) + "!"
        #expect(throws: PCRE2MatchError.depthLimit(limit: 50)) { try r.firstMatch(in: subject, scratch: scratch) }
    }

    @Test func invalidUTF8SubjectsAreSafe() throws {
        let bytes: [UInt8] = Array("caf".utf8) + [0xE9, 0xFF] + Array(" café".utf8)  // Latin-1 é, a stray byte, then UTF-8
        // A byte pattern matches bytes: no check needed.
        let byteRegex = try PCRE2Regex(#"caf\xe9"#)
        #expect(try byteRegex.firstMatch(in: bytes) == 0..<4)
        // A UTF pattern on unvalidated bytes uses the tolerant compilation: invalid bytes are
        // barriers, valid text after them still matches.
        let utfRegex = try PCRE2Regex("café", options: [.utf, .caseless])
        #expect(!PCRE2Regex.isValidUTF8(bytes))
        #expect(try utfRegex.firstMatch(in: bytes) == 6..<11)
        #expect(try PCRE2Regex("f.", options: .utf).firstMatch(in: bytes) == 8..<11)
        let scratch = PCRE2MatchScratch()
        let viaBuffer = try bytes.withUnsafeBufferPointer { try utfRegex.firstMatch(in: $0, subjectIsValidUTF8: false, scratch: scratch) }
        #expect(viaBuffer == 6..<11)
        // UTF mode: one character for ".", Unicode case folding with .ucp.
        #expect(try PCRE2Regex("^.$", options: .utf).firstMatch(in: "é") == 0..<2)
        #expect(try PCRE2Regex("^.$").firstMatch(in: "é") == nil)
        #expect(try PCRE2Regex("ÉTÉ", options: [.utf, .ucp, .caseless]).firstMatch(in: "un été") == 3..<8)
    }

    @Test func emptySubjectAndEmptyPattern() throws {
        #expect(try PCRE2Regex("").firstMatch(in: "") == 0..<0)
        #expect(try PCRE2Regex("^$").firstMatch(in: [UInt8]()) == 0..<0)
        #expect(try PCRE2Regex("a").firstMatch(in: "") == nil)
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        #expect(try PCRE2Regex("x?").firstMatch(in: empty, subjectIsValidUTF8: true, scratch: PCRE2MatchScratch()) == 0..<0)
    }

    @Test func startOffset() throws {
        let r = try PCRE2Regex("a")
        let bytes = Array("abca".utf8)
        let found = try bytes.withUnsafeBufferPointer { try r.firstMatch(in: $0, from: 1, subjectIsValidUTF8: true, scratch: PCRE2MatchScratch()) }
        #expect(found == 3..<4)
    }

    @Test func sharedAcrossTasks() async throws {
        let r = try PCRE2Regex(#"\b(\d{3})-(\d{4})\b"#)
        let counts = await withTaskGroup(of: Int.self) { group in
            for k in 0..<8 {
                group.addTask {
                    let scratch = PCRE2MatchScratch()
                    var n = 0
                    for i in 0..<500 where (try? r.firstMatch(in: "call \(100 + k)-\(1000 + i) now", scratch: scratch)) != nil { n += 1 }
                    return n
                }
            }
            var total = 0
            for await n in group { total += n }
            return total
        }
        #expect(counts == 8 * 500)
    }

    /// Random patterns and subjects: compiling never crashes, and matching either answers or
    /// reports a limit.
    @Test func randomPatternsNeverCrash() async {
        let pieces = ["a", "b", "(", ")", "*", "+", "?", "{2,3}", "[", "]", "^", "$", ".", "|", "\\", "\\d", "\\w", "\\b", "(?=", "(?<=", "(?:", "é", "\u{0}", "\\x{263a}", "\\p{L}", "\\1", "(?i)", "#", " "]
        let gen = Gen.int(in: 0...(pieces.count - 1)).array(of: 0...20)
        await propertyCheck(count: 500, input: gen, Gen.int(in: 0...3)) { indices, flags in
            let pattern = indices.map { pieces[$0] }.joined()
            var options: PCRE2Regex.Options = []
            if flags & 1 != 0 { options.insert(.utf) }
            if flags & 2 != 0 { options.insert(.caseless) }
            guard let r = try? PCRE2Regex(pattern, options: options) else { return }
            _ = try? r.firstMatch(in: "aab ba é ☺ 123" + pattern)
            _ = try? r.firstMatch(in: [0x61, 0xFF, 0xC3, 0x28, 0x62])
        }
    }
}
