// DNSResolver.swift — the stub resolver (RFC 1034 §5.3.1): asks the configured recursive
// nameservers, caches what they say, and answers with typed results.
//
// One lookup: the cache first; then for each attempt, each nameserver in turn (starting at the
// next one each query with `rotate`): a UDP query with a fresh random id on a fresh socket; on a
// truncated reply the same question again over TCP to the same server (RFC 7766 §5); SERVFAIL,
// REFUSED, other error codes, timeouts, network errors and undecodable replies move on to the
// next server. NOERROR and NXDOMAIN end the lookup. If every try fails, the error of the last try
// is thrown (all of them are temporary).
//
// Not done (yet): 0x20 case randomisation of query names, EDNS fallback for servers that answer
// FORMERR to an OPT record, coalescing of identical lookups in flight, DNSSEC validation.

import NIOConcurrencyHelpers
public import NIOCore

/// A DNS stub resolver over UDP and TCP. Safe to share: every method may be called from any task.
public final class DNSResolver: Sendable {
    /// The configuration it was made with.
    public let configuration: DNSResolverConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let cache: NIOLockedValueBox<DNSCache>
    private let rotation = NIOLockedValueBox(0)
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameters:
    ///   - configuration: nameservers, timeout, attempts, cache size.
    ///   - eventLoopGroup: where the sockets live (the node's group).
    ///   - now: the clock the cache reads; tests inject their own.
    public init(configuration: DNSResolverConfiguration, eventLoopGroup: any EventLoopGroup,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.cache = NIOLockedValueBox(DNSCache(capacity: configuration.cacheSize))
        self.now = now
    }

    // MARK: Lookups

    /// Records of `type` for `name` (a fully qualified name: no search list is applied).
    ///
    /// Returns the records, following CNAMEs inside the answer, or an empty answer (NODATA: the name
    /// exists without records of this type). Throws `.nameNotFound` for NXDOMAIN, `.invalidName`
    /// for a name that is not a domain name, and a temporary error (`isTemporary`) otherwise.
    public func query(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSAnswer {
        try await query(try Self.name(name), type)
    }

    /// Records of `type` for `name`; see `query(_:_:)` with a string.
    public func query(_ name: DNSName, _ type: DNSRecordType) async throws(DNSError) -> DNSAnswer {
        let question = DNSQuestion(name: name, type: type)
        let cached = cache.withLockedValue { $0.lookup(question, now: now()) }
        switch cached {
        case .answer(let answer): return answer
        case .nameNotFound: throw .nameNotFound
        case nil: break
        }
        switch try await resolve(question) {
        case .answer(let answer):
            cache.withLockedValue { $0.store(answer, now: now()) }
            return answer
        case .nameNotFound(let negativeTTL):
            cache.withLockedValue { $0.storeNameNotFound(question, negativeTTL: negativeTTL, now: now()) }
            throw .nameNotFound
        case .failure(let error):
            throw error
        }
    }

    /// The mail exchangers of `domain`, by preference, lowest first (equal preferences keep the
    /// server's order: shuffling them, RFC 5321 §5.1, is the delivery agent's choice). Empty when
    /// the domain has no MX (deliver to its addresses). A null MX (RFC 7505) is a single record
    /// with `isNullMX`.
    public func mx(_ domain: String) async throws(DNSError) -> [MXRecord] {
        try await mx(try Self.name(domain))
    }

    public func mx(_ domain: DNSName) async throws(DNSError) -> [MXRecord] {
        let records = try await query(domain, .mx).records.compactMap { record -> MXRecord? in
            if case .mx(let mx) = record.data { return mx }
            return nil
        }
        return records.enumerated().sorted { ($0.element.preference, $0.offset) < ($1.element.preference, $1.offset) }.map(\.element)
    }

    /// The A and AAAA records of `host`, asked in parallel. Throws `.nameNotFound` if the name does
    /// not exist; if one family fails temporarily and the other has addresses, returns those with
    /// `partialFailure` set; if both fail, throws.
    public func addresses(_ host: String) async throws(DNSError) -> DNSAddresses {
        try await addresses(try Self.name(host))
    }

    public func addresses(_ host: DNSName) async throws(DNSError) -> DNSAddresses {
        async let v4 = outcome(host, .a)
        async let v6 = outcome(host, .aaaa)
        let (a, aaaa) = await (v4, v6)
        if case .failure(.nameNotFound) = a { throw .nameNotFound }
        if case .failure(.nameNotFound) = aaaa { throw .nameNotFound }
        let ipv4 = (try? a.get()).map(Self.ipv4) ?? []
        let ipv6 = (try? aaaa.get()).map(Self.ipv6) ?? []
        switch (a, aaaa) {
        case (.success, .success):
            return DNSAddresses(ipv4: ipv4, ipv6: ipv6)
        case (.failure(let error), .success):
            if ipv6.isEmpty { throw error }
            return DNSAddresses(ipv4: [], ipv6: ipv6, partialFailure: error)
        case (.success, .failure(let error)):
            if ipv4.isEmpty { throw error }
            return DNSAddresses(ipv4: ipv4, ipv6: [], partialFailure: error)
        case (.failure(let error), .failure):
            throw error
        }
    }

    /// The IPv4 addresses of `host` (empty for NODATA).
    public func ipv4Addresses(_ host: String) async throws(DNSError) -> [IPv4Address] {
        Self.ipv4(try await query(host, .a))
    }

    /// The IPv6 addresses of `host` (empty for NODATA).
    public func ipv6Addresses(_ host: String) async throws(DNSError) -> [IPv6Address] {
        Self.ipv6(try await query(host, .aaaa))
    }

    /// The TXT records of `name`, each one's character-strings joined without separator (as SPF,
    /// RFC 7208 §3.3, and DKIM, RFC 6376 §3.6.2.2, read them). Empty when there are none.
    /// `query(_:.txt)` gives the strings apart.
    public func txt(_ name: String) async throws(DNSError) -> [String] {
        try await txt(try Self.name(name))
    }

    public func txt(_ name: DNSName) async throws(DNSError) -> [String] {
        try await query(name, .txt).records.compactMap { record in
            if case .txt(let txt) = record.data { return txt.text }
            return nil
        }
    }

    /// The names of an address (reverse lookup, RFC 1035 §3.5, RFC 3596 §2.5), given as text.
    /// A text that is not an IP address is `.invalidAddress`.
    public func ptr(_ address: String) async throws(DNSError) -> [DNSName] {
        if let v4 = IPv4Address(address) { return try await ptr(v4) }
        if let v6 = IPv6Address(address) { return try await ptr(v6) }
        throw .invalidAddress(address)
    }

    public func ptr(_ address: IPv4Address) async throws(DNSError) -> [DNSName] {
        Self.ptrNames(try await query(DNSName.reverse(address), .ptr))
    }

    public func ptr(_ address: IPv6Address) async throws(DNSError) -> [DNSName] {
        Self.ptrNames(try await query(DNSName.reverse(address), .ptr))
    }

    /// The target of `name`'s CNAME record, `nil` when it has none.
    public func cname(_ name: String) async throws(DNSError) -> DNSName? {
        let answer = try await query(name, .cname)
        for record in answer.records {
            if case .cname(let target) = record.data { return target }
        }
        return nil
    }

    /// Empties the cache.
    public func flushCache() {
        cache.withLockedValue { $0.removeAll() }
    }

    // MARK: The exchange

    private func resolve(_ question: DNSQuestion) async throws(DNSError) -> DNSResolution {
        let servers = configuration.nameservers
        guard !servers.isEmpty else { return .failure(.temporary(.noNameservers)) }
        let start = configuration.rotate ? rotation.withLockedValue { value in
            defer { value = (value + 1) % servers.count }
            return value % servers.count
        } : 0
        let timeout = TimeAmount.nanoseconds(Self.nanoseconds(configuration.timeout))
        var lastError = DNSError.temporary(.timeout)
        for _ in 0..<configuration.attempts {
            for index in 0..<servers.count {
                if Task.isCancelled { throw .temporary(.cancelled) }
                let server = servers[(start + index) % servers.count]
                do {
                    let response = try await exchange(question, with: server, timeout: timeout)
                    let resolution = DNSResolution.interpret(response, for: question)
                    if case .failure(let error) = resolution {
                        lastError = error
                        continue
                    }
                    return resolution
                } catch {
                    lastError = error
                }
            }
        }
        return .failure(lastError)
    }

    /// One question to one server: UDP, then TCP if the reply was truncated.
    private func exchange(_ question: DNSQuestion, with server: SocketAddress, timeout: TimeAmount) async throws(DNSError) -> DNSMessage {
        let eventLoop = eventLoopGroup.next()
        let payload = configuration.ednsPayloadSize
        let response = try await DNSTransport.udp(.random(question, ednsPayloadSize: payload), to: server, timeout: timeout, on: eventLoop)
        guard response.header.isTruncated else { return response }
        return try await DNSTransport.tcp(.random(question, ednsPayloadSize: payload), to: server, timeout: timeout, on: eventLoop)
    }

    private func outcome(_ name: DNSName, _ type: DNSRecordType) async -> Result<DNSAnswer, DNSError> {
        do {
            return .success(try await query(name, type))
        } catch {
            return .failure(error)
        }
    }

    // MARK: Helpers

    private static func name(_ text: String) throws(DNSError) -> DNSName {
        do {
            return try DNSName(text)
        } catch {
            throw .invalidName(error)
        }
    }

    private static func ipv4(_ answer: DNSAnswer) -> [IPv4Address] {
        answer.records.compactMap { if case .a(let address) = $0.data { return address } else { return nil } }
    }

    private static func ipv6(_ answer: DNSAnswer) -> [IPv6Address] {
        answer.records.compactMap { if case .aaaa(let address) = $0.data { return address } else { return nil } }
    }

    private static func ptrNames(_ answer: DNSAnswer) -> [DNSName] {
        answer.records.compactMap { if case .ptr(let name) = $0.data { return name } else { return nil } }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : .max }
        return max(0, scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue)
    }
}
