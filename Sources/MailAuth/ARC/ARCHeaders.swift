// ARCHeaders.swift — the three header fields of an ARC Set (RFC 8617 §4.1): parsing.
//
// Grammar (RFC 8617 §4.1; tag-lists as RFC 6376 §3.2):
//   arc-info   = arc-i-tag *WSP ";" *WSP authres-payload         ; ARC-Authentication-Results
//   arc-i-tag  = %x69 [FWS] "=" [FWS] 1*2DIGIT                  ; instance, 1..50
//   ARC-Message-Signature = a DKIM-Signature tag-list without v=, with i= the instance
//   ARC-Seal   = tag-list of i, a, b, cv, d, s, t; "h=" not allowed (§4.1.3)
//   arc-cv-tag = %x63.76 [FWS] "=" [FWS] ( "none" / "fail" / "pass" )
//
// What it does: typed values; the AMS is read into a `DKIMSignature` (its checks, canonicalization
// and verification are DKIM's, §4.1.2). An AMS whose h= names ARC-Seal is refused (§4.1.2).
//
// Diagnostics: `ARCHeaderError`; any of them makes the chain fail (§5.2 step 3).

/// Why an ARC header field was refused.
public enum ARCHeaderError: Error, Hashable, Sendable, CustomStringConvertible {
    case tagList(TagListError)
    case missingTag(String)
    /// i= missing, not a number, or outside 1…50 (RFC 8617 §4.2.1).
    case badInstance(String)
    /// cv= other than none, pass, fail.
    case badChainValidation(String)
    /// An ARC-Seal with h= (§4.1.3).
    case sealWithHeaders
    /// The ARC-Message-Signature is not a valid DKIM-style signature.
    case messageSignature(DKIMSignatureError)
    /// An ARC-Authentication-Results field that does not start with "i=N;".
    case badAuthenticationResults

    public var description: String {
        switch self {
        case .tagList(let error): return "bad tag list: \(error)"
        case .missingTag(let tag): return "missing \(tag)= tag"
        case .badInstance(let text): return "bad instance i=\(text)"
        case .badChainValidation(let text): return "bad cv=\(text)"
        case .sealWithHeaders: return "ARC-Seal with h="
        case .messageSignature(let error): return "bad ARC-Message-Signature: \(error)"
        case .badAuthenticationResults: return "bad ARC-Authentication-Results"
        }
    }
}

/// The chain validation status an ARC-Seal records (RFC 8617 §4.1.3).
public enum ARCChainValidation: String, Sendable, Hashable {
    case none
    case pass
    case fail
}

/// Reads an instance number (1…50).
func arcInstance(_ text: String?) throws(ARCHeaderError) -> Int {
    guard let text else { throw .missingTag("i") }
    let trimmed = text.trimmingWSP
    guard let value = DKIMSignature.number(trimmed, maximumDigits: 2), value >= 1,
          value <= Int64(MailAuthDefaults.arcMaximumInstances) else { throw .badInstance(text) }
    return Int(value)
}

/// An ARC-Message-Signature (RFC 8617 §4.1.2).
public struct ARCMessageSignature: Sendable, Hashable {
    public var instance: Int
    /// The signature read as a DKIM signature (identity "@" + d=).
    public var signature: DKIMSignature

    public init<C: Collection<UInt8>>(parsing value: C) throws(ARCHeaderError) where C.Index == Int {
        let tags: TagList
        do {
            tags = try TagList(parsing: value)
        } catch {
            throw .tagList(error)
        }
        instance = try arcInstance(tags["i"])
        do {
            signature = try DKIMSignature(tags: tags, arc: true)
        } catch {
            throw .messageSignature(error)
        }
    }
}

/// An ARC-Seal (RFC 8617 §4.1.3).
public struct ARCSeal: Sendable, Hashable {
    public var instance: Int
    public var algorithm: DKIMAlgorithm
    public var signature: [UInt8]
    public var chainValidation: ARCChainValidation
    /// d=, lower-cased.
    public var domain: String
    public var selector: String
    public var timestamp: Int64?
    public var tags: TagList

    public init<C: Collection<UInt8>>(parsing value: C) throws(ARCHeaderError) where C.Index == Int {
        let tags: TagList
        do {
            tags = try TagList(parsing: value)
        } catch {
            throw .tagList(error)
        }
        self.tags = tags
        func required(_ name: String) throws(ARCHeaderError) -> String {
            guard let value = tags[name] else { throw .missingTag(name) }
            return value
        }
        instance = try arcInstance(tags["i"])
        if tags["h"] != nil { throw .sealWithHeaders }
        let a = try required("a")
        guard let algorithm = DKIMAlgorithm(rawValue: asciiLowercased(a)) else {
            throw .messageSignature(.unknownAlgorithm(a))
        }
        self.algorithm = algorithm
        guard let b = decodeBase64(try required("b").withoutFWS), !b.isEmpty else { throw .messageSignature(.badBase64(tag: "b")) }
        signature = b
        let cv = try required("cv")
        guard let chainValidation = ARCChainValidation(rawValue: asciiLowercased(cv.trimmingWSP)) else {
            throw .badChainValidation(cv)
        }
        self.chainValidation = chainValidation
        let d = try required("d")
        guard isDomainName(d) else { throw .messageSignature(.badDomain(d)) }
        domain = asciiLowercased(d.hasSuffix(".") ? String(d.dropLast()) : d)
        let s = try required("s")
        guard isDomainName(s) else { throw .messageSignature(.badSelector(s)) }
        selector = s
        if let t = tags["t"] {
            guard let value = DKIMSignature.number(t, maximumDigits: 12) else { throw .messageSignature(.badNumber(tag: "t")) }
            timestamp = value
        }
    }
}

/// The instance of an ARC-Authentication-Results field ("i=N;" before the payload, §4.1.1).
func arcAuthenticationResultsInstance<C: Collection<UInt8>>(_ value: C) throws(ARCHeaderError) -> Int where C.Index == Int {
    guard let semicolon = value.firstIndex(of: 59) else { throw .badAuthenticationResults }
    let head = String(decoding: value[value.startIndex..<semicolon], as: UTF8.self).withoutFWS
    guard head.hasPrefix("i=") else { throw .badAuthenticationResults }
    return try arcInstance(String(head.dropFirst(2)))
}
