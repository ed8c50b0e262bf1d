// SPFResult.swift — the outcome of an SPF check (RFC 7208 §2.6) and what led to it.

/// The seven SPF results (RFC 7208 §2.6); raw values are the Authentication-Results spelling
/// (RFC 8601 §2.7.2).
public enum SPFResultCode: String, Sendable, Hashable, CaseIterable {
    /// No SPF record, or the domain is not a usable domain name (§2.6.1).
    case none
    /// The domain owner states nothing about the client (§2.6.2).
    case neutral
    /// The client is authorised (§2.6.3).
    case pass
    /// The client is not authorised (§2.6.4).
    case fail
    /// The client is probably not authorised (§2.6.5).
    case softfail
    /// A transient (DNS) error; a later retry may succeed (§2.6.6).
    case temperror
    /// The record could not be interpreted, or a limit was exceeded (§2.6.7).
    case permerror
}

/// Which identity was checked (RFC 7208 §2.3, §2.4).
public enum SPFIdentity: String, Sendable, Hashable {
    /// The MAIL FROM reverse-path (or postmaster@HELO for a null reverse-path).
    case mailFrom = "mailfrom"
    /// The HELO/EHLO domain.
    case helo
}

/// The outcome of one SPF check.
public struct SPFResult: Sendable, Hashable, CustomStringConvertible {
    /// The result.
    public var code: SPFResultCode
    /// Which identity was checked.
    public var identity: SPFIdentity
    /// The domain whose policy was evaluated (the <domain> of the first check_host()).
    public var domain: String
    /// The <sender> given to check_host(): "local@domain" ("postmaster@helo" for a null
    /// reverse-path or a HELO check).
    public var sender: String
    /// Why: the mechanism that matched, or the error.
    public var reason: String
    /// The expanded exp= text for a fail (§6.2), if the domain published one.
    public var explanation: String?
    /// DNS-querying mechanisms and modifiers evaluated (at most 10, §4.6.4).
    public var dnsMechanisms: Int
    /// Void lookups met (at most 2, §4.6.4).
    public var voidLookups: Int

    public init(code: SPFResultCode, identity: SPFIdentity, domain: String, sender: String, reason: String,
                explanation: String? = nil, dnsMechanisms: Int = 0, voidLookups: Int = 0) {
        self.code = code
        self.identity = identity
        self.domain = domain
        self.sender = sender
        self.reason = reason
        self.explanation = explanation
        self.dnsMechanisms = dnsMechanisms
        self.voidLookups = voidLookups
    }

    public var description: String { "spf=\(code.rawValue) (\(reason)) \(identity.rawValue)=\(domain)" }
}

/// The limits of one evaluation (RFC 7208 §4.6.4). Defaults in `MailAuthDefaults`.
public struct SPFLimits: Sendable, Hashable {
    public var maximumDNSMechanisms = MailAuthDefaults.spfMaximumDNSMechanisms
    public var maximumVoidLookups = MailAuthDefaults.spfMaximumVoidLookups
    public var maximumLookupsPerMechanism = MailAuthDefaults.spfMaximumLookupsPerMechanism

    public init() {}

    public static let `default` = SPFLimits()
}
