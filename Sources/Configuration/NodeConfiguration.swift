// NodeConfiguration.swift — the node's configuration document: typed, validated, versioned.
//
// The node never reads YAML keys directly: a `ConfigurationSource` (the YAML file today, the
// manager's pushed documents later, DESIGN.md §4) produces a `NodeConfiguration`, validated as a
// whole before it is used. A new version is swapped in atomically; sessions in flight keep the
// version they started with.

public import GatehouseCore
public import Policy

/// One listener (DESIGN.md §6).
public struct ListenerConfiguration: Hashable, Sendable {
    public var name: String
    public var role: ListenerRole
    public var host: String
    public var port: Int
    public var tls: TLSMode
    public var auth: AuthMode
    public var proxyProtocol: Bool
    public var balancers: [IPNetwork]
    public var acl: ConnectionACL
    public var relayNetworks: [IPNetwork]
    public var relayForeignSenders: Bool
    public var banner: String
    /// Seconds to wait before the greeting; a client that talks first is dropped (pre-greet test).
    public var greetDelay: Double
    public var limits: ListenerLimits
}

/// The limits of one listener; defaults in `Defaults`.
public struct ListenerLimits: Hashable, Sendable {
    public var sessions = Defaults.sessionsPerListener
    public var sessionsPerClient = Defaults.sessionsPerClient
    public var connectionsPerMinutePerClient = Defaults.connectionsPerMinutePerClient
    public var messagesPerMinutePerClient = Defaults.messagesPerMinutePerClient
    public var messageSize = Defaults.messageSize
    public var recipients = Defaults.recipientsPerMessage
    public var commandTimeout = Double(Defaults.commandTimeoutSeconds)
    public var dataTimeout = Double(Defaults.dataTimeoutSeconds)
    public var errors = Defaults.errorsBeforeDisconnect
    public var lineLength = Defaults.textLineLength
    public var commandLineLength = Defaults.commandLineLength
    public init() {}
}

/// The whole configuration of a node.
public struct NodeConfiguration: Hashable, Sendable {
    /// Increases with every new document; the manager numbers commits (DESIGN.md §4).
    public var version: Int
    public var hostname: String
    public var internalDomains: Set<String>
    /// Valid recipients in internal domains (lower case), or nil to accept every local part.
    public var validRecipients: Set<String>?
    public var certificatePath: String?
    public var keyPath: String?
    public var minimumFreeSpace: Int64
    public var logFile: String?
    public var listeners: [ListenerConfiguration]
    /// How accepted mail leaves: routes, retries, timeouts.
    public var delivery = DeliveryConfiguration()
    /// Policy groups and rules (DESIGN.md §7); empty: every message is delivered.
    public var policy = Policy()
    /// The engines and what surrounds the policy (stamps, notifications, quarantine retention).
    public var scanning = ScanningConfiguration()

    /// The route for a recipient domain: the first configured route that matches; else local
    /// mailboxes for an internal domain and MX delivery for any other.
    public func route(for domain: String) -> RouteConfiguration {
        if let route = delivery.routes.first(where: { $0.matches(domain) }) { return route }
        if internalDomains.contains(domain) { return RouteConfiguration(domains: [domain], kind: .local) }
        return RouteConfiguration(domains: ["*"], kind: .mx)
    }

    /// The embedded default a first-time user gets from `gatehouse serve` with no configuration:
    /// loopback only, STARTTLS offered on 2525, required with AUTH on 2587, domain example.test.
    public static func embeddedDefault(hostname: String) -> NodeConfiguration {
        NodeConfiguration(
            version: 1, hostname: hostname, internalDomains: ["example.test"], validRecipients: nil,
            certificatePath: nil, keyPath: nil, minimumFreeSpace: Defaults.minimumFreeSpace, logFile: nil,
            listeners: [
                ListenerConfiguration(
                    name: "inbound", role: .inbound, host: "127.0.0.1", port: 2525, tls: .starttls, auth: .off,
                    proxyProtocol: false, balancers: [], acl: ConnectionACL(), relayNetworks: [], relayForeignSenders: false,
                    banner: "ESMTP Gatehouse", greetDelay: 0, limits: ListenerLimits()),
                ListenerConfiguration(
                    name: "submission", role: .submission, host: "127.0.0.1", port: 2587, tls: .starttlsRequired,
                    auth: .required, proxyProtocol: false, balancers: [], acl: ConnectionACL(), relayNetworks: [],
                    relayForeignSenders: false, banner: "ESMTP Gatehouse", greetDelay: 0, limits: ListenerLimits()),
            ],
            policy: Policy(groups: [
                PolicyGroup(name: "inbound", scope: { var s = PolicyScope(); s.directions = [.inbound]; return s }(), rules: [
                    PolicyRule(name: "spam", conditions: [PolicyCondition(.spamScore(Comparison(.greaterOrEqual, 5)))],
                               actions: [.disposition(.quarantine(folder: "spam"))], stop: true),
                ]),
            ]))
    }
}
