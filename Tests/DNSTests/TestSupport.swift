// TestSupport.swift — helpers shared by the DNS tests: hex and message builders, and `ZoneServer`,
// which runs Resources/zone_server.py (Debian's python3-dnslib) on a free loopback port.

import Foundation
import NIOCore
import NIOPosix
@testable import DNS

// Names from literals, for brevity in tests only. The module itself has no such conformance: with
// it, `DNSName("a..b")` would be a literal coercion that traps instead of the initialiser that
// throws. Tests that expect a throw go through `parse`, which takes a String variable.
extension DNSName: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self = try! parse(value)
    }
}

/// The throwing initialiser, whatever the argument looks like.
func parse(_ text: String) throws(DNSNameError) -> DNSName {
    try DNSName(text)
}

/// Octets from a hex string; spaces and newlines are ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.unicodeScalars.filter { !$0.properties.isWhitespace })
    precondition(digits.count % 2 == 0)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0]) + String(digits[$0 + 1]), radix: 16)! }
}

extension DNSMessage {
    /// A response to `query` with the given sections, as a well-behaved server would send it.
    static func response(to query: DNSQuery, code: DNSResponseCode = .noError, answers: [DNSResourceRecord] = [],
                         authority: [DNSResourceRecord] = [], truncated: Bool = false) -> DNSMessage {
        var message = DNSMessage(
            header: DNSHeader(id: query.id, isResponse: true, isTruncated: truncated, recursionDesired: true, recursionAvailable: true),
            questions: [query.question], answers: answers, authority: authority, edns: DNSEDNS())
        message.responseCode = code
        return message
    }
}

/// The SOA of the test zone: negative answers live min(300, 60) = 60 seconds.
let testSOA = DNSResourceRecord(
    name: "example.test", ttl: 300,
    data: .soa(SOARecord(primaryNameserver: "ns1.example.test", responsibleMailbox: "hostmaster.example.test",
                         serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60)))

/// The zone the integration tests query.
let testZone = """
    $ORIGIN example.test.
    $TTL 300
    @        IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
    @        IN MX 20 mx2
    @        IN MX 10 mx1
    @        IN MX 30 mx3
    @        IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
    mx1      IN A 192.0.2.1
    mx1      IN AAAA 2001:db8::1
    mx2      IN A 192.0.2.2
    mx3      IN AAAA 2001:db8::3
    v4only   IN A 192.0.2.4
    nullmx   IN MX 0 .
    multi    IN TXT "v=DKIM1; k=rsa; " "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"
    www      IN CNAME alias
    alias    IN CNAME mx1
    dangling IN CNAME nowhere
    loop1    IN CNAME loop2
    loop2    IN CNAME loop1
    tc       IN A 192.0.2.8
    big      IN TXT \(String(repeating: "\"\(String(repeating: "x", count: 200))\" ", count: 10))
    slow     IN A 192.0.2.9
    late     IN A 192.0.2.10
    broken   IN A 192.0.2.11
    refused  IN A 192.0.2.12
    spoofed  IN A 192.0.2.7
    garbage  IN A 192.0.2.13
    cached   IN A 192.0.2.14
    1.2.0.192.in-addr.arpa. IN PTR mx1.example.test.
    1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. IN PTR mx1.example.test.

    """

enum ZoneServerError: Error, CustomStringConvertible {
    case didNotStart(String)

    var description: String {
        switch self {
        case .didNotStart(let why): return "zone_server.py did not start (is python3-dnslib installed? apt-get install python3-dnslib): \(why)"
        }
    }
}

/// A running zone_server.py, stopped by `stop()` (and by the end of the test process: it exits
/// when its standard input closes).
final class ZoneServer: @unchecked Sendable {
    let process: Process
    let port: Int
    private let input: Pipe
    private let directory: URL
    private let lock = NSLock()
    private var stopped = false

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Resources/zone_server.py").path

    /// Starts the server with `options` (`["--drop", "slow.example.test"]`…) and waits for its port.
    init(zone: String = testZone, options: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dns-zone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let zoneFile = directory.appendingPathComponent("zone.txt")
        try zone.write(to: zoneFile, atomically: true, encoding: .utf8)

        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script, "--zone", zoneFile.path, "--lifetime", "120"] + options
        input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()

        // The first line is "PORT n", printed once both sockets listen.
        var line: [UInt8] = []
        while !line.contains(UInt8(ascii: "\n")) {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            line += data
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.waitUntilExit()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            try? FileManager.default.removeItem(at: directory)
            throw ZoneServerError.didNotStart(text + stderr)
        }
        self.port = port
    }

    var address: SocketAddress {
        try! SocketAddress(ipAddress: "127.0.0.1", port: port)
    }

    /// A configuration with this server as the only nameserver.
    func configuration(timeout: Duration = .seconds(2), attempts: Int = 2, cacheSize: Int = 100) -> DNSResolverConfiguration {
        DNSResolverConfiguration(nameservers: [address], timeout: timeout, attempts: attempts, cacheSize: cacheSize)
    }

    /// How many queries for `name` the server received over `transport` ("udp" or "tcp").
    func queries(for name: String, over transport: String) async throws -> Int {
        let resolver = DNSResolver(configuration: configuration(cacheSize: 0), eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let answer = try await resolver.query("\(transport).\(name)._control", .txt)
        guard case .txt(let txt) = answer.records.first?.data, let count = Int(txt.text) else { return -1 }
        return count
    }

    /// `queries(for:over:)`, asked again for up to three seconds until it gives `expected`: the
    /// server counts in a thread per datagram, which a loaded machine may run late.
    func queries(for name: String, over transport: String, reaching expected: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(3)
        var count = try await queries(for: name, over: transport)
        while count != expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            count = try await queries(for: name, over: transport)
        }
        return count
    }

    /// Starts a server on a thread of its own: starting blocks until the script prints its port,
    /// and blocking the few threads of Swift concurrency's pool would stall every other test.
    static func start(zone: String = testZone, options: [String] = []) async throws -> ZoneServer {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try ZoneServer(zone: zone, options: options) })
            }
        }
    }

    /// Ends the server without waiting: closing its standard input makes it exit, SIGTERM backs
    /// that up.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Ends the server and waits until the process is gone (its port then refuses queries).
    func stopAndWait() async throws {
        stop()
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    deinit {
        stop()
    }
}
