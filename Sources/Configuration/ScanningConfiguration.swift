// ScanningConfiguration.swift — the engines run on every message before the reply to DATA, and
// what the node does with their findings beyond the policy: stamps, notifications, quarantine.
//
// Every key is documented in docs/configuration.md (`scanning:`). Scanning runs when the policy
// has at least one group: with no policy there is nothing to decide, and mail goes straight to
// the queue.

import GatehouseCore

/// One DKIM signing key.
public struct DKIMKeyConfiguration: Hashable, Sendable {
    public var domain: String
    public var selector: String
    /// PEM file: an RSA (≥ 1024 bits) or Ed25519 private key.
    public var keyFile: String
}

/// The `scanning:` section.
public struct ScanningConfiguration: Hashable, Sendable {
    /// Score at or above which a message is spam (SpamAssassin's `required_score`).
    public var spamThreshold = 5.0
    /// Rule files read after the built-in pack: our format or SpamAssassin's `.cf` subset.
    public var ruleFiles: [String] = []
    /// Whether the Bayesian classifier trained into `DATA/bayes/tokens.db` adds to the score.
    public var bayes = true
    /// Days after which a token seen once and used by no verdict since is pruned (0: never by age).
    public var bayesPruneDays = Defaults.Scanning.bayesPruneDays
    /// X-Spam-Status / X-Spam-Score on delivered mail.
    public var spamHeaders = true
    /// clamd's address (`host:port` or a unix socket path); no anti-virus scan when nil.
    public var clamd: String?
    /// Seconds for one anti-virus scan.
    public var clamdTimeout = 60.0
    /// SPF, DKIM and DMARC checks on inbound mail, with an Authentication-Results field.
    public var authentication = false
    /// DNS blocklists asked about the client's address (RFC 5782), e.g. `zen.spamhaus.org`.
    public var dnsblZones: [String] = []
    /// URI blocklists asked about the domains of the message's links, e.g. `multi.uribl.com`.
    public var uriblZones: [String] = []
    /// DKIM private keys for the policy's `dkim_sign`, by `selector._domainkey.domain` → PEM file.
    public var dkimKeys: [DKIMKeyConfiguration] = []
    /// Folder → seconds a quarantined message is kept.
    public var retention: [String: Double] = [:]
    /// Directory of `NAME.mustache` notification templates (the built-in ones otherwise).
    public var templates: String?
    /// Where `notify: {to: admin}` goes.
    public var administrator: String?
    /// Bytes of message data all sessions may hold in memory awaiting the decision; nil: the
    /// default (`Defaults.Scanning.memoryLimit`, or more where a listener accepts larger messages).
    public var memoryLimit: Int?

    public init() {}

    /// Retention of a folder: its own, `default`, or `Defaults.Quarantine.retention`.
    public func retention(of folder: String) -> Double {
        retention[folder] ?? retention["default"] ?? Defaults.Quarantine.retention
    }
}

extension NodeConfiguration {
    /// The least `scanning.memory_limit` can be: one message of the largest size any listener
    /// accepts, with its trace header and the last reservation step (1 MiB).
    public var scanMemoryFloor: Int { (listeners.map(\.limits.messageSize).max() ?? Defaults.messageSize) + (1 << 20) }

    /// The scan memory budget in force: the configured one, else the default raised to the floor.
    public var scanMemoryLimit: Int { scanning.memoryLimit ?? max(Defaults.Scanning.memoryLimit, scanMemoryFloor) }
}
