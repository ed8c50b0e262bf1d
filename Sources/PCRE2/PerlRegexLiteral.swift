// PerlRegexLiteral.swift — Perl match literals (`/re/i`, `m{re}i`, `m!re!`) as rule files write them.
//
// Grammar (perlop(1), "m/PATTERN/msixpodualngc"; as SpamAssassin's Util::regexp_remove_delimiters reads it):
//   literal   := "/" pattern "/" modifiers
//              / "m" open pattern close modifiers     ; open/close: {} () [] <>
//              / "m" delim pattern delim modifiers    ; delim: any other non-word, non-space byte
//   modifiers := *( "i" / "m" / "s" / "x" / "xx" / "n" / "u" / "g" / "o" )
// The closing delimiter is the last one in the literal, followed only by modifier letters, so a
// delimiter escaped inside the pattern ("\/") needs no special handling: PCRE2 reads "\/" as "/".
//
// Deviations, on purpose: `g` and `o` (Perl operator flags with no meaning for a single match) are
// accepted and ignored; `u` asks for UTF-8 mode (Perl's /u asks for Unicode rules, the same intent);
// Perl's variable interpolation ("$var" in a pattern) does not exist here: `$` is an anchor.
//
// Diagnostics: `PerlRegexLiteralError` with the offset of the problem.

/// A parsed Perl match literal.
public struct PerlRegexLiteral: Sendable, Hashable {
    /// The pattern between the delimiters, as written.
    public var pattern: [UInt8]
    /// The modifiers after the closing delimiter, as written.
    public var modifiers: String
    /// The compile options the modifiers ask for.
    public var options: PCRE2Regex.Options

    /// Parses `literal` (surrounding white space is not allowed).
    public init(_ literal: some Collection<UInt8>) throws(PerlRegexLiteralError) {
        let bytes = Array(literal)
        guard let first = bytes.first else { throw .missingDelimiter(offset: 0) }
        let close: UInt8, start: Int
        if first == UInt8(ascii: "/") {
            (close, start) = (first, 1)
        } else if first == UInt8(ascii: "m"), bytes.count > 1 {
            let d = bytes[1]
            if PerlRegexLiteral.isWordByte(d) || d == 32 || d == 9 { throw .missingDelimiter(offset: 1) }
            switch d {
            case UInt8(ascii: "{"): close = UInt8(ascii: "}")
            case UInt8(ascii: "("): close = UInt8(ascii: ")")
            case UInt8(ascii: "["): close = UInt8(ascii: "]")
            case UInt8(ascii: "<"): close = UInt8(ascii: ">")
            default: close = d
            }
            start = 2
        } else {
            throw .missingDelimiter(offset: 0)
        }
        // The closing delimiter: the last `close` followed only by letters.
        var end = bytes.count
        while end > start, PerlRegexLiteral.isLetter(bytes[end - 1]) { end -= 1 }
        guard end > start, bytes[end - 1] == close else { throw .unterminated(offset: bytes.count) }
        pattern = Array(bytes[start..<(end - 1)])
        modifiers = String(decoding: bytes[end...], as: UTF8.self)
        options = try PerlRegexLiteral.options(modifiers: Array(bytes[end...]), offset: end)
    }

    /// The compile options for Perl modifier letters.
    public static func options(modifiers: some Collection<UInt8>, offset: Int = 0) throws(PerlRegexLiteralError) -> PCRE2Regex.Options {
        var options: PCRE2Regex.Options = []
        for (k, m) in modifiers.enumerated() {
            switch m {
            case UInt8(ascii: "i"): options.insert(.caseless)
            case UInt8(ascii: "m"): options.insert(.multiline)
            case UInt8(ascii: "s"): options.insert(.dotAll)
            case UInt8(ascii: "x"): options.insert(options.contains(.extended) ? .extendedMore : .extended)
            case UInt8(ascii: "n"): options.insert(.noAutoCapture)
            case UInt8(ascii: "u"): options.formUnion([.utf, .ucp])
            case UInt8(ascii: "g"), UInt8(ascii: "o"): break
            default: throw .unknownModifier(String(UnicodeScalar(m)), offset: offset + k)
            }
        }
        return options
    }

    static func isLetter(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) }
    static func isWordByte(_ c: UInt8) -> Bool { isLetter(c) || (c >= 48 && c <= 57) || c == 95 }
}

/// A Perl match literal that could not be read.
public enum PerlRegexLiteralError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No `/` or `m` plus a delimiter at the start.
    case missingDelimiter(offset: Int)
    /// No closing delimiter (followed only by modifiers) at the end.
    case unterminated(offset: Int)
    /// A modifier letter that has no meaning here.
    case unknownModifier(String, offset: Int)

    public var offset: Int {
        switch self {
        case .missingDelimiter(let o), .unterminated(let o), .unknownModifier(_, let o): return o
        }
    }

    public var description: String {
        switch self {
        case .missingDelimiter: return "a regular expression must be written /…/ or m{…}"
        case .unterminated: return "missing closing delimiter of the regular expression"
        case .unknownModifier(let m, _): return "unknown modifier '\(m)' (allowed: i m s x n u)"
        }
    }
}
