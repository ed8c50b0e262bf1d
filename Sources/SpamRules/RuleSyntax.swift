// RuleSyntax.swift — the pieces of rule-file syntax both readers share: lines, words, names,
// scores, regular-expression literals and header tests.
//
// Grammar (shared by docs/rules.md and SpamAssassin's Mail::SpamAssassin::Conf):
//   line        := *WSP directive 1*WSP name [1*WSP argument] *WSP
//   name        := ( ALPHA / "_" ) *( ALPHA / DIGIT / "_" )
//   header-test := selector *WSP ( "=~" / "!~" ) *WSP regex [ *WSP "[if-unset:" *WSP text "]" ]
//                / "exists:" field-name
//   regex       := "/" pattern "/" modifiers / "m" delimiter pattern delimiter modifiers
//
// Security notes: lines are bounded (`RuleLimits.maxLineLength`) before they get here; nothing
// here allocates more than a copy of the line.
internal import PCRE2

/// One line of a rule file.
struct RuleLine {
    var number: Int
    var bytes: ArraySlice<UInt8>
}

enum RuleSyntax {
    /// Splits `bytes` into lines (LF, CR LF; a lone CR is kept), numbered from 1.
    static func lines(_ bytes: [UInt8]) -> [RuleLine] {
        var result: [RuleLine] = []
        var start = 0
        var number = 1
        var i = 0
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == 10 {
                var end = i
                if end > start, bytes[end - 1] == 13 { end -= 1 }
                if i < bytes.count || start < bytes.count { result.append(RuleLine(number: number, bytes: bytes[start..<end])) }
                number += 1
                start = i + 1
            }
            i += 1
        }
        return result
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 11 || c == 12 || c == 13 }

    static func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi, isSpace(s[lo]) { lo += 1 }
        while hi > lo, isSpace(s[hi - 1]) { hi -= 1 }
        return s[lo..<hi]
    }

    /// The first white-space-separated word and the rest (trimmed).
    static func word(_ s: ArraySlice<UInt8>) -> (word: ArraySlice<UInt8>, rest: ArraySlice<UInt8>) {
        let t = trim(s)
        var i = t.startIndex
        while i < t.endIndex, !isSpace(t[i]) { i += 1 }
        return (t[t.startIndex..<i], trim(t[i...]))
    }

    static func string(_ s: ArraySlice<UInt8>) -> String { String(decoding: s, as: UTF8.self) }

    /// Whether `name` is a valid rule name no longer than `limit`.
    static func isValidName(_ name: ArraySlice<UInt8>, limit: Int) -> Bool {
        guard let first = name.first, name.count <= limit, MetaParser.isNameStart(first) else { return false }
        return name.allSatisfy(MetaParser.isNameByte)
    }

    /// A score: a finite decimal number (SpamAssassin allows four, for its four score sets; the
    /// first is the set without Bayes and network tests, which is what this engine runs).
    static func score(_ s: ArraySlice<UInt8>) -> Double? {
        let text = string(word(s).word)
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 || $0 == 43 }),
              let value = Double(text), value.isFinite, abs(value) <= 1_000_000
        else { return nil }
        return value
    }

    /// A regular-expression literal, checked against the pattern-length limit.
    static func regex(_ s: ArraySlice<UInt8>, limits: RuleLimits) throws(RuleProblem) -> RegexSource {
        let source: RegexSource
        do {
            source = try RegexSource(literal: trim(s))
        } catch {
            throw .invalidRegex(offset: error.offset, message: error.description)
        }
        if source.pattern.count > limits.maxPatternLength {
            throw .patternTooLong(length: source.pattern.count, limit: limits.maxPatternLength)
        }
        return source
    }

    /// The argument of a header rule: `Selector =~ /re/ [if-unset: text]`, `Selector !~ /re/`, or `exists:Name`.
    static func headerTest(_ s: ArraySlice<UInt8>, limits: RuleLimits) throws(RuleProblem) -> RuleTest {
        var rest = trim(s)
        let text = string(rest)
        if text.hasPrefix("exists:") {
            let name = trim(rest.dropFirst(7))
            guard !name.isEmpty, name.allSatisfy({ $0 > 32 && $0 < 127 && $0 != 58 }) else { throw .invalidHeaderTest(text) }
            _ = try HeaderSelector(parsing: string(name))  // pseudo-headers (ToCc, MESSAGEID, …) allowed; computed ones refused
            return .headerExists(string(name))
        }
        if text.hasPrefix("eval:") { throw .evalNotSupported(string(rest.dropFirst(5))) }
        // Selector: up to white space or the operator.
        var i = rest.startIndex
        while i < rest.endIndex, !isSpace(rest[i]) {
            if i + 1 < rest.endIndex, rest[i + 1] == 126, rest[i] == 61 || rest[i] == 33 { break }  // =~ !~
            i += 1
        }
        let selectorText = string(rest[rest.startIndex..<i])
        rest = trim(rest[i...])
        guard rest.count >= 2, rest[rest.startIndex + 1] == 126, rest.first == 61 || rest.first == 33 else {
            throw .invalidHeaderTest(text)
        }
        let negated = rest.first == 33
        rest = trim(rest.dropFirst(2))
        // [if-unset: text] at the end.
        var ifUnset: String?
        if rest.last == 93, let open = lastIndex(of: Array("[if-unset:".utf8), in: rest) {
            ifUnset = string(trim(rest[(open + 10)..<(rest.endIndex - 1)]))
            rest = trim(rest[rest.startIndex..<open])
        }
        let selector = try HeaderSelector(parsing: selectorText)
        return .header(selector, try regex(rest, limits: limits), negated: negated, ifUnset: ifUnset)
    }

    static func lastIndex(of needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = hay.endIndex - needle.count
        while i >= hay.startIndex {
            if hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
    }
}
