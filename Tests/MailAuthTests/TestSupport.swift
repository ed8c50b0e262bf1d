// TestSupport.swift — helpers shared by the MailAuth tests: `FakeDNS`, an in-memory zone with
// NXDOMAIN, NODATA and temporary failures; a clock; message builders.

import Foundation
import NIOConcurrencyHelpers
import DNS
@testable import MailAuth

/// An in-memory zone. Names are compared case-insensitively, without the final dot. A name present
/// under any type gives NODATA for the others; a name absent everywhere gives NXDOMAIN; a name in
/// `failing` gives a temporary failure (SERVFAIL) for every type.
struct FakeDNS: MailAuthDNS {
    var txt: [String: [String]] = [:]
    var a: [String: [String]] = [:]
    var aaaa: [String: [String]] = [:]
    var mx: [String: [String]] = [:]
    /// Reverse lookups: address text (as `ClientIP.description` gives it) → names.
    var ptr: [String: [String]] = [:]
    var failing: Set<String> = []
    let log = QueryLog()

    final class QueryLog: Sendable {
        private let box = NIOLockedValueBox<[String]>([])
        func append(_ entry: String) { box.withLockedValue { $0.append(entry) } }
        var entries: [String] { box.withLockedValue { $0 } }
        var count: Int { entries.count }
    }

    static func key(_ name: DNSName) -> String { name.lowercased.description }

    func exists(_ key: String) -> Bool {
        txt[key] != nil || a[key] != nil || aaaa[key] != nil || mx[key] != nil
    }

    func lookup(_ name: DNSName, _ type: String, _ table: [String: [String]]) throws(DNSError) -> [String] {
        let key = Self.key(name)
        log.append("\(type) \(key)")
        if failing.contains(key) { throw .temporary(.serverFailure) }
        if let values = table[key] { return values }
        if exists(key) { return [] }
        throw .nameNotFound
    }

    func txt(_ name: DNSName) async throws(DNSError) -> [String] { try lookup(name, "TXT", txt) }

    func mx(_ name: DNSName) async throws(DNSError) -> [DNSName] {
        try lookup(name, "MX", mx).map { try! DNSName($0) }
    }

    func ipv4(_ name: DNSName) async throws(DNSError) -> [IPv4Address] {
        try lookup(name, "A", a).map { IPv4Address($0)! }
    }

    func ipv6(_ name: DNSName) async throws(DNSError) -> [IPv6Address] {
        try lookup(name, "AAAA", aaaa).map { IPv6Address($0)! }
    }

    func ptr(_ address: ClientIP) async throws(DNSError) -> [DNSName] {
        log.append("PTR \(address)")
        if failing.contains(address.description) { throw .temporary(.serverFailure) }
        guard let names = ptr[address.description] else { throw .nameNotFound }
        return names.map { try! DNSName($0) }
    }
}

extension ClientIP: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self = ClientIP(value)!
    }
}

/// Octets of a message written with "\n" line ends, converted to CRLF.
func crlf(_ text: String) -> [UInt8] {
    Array(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
}

/// A fixed clock.
let fixedNow: @Sendable () -> Int64 = { 1_700_000_000 }
