// DMARCRecord.swift — DMARC policy records (RFC 7489 §6.3, §6.4), published as TXT at
// _dmarc.<domain>.
//
// Grammar (RFC 7489 §6.4, tag-list syntax of RFC 6376 §3.2):
//   dmarc-record    = dmarc-version dmarc-sep *( dmarc-tag dmarc-sep )   ; v= first
//   dmarc-version   = "v" *WSP "=" *WSP %x44 %x4d %x41 %x52 %x43 %x31      ; "DMARC1", case-sensitive
//   dmarc-request   = "p" *WSP "=" *WSP ( "none" / "quarantine" / "reject" )
//   dmarc-srequest  = "sp" *WSP "=" *WSP ( "none" / "quarantine" / "reject" )
//   dmarc-adkim     = "adkim" *WSP "=" *WSP ( "r" / "s" )
//   dmarc-aspf      = "aspf" *WSP "=" *WSP ( "r" / "s" )
//   dmarc-percent   = "pct" *WSP "=" *WSP 1*3DIGIT                        ; 0-100
//   dmarc-auri      = "rua" *WSP "=" *WSP dmarc-uri *(*WSP "," *WSP dmarc-uri)
//   dmarc-furi      = "ruf" ...; dmarc-fo = "fo" ...; dmarc-rfmt = "rf" ...; dmarc-ainterval = "ri" ...
//
// What it does: parses the record; tag names and keyword values are case-insensitive (ABNF
// quoted strings), "DMARC1" is not. Per §6.3 and §6.6.3 step 6: syntax errors in optional tags
// are discarded in favour of the defaults (pct 100, adkim/aspf relaxed); a missing or invalid p=,
// or an invalid sp=, makes the record unusable unless rua= names a URI, in which case it acts as
// p=none (`policyFallback`). Unknown tags are ignored.
//
// Diagnostics: `DMARCRecordError` for records that cannot be used at all.

/// A requested policy (RFC 7489 §6.3 p=, sp=).
public enum DMARCPolicy: String, Sendable, Hashable, Comparable {
    case none
    case quarantine
    case reject

    /// Ordered by strictness: none < quarantine < reject.
    public static func < (lhs: DMARCPolicy, rhs: DMARCPolicy) -> Bool {
        lhs.rank < rhs.rank
    }

    var rank: Int {
        switch self {
        case .none: return 0
        case .quarantine: return 1
        case .reject: return 2
        }
    }

    /// The next policy down (RFC 7489 §6.6.4, for messages that pct= leaves out).
    var weaker: DMARCPolicy {
        switch self {
        case .reject: return .quarantine
        case .quarantine, .none: return .none
        }
    }
}

/// Identifier alignment mode (RFC 7489 §3.1).
public enum DMARCAlignment: String, Sendable, Hashable {
    case relaxed = "r"
    case strict = "s"
}

/// Why a DMARC record could not be used.
public enum DMARCRecordError: Error, Hashable, Sendable, CustomStringConvertible {
    case tagList(TagListError)
    case tooLong(Int)
    /// The first tag is not v=DMARC1.
    case notDMARC
    /// No usable p= (or an invalid sp=) and no rua= to fall back on.
    case badPolicy(String)

    public var description: String {
        switch self {
        case .tagList(let error): return "bad DMARC record: \(error)"
        case .tooLong(let n): return "DMARC record of \(n) octets"
        case .notDMARC: return "not a DMARC record"
        case .badPolicy(let text): return "invalid policy \(text)"
        }
    }
}

/// A parsed DMARC record.
public struct DMARCRecord: Sendable, Hashable {
    /// p=.
    public var policy: DMARCPolicy
    /// sp=, nil when absent (p= applies to subdomains too).
    public var subdomainPolicy: DMARCPolicy?
    /// pct=, 0…100.
    public var percentage: Int
    /// adkim=.
    public var dkimAlignment: DMARCAlignment
    /// aspf=.
    public var spfAlignment: DMARCAlignment
    /// rua= URIs.
    public var aggregateReportURIs: [String]
    /// ruf= URIs.
    public var failureReportURIs: [String]
    /// fo=, as written.
    public var failureOptions: String?
    /// The record had no valid p= (or an invalid sp=) and acts as p=none because rua= is present
    /// (§6.6.3 step 6).
    public var policyFallback: Bool

    /// Whether a TXT record is a DMARC record: it starts with "v=DMARC1" followed by ";", white
    /// space or the end (§6.6.3 step 2).
    public static func isDMARC(_ text: String) -> Bool {
        var b = Array(text.utf8)[...]
        while let f = b.first, isWSP(f) { b = b.dropFirst() }
        guard b.first == 118 || b.first == 86 else { return false }  // v / V
        b = b.dropFirst()
        while let f = b.first, isWSP(f) { b = b.dropFirst() }
        guard b.first == 61 else { return false }
        b = b.dropFirst()
        while let f = b.first, isWSP(f) { b = b.dropFirst() }
        guard b.starts(with: Array("DMARC1".utf8)) else { return false }
        b = b.dropFirst(6)
        return b.first.map { $0 == 59 || isWSP($0) } ?? true
    }

    public init(parsing text: String) throws(DMARCRecordError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= MailAuthDefaults.dmarcMaximumRecordLength else { throw .tooLong(bytes.count) }
        guard Self.isDMARC(text) else { throw .notDMARC }
        let list: TagList
        do {
            list = try TagList(parsing: bytes)
        } catch {
            throw .tagList(error)
        }
        var tags: [String: String] = [:]
        for tag in list.tags {
            let name = asciiLowercased(tag.name)
            if tags[name] == nil { tags[name] = tag.value }
        }
        func uris(_ value: String?) -> [String] {
            (value ?? "").split(separator: ",").map { String($0).trimmingWSP }.filter { !$0.isEmpty }
        }
        aggregateReportURIs = uris(tags["rua"])
        failureReportURIs = uris(tags["ruf"])
        failureOptions = tags["fo"]

        let p = tags["p"].flatMap { DMARCPolicy(rawValue: asciiLowercased($0.trimmingWSP)) }
        let spText = tags["sp"]
        let sp = spText.flatMap { DMARCPolicy(rawValue: asciiLowercased($0.trimmingWSP)) }
        if let p, spText == nil || sp != nil {
            policy = p
            subdomainPolicy = sp
            policyFallback = false
        } else if aggregateReportURIs.contains(where: { $0.contains(":") }) {
            policy = .none
            subdomainPolicy = nil
            policyFallback = true
        } else {
            throw .badPolicy("p=\(tags["p"] ?? "") sp=\(spText ?? "")")
        }

        if let pct = tags["pct"], let n = Int(pct.trimmingWSP), (0...100).contains(n), pct.trimmingWSP.utf8.count <= 3 {
            percentage = n
        } else {
            percentage = 100
        }
        dkimAlignment = tags["adkim"].flatMap { DMARCAlignment(rawValue: asciiLowercased($0.trimmingWSP)) } ?? .relaxed
        spfAlignment = tags["aspf"].flatMap { DMARCAlignment(rawValue: asciiLowercased($0.trimmingWSP)) } ?? .relaxed
    }
}

extension String {
    var trimmingWSP: String {
        String(decoding: trimWSP(Array(utf8)[...]), as: UTF8.self)
    }
}
