// IPNetwork.swift — IPv4 and IPv6 addresses and CIDR networks for connection ACLs, relay networks
// and balancer lists (RFC 4632 for IPv4 CIDR, RFC 4291 §2.2 and RFC 5952 for IPv6 text forms).
//
// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports for an IPv4
// client) are folded to IPv4 so that an IPv4 rule matches them: otherwise a deny list could be
// bypassed by connecting over the other family.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt64, UInt64)

    /// Parses dotted-quad IPv4 or any RFC 4291 IPv6 text form (with an optional `%zone`, ignored).
    public init?<S: StringProtocol>(parsing text: S) {
        var string = String(text)
        if let percent = string.firstIndex(of: "%") { string = String(string[..<percent]) }
        guard !string.isEmpty, string.utf8.count < 64 else { return nil }
        if string.contains(":") {
            var bytes = in6_addr()
            guard inet_pton(AF_INET6, string, &bytes) == 1 else { return nil }
            self = withUnsafeBytes(of: &bytes) { IPAddress(bytes16: Array($0)) }
        } else {
            // inet_pton accepts only strict dotted quads (no octal, no short forms): what we want.
            var addr = in_addr()
            guard inet_pton(AF_INET, string, &addr) == 1 else { return nil }
            self = .v4(UInt32(bigEndian: addr.s_addr))
        }
    }

    /// From 4 or 16 network-order bytes. IPv4-mapped IPv6 becomes IPv4.
    public init(bytes16: [UInt8]) {
        precondition(bytes16.count == 16)
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(bytes16[i]) }
        for i in 8..<16 { low = low << 8 | UInt64(bytes16[i]) }
        if high == 0, low >> 32 == 0xFFFF {
            self = .v4(UInt32(truncatingIfNeeded: low))
        } else {
            self = .v6(high, low)
        }
    }

    public init(bytes4: [UInt8]) {
        precondition(bytes4.count == 4)
        self = .v4(UInt32(bytes4[0]) << 24 | UInt32(bytes4[1]) << 16 | UInt32(bytes4[2]) << 8 | UInt32(bytes4[3]))
    }

    public var isLoopback: Bool {
        switch self {
        case .v4(let v): return v >> 24 == 127
        case .v6(let h, let l): return h == 0 && l == 1
        }
    }

    /// RFC 5952 text: lower case, longest zero run compressed.
    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        case .v6(let high, let low):
            var groups: [UInt16] = []
            for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: high >> UInt64(shift))) }
            for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: low >> UInt64(shift))) }
            var bestStart = -1, bestLength = 0, runStart = -1
            for i in 0...8 {
                if i < 8, groups[i] == 0 {
                    if runStart < 0 { runStart = i }
                } else if runStart >= 0 {
                    if i - runStart > bestLength, i - runStart > 1 { bestStart = runStart; bestLength = i - runStart }
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
}

/// A CIDR network such as `192.0.2.0/24` or `2001:db8::/32`. A bare address is a host network.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?<S: StringProtocol>(parsing text: S) {
        let string = String(text)
        let addressText: Substring
        var prefix: Int?
        if let slash = string.firstIndex(of: "/") {
            addressText = string[..<slash]
            guard let p = Int(string[string.index(after: slash)...]), p >= 0 else { return nil }
            prefix = p
        } else {
            addressText = Substring(string)
        }
        guard let address = IPAddress(parsing: addressText) else { return nil }
        // A mapped IPv6 prefix such as ::ffff:10.0.0.0/104 folds to IPv4 with prefix - 96.
        if case .v4 = address, addressText.contains(":"), let p = prefix {
            guard p >= 96 else { return nil }
            prefix = p - 96
        }
        let maximum: Int
        switch address {
        case .v4: maximum = 32
        case .v6: maximum = 128
        }
        let length = prefix ?? maximum
        guard length <= maximum else { return nil }
        self.prefixLength = length
        self.address = IPNetwork.masked(address, length)
    }

    public func contains(_ candidate: IPAddress) -> Bool {
        switch (address, candidate) {
        case (.v4, .v4), (.v6, .v6):
            return IPNetwork.masked(candidate, prefixLength) == address
        default:
            return false
        }
    }

    public var description: String { "\(address)/\(prefixLength)" }

    static func masked(_ address: IPAddress, _ length: Int) -> IPAddress {
        switch address {
        case .v4(let v):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            return .v4(v & mask)
        case .v6(let high, let low):
            let highMask: UInt64 = length >= 64 ? ~0 : (length == 0 ? 0 : ~UInt64(0) << UInt64(64 - length))
            let lowLength = max(0, length - 64)
            let lowMask: UInt64 = lowLength >= 64 ? ~0 : (lowLength == 0 ? 0 : ~UInt64(0) << UInt64(64 - lowLength))
            return .v6(high & highMask, low & lowMask)
        }
    }
}

extension Sequence where Element == IPNetwork {
    /// True when any network of the list contains the address.
    public func containsAddress(_ address: IPAddress) -> Bool {
        contains { $0.contains(address) }
    }
}
