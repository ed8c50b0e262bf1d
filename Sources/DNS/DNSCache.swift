// DNSCache.swift — the answer cache (RFC 1035 §7.4, negative caching RFC 2308 §5).
//
// Pure: the time is passed in by the caller (`now:`), so expiry is tested without sleeping.
// Entries are keyed by question (name compared case-insensitively, type, class). Positive answers
// live for their TTL, capped at `DNSDefaults.maximumCacheTTL`; NXDOMAIN and NODATA live for the
// negative TTL of RFC 2308 §5 (min of the SOA's TTL and MINIMUM), capped at
// `DNSDefaults.maximumNegativeCacheTTL`, and are not cached without an SOA. A TTL of 0 is not
// cached. Temporary failures are never cached, so a SERVFAIL is asked again at once (RFC 2308 §7
// allows five minutes; the retry schedule of the mail queue already spaces the asking).
//
// NXDOMAIN is cached per question rather than for the name and every type (RFC 2308 §5 permits
// both); this keeps one key shape and costs at most one extra query per type.
//
// The number of entries is bounded: when full, expired entries are dropped, and if that is not
// enough a tenth of the entries closest to expiry go, so the cost of eviction is amortised.

/// A bounded cache of lookup outcomes, keyed by question.
public struct DNSCache: Sendable {
    /// A cached outcome.
    public enum Outcome: Hashable, Sendable {
        /// Records or NODATA; TTLs reduced by the time spent in the cache.
        case answer(DNSAnswer)
        /// NXDOMAIN.
        case nameNotFound
    }

    private struct Entry: Sendable {
        var outcome: Outcome
        var stored: ContinuousClock.Instant
        var expires: ContinuousClock.Instant
    }

    /// Most entries kept; 0 disables the cache.
    public let capacity: Int
    private var entries: [DNSQuestion: Entry] = [:]

    public init(capacity: Int = DNSDefaults.cacheEntries) {
        self.capacity = max(0, capacity)
    }

    /// Entries held, expired ones included until they are looked up or evicted.
    public var count: Int { entries.count }

    /// The cached outcome for `question` if it has not expired at `now`.
    public mutating func lookup(_ question: DNSQuestion, now: ContinuousClock.Instant) -> Outcome? {
        guard let entry = entries[question] else { return nil }
        guard now < entry.expires else {
            entries[question] = nil
            return nil
        }
        switch entry.outcome {
        case .nameNotFound:
            return .nameNotFound
        case .answer(var answer):
            let elapsed = Self.wholeSeconds(now - entry.stored)
            func age(_ ttl: UInt32) -> UInt32 { ttl > elapsed ? ttl - elapsed : 0 }
            answer.question = question  // as asked this time, in its case
            answer.ttl = Self.wholeSeconds(entry.expires - now)
            answer.records = answer.records.map { var r = $0; r.ttl = age(DNSResolution.effectiveTTL(r.ttl)); return r }
            answer.aliases = answer.aliases.map { var r = $0; r.ttl = age(DNSResolution.effectiveTTL(r.ttl)); return r }
            return .answer(answer)
        }
    }

    /// Stores an answer for its TTL (NODATA: its negative TTL), within the caps.
    public mutating func store(_ answer: DNSAnswer, now: ContinuousClock.Instant) {
        let cap = answer.isNoData ? DNSDefaults.maximumNegativeCacheTTL : DNSDefaults.maximumCacheTTL
        insert(answer.question, .answer(answer), ttl: min(answer.ttl, cap), now: now)
    }

    /// Stores an NXDOMAIN for its negative TTL, within the cap; without one (no SOA), nothing.
    public mutating func storeNameNotFound(_ question: DNSQuestion, negativeTTL: UInt32?, now: ContinuousClock.Instant) {
        guard let negativeTTL else { return }
        insert(question, .nameNotFound, ttl: min(negativeTTL, DNSDefaults.maximumNegativeCacheTTL), now: now)
    }

    /// Forgets everything.
    public mutating func removeAll() {
        entries.removeAll()
    }

    private mutating func insert(_ question: DNSQuestion, _ outcome: Outcome, ttl: UInt32, now: ContinuousClock.Instant) {
        guard capacity > 0, ttl > 0 else { return }
        if entries[question] == nil, entries.count >= capacity { evict(now: now) }
        entries[question] = Entry(outcome: outcome, stored: now, expires: now + .seconds(Int64(ttl)))
    }

    private mutating func evict(now: ContinuousClock.Instant) {
        entries = entries.filter { $0.value.expires > now }
        guard entries.count >= capacity else { return }
        let victims = entries.sorted { $0.value.expires < $1.value.expires }.prefix(capacity / 10 + 1)
        for (question, _) in victims { entries[question] = nil }
    }

    private static func wholeSeconds(_ duration: Duration) -> UInt32 {
        let seconds = duration.components.seconds
        return seconds <= 0 ? 0 : UInt32(clamping: seconds)
    }
}
