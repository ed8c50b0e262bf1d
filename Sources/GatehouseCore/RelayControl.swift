// RelayControl.swift — the relay decision of DESIGN.md §5, as a pure function.
//
// Relay is decided on who the client is (its address or its authenticated identity), never on the
// envelope sender, which the client chooses freely. Recipients are judged on where they would
// really go: the percent hack, bang paths, quoted local parts holding `@`, source routes, address
// literals, trailing dots and case are all reduced to the set of domains the mail would reach;
// the recipient is internal only when every one of them is internal.
//
// Security notes: an unknown or unparsable destination is foreign. Address literals are never
// internal. The inbound role accepts internal recipients only, whoever the client is.

/// What a listener is for (DESIGN.md §6).
public enum ListenerRole: String, Hashable, Sendable, CaseIterable {
    /// The MX: internal recipients only.
    case inbound
    /// From the internal mail servers, trusted by address: relays to foreign domains.
    case outbound
    /// Users authenticate; the sender must be theirs.
    case submission
    /// Scripts, devices and services trusted by address.
    case application
}

/// Who the client is, as far as relaying goes.
public enum ClientTrust: Hashable, Sendable {
    /// An internet client.
    case untrusted
    /// A client inside the listener's relay networks.
    case relayNetwork
    /// A client that authenticated as a user owning these addresses.
    case authenticated(user: String, addresses: Set<String>)
}

/// Flags relay control attaches to a transaction for the policy to act on.
public struct EnvelopeFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// An untrusted client used an internal domain as sender (DESIGN.md §5, row 2).
    public static let spoofedInternalSender = EnvelopeFlags(rawValue: 1 << 0)
    /// A recipient used sender-specified routing that resolved to internal domains only.
    public static let routedRecipient = EnvelopeFlags(rawValue: 1 << 1)
}

/// The relay rules of one listener.
public struct RelayControl: Hashable, Sendable {
    /// Domains the organisation receives mail for (lower case, no trailing dot). Subdomains are not
    /// implied: list them.
    public var internalDomains: Set<String>
    public var role: ListenerRole
    /// Allow a trusted relay network to send foreign → foreign (DESIGN.md §5: off unless the
    /// listener explicitly allows it).
    public var relayForeignSenders: Bool

    public init(internalDomains: Set<String>, role: ListenerRole, relayForeignSenders: Bool = false) {
        self.internalDomains = internalDomains
        self.role = role
        self.relayForeignSenders = relayForeignSenders
    }

    /// True when the domain is one of ours.
    public func isInternal(_ domain: MailDomain) -> Bool {
        guard let name = domain.name else { return false }
        return internalDomains.contains(name)
    }

    /// True when every place the mailbox would route through is internal.
    public func resolvesInternally(_ mailbox: Mailbox) -> Bool {
        guard isInternal(mailbox.domain) else { return false }
        return mailbox.routingDomains.allSatisfy { internalDomains.contains($0) }
    }

    /// The judgement on MAIL FROM: `nil` to accept, or the reply that refuses it. Sets flags.
    public func judgeSender(_ sender: Path, trust: ClientTrust, flags: inout EnvelopeFlags) -> SMTPReply? {
        switch trust {
        case .authenticated(_, let addresses):
            // An authenticated user may only send as one of their own addresses (DESIGN.md §5, last row).
            guard let mailbox = sender.mailbox, addresses.contains(RelayControl.ownershipKey(mailbox)) else {
                return .senderNotOwned
            }
            return nil
        case .untrusted:
            if let mailbox = sender.mailbox, isInternal(mailbox.domain) {
                flags.insert(.spoofedInternalSender)
            }
            return nil
        case .relayNetwork:
            return nil
        }
    }

    /// The judgement on RCPT TO: `nil` to accept, or the reply that refuses it.
    public func judgeRecipient(_ recipient: Path, sender: Path, trust: ClientTrust, flags: inout EnvelopeFlags) -> SMTPReply? {
        let mailbox: Mailbox
        switch recipient {
        case .postmaster:
            return nil  // RFC 5321 §4.5.1: postmaster is always accepted; it is ours.
        case .null:
            return .badAddressSyntax
        case .mailbox(let m, _):
            mailbox = m
        }
        if resolvesInternally(mailbox) {
            if !mailbox.routingDomains.isEmpty { flags.insert(.routedRecipient) }
            return nil
        }
        // Foreign, or routed through something foreign.
        if role == .inbound { return .relayDenied }
        switch trust {
        case .untrusted:
            return .relayDenied
        case .authenticated:
            return nil
        case .relayNetwork:
            switch sender {
            case .null:
                return nil  // bounces from the internal servers must reach the internet
            case .postmaster:
                return .relayDenied
            case .mailbox(let from, _):
                // A sender is internal only if it does not route elsewhere (`u%foreign@internal`).
                if resolvesInternally(from) || relayForeignSenders { return nil }
                return .relayDenied
            }
        }
    }

    /// How user address ownership is compared: local part as given, domain normalised, all lower case.
    public static func ownershipKey(_ mailbox: Mailbox) -> String {
        mailbox.description.lowercased()
    }
}
