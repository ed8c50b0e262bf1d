// DNSDefaults.swift — every limit and default of the DNS stub resolver, in one place.
//
// Each limit is enforced where the data arrives and surfaces as a typed error (`DNSParseError`,
// `DNSError`), never as unbounded growth or unbounded work. The doc comment of each says what
// attack or accident it stops.

/// The built-in limits and defaults of the DNS stub resolver.
public enum DNSDefaults {
    // MARK: Names (RFC 1035 §2.3.4, §3.1)

    /// Longest label, in octets (RFC 1035 §2.3.4: 63). The wire format cannot express more: the two
    /// top bits of a length octet mark a compression pointer.
    public static let maximumLabelLength = 63
    /// Longest name in wire form, length octets and the root label included (RFC 1035 §2.3.4: 255).
    /// Stops a name from growing without bound through compression pointers.
    public static let maximumNameLength = 255

    // MARK: Messages (RFC 1035 §4, RFC 6891, RFC 7766)

    /// Largest message accepted or produced. 65535 is what the two-octet length prefix of DNS over
    /// TCP can express (RFC 1035 §4.2.2); over UDP a datagram is read into a buffer this big at most.
    public static let maximumMessageSize = 65_535
    /// Most resource records in one message, all sections together. A full 64 KiB TCP response holds
    /// about 6000 minimal records; real answers hold a few dozen. Stops a small message that claims
    /// (or a large one that holds) enough tiny records to make parsing and caching expensive.
    public static let maximumRecords = 1_000
    /// Most questions in one message. Every real query carries exactly one (RFC 9619).
    public static let maximumQuestions = 4
    /// Most compression pointers followed while reading one name. Pointers must also point strictly
    /// backwards (`DNSParseError.forwardPointer`, `.pointerLoop`), so loops are impossible; this bounds
    /// the work of a chain of pointers to pointers, which a legitimate name never needs (a name has at
    /// most 127 labels and a compressor uses at most one pointer per name).
    public static let maximumCompressionPointers = 64
    /// The EDNS(0) UDP payload size advertised in queries (RFC 6891 §6.2.5). 1232 octets is the
    /// value agreed at DNS Flag Day 2020: it fits the IPv6 minimum MTU (1280) less headers, so
    /// answers avoid IP fragmentation (and the off-path fragment-injection attacks that come with it).
    /// Larger answers come back truncated and are fetched again over TCP.
    public static let ednsPayloadSize: UInt16 = 1232
    /// Size of the receive buffer for UDP replies. Larger than `ednsPayloadSize` because a server may
    /// ignore what we advertised; a datagram larger than this is cut by the kernel and fails to parse.
    public static let udpReceiveBufferSize = 4096

    // MARK: Resolution

    /// Seconds to wait for one reply from one nameserver (glibc's RES_TIMEOUT; resolv.conf
    /// `options timeout:`).
    public static let timeoutSeconds = 5
    /// Rounds over the nameserver list (glibc's RES_DFLRETRY; resolv.conf `options attempts:`).
    public static let attempts = 2
    /// Largest `options timeout:` taken from resolv.conf (glibc's RES_MAXRETRANS).
    public static let maximumTimeoutSeconds = 30
    /// Largest `options attempts:` taken from resolv.conf (glibc's RES_MAXRETRY).
    public static let maximumAttempts = 5
    /// Most nameservers taken from resolv.conf; later `nameserver` lines are ignored (glibc's MAXNS).
    public static let maximumNameservers = 3
    /// The port nameservers listen on (RFC 1035 §4.2).
    public static let port = 53
    /// Where the resolver asks when neither the configuration nor resolv.conf names a nameserver
    /// (what glibc does too).
    public static let fallbackNameserver = "127.0.0.1"
    /// Most CNAME records followed inside one answer (RFC 1034 §3.6.2). Stops CNAME loops and
    /// pathological chains; a longer chain is a temporary failure, as a recursive server reports it.
    public static let maximumCNAMEChain = 8
    /// Longest resolv.conf read, in octets. The file is local and trusted, but a wrong path (a device
    /// or a huge file) must not exhaust memory.
    public static let maximumResolvConfSize = 64 * 1024

    // MARK: Cache (RFC 1035 §7.4, RFC 2308)

    /// Most entries in the answer cache. When full, expired entries go first, then the ones closest
    /// to expiry. Stops a flood of distinct names (DNSBL lookups of every client address) from
    /// growing memory without bound.
    public static let cacheEntries = 10_000
    /// Longest time an answer is cached, whatever its TTL (RFC 8767 §4 suggests 7 days as a cap;
    /// a day keeps mail routing responsive to changes that forgot to lower the TTL).
    public static let maximumCacheTTL: UInt32 = 86_400
    /// Longest time a negative answer (NXDOMAIN, NODATA) is cached (RFC 2308 §5 recommends 1 to 3
    /// hours at most). Stops one bad answer from black-holing a domain for long.
    public static let maximumNegativeCacheTTL: UInt32 = 3_600
}
