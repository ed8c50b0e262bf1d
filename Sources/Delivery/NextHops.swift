// NextHops.swift — where a route sends mail: the ordered list of addresses to try.
//
// MX routes follow RFC 5321 §5.1: MX records in preference order, equal preferences shuffled, the
// domain's own A/AAAA records when it has no MX ("implicit MX"); a null MX (RFC 7505) or a domain
// that does not exist is a permanent failure; a DNS failure is temporary. Host lists are tried in
// priority order, equal priorities shared by weight (as SRV records are, RFC 2782).

public import Configuration
public import GatehouseCore
public import NIOCore

/// The DNS answers the router needs. The production implementation is the DNS stub resolver.
public protocol DeliveryResolver: Sendable {
    func mailExchangers(_ domain: String) async -> MXLookup
    func addresses(_ host: String) async -> AddressLookup
}

public enum MXLookup: Sendable, Equatable {
    /// (preference, exchange) pairs, in any order.
    case exchangers([(preference: Int, host: String)])
    /// The domain exists but has no MX record: its own addresses are the exchanger.
    case none
    /// `0 .` (RFC 7505): the domain accepts no mail.
    case nullMX
    case nameNotFound
    case temporary(String)

    public static func == (a: MXLookup, b: MXLookup) -> Bool {
        switch (a, b) {
        case (.exchangers(let x), .exchangers(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.preference == $1.preference && $0.host == $1.host }
        case (.none, .none), (.nullMX, .nullMX), (.nameNotFound, .nameNotFound): return true
        case (.temporary(let x), .temporary(let y)): return x == y
        default: return false
        }
    }
}

public enum AddressLookup: Sendable, Equatable {
    /// IPv4 and IPv6 addresses as text.
    case addresses([String])
    case nameNotFound
    case temporary(String)
}

/// One address to try.
public struct NextHop: Hashable, Sendable, CustomStringConvertible {
    /// The name the hop is known by (MX name or configured host), for logs and certificate checks.
    public var name: String
    public var address: String
    public var port: Int

    public var description: String {
        "\(name)[\(address)]:\(port)"
    }

    public func socketAddress() throws -> SocketAddress {
        try SocketAddress(ipAddress: address, port: port)
    }
}

/// The result of planning a delivery.
public enum NextHopPlan: Sendable, Equatable {
    case hops([NextHop])
    /// Nothing to try now (DNS failure): defer with this reason.
    case temporary(RecipientOutcome)
    /// Never deliverable (no such domain, null MX): bounce with this reason.
    case permanent(RecipientOutcome)
}

public struct NextHopPlanner: Sendable {
    let resolver: any DeliveryResolver
    var addressLimit = Defaults.Delivery.addressesPerAttempt

    public init(resolver: any DeliveryResolver, addressLimit: Int = Defaults.Delivery.addressesPerAttempt) {
        self.resolver = resolver
        self.addressLimit = addressLimit
    }

    /// The hops to try for `domain` on `route` (which is not `local`).
    nonisolated(nonsending) public func plan(route: RouteConfiguration, domain: String) async -> NextHopPlan {
        var names: [(name: String, port: Int, lookupMX: Bool)] = []
        switch route.kind {
        case .local:
            return .permanent(.failed(EnhancedStatusCode(5, 3, 5), "local route has no next hops"))
        case .mx:
            switch await exchangers(domain) {
            case .success(let hosts): names = hosts.map { ($0, route.port, false) }
            case .failure(let outcome): return outcome.kind == .failed ? .permanent(outcome) : .temporary(outcome)
            }
        case .hosts, .smarthost:
            for hop in NextHopPlanner.order(route.hosts) {
                let bracketed = hop.host.hasPrefix("[")
                let name = bracketed ? String(hop.host.dropFirst().dropLast()) : hop.host
                names.append((name, hop.port, route.kind == .smarthost && !bracketed && IPAddress(parsing: name) == nil))
            }
        }
        var hops: [NextHop] = []
        var lastProblem: RecipientOutcome?
        for entry in names where hops.count < addressLimit {
            var hostNames = [entry.name]
            if entry.lookupMX {
                switch await exchangers(entry.name) {
                case .success(let hosts): hostNames = hosts
                case .failure(let outcome):
                    // A relay that cannot be found is our configuration problem, not the recipient's: defer.
                    lastProblem = .deferred(EnhancedStatusCode(4, 3, 5), outcome.diagnostic)
                    continue
                }
            }
            for host in hostNames where hops.count < addressLimit {
                if IPAddress(parsing: host) != nil {
                    hops.append(NextHop(name: host, address: host, port: entry.port))
                    continue
                }
                switch await resolver.addresses(host) {
                case .addresses(let list):
                    for address in list.prefix(addressLimit - hops.count) {
                        hops.append(NextHop(name: host, address: address, port: entry.port))
                    }
                    if list.isEmpty { lastProblem = .deferred(EnhancedStatusCode(4, 4, 4), "no address for host \(host)") }
                case .nameNotFound:
                    lastProblem = .deferred(EnhancedStatusCode(4, 4, 4), "Host or domain name not found. Name service error for name=\(host) type=A: Host not found")
                case .temporary(let why):
                    lastProblem = .deferred(EnhancedStatusCode(4, 4, 3), "Host or domain name not found. Name service error for name=\(host): \(why)")
                }
            }
        }
        if hops.isEmpty {
            if route.kind == .mx, names.count == 1, names[0].name == domain, case .permanent(let p)? = await implicitFailure(domain) {
                return .permanent(p)
            }
            return .temporary(lastProblem ?? .deferred(EnhancedStatusCode(4, 4, 4), "no next hop to try"))
        }
        return .hops(hops)
    }

    /// The domain's implicit MX had no address: a domain with neither MX nor A/AAAA cannot receive mail.
    nonisolated(nonsending) private func implicitFailure(_ domain: String) async -> NextHopPlan? {
        if case .nameNotFound = await resolver.addresses(domain) {
            return .permanent(.failed(EnhancedStatusCode(5, 1, 2), "Host or domain name not found. Name service error for name=\(domain) type=A: Host not found"))
        }
        return nil
    }

    private enum Exchangers {
        case success([String])
        case failure(RecipientOutcome)
    }

    /// MX names in the order to try them.
    nonisolated(nonsending) private func exchangers(_ domain: String) async -> Exchangers {
        switch await resolver.mailExchangers(domain) {
        case .exchangers(let records):
            let usable = records.filter { $0.host != "." && !$0.host.isEmpty }
            if usable.isEmpty { return .failure(RecipientOutcome.failed(EnhancedStatusCode(5, 1, 10), "Domain \(domain) does not accept mail (nullMX)")) }
            let byPreference = Dictionary(grouping: usable, by: \.preference)
            var out: [String] = []
            for preference in byPreference.keys.sorted() {
                out += byPreference[preference]!.map { $0.host.lowercased() }.shuffled()
            }
            return .success(out)
        case .none:
            return .success([domain])
        case .nullMX:
            return .failure(RecipientOutcome.failed(EnhancedStatusCode(5, 1, 10), "Domain \(domain) does not accept mail (nullMX)"))
        case .nameNotFound:
            return .failure(RecipientOutcome.failed(EnhancedStatusCode(5, 1, 2), "Host or domain name not found. Name service error for name=\(domain) type=MX: Host not found"))
        case .temporary(let why):
            return .failure(RecipientOutcome.deferred(EnhancedStatusCode(4, 4, 3), "Host or domain name not found. Name service error for name=\(domain) type=MX: \(why)"))
        }
    }

    /// Priority groups in order; inside a group a weighted random order (RFC 2782's selection).
    public static func order(_ hosts: [NextHopConfiguration], random: (Int) -> Int = { Int.random(in: 0..<$0) }) -> [NextHopConfiguration] {
        let groups = Dictionary(grouping: hosts, by: \.priority)
        var out: [NextHopConfiguration] = []
        for priority in groups.keys.sorted() {
            var pool = groups[priority]!
            while !pool.isEmpty {
                let total = pool.reduce(0) { $0 + max(1, $1.weight) }
                var pick = random(total)
                var chosen = 0
                for (i, h) in pool.enumerated() {
                    pick -= max(1, h.weight)
                    if pick < 0 { chosen = i; break }
                }
                out.append(pool.remove(at: chosen))
            }
        }
        return out
    }
}
