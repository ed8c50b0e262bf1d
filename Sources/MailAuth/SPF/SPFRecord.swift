// SPFRecord.swift — SPF records (RFC 7208 §4.5, §4.6, §5, §6): selection among TXT records and
// parsing into directives and modifiers.
//
// Grammar (RFC 7208 §4.6.1, §12):
//   record           = version terms *SP
//   version          = "v=spf1"
//   terms            = *( 1*SP ( directive / modifier ) )
//   directive        = [ qualifier ] mechanism
//   qualifier        = "+" / "-" / "?" / "~"
//   mechanism        = ( all / include / a / mx / ptr / ip4 / ip6 / exists )
//   include          = "include" ":" domain-spec
//   a                = "a"  [ ":" domain-spec ] [ dual-cidr-length ]
//   mx               = "mx" [ ":" domain-spec ] [ dual-cidr-length ]
//   ptr              = "ptr" [ ":" domain-spec ]
//   ip4              = "ip4" ":" ip4-network [ ip4-cidr-length ]
//   ip6              = "ip6" ":" ip6-network [ ip6-cidr-length ]
//   exists           = "exists" ":" domain-spec
//   modifier         = redirect / explanation / unknown-modifier
//   redirect         = "redirect" "=" domain-spec
//   explanation      = "exp" "=" domain-spec
//   unknown-modifier = name "=" macro-string
//   name             = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
//   ip4-cidr-length  = "/" ( "0" / %x31-39 0*1DIGIT )      ; value 0-32
//   ip6-cidr-length  = "/" ( "0" / %x31-39 0*2DIGIT )      ; value 0-128
//   dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
//
// What it does: `SPFRecord.select` picks the one "v=spf1" record among a name's TXT records
// (§4.5); `SPFRecord(parsing:)` parses it. Names of mechanisms and modifiers are case-insensitive.
//
// Diagnostics: `SPFRecordError` (every one is a permerror, §4.6). Unknown modifiers are kept and
// ignored (§6); an unknown mechanism is an error (§5).
//
// Deliberate deviation: terms may be separated by HTAB as well as SP (some zone tools write tabs);
// pinned by a test.
//
// Security notes: records longer than `MailAuthDefaults.spfMaximumRecordLength` are refused.

public import DNS

/// Why an SPF record was refused (a permerror).
public enum SPFRecordError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The record does not start with "v=spf1".
    case notSPF
    /// Longer than `MailAuthDefaults.spfMaximumRecordLength`.
    case tooLong(Int)
    /// A mechanism name RFC 7208 does not define.
    case unknownMechanism(String)
    /// A mechanism with a missing, extra or malformed argument.
    case badMechanism(String)
    /// An ip4/ip6 network or CIDR length that does not parse or is out of range.
    case badNetwork(String)
    /// A domain-spec that is not one (`a:192.0.2.1`, `include:localhost`).
    case badDomainSpec(String)
    /// A macro-string error inside a term.
    case badMacro(String, SPFMacroError)
    /// redirect= or exp= given twice (§6).
    case duplicateModifier(String)
    /// A modifier name that does not follow the grammar.
    case badModifier(String)
    /// More than one "v=spf1" record at the name (§4.5).
    case multipleRecords

    public var description: String {
        switch self {
        case .notSPF: return "not an SPF record"
        case .tooLong(let n): return "record of \(n) octets (at most \(MailAuthDefaults.spfMaximumRecordLength))"
        case .unknownMechanism(let term): return "unknown mechanism '\(term)'"
        case .badMechanism(let term): return "malformed mechanism '\(term)'"
        case .badNetwork(let term): return "malformed network in '\(term)'"
        case .badDomainSpec(let term): return "invalid domain-spec in '\(term)'"
        case .badMacro(let term, let error): return "\(error) in '\(term)'"
        case .duplicateModifier(let name): return "duplicate \(name)= modifier"
        case .badModifier(let term): return "malformed modifier '\(term)'"
        case .multipleRecords: return "more than one SPF record"
        }
    }
}

/// The result a matching mechanism gives (RFC 7208 §4.6.2).
public enum SPFQualifier: String, Sendable, Hashable {
    case pass = "+"
    case fail = "-"
    case softfail = "~"
    case neutral = "?"

    public var result: SPFResultCode {
        switch self {
        case .pass: return .pass
        case .fail: return .fail
        case .softfail: return .softfail
        case .neutral: return .neutral
        }
    }
}

/// A mechanism (RFC 7208 §5).
public enum SPFMechanism: Sendable, Hashable {
    case all
    case include(SPFMacroString)
    /// Target (nil: the current domain), IPv4 and IPv6 prefix lengths.
    case a(SPFMacroString?, ipv4Prefix: Int, ipv6Prefix: Int)
    case mx(SPFMacroString?, ipv4Prefix: Int, ipv6Prefix: Int)
    case ptr(SPFMacroString?)
    case ip4(IPv4Address, prefix: Int)
    case ip6(IPv6Address, prefix: Int)
    case exists(SPFMacroString)

    /// Whether evaluating it costs a DNS query that counts towards the limit of 10 (§4.6.4).
    public var countsTowardsLookupLimit: Bool {
        switch self {
        case .include, .a, .mx, .ptr, .exists: return true
        case .all, .ip4, .ip6: return false
        }
    }
}

/// A qualifier and a mechanism.
public struct SPFDirective: Sendable, Hashable {
    public var qualifier: SPFQualifier
    public var mechanism: SPFMechanism
    /// The term as written, for diagnostics.
    public var text: String
}

/// A parsed SPF record.
public struct SPFRecord: Sendable, Hashable {
    public var directives: [SPFDirective] = []
    public var redirect: SPFMacroString?
    public var explanation: SPFMacroString?
    /// Modifiers RFC 7208 does not define, as (lower-cased name, value): ignored (§6).
    public var unknownModifiers: [(name: String, value: SPFMacroString)] = []

    public static func == (lhs: SPFRecord, rhs: SPFRecord) -> Bool {
        lhs.directives == rhs.directives && lhs.redirect == rhs.redirect && lhs.explanation == rhs.explanation
            && lhs.unknownModifiers.map(\.name) == rhs.unknownModifiers.map(\.name)
            && lhs.unknownModifiers.map(\.value) == rhs.unknownModifiers.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(directives)
        hasher.combine(redirect)
        hasher.combine(explanation)
    }

    /// Whether `text` is an SPF version 1 record: "v=spf1" (case-insensitive) then a space or the
    /// end (§4.5; a tab is accepted too, as between terms).
    public static func isSPF(_ text: String) -> Bool {
        let b = Array(text.utf8.prefix(7))
        guard b.count >= 6, String(decoding: b.prefix(6).map(lowerASCII), as: UTF8.self) == "v=spf1" else { return false }
        return b.count == 6 || b[6] == 32 || b[6] == 9
    }

    /// The one SPF record among a name's TXT records: nil when there is none, `.multipleRecords`
    /// when there are several (§4.5: permerror).
    public static func select(from records: [String]) throws(SPFRecordError) -> String? {
        let spf = records.filter(isSPF)
        if spf.count > 1 { throw .multipleRecords }
        return spf.first
    }

    /// Parses a record.
    public init(parsing text: String) throws(SPFRecordError) {
        guard text.utf8.count <= MailAuthDefaults.spfMaximumRecordLength else { throw .tooLong(text.utf8.count) }
        guard Self.isSPF(text) else { throw .notSPF }
        let terms = text.utf8.dropFirst(6).split(whereSeparator: { $0 == 32 || $0 == 9 }).map { String(decoding: $0, as: UTF8.self) }
        for term in terms {
            if let modifier = Self.modifier(term) {
                try add(modifier: modifier.name, value: modifier.value, term: term)
            } else {
                directives.append(try Self.directive(term))
            }
        }
    }

    /// (name, value) when `term` is a modifier: `name "=" ...` with a valid name before the "=".
    static func modifier(_ term: String) -> (name: String, value: String)? {
        guard let equals = term.firstIndex(of: "=") else { return nil }
        let name = Array(term[..<equals].utf8)
        guard let first = name.first, isAlpha(first),
              name.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == 45 || $0 == 95 || $0 == 46 }) else { return nil }
        return (asciiLowercased(String(term[..<equals])), String(term[term.index(after: equals)...]))
    }

    private mutating func add(modifier name: String, value: String, term: String) throws(SPFRecordError) {
        let macro: SPFMacroString
        do {
            macro = try SPFMacroString(parsing: value)
        } catch {
            throw .badMacro(term, error)
        }
        switch name {
        case "redirect", "exp":
            guard macro.isDomainSpec else { throw .badDomainSpec(term) }
            if name == "redirect" {
                if redirect != nil { throw .duplicateModifier(name) }
                redirect = macro
            } else {
                if explanation != nil { throw .duplicateModifier(name) }
                explanation = macro
            }
        default:
            unknownModifiers.append((name, macro))
        }
    }

    static func directive(_ term: String) throws(SPFRecordError) -> SPFDirective {
        var rest = Substring(term)
        var qualifier = SPFQualifier.pass
        if let first = rest.first, let q = SPFQualifier(rawValue: String(first)) {
            qualifier = q
            rest = rest.dropFirst()
        }
        let nameEnd = rest.firstIndex(where: { $0 == ":" || $0 == "/" }) ?? rest.endIndex
        let name = asciiLowercased(String(rest[..<nameEnd]))
        let argument = rest[nameEnd...]
        let mechanism: SPFMechanism
        switch name {
        case "all":
            guard argument.isEmpty else { throw .badMechanism(term) }
            mechanism = .all
        case "include", "exists":
            guard argument.first == ":" else { throw .badMechanism(term) }
            let spec = try domainSpec(String(argument.dropFirst()), term: term)
            mechanism = name == "include" ? .include(spec) : .exists(spec)
        case "a", "mx":
            let (specText, v4, v6) = try dualCIDR(argument, term: term)
            var spec: SPFMacroString?
            if let specText {
                guard specText.first == ":" else { throw .badMechanism(term) }
                spec = try domainSpec(String(specText.dropFirst()), term: term)
            }
            mechanism = name == "a" ? .a(spec, ipv4Prefix: v4, ipv6Prefix: v6) : .mx(spec, ipv4Prefix: v4, ipv6Prefix: v6)
        case "ptr":
            if argument.isEmpty {
                mechanism = .ptr(nil)
            } else {
                guard argument.first == ":" else { throw .badMechanism(term) }
                mechanism = .ptr(try domainSpec(String(argument.dropFirst()), term: term))
            }
        case "ip4":
            guard argument.first == ":" else { throw .badMechanism(term) }
            let (network, prefix) = try cidr(argument.dropFirst(), maximum: 32, term: term)
            guard !network.contains(":"), let address = IPv4Address(String(network)) else { throw .badNetwork(term) }
            mechanism = .ip4(address, prefix: prefix ?? 32)
        case "ip6":
            guard argument.first == ":" else { throw .badMechanism(term) }
            let (network, prefix) = try cidr(argument.dropFirst(), maximum: 128, term: term)
            guard network.contains(":"), let address = IPv6Address(String(network)) else { throw .badNetwork(term) }
            mechanism = .ip6(address, prefix: prefix ?? 128)
        default:
            throw .unknownMechanism(term)
        }
        return SPFDirective(qualifier: qualifier, mechanism: mechanism, text: term)
    }

    static func domainSpec(_ text: String, term: String) throws(SPFRecordError) -> SPFMacroString {
        let macro: SPFMacroString
        do {
            macro = try SPFMacroString(parsing: text)
        } catch {
            throw .badMacro(term, error)
        }
        guard macro.isDomainSpec else { throw .badDomainSpec(term) }
        return macro
    }

    /// Splits "network/len" and checks the length's form (no leading zero) and range.
    static func cidr(_ text: Substring, maximum: Int, term: String) throws(SPFRecordError) -> (Substring, Int?) {
        guard let slash = text.lastIndex(of: "/") else { return (text, nil) }
        let length = try prefixLength(text[text.index(after: slash)...], maximum: maximum, term: term)
        return (text[..<slash], length)
    }

    /// The argument of a or mx split into [":" domain-spec] and the dual CIDR lengths (defaults 32
    /// and 128). The CIDR part is "/n", "//m" or "/n//m" at the very end.
    static func dualCIDR(_ argument: Substring, term: String) throws(SPFRecordError) -> (Substring?, Int, Int) {
        var rest = argument
        var v4 = 32
        var v6 = 128
        if let range = rest.range(of: "//") {
            // ip6-cidr: only digits may follow.
            let digits = rest[range.upperBound...]
            if digits.allSatisfy(\.isASCIIDigitForSPF) {
                v6 = try prefixLength(digits, maximum: 128, term: term)
                rest = rest[..<range.lowerBound]
            }
        }
        if let slash = rest.lastIndex(of: "/") {
            let digits = rest[rest.index(after: slash)...]
            if digits.allSatisfy(\.isASCIIDigitForSPF) {
                v4 = try prefixLength(digits, maximum: 32, term: term)
                rest = rest[..<slash]
            }
        }
        return (rest.isEmpty ? nil : rest, v4, v6)
    }

    static func prefixLength(_ digits: Substring, maximum: Int, term: String) throws(SPFRecordError) -> Int {
        guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy(\.isASCIIDigitForSPF),
              digits == "0" || digits.first != "0", let value = Int(digits), value <= maximum else {
            throw .badNetwork(term)
        }
        return value
    }
}

extension Character {
    var isASCIIDigitForSPF: Bool { self >= "0" && self <= "9" }
}
