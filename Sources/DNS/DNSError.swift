// DNSError.swift — why a lookup gave no answer, split the way mail needs it: a permanent "this name
// does not exist" (NXDOMAIN: bounce, SPF void lookup, not on a blocklist) against a temporary
// "could not find out" (timeout, SERVFAIL, refused, garbage: defer and try later, RFC 5321 §4.5.4.1,
// RFC 7208 §5 "temperror").
//
// NODATA (the name exists but has no record of the type asked) is not an error: it is a
// `DNSAnswer` with no records (`isNoData`). For mail routing it is the normal "no MX, deliver to
// the address records" case (RFC 5321 §5.1), for TXT "no policy published"; SPF counts it as a
// void lookup like NXDOMAIN (RFC 7208 §4.6.4).

/// Why a lookup failed.
public enum DNSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The name asked for is not a valid domain name. Permanent: no server was asked.
    case invalidName(DNSNameError)
    /// A reverse lookup of text that is not an IPv4 or IPv6 address. Permanent.
    case invalidAddress(String)
    /// NXDOMAIN (RCODE 3): the name does not exist (after any CNAME chain, RFC 6604 §3), nor any
    /// name below it (RFC 8020). Permanent.
    case nameNotFound
    /// Every nameserver asked answered REFUSED (RCODE 5): usually a resolver that does not serve
    /// this host. Temporary for the mail it concerns, an operator problem for the node.
    case refused
    /// A nameserver's reply could not be decoded (over TCP, or the only replies to a UDP query
    /// before the timeout). Temporary.
    case malformed(DNSParseError)
    /// No usable answer now: try again later.
    case temporary(DNSTemporaryFailure)

    /// Whether asking again later may give a different outcome.
    public var isTemporary: Bool {
        switch self {
        case .invalidName, .invalidAddress, .nameNotFound: return false
        case .refused, .malformed, .temporary: return true
        }
    }

    public var description: String {
        switch self {
        case .invalidName(let error): return "invalid name: \(error)"
        case .invalidAddress(let text): return "not an IP address: \(text)"
        case .nameNotFound: return "name not found (NXDOMAIN)"
        case .refused: return "query refused by the nameservers"
        case .malformed(let error): return "malformed reply: \(error)"
        case .temporary(let failure): return "temporary failure: \(failure)"
        }
    }
}

/// Why no usable answer could be had now.
public enum DNSTemporaryFailure: Hashable, Sendable, CustomStringConvertible {
    /// No reply within the timeout, after every attempt at every nameserver.
    case timeout
    /// SERVFAIL (RCODE 2): the recursive server could not resolve the name (often a broken or
    /// unreachable authoritative server, or a DNSSEC validation failure).
    case serverFailure
    /// Another response code than NOERROR, NXDOMAIN, SERVFAIL or REFUSED (FORMERR, NOTIMP, BADVERS…).
    case responseCode(DNSResponseCode)
    /// A socket error (connection refused, network unreachable…), with the system's text.
    case network(String)
    /// A reply over TCP that did not answer the query sent on that connection.
    case mismatchedResponse(DNSResponseMismatch)
    /// A CNAME chain longer than `DNSDefaults.maximumCNAMEChain`, or one that loops.
    case cnameChain
    /// The configuration names no nameserver.
    case noNameservers
    /// The task doing the lookup was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .timeout: return "timed out"
        case .serverFailure: return "server failure (SERVFAIL)"
        case .responseCode(let code): return "response code \(code)"
        case .network(let text): return "network error: \(text)"
        case .mismatchedResponse(let mismatch): return "mismatched reply over TCP: \(mismatch)"
        case .cnameChain: return "CNAME chain too long or looping"
        case .noNameservers: return "no nameservers configured"
        case .cancelled: return "cancelled"
        }
    }
}
