// DNSAnswer.swift — what a lookup found, and how a validated response becomes that (RFC 1034
// §3.6.2 and §5.3.3 for CNAME chains, RFC 2308 for negative answers and their TTL, RFC 6604 for
// the response code of a chain).
//
// The resolver asks a recursive server, which follows aliases itself and returns the whole chain
// in one answer. The chain is followed inside that answer only, from the name asked, one owner at
// a time, at most `DNSDefaults.maximumCNAMEChain` links, and only records owned by the chain's
// names are used: a record for some other name in the answer section (cache poisoning material,
// RFC 5452 §6) is ignored.

/// The outcome of a successful lookup: records of the type asked, or none (NODATA).
public struct DNSAnswer: Hashable, Sendable {
    /// The question as asked.
    public var question: DNSQuestion
    /// The records of the type asked, owned by `canonicalName`. Empty for NODATA.
    public var records: [DNSResourceRecord]
    /// The CNAME records followed from the name asked to `canonicalName`, in order.
    public var aliases: [DNSResourceRecord]
    /// Seconds the answer stays valid: the smallest TTL among `records` and `aliases` or, for
    /// NODATA, the negative TTL of RFC 2308 §5 (0 when the server sent no SOA). From the cache,
    /// what is left of it.
    public var ttl: UInt32
    /// The authority section (the SOA of a negative answer, NS records).
    public var authority: [DNSResourceRecord]
    /// AA: from a server authoritative for the name.
    public var isAuthoritative: Bool
    /// AD: the recursive server says it validated the answer with DNSSEC (trust it only from a
    /// resolver on a trusted path, RFC 4035 §4.9.3).
    public var authenticData: Bool

    public init(question: DNSQuestion, records: [DNSResourceRecord], aliases: [DNSResourceRecord] = [], ttl: UInt32,
                authority: [DNSResourceRecord] = [], isAuthoritative: Bool = false, authenticData: Bool = false) {
        self.question = question
        self.records = records
        self.aliases = aliases
        self.ttl = ttl
        self.authority = authority
        self.isAuthoritative = isAuthoritative
        self.authenticData = authenticData
    }

    /// The name the records belong to: the end of the CNAME chain, or the name asked.
    public var canonicalName: DNSName {
        if case .cname(let target) = aliases.last?.data { return target }
        return question.name
    }

    /// NODATA: the name exists but has no record of the type asked (RFC 2308 §2.2).
    public var isNoData: Bool { records.isEmpty }
}

/// Addresses of a host from its A and AAAA records (RFC 5321 §5.1).
public struct DNSAddresses: Hashable, Sendable {
    public var ipv4: [IPv4Address]
    public var ipv6: [IPv6Address]
    /// When one family's lookup failed temporarily while the other found addresses, that failure:
    /// the lists are then incomplete. Delivery can go on with what was found; a check that must
    /// see every address (an SPF `a` mechanism) should treat this as a temporary error.
    public var partialFailure: DNSError?

    public init(ipv4: [IPv4Address], ipv6: [IPv6Address], partialFailure: DNSError? = nil) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.partialFailure = partialFailure
    }

    /// Neither family has an address.
    public var isEmpty: Bool { ipv4.isEmpty && ipv6.isEmpty }
}

/// What a validated response means for the question asked.
enum DNSResolution: Hashable, Sendable {
    /// Records, or NODATA.
    case answer(DNSAnswer)
    /// NXDOMAIN, with the negative-caching TTL when the server gave an SOA.
    case nameNotFound(negativeTTL: UInt32?)
    /// This server gave no usable answer; another may.
    case failure(DNSError)

    /// Reads a response accepted by `DNSQuery.validate` for `question`.
    static func interpret(_ response: DNSMessage, for question: DNSQuestion) -> DNSResolution {
        switch response.responseCode {
        case .noError, .nameError:
            break
        case .serverFailure:
            return .failure(.temporary(.serverFailure))
        case .refused:
            return .failure(.refused)
        default:
            return .failure(.temporary(.responseCode(response.responseCode)))
        }

        // Follow the chain from the name asked (not for a CNAME question: the alias is the answer).
        var aliases: [DNSResourceRecord] = []
        var current = question.name
        if question.type != .cname {
            var visited: Set<DNSName> = [current]
            while let link = response.answers.first(where: { $0.type == .cname && $0.recordClass == question.questionClass && $0.name == current }),
                  case .cname(let target) = link.data {
                guard aliases.count < DNSDefaults.maximumCNAMEChain, visited.insert(target).inserted else {
                    return .failure(.temporary(.cnameChain))
                }
                aliases.append(link)
                current = target
            }
        }
        let records = response.answers.filter {
            $0.type == question.type && $0.recordClass == question.questionClass && $0.name == current
        }
        let chainTTL = aliases.map { effectiveTTL($0.ttl) }.min()
        let negativeTTL = negativeCachingTTL(response.authority)

        if response.responseCode == .nameError {
            // RFC 6604 §3: the code speaks of the last name of the chain; the name asked is an
            // alias to nothing, which for mail is the same as not existing.
            return .nameNotFound(negativeTTL: negativeTTL.map { min($0, chainTTL ?? $0) })
        }
        let ttl: UInt32
        if records.isEmpty {
            ttl = min(negativeTTL ?? 0, chainTTL ?? .max)
        } else {
            ttl = min(records.map { effectiveTTL($0.ttl) }.min()!, chainTTL ?? .max)
        }
        return .answer(DNSAnswer(
            question: question, records: records, aliases: aliases, ttl: ttl, authority: response.authority,
            isAuthoritative: response.header.isAuthoritative, authenticData: response.header.authenticData))
    }

    /// RFC 2181 §8: a TTL with the top bit set is read as zero.
    static func effectiveTTL(_ ttl: UInt32) -> UInt32 {
        ttl > UInt32(Int32.max) ? 0 : ttl
    }

    /// RFC 2308 §5: the smaller of the SOA record's own TTL and its MINIMUM field; `nil` without an
    /// SOA in the authority section (such an answer is not cached).
    static func negativeCachingTTL(_ authority: [DNSResourceRecord]) -> UInt32? {
        for record in authority {
            if case .soa(let soa) = record.data {
                return min(effectiveTTL(record.ttl), effectiveTTL(soa.minimum))
            }
        }
        return nil
    }
}
