// SPFMacro.swift — SPF macro strings (RFC 7208 §7): parsing and expansion.
//
// Grammar (RFC 7208 §7.1):
//   domain-spec      = macro-string domain-end
//   domain-end       = ( "." toplabel [ "." ] ) / macro-expand
//   macro-string     = *( macro-expand / macro-literal )
//   macro-expand     = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
//   macro-literal    = %x21-24 / %x26-7E      ; visible characters except "%"
//   macro-letter     = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
//   transformers     = *DIGIT [ "r" ]
//   delimiter        = "." / "-" / "+" / "," / "/" / "_" / "="
//   explain-string   = *( macro-string / SP )
//
// What it does: `SPFMacroString` is the parsed form; `expand(in:)` is pure (the caller computes the
// validated domain of %{p} beforehand, since that needs DNS). Expansion follows §7.3: split the
// value on the delimiters (default "."), reverse with "r", keep the right-most N parts, join with
// "."; an upper-case letter URL-escapes the result (§7.3, RFC 3986 unreserved set kept).
//
// Diagnostics: `SPFMacroError` (a permerror for the record). "c", "r" and "t" are only allowed in
// explanation strings (§7.2).
//
// Security notes: each expansion is bounded by `MailAuthDefaults.spfMaximumExpansionLength`; the
// DIGIT transformer is read with a cap, so "%{d99999999999999999999}" cannot overflow.

/// Why a macro string was refused.
public enum SPFMacroError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A "%" not followed by "{", "%", "_" or "-".
    case badPercent(offset: Int)
    /// A "%{" without a closing "}" or with an unknown letter, transformer or delimiter.
    case badMacro(offset: Int)
    /// "c", "r" or "t" outside an explanation string.
    case explanationOnlyMacro(Character)
    /// A character that is not a visible ASCII character (or a space outside an explanation).
    case badCharacter(offset: Int)
    /// A DIGIT transformer of zero (RFC 7208 §7.3: "If a DIGIT is specified, the value MUST be
    /// nonzero").
    case zeroDigits

    public var description: String {
        switch self {
        case .badPercent(let offset): return "bad '%' escape at offset \(offset)"
        case .badMacro(let offset): return "bad macro at offset \(offset)"
        case .explanationOnlyMacro(let letter): return "macro %{\(letter)} is only allowed in exp= text"
        case .badCharacter(let offset): return "invalid character at offset \(offset)"
        case .zeroDigits: return "macro transformer of zero parts"
        }
    }
}

/// A parsed macro string.
public struct SPFMacroString: Sendable, Hashable, CustomStringConvertible {
    /// One piece of a macro string.
    public enum Part: Sendable, Hashable {
        case literal(String)
        /// `%{letter digits r delimiters}`; `urlEscape` for an upper-case letter.
        case macro(letter: Character, digits: Int?, reverse: Bool, delimiters: [Character], urlEscape: Bool)
    }

    public var parts: [Part]
    /// The text it was parsed from.
    public var source: String

    /// Parses `text`. `explanation` allows spaces and the c, r, t letters (RFC 7208 §7.1, §7.2).
    public init(parsing text: String, explanation: Bool = false) throws(SPFMacroError) {
        let b = Array(text.utf8)
        var parts: [Part] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { parts.append(.literal(String(decoding: literal, as: UTF8.self))) }
            literal.removeAll()
        }
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == 37 {  // "%"
                guard i + 1 < b.count else { throw .badPercent(offset: i) }
                switch b[i + 1] {
                case 37: literal.append(37); i += 2
                case 95: literal.append(32); i += 2
                case 45: literal += Array("%20".utf8); i += 2
                case 123:
                    let start = i
                    i += 2
                    guard i < b.count else { throw .badMacro(offset: start) }
                    let letterByte = b[i]
                    let lower = lowerASCII(letterByte)
                    guard Array("slodiphcrtv".utf8).contains(lower) else { throw .badMacro(offset: start) }
                    let letter = Character(Unicode.Scalar(lower))
                    if !explanation, "crt".contains(letter) { throw .explanationOnlyMacro(letter) }
                    i += 1
                    var digits: Int?
                    while i < b.count, isDigit(b[i]) {
                        digits = min((digits ?? 0) * 10 + Int(b[i] - 48), 1_000)
                        i += 1
                    }
                    if digits == 0 { throw .zeroDigits }
                    var reverse = false
                    if i < b.count, lowerASCII(b[i]) == 114 { reverse = true; i += 1 }
                    var delimiters: [Character] = []
                    while i < b.count, Array(".-+,/_=".utf8).contains(b[i]) {
                        delimiters.append(Character(Unicode.Scalar(b[i])))
                        i += 1
                    }
                    guard i < b.count, b[i] == 125 else { throw .badMacro(offset: start) }
                    i += 1
                    flush()
                    parts.append(.macro(letter: letter, digits: digits, reverse: reverse, delimiters: delimiters,
                                        urlEscape: letterByte != lower))
                default:
                    throw .badPercent(offset: i)
                }
            } else if (c >= 0x21 && c <= 0x7E) || (explanation && c == 32) {
                literal.append(c)
                i += 1
            } else {
                throw .badCharacter(offset: i)
            }
        }
        flush()
        self.parts = parts
        self.source = text
    }

    public var description: String { source }

    /// Whether expanding needs the validated domain of %{p} (which costs DNS lookups).
    public var usesValidatedDomain: Bool {
        parts.contains { if case .macro(letter: "p", _, _, _, _) = $0 { return true } else { return false } }
    }

    /// Whether the text is a valid domain-spec: it ends with a macro or with "." toplabel ["."]
    /// (RFC 7208 §7.1, `domain-end`). `a:192.0.2.1` is not one.
    public var isDomainSpec: Bool {
        guard let last = parts.last else { return false }
        guard case .literal(let text) = last else { return true }
        var labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if labels.last == "" { labels.removeLast() }
        // "." toplabel: at least one dot before the last label ("x" or "%{d}x" is no domain-end).
        guard labels.count >= 2 else { return false }
        guard let top = labels.last, !top.isEmpty else { return false }
        return Self.isTopLabel(Array(top.utf8))
    }

    /// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
    static func isTopLabel(_ label: [UInt8]) -> Bool {
        guard !label.isEmpty, label.count <= 63 else { return false }
        guard label.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == 45 }) else { return false }
        if label.contains(45) {
            return label.first != 45 && label.last != 45
        }
        return label.contains(where: isAlpha)
    }

    /// Expands the string (RFC 7208 §7.3). Pure: `context.validatedDomain` must be set by the caller
    /// when `usesValidatedDomain`. Throws `.badMacro` only for an expansion longer than the limit.
    public func expand(in context: SPFMacroContext) throws(SPFMacroError) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text):
                out += text
            case .macro(let letter, let digits, let reverse, let delimiters, let urlEscape):
                var value = Self.transform(context.value(of: letter), digits: digits, reverse: reverse, delimiters: delimiters)
                if urlEscape { value = Self.urlEscape(value) }
                out += value
            }
            if out.utf8.count > MailAuthDefaults.spfMaximumExpansionLength { throw .badMacro(offset: 0) }
        }
        return out
    }

    /// Split on `delimiters` (default "."), optionally reverse, keep the right-most `digits` parts,
    /// join with ".".
    static func transform(_ value: String, digits: Int?, reverse: Bool, delimiters: [Character]) -> String {
        if digits == nil, !reverse, delimiters.isEmpty { return value }
        let splitters: Set<Character> = delimiters.isEmpty ? ["."] : Set(delimiters)
        var parts = value.split(omittingEmptySubsequences: false, whereSeparator: { splitters.contains($0) }).map(String.init)
        if reverse { parts.reverse() }
        if let digits, digits < parts.count { parts = Array(parts.suffix(digits)) }
        return parts.joined(separator: ".")
    }

    /// Percent-encodes every octet outside RFC 3986's unreserved set.
    static func urlEscape(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            if isAlpha(byte) || isDigit(byte) || byte == 45 || byte == 46 || byte == 95 || byte == 126 {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }
}

/// What the macro letters stand for in one check_host() evaluation (RFC 7208 §7.2).
public struct SPFMacroContext: Sendable, Hashable {
    /// <sender>: "local-part@domain" (%{s}).
    public var sender: String
    /// The current <domain> (%{d}).
    public var domain: String
    /// <ip> (%{i}, %{c}, %{v}).
    public var ip: ClientIP
    /// The HELO/EHLO domain (%{h}).
    public var helo: String
    /// The validated domain name of <ip> (%{p}); "unknown" when none could be validated.
    public var validatedDomain: String?
    /// The receiving host's domain (%{r}, explanations only).
    public var receivingDomain: String
    /// Seconds since the epoch (%{t}, explanations only).
    public var timestamp: Int64

    public init(sender: String, domain: String, ip: ClientIP, helo: String, validatedDomain: String? = nil,
                receivingDomain: String = "unknown", timestamp: Int64 = 0) {
        self.sender = sender
        self.domain = domain
        self.ip = ip
        self.helo = helo
        self.validatedDomain = validatedDomain
        self.receivingDomain = receivingDomain
        self.timestamp = timestamp
    }

    /// The local part of <sender> (%{l}); "postmaster" when empty (RFC 7208 §4.3).
    public var localPart: String {
        guard let at = sender.lastIndex(of: "@") else { return "postmaster" }
        let local = String(sender[..<at])
        return local.isEmpty ? "postmaster" : local
    }

    /// The domain of <sender> (%{o}).
    public var senderDomain: String {
        guard let at = sender.lastIndex(of: "@") else { return sender }
        return String(sender[sender.index(after: at)...])
    }

    func value(of letter: Character) -> String {
        switch letter {
        case "s": return localPart + "@" + senderDomain
        case "l": return localPart
        case "o": return senderDomain
        case "d": return domain
        case "i":
            switch ip {
            case .v4(let a): return a.description
            case .v6(let a):
                // Dot-format nibbles (RFC 7208 §7.3): 32 hex digits separated by ".".
                let digits = Array("0123456789abcdef")
                return a.bytes.flatMap { [String(digits[Int($0 >> 4)]), String(digits[Int($0 & 15)])] }.joined(separator: ".")
            }
        case "p": return validatedDomain ?? "unknown"
        case "v": return ip.isIPv4 ? "in-addr" : "ip6"
        case "h": return helo
        case "c": return ip.description
        case "r": return receivingDomain
        case "t": return String(timestamp)
        default: return ""
        }
    }
}
