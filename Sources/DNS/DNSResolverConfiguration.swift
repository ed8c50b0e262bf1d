// DNSResolverConfiguration.swift — where the resolver asks and how patiently: nameservers, timeout,
// attempts, rotation, cache size. Built from the node configuration or from /etc/resolv.conf
// (`systemConfiguration`), defaulting to 127.0.0.1:53 as glibc does when none is named.
//
// Security note: the resolver trusts its nameservers completely (it does no DNSSEC validation of
// its own). They should be a recursive resolver on the loopback or on a trusted network, never a
// public one across the Internet: RFC 7672 (DANE) and RFC 8461 (MTA-STS) assume the same.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOCore

/// Why a configuration could not be built.
public enum DNSConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not `ADDRESS`, `IPv4:PORT` or `[IPv6]:PORT` with a literal address and a port in 1...65535.
    case badNameserver(String)

    public var description: String {
        switch self {
        case .badNameserver(let text): return "bad nameserver \"\(text)\" (want an IP address, IPv4:port or [IPv6]:port)"
        }
    }
}

/// How the resolver reaches its nameservers.
public struct DNSResolverConfiguration: Hashable, Sendable {
    /// The recursive nameservers, asked in order (or rotating, see `rotate`).
    public var nameservers: [SocketAddress]
    /// How long to wait for one reply from one nameserver (over TCP: connection and reply).
    public var timeout: Duration
    /// Rounds over the nameserver list before giving up (at least 1).
    public var attempts: Int
    /// Start each query at the next nameserver, spreading the load (resolv.conf `options rotate`).
    public var rotate: Bool
    /// Most entries in the answer cache; 0 turns it off.
    public var cacheSize: Int
    /// The UDP payload size advertised with EDNS(0); `nil` sends plain RFC 1035 queries (512 octets).
    public var ednsPayloadSize: UInt16?

    public init(nameservers: [SocketAddress], timeout: Duration = .seconds(DNSDefaults.timeoutSeconds),
                attempts: Int = DNSDefaults.attempts, rotate: Bool = false, cacheSize: Int = DNSDefaults.cacheEntries,
                ednsPayloadSize: UInt16? = DNSDefaults.ednsPayloadSize) {
        self.nameservers = nameservers
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.rotate = rotate
        self.cacheSize = cacheSize
        self.ednsPayloadSize = ednsPayloadSize
    }

    /// With nameservers written as `192.0.2.53`, `192.0.2.53:5353`, `2001:db8::53` or
    /// `[2001:db8::53]:5353` (port 53 when none is given). An empty list means 127.0.0.1:53.
    public init(nameservers: [String], timeout: Duration = .seconds(DNSDefaults.timeoutSeconds),
                attempts: Int = DNSDefaults.attempts, rotate: Bool = false, cacheSize: Int = DNSDefaults.cacheEntries,
                ednsPayloadSize: UInt16? = DNSDefaults.ednsPayloadSize) throws(DNSConfigurationError) {
        var addresses: [SocketAddress] = []
        for text in nameservers { addresses.append(try Self.nameserver(text)) }
        if addresses.isEmpty { addresses = [Self.fallback] }
        self.init(nameservers: addresses, timeout: timeout, attempts: attempts, rotate: rotate, cacheSize: cacheSize,
                  ednsPayloadSize: ednsPayloadSize)
    }

    /// From the settings of a resolv.conf file: its nameservers (127.0.0.1 when none), timeout,
    /// attempts and rotate option, glibc's defaults for what it does not set.
    public init(_ resolvConf: ResolvConf, cacheSize: Int = DNSDefaults.cacheEntries) {
        let addresses = resolvConf.nameservers.compactMap { try? SocketAddress(ipAddress: $0, port: DNSDefaults.port) }
        self.init(nameservers: addresses.isEmpty ? [Self.fallback] : addresses,
                  timeout: .seconds(max(1, resolvConf.timeoutSeconds ?? DNSDefaults.timeoutSeconds)),
                  attempts: resolvConf.attempts ?? DNSDefaults.attempts, rotate: resolvConf.rotate, cacheSize: cacheSize)
    }

    /// The system's configuration, from `path`. A missing or unreadable file gives the defaults
    /// (127.0.0.1:53, 5 s, 2 attempts), as with glibc.
    public static func systemConfiguration(resolvConf path: String = "/etc/resolv.conf") -> DNSResolverConfiguration {
        DNSResolverConfiguration(ResolvConf(parsing: readFile(path) ?? ""))
    }

    /// Parses one nameserver: an address, `IPv4:PORT` or `[IPv6]:PORT`.
    public static func nameserver(_ text: String) throws(DNSConfigurationError) -> SocketAddress {
        var host = text
        var port = DNSDefaults.port
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .badNameserver(text) }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { throw .badNameserver(text) }
                port = p
            }
            guard IPv6Address(host) != nil else { throw .badNameserver(text) }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]) else { throw .badNameserver(text) }
            port = p
            guard IPv4Address(host) != nil else { throw .badNameserver(text) }
        } else {
            guard IPv4Address(host) != nil || IPv6Address(host) != nil else { throw .badNameserver(text) }
        }
        guard (1...65535).contains(port), let address = try? SocketAddress(ipAddress: host, port: port) else {
            throw .badNameserver(text)
        }
        return address
    }

    static var fallback: SocketAddress {
        // A valid literal: cannot fail.
        try! SocketAddress(ipAddress: DNSDefaults.fallbackNameserver, port: DNSDefaults.port)
    }

    /// Reads a small text file, at most `DNSDefaults.maximumResolvConfSize` octets; `nil` if it cannot.
    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < DNSDefaults.maximumResolvConfSize {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes.prefix(DNSDefaults.maximumResolvConfSize), as: UTF8.self)
    }
}
