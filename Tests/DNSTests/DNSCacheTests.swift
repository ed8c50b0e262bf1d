// DNSCacheTests.swift — the answer cache with an injected clock: TTL expiry, caps, negative
// caching (RFC 2308), case-insensitive keys, and bounded size.

import Testing
@testable import DNS

@Suite struct DNSCacheTests {
    let start = ContinuousClock.now
    let question = DNSQuestion(name: "mx1.example.test", type: .a)

    func answer(ttl: UInt32, records: Int = 1, for question: DNSQuestion? = nil) -> DNSAnswer {
        let question = question ?? self.question
        let list = (0..<records).map { DNSResourceRecord(name: question.name, ttl: ttl, data: .a(IPv4Address(UInt32($0)))) }
        return DNSAnswer(question: question, records: list, ttl: ttl)
    }

    @Test func answersUntilTheTTLRunsOut() {
        var cache = DNSCache(capacity: 10)
        cache.store(answer(ttl: 300), now: start)
        guard case .answer(let hit) = cache.lookup(question, now: start + .seconds(100)) else { Issue.record("miss"); return }
        #expect(hit.ttl == 200)
        #expect(hit.records[0].ttl == 200)
        #expect(cache.lookup(question, now: start + .milliseconds(299_999)) != nil)
        #expect(cache.lookup(question, now: start + .seconds(300)) == nil)
        #expect(cache.count == 0)  // the expired entry went on lookup
    }

    @Test func keysIgnoreCaseAndSeparateTypes() {
        var cache = DNSCache(capacity: 10)
        cache.store(answer(ttl: 300), now: start)
        guard case .answer(let hit) = cache.lookup(DNSQuestion(name: "MX1.EXAMPLE.test", type: .a), now: start) else { Issue.record("miss"); return }
        #expect(hit.question.name.description == "MX1.EXAMPLE.test")
        #expect(cache.lookup(DNSQuestion(name: "mx1.example.test", type: .aaaa), now: start) == nil)
    }

    @Test func capsLongTTLs() {
        var cache = DNSCache(capacity: 10)
        cache.store(answer(ttl: 7 * 86_400), now: start)
        #expect(cache.lookup(question, now: start + .seconds(86_399)) != nil)
        #expect(cache.lookup(question, now: start + .seconds(86_400)) == nil)
    }

    @Test func doesNotCacheZeroTTLs() {
        var cache = DNSCache(capacity: 10)
        cache.store(answer(ttl: 0), now: start)
        #expect(cache.lookup(question, now: start) == nil)
        #expect(cache.count == 0)
    }

    @Test func cachesNegativeAnswersForTheirSOATTL() {
        var cache = DNSCache(capacity: 10)
        cache.storeNameNotFound(question, negativeTTL: 60, now: start)
        #expect(cache.lookup(question, now: start + .seconds(59)) == .nameNotFound)
        #expect(cache.lookup(question, now: start + .seconds(60)) == nil)
        // NODATA.
        cache.store(answer(ttl: 60, records: 0), now: start)
        guard case .answer(let noData) = cache.lookup(question, now: start + .seconds(10)) else { Issue.record("miss"); return }
        #expect(noData.isNoData)
        #expect(noData.ttl == 50)
        // Capped at an hour, and not cached without an SOA.
        cache.storeNameNotFound(question, negativeTTL: 86_400, now: start)
        #expect(cache.lookup(question, now: start + .seconds(3_599)) == .nameNotFound)
        #expect(cache.lookup(question, now: start + .seconds(3_600)) == nil)
        cache.storeNameNotFound(question, negativeTTL: nil, now: start)
        #expect(cache.lookup(question, now: start) == nil)
    }

    @Test func staysWithinItsCapacity() throws {
        var cache = DNSCache(capacity: 100)
        for i in 0..<1_000 {
            let q = DNSQuestion(name: try parse("h\(i).example.test"), type: .a)
            cache.store(answer(ttl: UInt32(1_000 + i), for: q), now: start)
            #expect(cache.count <= 100)
        }
        // The newest, longest-lived entries survive; the ones closest to expiry went first.
        #expect(cache.lookup(DNSQuestion(name: "h999.example.test", type: .a), now: start) != nil)
        #expect(cache.lookup(DNSQuestion(name: "h0.example.test", type: .a), now: start) == nil)
    }

    @Test func dropsExpiredEntriesFirstWhenFull() throws {
        var cache = DNSCache(capacity: 3)
        cache.store(answer(ttl: 10, for: DNSQuestion(name: "a.test", type: .a)), now: start)
        cache.store(answer(ttl: 1_000, for: DNSQuestion(name: "b.test", type: .a)), now: start)
        cache.store(answer(ttl: 1_000, for: DNSQuestion(name: "c.test", type: .a)), now: start)
        cache.store(answer(ttl: 1_000, for: DNSQuestion(name: "d.test", type: .a)), now: start + .seconds(20))
        #expect(cache.count == 3)
        for name in ["b.test", "c.test", "d.test"] {
            #expect(cache.lookup(DNSQuestion(name: try DNSName(name), type: .a), now: start + .seconds(20)) != nil)
        }
    }

    @Test func capacityZeroDisablesIt() {
        var cache = DNSCache(capacity: 0)
        cache.store(answer(ttl: 300), now: start)
        #expect(cache.lookup(question, now: start) == nil)
    }
}
