// ConnectionACL.swift — who may open a session on a listener (DESIGN.md §5, last paragraph).
//
// Allow and deny lists of networks, deny wins; an exempt list for monitoring and trusted hosts that
// bypasses deny and the rate limits. An empty allow list allows everybody.

/// The connection access list of one listener.
public struct ConnectionACL: Hashable, Sendable {
    public var allow: [IPNetwork]
    public var deny: [IPNetwork]
    public var exempt: [IPNetwork]

    public init(allow: [IPNetwork] = [], deny: [IPNetwork] = [], exempt: [IPNetwork] = []) {
        self.allow = allow
        self.deny = deny
        self.exempt = exempt
    }

    public enum Decision: Hashable, Sendable {
        /// Admitted, subject to rate limits.
        case allow
        /// Admitted and exempt from deny lists and rate limits.
        case exempt
        /// Refused.
        case deny
    }

    public func decide(_ client: IPAddress) -> Decision {
        if exempt.containsAddress(client) { return .exempt }
        if deny.containsAddress(client) { return .deny }
        if allow.isEmpty || allow.containsAddress(client) { return .allow }
        return .deny
    }
}
