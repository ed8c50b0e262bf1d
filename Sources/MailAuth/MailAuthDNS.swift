// MailAuthDNS.swift — the DNS that SPF, DKIM and DMARC ask, as a small protocol, and its adapter
// over the DNS module's stub resolver.
//
// What it does: the checks only ever need TXT, MX, A, AAAA and PTR answers, with NXDOMAIN told apart
// from temporary failures (`DNSError.nameNotFound` against `isTemporary`). Tests give an in-memory
// zone; the node gives `ResolverMailAuthDNS(resolver)`.
//
// Semantics every implementation must keep: NODATA is an empty array, not an error; NXDOMAIN is
// `DNSError.nameNotFound`; anything that may succeed later is an error whose `isTemporary` is true.

public import DNS

/// The DNS lookups sender authentication needs.
public protocol MailAuthDNS: Sendable {
    /// The TXT records of `name`, each one's character-strings joined (RFC 7208 §3.3, RFC 6376
    /// §3.6.2.2). Empty for NODATA.
    func txt(_ name: DNSName) async throws(DNSError) -> [String]
    /// The exchanges of the MX records of `name`, lowest preference first. Empty for NODATA.
    func mx(_ name: DNSName) async throws(DNSError) -> [DNSName]
    /// The A records of `name`. Empty for NODATA.
    func ipv4(_ name: DNSName) async throws(DNSError) -> [IPv4Address]
    /// The AAAA records of `name`. Empty for NODATA.
    func ipv6(_ name: DNSName) async throws(DNSError) -> [IPv6Address]
    /// The PTR records of `address`'s reverse name. Empty for NODATA.
    func ptr(_ address: ClientIP) async throws(DNSError) -> [DNSName]
}

/// The SMTP client's IP address (RFC 7208 <ip>), either family, over the DNS module's address
/// types. Named apart from GatehouseCore's `IPAddress` so that files importing both compile
/// (convert with `ClientIP(address.description)`).
public enum ClientIP: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses a dotted quad or any RFC 4291 text form. An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.1`) becomes the IPv4 address (RFC 7208 §5.6: such clients are treated as
    /// IPv4).
    public init?(_ text: String) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = ClientIP.unmapped(v6)
        } else {
            return nil
        }
    }

    /// From 4 or 16 network-order octets (IPv4-mapped IPv6 becomes IPv4).
    public init?(bytes: [UInt8]) {
        if let v4 = IPv4Address(bytes: bytes) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(bytes: bytes) {
            self = ClientIP.unmapped(v6)
        } else {
            return nil
        }
    }

    static func unmapped(_ v6: IPv6Address) -> ClientIP {
        let b = v6.bytes
        if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xFF, b[11] == 0xFF, let v4 = IPv4Address(bytes: b[12..<16]) {
            return .v4(v4)
        }
        return .v6(v6)
    }

    /// Network-order octets: 4 or 16.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): return a.bytes
        case .v6(let a): return a.bytes
        }
    }

    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .v4(let a): return a.description
        case .v6(let a): return a.description
        }
    }

    /// Whether the first `prefixLength` bits of `self` and `other` agree (both of one family).
    func matches(_ other: ClientIP, prefixLength: Int) -> Bool {
        let a = bytes
        let b = other.bytes
        guard a.count == b.count, prefixLength >= 0, prefixLength <= a.count * 8 else { return false }
        var remaining = prefixLength
        var index = 0
        while remaining >= 8 {
            if a[index] != b[index] { return false }
            index += 1
            remaining -= 8
        }
        if remaining > 0 {
            let mask = UInt8(0xFF) << UInt8(8 - remaining)
            if a[index] & mask != b[index] & mask { return false }
        }
        return true
    }
}

/// `MailAuthDNS` over the node's `DNSResolver` (its cache and its nameservers).
public struct ResolverMailAuthDNS: MailAuthDNS {
    public let resolver: DNSResolver

    public init(_ resolver: DNSResolver) {
        self.resolver = resolver
    }

    public func txt(_ name: DNSName) async throws(DNSError) -> [String] {
        try await resolver.txt(name)
    }

    public func mx(_ name: DNSName) async throws(DNSError) -> [DNSName] {
        try await resolver.mx(name).map(\.exchange)
    }

    public func ipv4(_ name: DNSName) async throws(DNSError) -> [IPv4Address] {
        let answer = try await resolver.query(name, .a)
        return answer.records.compactMap { if case .a(let address) = $0.data { return address } else { return nil } }
    }

    public func ipv6(_ name: DNSName) async throws(DNSError) -> [IPv6Address] {
        let answer = try await resolver.query(name, .aaaa)
        return answer.records.compactMap { if case .aaaa(let address) = $0.data { return address } else { return nil } }
    }

    public func ptr(_ address: ClientIP) async throws(DNSError) -> [DNSName] {
        switch address {
        case .v4(let a): return try await resolver.ptr(a)
        case .v6(let a): return try await resolver.ptr(a)
        }
    }
}
