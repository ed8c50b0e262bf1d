// DNSDeliveryResolver.swift — the router's DNS questions answered by the DNS stub resolver.

public import Configuration
public import DNS
public import NIOCore

public struct DNSDeliveryResolver: DeliveryResolver {
    let resolver: DNSResolver

    public init(configuration: DNSConfiguration, group: any EventLoopGroup) throws {
        resolver = try DNSDeliveryResolver.makeResolver(configuration, group)
    }

    /// A stub resolver with the configured nameservers (or /etc/resolv.conf's), timeout and attempts;
    /// the node's other DNS users (sender authentication) share these settings.
    public static func makeResolver(_ configuration: DNSConfiguration, _ group: any EventLoopGroup) throws -> DNSResolver {
        var dns: DNSResolverConfiguration
        if configuration.nameservers.isEmpty {
            dns = DNSResolverConfiguration.systemConfiguration()
        } else {
            dns = try DNSResolverConfiguration(nameservers: configuration.nameservers)
        }
        dns.timeout = .milliseconds(Int64(configuration.timeout * 1000))
        dns.attempts = configuration.attempts
        return DNSResolver(configuration: dns, eventLoopGroup: group)
    }

    @Sendable public static func make(_ configuration: DNSConfiguration, _ group: any EventLoopGroup) throws -> any DeliveryResolver {
        try DNSDeliveryResolver(configuration: configuration, group: group)
    }

    public func mailExchangers(_ domain: String) async -> MXLookup {
        do {
            let records = try await resolver.mx(domain)
            if records.isEmpty { return .none }
            if records.contains(where: \.isNullMX) { return .nullMX }
            return .exchangers(records.map { (Int($0.preference), DNSDeliveryResolver.text($0.exchange)) })
        } catch {
            return !error.isTemporary ? .nameNotFound : .temporary(error.description)
        }
    }

    public func addresses(_ host: String) async -> AddressLookup {
        do {
            let found = try await resolver.addresses(host)
            return .addresses(found.ipv4.map { "\($0)" } + found.ipv6.map { "\($0)" })
        } catch {
            return !error.isTemporary ? .nameNotFound : .temporary(error.description)
        }
    }

    /// A host name without the root's trailing dot.
    static func text(_ name: DNSName) -> String {
        let s = "\(name)"
        return s.hasSuffix(".") && s.count > 1 ? String(s.dropLast()) : s
    }
}
