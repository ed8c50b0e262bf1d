// DeliveryConfiguration.swift — how the queue manager delivers: routes, next hops, TLS, retries.
//
// Every key is documented in docs/configuration.md (`delivery:`). Defaults follow Postfix where it
// has an equivalent (minimal_backoff_time, maximal_backoff_time, maximal_queue_lifetime,
// smtp_*_timeout), so an administrator moving from Postfix finds the behaviour they know.

import GatehouseCore

/// TLS policy of a route towards its next hops (Postfix's `smtp_tls_security_level`).
public enum DeliveryTLSPolicy: String, Hashable, Sendable, CaseIterable {
    /// Never STARTTLS.
    case none
    /// STARTTLS when the next hop offers it, without checking its certificate; plaintext otherwise.
    case opportunistic
    /// STARTTLS or no delivery (defer); the certificate is not checked.
    case required
    /// STARTTLS with the certificate chain and the next hop's name verified, or no delivery.
    case verify
}

/// How a route finds its next hops.
public enum RouteKind: String, Hashable, Sendable, CaseIterable {
    /// The listed hosts, in priority order (failover), weighted among equal priorities.
    case hosts
    /// DNS MX records of the recipient domain (RFC 5321 §5.1), A/AAAA fallback, null MX bounces.
    case mx
    /// A relay host for mail that is not ours to deliver; like `hosts`, a name in brackets is
    /// looked up by A/AAAA only, a bare name by MX first (as Postfix's `relayhost`).
    case smarthost
    /// Local mailboxes (Maildir) under the data directory.
    case local
}

/// One next hop of a `hosts` or `smarthost` route.
public struct NextHopConfiguration: Hashable, Sendable {
    /// An IP address or host name; `[name]` means "no MX lookup".
    public var host: String
    public var port: Int
    /// Lower is tried first; equal priorities share load by `weight`.
    public var priority: Int
    public var weight: Int

    public init(host: String, port: Int, priority: Int, weight: Int = 1) {
        self.host = host
        self.port = port
        self.priority = priority
        self.weight = weight
    }
}

/// Credentials for AUTH towards a smarthost (RFC 4954); sent only over TLS.
public struct RouteCredentials: Hashable, Sendable {
    public var username: String
    public var password: String
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// A route: which domains, and how their mail leaves.
public struct RouteConfiguration: Hashable, Sendable {
    /// Exact domains, `.example.org` for every subdomain, `*` for every domain.
    public var domains: [String]
    public var kind: RouteKind
    public var hosts: [NextHopConfiguration]
    /// The port used for MX hosts.
    public var port: Int
    public var tls: DeliveryTLSPolicy
    /// PEM file of trust anchors for `tls: verify`; the system's store when nil.
    public var caFile: String?
    public var credentials: RouteCredentials?

    public init(domains: [String], kind: RouteKind, hosts: [NextHopConfiguration] = [], port: Int = 25,
                tls: DeliveryTLSPolicy = .opportunistic, caFile: String? = nil, credentials: RouteCredentials? = nil) {
        self.domains = domains
        self.kind = kind
        self.hosts = hosts
        self.port = port
        self.tls = tls
        self.caFile = caFile
        self.credentials = credentials
    }

    /// A route to one next hop, `host`, `host:port`, `[host]:port` or `[v6]:port` (the policy's
    /// `route` action); port 25 unless given. Nil when the text is not a next hop.
    public init?(nextHop text: String) {
        var host = Substring(text)
        var port = 25
        if let colon = text.lastIndex(of: ":"), !text[text.index(after: colon)...].contains("]"),
           text.filter({ $0 == ":" }).count == 1 || text.hasPrefix("[") {
            guard let p = Int(text[text.index(after: colon)...]), (1...65_535).contains(p) else { return nil }
            port = p
            host = text[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") && host.contains(":") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:[]_".contains($0) }) else { return nil }
        self.init(domains: ["*"], kind: .hosts, hosts: [NextHopConfiguration(host: String(host), port: port, priority: 0)])
    }

    /// Whether this route serves `domain` (lower case, no trailing dot).
    public func matches(_ domain: String) -> Bool {
        for pattern in domains {
            if pattern == "*" || pattern == domain { return true }
            if pattern.hasPrefix("."), domain.hasSuffix(pattern) { return true }
        }
        return false
    }
}

/// SMTP client timeouts, in seconds (RFC 5321 §4.5.3.2).
public struct DeliveryTimeouts: Hashable, Sendable {
    public var connect = Defaults.Delivery.connectTimeout
    public var greeting = Defaults.Delivery.greetingTimeout
    public var helo = Defaults.Delivery.heloTimeout
    public var mail = Defaults.Delivery.mailTimeout
    public var rcpt = Defaults.Delivery.rcptTimeout
    public var data = Defaults.Delivery.dataInitiationTimeout
    public var dataBlock = Defaults.Delivery.dataBlockTimeout
    public var dataDone = Defaults.Delivery.dataTerminationTimeout
    public init() {}
}

/// Name servers for the stub resolver; from /etc/resolv.conf when `nameservers` is empty.
public struct DNSConfiguration: Hashable, Sendable {
    /// `address` or `address:port` (IPv6 as `[address]:port`).
    public var nameservers: [String] = []
    public var timeout = Defaults.Delivery.dnsTimeout
    public var attempts = Defaults.Delivery.dnsAttempts
    public init() {}
}

/// The `delivery:` section.
public struct DeliveryConfiguration: Hashable, Sendable {
    /// When true, accepted mail stays in the queue and nothing is delivered (maintenance windows,
    /// staged migrations); `gatehouse queue` still works. Setting it back to false resumes delivery.
    public var paused = false
    /// Deliveries in parallel over every destination.
    public var concurrency = Defaults.Delivery.concurrency
    /// Deliveries in parallel to one destination (a domain, or a route's hosts).
    public var destinationConcurrency = Defaults.Delivery.destinationConcurrency
    /// How long an idle connection waits for another message to the same destination; 0 = off.
    public var connectionCache = Defaults.Delivery.connectionCache
    /// Messages in the active set (read into memory) at most.
    public var activeLimit = Defaults.Delivery.activeLimit
    public var minimumBackoff = Defaults.Delivery.minimumBackoff
    public var maximumBackoff = Defaults.Delivery.maximumBackoff
    public var queueLifetime = Defaults.Delivery.queueLifetime
    /// After this long in the queue a delay notice goes to the sender once; 0 = never.
    public var delayWarning = Defaults.Delivery.delayWarning
    public var timeouts = DeliveryTimeouts()
    public var dns = DNSConfiguration()
    /// First match wins. When no route matches, the domain is looked up by MX.
    public var routes: [RouteConfiguration] = []

    public init() {}
}
