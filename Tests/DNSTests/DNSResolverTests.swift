// DNSResolverTests.swift — the resolver against a real DNS server on the loopback
// (Resources/zone_server.py, Debian's python3-dnslib): every record type, NXDOMAIN against NODATA,
// CNAME chains, TC→TCP fallback, timeouts, SERVFAIL, REFUSED, spoofed and undecodable replies,
// failover between nameservers and answers from the cache once the server is gone.

import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import DNS

@Suite struct DNSResolverTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func resolver(_ server: ZoneServer, timeout: Duration = .seconds(2), attempts: Int = 2, cacheSize: Int = 100) -> DNSResolver {
        DNSResolver(configuration: server.configuration(timeout: timeout, attempts: attempts, cacheSize: cacheSize), eventLoopGroup: group)
    }

    /// Runs `body` and returns the DNSError it throws, or records an issue.
    func error<T>(_ body: () async throws(DNSError) -> T) async -> DNSError? {
        do {
            let value = try await body()
            Issue.record("expected an error, got \(value)")
            return nil
        } catch {
            return error
        }
    }

    @Test func resolvesAddresses() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let dns = resolver(server)
        let both = try await dns.addresses("mx1.example.test")
        #expect(both.ipv4 == [IPv4Address("192.0.2.1")!])
        #expect(both.ipv6 == [IPv6Address("2001:db8::1")!])
        #expect(both.partialFailure == nil)
        let v4only = try await dns.addresses("V4ONLY.example.test.")
        #expect(v4only.ipv4 == [IPv4Address("192.0.2.4")!])
        #expect(v4only.ipv6.isEmpty)
        #expect(try await dns.ipv6Addresses("mx3.example.test") == [IPv6Address("2001:db8::3")!])
        let answer = try await dns.query("mx1.example.test", .a)
        #expect(answer.ttl > 290 && answer.ttl <= 300)  // from the cache, filled by addresses()
        #expect(answer.isAuthoritative)
        #expect(answer.records.first?.name == "mx1.example.test")
    }

    @Test func sortsMXByPreference() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let mx = try await resolver(server).mx("example.test")
        #expect(mx.map(\.preference) == [10, 20, 30])
        #expect(mx.map(\.exchange) == ["mx1.example.test", "mx2.example.test", "mx3.example.test"])
        #expect(!mx.contains { $0.isNullMX })
    }

    @Test func seesANullMX() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let mx = try await resolver(server).mx("nullmx.example.test")
        #expect(mx.count == 1)
        #expect(mx.first?.isNullMX == true)
        #expect(mx.first?.exchange.description == ".")
    }

    @Test func keepsTXTStringsApartAndJoinsThem() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let dns = resolver(server)
        let answer = try await dns.query("multi.example.test", .txt)
        guard case .txt(let txt) = answer.records.first?.data else { Issue.record("no TXT"); return }
        #expect(txt.strings.map { String(decoding: $0, as: UTF8.self) } == ["v=DKIM1; k=rsa; ", "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"])
        #expect(try await dns.txt("multi.example.test") == ["v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"])
        #expect(try await dns.txt("example.test") == ["v=spf1 ip4:192.0.2.0/24 -all"])
    }

    @Test func resolvesPTR() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let dns = resolver(server)
        #expect(try await dns.ptr("192.0.2.1") == ["mx1.example.test"])
        #expect(try await dns.ptr("2001:db8::1") == ["mx1.example.test"])
        #expect(await error { () async throws(DNSError) in try await dns.ptr("192.0.2.2") } == .nameNotFound)
        #expect(await error { () async throws(DNSError) in try await dns.ptr("not an address") } == .invalidAddress("not an address"))
    }

    @Test func followsCNAMEChains() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let dns = resolver(server)
        let answer = try await dns.query("www.example.test", .a)
        #expect(answer.records.map(\.data) == [.a(IPv4Address("192.0.2.1")!)])
        #expect(answer.aliases.count == 2)
        #expect(answer.canonicalName == "mx1.example.test")
        #expect(try await dns.cname("www.example.test") == "alias.example.test")
        #expect(try await dns.cname("mx1.example.test") == nil)
        #expect(await error { () async throws(DNSError) in try await dns.query("dangling.example.test", .a) } == .nameNotFound)
        #expect(await error { () async throws(DNSError) in try await dns.query("loop1.example.test", .a) } == .temporary(.cnameChain))
    }

    @Test func tellsNXDOMAINFromNODATA() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let dns = resolver(server)
        #expect(await error { () async throws(DNSError) in try await dns.query("nope.example.test", .a) } == .nameNotFound)
        #expect(await error { () async throws(DNSError) in try await dns.mx("nope.example.test") } == .nameNotFound)
        #expect(await error { () async throws(DNSError) in try await dns.addresses("nope.example.test") } == .nameNotFound)
        let noData = try await dns.query("example.test", .a)
        #expect(noData.isNoData)
        #expect(noData.ttl == 60)
        #expect(noData.authority.first?.type == .soa)
        #expect(try await dns.mx("mx1.example.test").isEmpty)
        #expect(try await dns.txt("mx1.example.test").isEmpty)
        #expect(try await dns.addresses("example.test").isEmpty)
    }

    @Test func fallsBackToTCPOnTruncation() async throws {
        let server = try await ZoneServer.start(options: ["--truncate", "tc.example.test"])
        defer { server.stop() }
        let dns = resolver(server)
        let answer = try await dns.query("tc.example.test", .a)
        #expect(answer.records.map(\.data) == [.a(IPv4Address("192.0.2.8")!)])
        #expect(try await server.queries(for: "tc.example.test", over: "udp") == 1)
        #expect(try await server.queries(for: "tc.example.test", over: "tcp") == 1)
    }

    @Test func fetchesALargeTXTOverTCP() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let answer = try await resolver(server).query("big.example.test", .txt)
        guard case .txt(let txt) = answer.records.first?.data else { Issue.record("no TXT"); return }
        #expect(txt.strings.count == 10)
        #expect(txt.strings.allSatisfy { $0.count == 200 })
        #expect(try await server.queries(for: "big.example.test", over: "udp") == 1)
        #expect(try await server.queries(for: "big.example.test", over: "tcp") == 1)
    }

    @Test func timesOutAfterTheConfiguredAttempts() async throws {
        let server = try await ZoneServer.start(options: ["--drop", "slow.example.test"])
        defer { server.stop() }
        let dns = resolver(server, timeout: .milliseconds(300), attempts: 3)
        let started = ContinuousClock.now
        #expect(await error { () async throws(DNSError) in try await dns.query("slow.example.test", .a) } == .temporary(.timeout))
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(850))
        #expect(elapsed < .seconds(60), "bounded (loosely: a loaded machine delays tasks)")
        let asked = try await server.queries(for: "slow.example.test", over: "udp", reaching: 3)
        #expect(asked == 3)
        // Timeouts are not cached: the server is asked again.
        _ = await error { () async throws(DNSError) in try await dns.query("slow.example.test", .a) }
        let askedAgain = try await server.queries(for: "slow.example.test", over: "udp", reaching: 6)
        #expect(askedAgain == 6)
    }

    @Test func waitsForASlowAnswerWithinTheTimeout() async throws {
        let server = try await ZoneServer.start(options: ["--delay", "late.example.test=0.4"])
        defer { server.stop() }
        let answer = try await resolver(server, timeout: .seconds(3)).query("late.example.test", .a)
        #expect(answer.records.map(\.data) == [.a(IPv4Address("192.0.2.10")!)])
    }

    @Test func serverFailureIsTemporary() async throws {
        let server = try await ZoneServer.start(options: ["--servfail", "broken.example.test", "--refuse", "refused.example.test"])
        defer { server.stop() }
        let dns = resolver(server)
        let failure = await error { () async throws(DNSError) in try await dns.query("broken.example.test", .a) }
        #expect(failure == .temporary(.serverFailure))
        #expect(failure?.isTemporary == true)
        #expect(try await server.queries(for: "broken.example.test", over: "udp") == 2)
        #expect(await error { () async throws(DNSError) in try await dns.query("refused.example.test", .a) } == .refused)
    }

    @Test func ignoresSpoofedReplies() async throws {
        // The server first sends a reply with a wrong id carrying 6.6.6.6, then one for another
        // question, then the real answer.
        let server = try await ZoneServer.start(options: ["--spoof", "spoofed.example.test"])
        defer { server.stop() }
        let answer = try await resolver(server).query("spoofed.example.test", .a)
        #expect(answer.records.map(\.data) == [.a(IPv4Address("192.0.2.7")!)])
    }

    @Test func reportsUndecodableReplies() async throws {
        let server = try await ZoneServer.start(options: ["--garbage", "garbage.example.test"])
        defer { server.stop() }
        let failure = await error { () async throws(DNSError) in
            try await resolver(server, timeout: .seconds(1), attempts: 1).query("garbage.example.test", .a)
        }
        guard case .malformed(.truncated) = failure else { Issue.record("got \(String(describing: failure))"); return }
    }

    @Test func answersFromTheCacheOnceTheServerIsGone() async throws {
        let server = try await ZoneServer.start()
        let dns = resolver(server, timeout: .milliseconds(300), attempts: 1)
        let first = try await dns.query("cached.example.test", .a)
        #expect(await error { () async throws(DNSError) in try await dns.query("nope.example.test", .a) } == .nameNotFound)
        try await server.stopAndWait()
        let again = try await dns.query("CACHED.example.test", .a)
        #expect(again.records.map(\.data) == first.records.map(\.data))
        #expect(again.ttl <= 300)
        #expect(await error { () async throws(DNSError) in try await dns.query("nope.example.test", .a) } == .nameNotFound)
        // Not in the cache: the dead server fails it, temporarily.
        let failure = await error { () async throws(DNSError) in try await dns.query("mx2.example.test", .a) }
        #expect(failure?.isTemporary == true)
        dns.flushCache()
        #expect(await error { () async throws(DNSError) in try await dns.query("cached.example.test", .a) }?.isTemporary == true)
    }

    @Test func cacheExpiresWithTheInjectedClock() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let clock = TestClock()
        let dns = DNSResolver(configuration: server.configuration(), eventLoopGroup: group, now: { clock.now })
        _ = try await dns.query("mx2.example.test", .a)
        _ = try await dns.query("mx2.example.test", .a)
        #expect(try await server.queries(for: "mx2.example.test", over: "udp") == 1)
        clock.advance(.seconds(299))
        #expect(try await dns.query("mx2.example.test", .a).ttl == 1)
        #expect(try await server.queries(for: "mx2.example.test", over: "udp") == 1)
        clock.advance(.seconds(1))
        #expect(try await dns.query("mx2.example.test", .a).ttl == 300)
        #expect(try await server.queries(for: "mx2.example.test", over: "udp") == 2)
    }

    @Test func movesOnToTheNextNameserver() async throws {
        let dead = try await ZoneServer.start()
        let deadAddress = dead.address
        try await dead.stopAndWait()
        let live = try await ZoneServer.start()
        defer { live.stop() }
        let configuration = DNSResolverConfiguration(nameservers: [deadAddress, live.address], timeout: .milliseconds(500), attempts: 1)
        let answer = try await DNSResolver(configuration: configuration, eventLoopGroup: group).query("mx1.example.test", .a)
        #expect(answer.records.count == 1)
        // Rotation spreads queries over both, and the live one answers each time.
        let rotating = DNSResolverConfiguration(nameservers: [deadAddress, live.address], timeout: .milliseconds(500), attempts: 1, rotate: true, cacheSize: 0)
        let dns = DNSResolver(configuration: rotating, eventLoopGroup: group)
        for _ in 0..<4 { _ = try await dns.query("mx2.example.test", .a) }
        #expect(try await live.queries(for: "mx2.example.test", over: "udp") == 4)
    }

    @Test func refusesInvalidNamesWithoutAsking() async throws {
        let dns = DNSResolver(configuration: DNSResolverConfiguration(nameservers: [try SocketAddress(ipAddress: "127.0.0.1", port: 9)]), eventLoopGroup: group)
        #expect(await error { () async throws(DNSError) in try await dns.query("a..b", .a) } == .invalidName(.emptyLabel))
        #expect(await error { () async throws(DNSError) in try await dns.mx("bücher.example") } == .invalidName(.invalidCharacter(0xC3)))
    }

    @Test func handlesManyQueriesAtOnce() async throws {
        let server = try await ZoneServer.start()
        defer { server.stop() }
        let dns = resolver(server, cacheSize: 0)
        let names = ["mx1", "mx2", "mx3", "v4only", "www", "tc", "cached", "late"]
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let name = names[i % names.count] + ".example.test"
                    return (try? await dns.addresses(name)).map { !$0.isEmpty } ?? false
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 64)
        #expect(results.allSatisfy { $0 })
    }
}

/// A clock the test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = ContinuousClock.now

    var now: ContinuousClock.Instant {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func advance(_ duration: Duration) {
        lock.lock()
        current += duration
        lock.unlock()
    }
}
