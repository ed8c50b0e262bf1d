// DNSCodes.swift — the numbered fields of a DNS message: record TYPE and CLASS (RFC 1035 §3.2.2,
// §3.2.4), OPCODE and RCODE (RFC 1035 §4.1.1, RFC 6891 §6.1.3 for the extended RCODE).
//
// Each is a struct over its raw number rather than an enum, so that a value this module does not
// name (a new record type, a private-use RCODE) still decodes and encodes unchanged (RFC 3597).

/// A resource record type (RFC 1035 §3.2.2; IANA "Resource Record (RR) TYPEs").
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// An IPv4 address (RFC 1035 §3.4.1).
    public static let a = DNSRecordType(rawValue: 1)
    /// An authoritative nameserver (RFC 1035 §3.3.11).
    public static let ns = DNSRecordType(rawValue: 2)
    /// The canonical name of an alias (RFC 1035 §3.3.1).
    public static let cname = DNSRecordType(rawValue: 5)
    /// The start of a zone of authority; its MINIMUM field is the negative-caching TTL (RFC 2308 §4).
    public static let soa = DNSRecordType(rawValue: 6)
    /// A domain name pointer, for reverse lookups (RFC 1035 §3.3.12).
    public static let ptr = DNSRecordType(rawValue: 12)
    /// A mail exchange (RFC 1035 §3.3.9, RFC 7505 for the null MX).
    public static let mx = DNSRecordType(rawValue: 15)
    /// Text strings: SPF, DKIM keys, DMARC policies (RFC 1035 §3.3.14).
    public static let txt = DNSRecordType(rawValue: 16)
    /// An IPv6 address (RFC 3596 §2.1).
    public static let aaaa = DNSRecordType(rawValue: 28)
    /// The EDNS(0) pseudo-record (RFC 6891 §6.1.1). Never asked for; read into `DNSMessage.edns`.
    public static let opt = DNSRecordType(rawValue: 41)

    public var description: String {
        switch rawValue {
        case 1: return "A"
        case 2: return "NS"
        case 5: return "CNAME"
        case 6: return "SOA"
        case 12: return "PTR"
        case 15: return "MX"
        case 16: return "TXT"
        case 28: return "AAAA"
        case 41: return "OPT"
        default: return "TYPE\(rawValue)"  // RFC 3597 §5
        }
    }
}

/// A resource record class (RFC 1035 §3.2.4). Only IN is ever asked for.
public struct DNSClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// The Internet.
    public static let internet = DNSClass(rawValue: 1)

    public var description: String { rawValue == 1 ? "IN" : "CLASS\(rawValue)" }
}

/// The kind of query in a message header (RFC 1035 §4.1.1).
public struct DNSOpcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The four-bit value.
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue & 0x0F
    }

    /// A standard query, the only kind a stub resolver sends.
    public static let query = DNSOpcode(rawValue: 0)

    public var description: String { rawValue == 0 ? "QUERY" : "OPCODE\(rawValue)" }
}

/// The outcome a server reports (RFC 1035 §4.1.1; values above 15 need EDNS, RFC 6891 §6.1.3).
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 12-bit value: the header's four bits, with EDNS's eight upper bits when present.
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue & 0x0FFF
    }

    /// No error.
    public static let noError = DNSResponseCode(rawValue: 0)
    /// The server could not interpret the query.
    public static let formatError = DNSResponseCode(rawValue: 1)
    /// The server could not answer: a temporary condition for the asker.
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    /// NXDOMAIN: the name does not exist, nor anything below it (RFC 8020).
    public static let nameError = DNSResponseCode(rawValue: 3)
    /// The server does not support this kind of query.
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    /// The server will not answer us (policy).
    public static let refused = DNSResponseCode(rawValue: 5)
    /// The server does not speak our EDNS version (RFC 6891 §6.1.3).
    public static let badVersion = DNSResponseCode(rawValue: 16)

    public var description: String {
        switch rawValue {
        case 0: return "NOERROR"
        case 1: return "FORMERR"
        case 2: return "SERVFAIL"
        case 3: return "NXDOMAIN"
        case 4: return "NOTIMP"
        case 5: return "REFUSED"
        case 16: return "BADVERS"
        default: return "RCODE\(rawValue)"
        }
    }
}
