// DKIMSignature.swift — the DKIM-Signature header field (RFC 6376 §3.5), parsed and checked.
//
// Grammar (RFC 6376 §3.5; the field value is a tag-list, §3.2):
//   sig-v-tag = %x76 [FWS] "=" [FWS] 1*DIGIT                          ; "1"
//   sig-a-tag = %x61 [FWS] "=" [FWS] sig-a-tag-k "-" sig-a-tag-h      ; rsa-sha256, ed25519-sha256
//   sig-b-tag = %x62 [FWS] "=" [FWS] base64string
//   sig-bh-tag= %x62 %x68 [FWS] "=" [FWS] base64string
//   sig-c-tag = %x63 [FWS] "=" [FWS] sig-c-tag-alg ["/" sig-c-tag-alg] ; simple / relaxed
//   sig-d-tag = %x64 [FWS] "=" [FWS] domain-name
//   sig-h-tag = %x68 [FWS] "=" [FWS] hdr-name *( [FWS] ":" [FWS] hdr-name )
//   sig-i-tag = %x69 [FWS] "=" [FWS] [ Local-part ] "@" domain-name
//   sig-l-tag = %x6c [FWS] "=" [FWS] 1*76DIGIT
//   sig-q-tag = %x71 [FWS] "=" [FWS] sig-q-tag-method *([FWS] ":" [FWS] sig-q-tag-method)
//   sig-s-tag = %x73 [FWS] "=" [FWS] selector
//   sig-t-tag = %x74 [FWS] "=" [FWS] 1*12DIGIT
//   sig-x-tag = %x78 [FWS] "=" [FWS] 1*12DIGIT
//   sig-z-tag = %x7A [FWS] "=" [FWS] sig-z-tag-copy *( "|" [FWS] sig-z-tag-copy )
//
// What it does: checks the required tags (v, a, b, bh, d, h, s), that h= names From (§6.1.1),
// that i= is d= or below it (§6.1.1), that x= is not before t= (§3.5), and decodes b= and bh=.
// Unknown tags are ignored (§3.2). rsa-sha1 parses (so that it can be reported) and is failed by
// the verifier (RFC 8301 §3.1).
//
// Diagnostics: `DKIMSignatureError`, one case per rule. The verifier reports these as "neutral"
// (RFC 8601 §2.7.1: "the signature ... contained syntax errors").
//
// Security notes: the value is bounded by `MailAuthDefaults.dkimMaximumSignatureLength` and h= by
// `dkimMaximumSignedHeaders`; numbers saturate instead of overflowing.

/// A DKIM signing algorithm (RFC 6376 §3.3, RFC 8463 §3).
public enum DKIMAlgorithm: String, Sendable, Hashable {
    case rsaSHA256 = "rsa-sha256"
    case ed25519SHA256 = "ed25519-sha256"
    /// Recognised only to be refused (RFC 8301 §3.1).
    case rsaSHA1 = "rsa-sha1"

    /// The k= key type this algorithm needs.
    public var keyType: String {
        switch self {
        case .rsaSHA256, .rsaSHA1: return "rsa"
        case .ed25519SHA256: return "ed25519"
        }
    }

    /// The h= hash name in key records.
    public var hashName: String {
        self == .rsaSHA1 ? "sha1" : "sha256"
    }
}

/// A canonicalization algorithm (RFC 6376 §3.4).
public enum DKIMCanonicalization: String, Sendable, Hashable {
    case simple
    case relaxed
}

/// Why a DKIM-Signature field was refused.
public enum DKIMSignatureError: Error, Hashable, Sendable, CustomStringConvertible {
    case tagList(TagListError)
    case tooLong(Int)
    case missingTag(String)
    /// v= other than "1".
    case unsupportedVersion(String)
    case unknownAlgorithm(String)
    case badCanonicalization(String)
    /// b= or bh= that is not base64.
    case badBase64(tag: String)
    case badDomain(String)
    case badSelector(String)
    case badIdentity(String)
    /// i= whose domain is neither d= nor below it.
    case identityNotInDomain(identity: String, domain: String)
    /// h= without From (§5.4, §6.1.1).
    case fromNotSigned
    case tooManySignedHeaders(Int)
    case badNumber(tag: String)
    /// x= before t= (§3.5: "the value of the x= tag MUST be greater than the value of the t= tag").
    case expiresBeforeTimestamp
    /// q= without dns/txt.
    case unsupportedQueryMethod(String)
    /// An ARC-Message-Signature whose h= names ARC-Seal (RFC 8617 §4.1.2).
    case signsARCSeal

    public var description: String {
        switch self {
        case .tagList(let error): return "bad tag list: \(error)"
        case .tooLong(let n): return "signature field of \(n) octets"
        case .missingTag(let tag): return "missing \(tag)= tag"
        case .unsupportedVersion(let v): return "unsupported version v=\(v)"
        case .unknownAlgorithm(let a): return "unknown algorithm a=\(a)"
        case .badCanonicalization(let c): return "bad canonicalization c=\(c)"
        case .badBase64(let tag): return "\(tag)= is not base64"
        case .badDomain(let d): return "bad domain d=\(d)"
        case .badSelector(let s): return "bad selector s=\(s)"
        case .badIdentity(let i): return "bad identity i=\(i)"
        case .identityNotInDomain(let i, let d): return "i=\(i) is not within d=\(d)"
        case .fromNotSigned: return "h= does not include From"
        case .tooManySignedHeaders(let n): return "h= names \(n) fields"
        case .badNumber(let tag): return "\(tag)= is not a decimal number"
        case .expiresBeforeTimestamp: return "x= is before t="
        case .unsupportedQueryMethod(let q): return "unsupported query method q=\(q)"
        case .signsARCSeal: return "h= includes ARC-Seal"
        }
    }
}

/// A parsed DKIM-Signature field.
public struct DKIMSignature: Sendable, Hashable {
    public var algorithm: DKIMAlgorithm
    /// b=, decoded.
    public var signature: [UInt8]
    /// b= as written without folding white space (header.b in Authentication-Results).
    public var signatureText: String
    /// bh=, decoded.
    public var bodyHash: [UInt8]
    public var headerCanonicalization: DKIMCanonicalization
    public var bodyCanonicalization: DKIMCanonicalization
    /// d=, lower-cased.
    public var domain: String
    /// s=.
    public var selector: String
    /// h=, lower-cased, in order (repeats kept: over-signing, §5.4.2).
    public var signedHeaders: [String]
    /// i=, or "@" + d= when absent (§3.5).
    public var identity: String
    /// l=, the number of canonical body octets signed; nil for the whole body.
    public var bodyLength: Int?
    /// t=, seconds since the epoch.
    public var timestamp: Int64?
    /// x=, seconds since the epoch.
    public var expiration: Int64?
    /// The tags as parsed, with their ranges in the field value.
    public var tags: TagList

    /// The domain of i= (after the "@").
    public var identityDomain: String {
        guard let at = identity.lastIndex(of: "@") else { return identity }
        return asciiLowercased(String(identity[identity.index(after: at)...]))
    }

    /// Parses a DKIM-Signature field value (the octets after the colon).
    public init<C: Collection<UInt8>>(parsing value: C) throws(DKIMSignatureError) where C.Index == Int {
        guard value.count <= MailAuthDefaults.dkimMaximumSignatureLength else { throw .tooLong(value.count) }
        let tags: TagList
        do {
            tags = try TagList(parsing: value)
        } catch {
            throw .tagList(error)
        }
        try self.init(tags: tags, arc: false)
    }

    /// The checks shared with ARC-Message-Signature (RFC 8617 §4.1.2), which has no v=, an
    /// instance number in i= and no requirement to sign From; `arc` selects those rules.
    init(tags: TagList, arc: Bool) throws(DKIMSignatureError) {
        self.tags = tags
        func required(_ name: String) throws(DKIMSignatureError) -> String {
            guard let value = tags[name] else { throw .missingTag(name) }
            return value
        }
        if !arc {
            let version = try required("v")
            guard version == "1" else { throw .unsupportedVersion(version) }
        }

        let a = try required("a")
        guard let algorithm = DKIMAlgorithm(rawValue: asciiLowercased(a)) else { throw .unknownAlgorithm(a) }
        self.algorithm = algorithm

        let b = try required("b").withoutFWS
        guard let signature = decodeBase64(b), !signature.isEmpty else { throw .badBase64(tag: "b") }
        self.signature = signature
        self.signatureText = b
        guard let bodyHash = decodeBase64(try required("bh").withoutFWS), !bodyHash.isEmpty else { throw .badBase64(tag: "bh") }
        self.bodyHash = bodyHash

        (headerCanonicalization, bodyCanonicalization) = try Self.canonicalization(tags["c"])

        let d = try required("d")
        guard isDomainName(d) else { throw .badDomain(d) }
        self.domain = asciiLowercased(d.hasSuffix(".") ? String(d.dropLast()) : d)

        let s = try required("s")
        guard isDomainName(s, allowUnderscore: true, allowSingleLabel: true) else { throw .badSelector(s) }
        self.selector = s

        let h = try required("h")
        let names = h.split(separator: ":", omittingEmptySubsequences: false).map { asciiLowercased(String($0).withoutFWS) }
        guard names.count <= MailAuthDefaults.dkimMaximumSignedHeaders else { throw .tooManySignedHeaders(names.count) }
        guard !names.contains(where: \.isEmpty) else { throw .tagList(.badValueCharacter(offset: tags.tag("h")!.valueRange.lowerBound)) }
        if arc {
            guard !names.contains("arc-seal") else { throw .signsARCSeal }
        } else {
            guard names.contains("from") else { throw .fromNotSigned }
        }
        self.signedHeaders = names

        if !arc, let i = tags["i"] {
            guard let at = i.lastIndex(of: "@") else { throw .badIdentity(i) }
            let domainPart = String(i[i.index(after: at)...])
            guard isDomainName(domainPart) else { throw .badIdentity(i) }
            let lowered = asciiLowercased(domainPart)
            guard lowered == domain || lowered.hasSuffix("." + domain) else {
                throw .identityNotInDomain(identity: i, domain: domain)
            }
            self.identity = i
        } else {
            self.identity = "@" + domain
        }

        if let l = tags["l"] {
            guard let n = Self.number(l, maximumDigits: 76) else { throw .badNumber(tag: "l") }
            self.bodyLength = Int(clamping: n)
        }
        if let t = tags["t"] {
            guard let n = Self.number(t, maximumDigits: 12) else { throw .badNumber(tag: "t") }
            self.timestamp = n
        }
        if let x = tags["x"] {
            guard let n = Self.number(x, maximumDigits: 12) else { throw .badNumber(tag: "x") }
            self.expiration = n
        }
        if let t = timestamp, let x = expiration, x < t { throw .expiresBeforeTimestamp }

        if let q = tags["q"] {
            let methods = q.split(separator: ":").map { asciiLowercased(String($0).withoutFWS) }
            guard methods.contains(where: { $0 == "dns/txt" || $0 == "dns" }) else { throw .unsupportedQueryMethod(q) }
        }
    }

    /// c= (§3.5): "header/body", "header" alone means simple body; absent means simple/simple.
    static func canonicalization(_ text: String?) throws(DKIMSignatureError) -> (DKIMCanonicalization, DKIMCanonicalization) {
        guard let text else { return (.simple, .simple) }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { asciiLowercased(String($0)) }
        guard parts.count <= 2, let header = DKIMCanonicalization(rawValue: parts[0]) else { throw .badCanonicalization(text) }
        if parts.count == 1 { return (header, .simple) }
        guard let body = DKIMCanonicalization(rawValue: parts[1]) else { throw .badCanonicalization(text) }
        return (header, body)
    }

    /// A decimal number of at most `maximumDigits` digits, saturating at Int64.max.
    static func number(_ text: String, maximumDigits: Int) -> Int64? {
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= maximumDigits, digits.allSatisfy(isDigit) else { return nil }
        var value: Int64 = 0
        for d in digits {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(d - 48))
            if o1 || o2 { return Int64.max }
            value = s
        }
        return value
    }
}

/// Whether `text` is a domain name of LDH labels (a final dot allowed). Selectors may hold "_"
/// and be one label.
func isDomainName(_ text: String, allowUnderscore: Bool = true, allowSingleLabel: Bool = true) -> Bool {
    var bytes = Array(text.utf8)
    if bytes.last == 46 { bytes.removeLast() }
    guard !bytes.isEmpty, bytes.count <= 253 else { return false }
    let labels = bytes.split(separator: 46, omittingEmptySubsequences: false)
    if !allowSingleLabel, labels.count < 2 { return false }
    for label in labels {
        guard !label.isEmpty, label.count <= 63 else { return false }
        guard label.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == 45 || (allowUnderscore && $0 == 95) }) else { return false }
    }
    return true
}

/// Strict base64 (RFC 4648 §4) without white space; nil if anything else is in it.
func decodeBase64(_ text: String) -> [UInt8]? {
    var values: [UInt8] = []
    values.reserveCapacity(text.utf8.count)
    var padding = 0
    for c in text.utf8 {
        let v: UInt8
        switch c {
        case 65...90: v = c - 65
        case 97...122: v = c - 97 + 26
        case 48...57: v = c - 48 + 52
        case 43: v = 62
        case 47: v = 63
        case 61:
            padding += 1
            continue
        default: return nil
        }
        if padding > 0 { return nil }  // data after "="
        values.append(v)
    }
    guard padding <= 2, (values.count + padding) % 4 == 0 || padding == 0 else { return nil }
    if values.count % 4 == 1 { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(values.count * 3 / 4)
    var i = 0
    while i + 4 <= values.count {
        out.append(values[i] << 2 | values[i + 1] >> 4)
        out.append(values[i + 1] << 4 | values[i + 2] >> 2)
        out.append(values[i + 2] << 6 | values[i + 3])
        i += 4
    }
    let rest = values.count - i
    if rest == 2 {
        out.append(values[i] << 2 | values[i + 1] >> 4)
    } else if rest == 3 {
        out.append(values[i] << 2 | values[i + 1] >> 4)
        out.append(values[i + 1] << 4 | values[i + 2] >> 2)
    }
    return out
}
