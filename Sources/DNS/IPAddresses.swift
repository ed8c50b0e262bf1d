// IPAddresses.swift — the addresses carried by A and AAAA records (RFC 1035 §3.4.1, RFC 3596 §2.2),
// and the reverse-lookup names built from them (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa).
//
// The DNS module keeps its own two small address types so that it depends on nothing but NIO.
// `bytes` gives the network-order octets, from which GatehouseCore's `IPAddress(bytes4:)` and
// `IPAddress(bytes16:)` are built.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 address, as an A record carries it.
public struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
    /// The address in host order: `192.0.2.1` is `0xC000_0201`.
    public let value: UInt32

    public init(_ value: UInt32) {
        self.value = value
    }

    /// From four network-order octets.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        self.value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Parses a strict dotted quad (no octal, no short forms).
    public init?(_ text: String) {
        guard text.utf8.count <= 15 else { return nil }
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        self.value = UInt32(bigEndian: address.s_addr)
    }

    /// The four octets in network order.
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }
}

/// An IPv6 address, as an AAAA record carries it.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    /// The sixteen octets in network order.
    public let bytes: [UInt8]

    /// From sixteen network-order octets.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses any RFC 4291 §2.2 text form. A zone (`%eth0`) is refused: it has no meaning in DNS.
    public init?(_ text: String) {
        guard text.utf8.count < 64, !text.contains("%") else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        self.bytes = withUnsafeBytes(of: &address) { Array($0) }
    }

    /// RFC 5952 text: lower case, the longest run of two or more zero groups compressed.
    public var description: String {
        var groups: [UInt16] = []
        for i in stride(from: 0, to: 16, by: 2) { groups.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8, groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength, i - runStart > 1 {
                    bestStart = runStart
                    bestLength = i - runStart
                }
                runStart = -1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            range.map { String(groups[$0], radix: 16) }.joined(separator: ":")
        }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

extension DNSName {
    /// The in-addr.arpa name of an IPv4 address (RFC 1035 §3.5): `1.2.0.192.in-addr.arpa` for
    /// `192.0.2.1`.
    public static func reverse(_ address: IPv4Address) -> DNSName {
        DNSName(validatedLabels: address.bytes.reversed().map { Array(String($0).utf8) } + [Array("in-addr".utf8), Array("arpa".utf8)])
    }

    /// The ip6.arpa name of an IPv6 address (RFC 3596 §2.5): 32 nibble labels, least significant
    /// first.
    public static func reverse(_ address: IPv6Address) -> DNSName {
        DNSName(validatedLabels: nibbles(address) + [Array("ip6".utf8), Array("arpa".utf8)])
    }

    /// The reversed octets of `address` under `zone`: the query name of a DNS blocklist lookup
    /// (RFC 5782 §2.1), `1.2.0.192.zen.example` for `192.0.2.1`.
    /// Throws `.nameTooLong` when the zone leaves no room for the 16 octets the address adds.
    public static func reverse(_ address: IPv4Address, zone: DNSName) throws(DNSNameError) -> DNSName {
        try DNSName(labels: address.bytes.reversed().map { Array(String($0).utf8) } + zone.labels)
    }

    /// The reversed nibbles of `address` under `zone` (RFC 5782 §2.4 for IPv6 blocklists).
    /// Throws `.nameTooLong` when the zone leaves no room for the 64 octets the address adds.
    public static func reverse(_ address: IPv6Address, zone: DNSName) throws(DNSNameError) -> DNSName {
        try DNSName(labels: nibbles(address) + zone.labels)
    }

    private static func nibbles(_ address: IPv6Address) -> [[UInt8]] {
        let digits = Array("0123456789abcdef".utf8)
        var labels: [[UInt8]] = []
        labels.reserveCapacity(32)
        for byte in address.bytes.reversed() {
            labels.append([digits[Int(byte & 0x0F)]])
            labels.append([digits[Int(byte >> 4)]])
        }
        return labels
    }
}
