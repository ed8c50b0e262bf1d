// DNSLists.swift — what the policy learns from DNS about a message beyond sender authentication:
// the client's forward-confirmed reverse name (for `reverse_dns`), its listings in DNS blocklists
// (RFC 5782 §2.1: the address's octets reversed under the zone, listed when an A record in
// 127.0.0.0/8 comes back, error codes excepted), and the listings of the domains of the message's links in URI
// blocklists (the registrable domain under the zone, RFC 5782 §2.3).
//
// Every lookup has the resolver's timeout; lookups run concurrently; a failure is "not listed"
// (a list that cannot answer must not make mail disappear). At most
// `Defaults.Scanning.uriblDomains` link domains are asked per message.

import DNS
import GatehouseCore
import MailAuth

struct DNSLists: Sendable {
    let resolver: DNSResolver
    /// Zones asked about the client's address.
    let clientZones: [String]
    /// Zones asked about the domains of links in the message.
    let domainZones: [String]
    /// Whether to find the client's name (only when the policy asks about it).
    let reverseLookup: Bool
    /// For the registrable domain of a link's host; the last two labels without it.
    let publicSuffixes: PublicSuffixList?

    /// The client's name, if a PTR name of its address resolves back to that address.
    func clientName(_ address: IPAddress) async -> String? {
        guard reverseLookup, let names = try? await resolver.ptr(address.description) else { return nil }
        for name in names.prefix(5) {
            let host = name.description.hasSuffix(".") ? String(name.description.dropLast()) : name.description
            guard let found = try? await resolver.addresses(host) else { continue }
            let all = found.ipv4.map(\.description) + found.ipv6.map(\.description)
            if all.contains(address.description) { return host.lowercased() }
        }
        return nil
    }

    /// The zones (client and link lists) that list this message.
    func listings(client: IPAddress?, urls: [String]) async -> Set<String> {
        var queries: [(zone: String, name: String)] = []
        if let client, let reversed = DNSLists.reversedName(client) {
            for zone in clientZones { queries.append((zone, reversed + "." + zone)) }
        }
        if !domainZones.isEmpty {
            var domains: [String] = []
            for url in urls {
                guard let host = DNSLists.host(of: url), !domains.contains(host) else { continue }
                let domain = publicSuffixes?.organizationalDomain(of: host) ?? host.split(separator: ".").suffix(2).joined(separator: ".")
                if !domains.contains(domain) { domains.append(domain) }
                if domains.count >= Defaults.Scanning.uriblDomains { break }
            }
            for domain in domains { for zone in domainZones { queries.append((zone, domain + "." + zone)) } }
        }
        return await withTaskGroup(of: String?.self) { group in
            for (zone, name) in queries {
                group.addTask {
                    guard let answers = try? await resolver.ipv4Addresses(name) else { return nil }
                    return answers.contains(where: DNSLists.isListing) ? zone : nil
                }
            }
            var listed = Set<String>()
            for await zone in group { if let zone { listed.insert(zone) } }
            return listed
        }
    }

    /// Whether an answer means "listed": an address in 127.0.0.0/8 (RFC 5782 §2.1) other than
    /// 127.0.0.1 (what URI lists answer when they refuse a query) and 127.255.255.0/24 (Spamhaus'
    /// error codes: query through a public resolver, rate limited, bad query). An error is "not
    /// listed", never a listing, so a list refusing our resolver cannot make mail disappear.
    static func isListing(_ answer: IPv4Address) -> Bool {
        let b = answer.bytes
        guard b.count == 4, b[0] == 127 else { return false }
        if b[1] == 0 && b[2] == 0 && b[3] == 1 { return false }
        if b[1] == 255 && b[2] == 255 { return false }
        return true
    }

    /// `4.3.2.1` for 1.2.3.4; nibbles reversed for IPv6 (RFC 5782 §2.4).
    static func reversedName(_ address: IPAddress) -> String? {
        guard let ip = ClientIP(address.description) else { return nil }
        switch ip {
        case .v4:
            return ip.bytes.reversed().map(String.init).joined(separator: ".")
        case .v6:
            let hex = Array("0123456789abcdef")
            return ip.bytes.reversed().flatMap { [String(hex[Int($0 & 0xF)]), String(hex[Int($0 >> 4)])] }.joined(separator: ".")
        }
    }

    /// The host of an http(s) or ftp link, lower case; nil for an address literal or anything else.
    static func host(of url: String) -> String? {
        let lower = url.lowercased()
        guard let schemeEnd = lower.range(of: "://") else { return nil }
        let scheme = lower[..<schemeEnd.lowerBound]
        guard scheme == "http" || scheme == "https" || scheme == "ftp" else { return nil }
        var rest = lower[schemeEnd.upperBound...]
        if let end = rest.firstIndex(where: { "/?#".contains($0) }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        var host = String(rest)
        if host.hasSuffix(".") { host.removeLast() }
        guard host.contains("."), host.count <= 253, host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }),
              !host.allSatisfy({ $0.isNumber || $0 == "." }) else { return nil }
        return host
    }
}
