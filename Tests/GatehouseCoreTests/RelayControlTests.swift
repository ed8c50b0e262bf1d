// RelayControlTests.swift — DESIGN.md §5's relay table row by row, the inbound role, routing tricks
// and flags (Sources/GatehouseCore/RelayControl.swift).

import Testing
@testable import GatehouseCore

private let internalDomain = "internal.example"
private let otherInternal = "other.internal.test"
private let foreignDomain = "foreign.example"

private func path(_ text: String) -> Path {
    do {
        return try Path.parse(Substring(text), allowUTF8: true, allowNull: true, allowPostmaster: true)
    } catch {
        Issue.record("\(text) should parse: \(error)")
        return .null
    }
}

private func relay(_ role: ListenerRole, relayForeignSenders: Bool = false) -> RelayControl {
    RelayControl(internalDomains: [internalDomain, otherInternal], role: role, relayForeignSenders: relayForeignSenders)
}

/// The outcome of MAIL FROM and one RCPT TO: nil when accepted, the refusal otherwise, and the flags.
private struct Outcome: Equatable {
    var sender: SMTPReply?
    var recipient: SMTPReply?
    var flags: EnvelopeFlags
}

private func judge(_ control: RelayControl, trust: ClientTrust, from: String, to: String) -> Outcome {
    var flags: EnvelopeFlags = []
    let sender = path(from)
    let senderReply = control.judgeSender(sender, trust: trust, flags: &flags)
    let recipientReply = control.judgeRecipient(path(to), sender: sender, trust: trust, flags: &flags)
    return Outcome(sender: senderReply, recipient: recipientReply, flags: flags)
}

private let alice = ClientTrust.authenticated(user: "alice", addresses: ["alice@internal.example", "\"a b\"@internal.example"])

@Suite("RelayControl: DESIGN.md §5 table")
struct RelayTableTests {
    // Every role that relays (not inbound) must follow the table.
    static let relayingRoles: [ListenerRole] = [.outbound, .submission, .application]

    @Test(arguments: ListenerRole.allCases)
    func untrustedForeignSenderToInternalIsAccepted(_ role: ListenerRole) {
        let outcome = judge(relay(role), trust: .untrusted, from: "<bob@foreign.example>", to: "<user@internal.example>")
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: []))
    }

    @Test(arguments: ListenerRole.allCases)
    func untrustedForgedInternalSenderIsAcceptedAndFlagged(_ role: ListenerRole) {
        let outcome = judge(relay(role), trust: .untrusted, from: "<ceo@Internal.Example.>", to: "<user@internal.example>")
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: [.spoofedInternalSender]))
    }

    @Test(arguments: ListenerRole.allCases, ["<bob@foreign.example>", "<ceo@internal.example>", "<>"])
    func untrustedToForeignIsRelayDenied(_ role: ListenerRole, _ sender: String) {
        let outcome = judge(relay(role), trust: .untrusted, from: sender, to: "<victim@foreign.example>")
        #expect(outcome.sender == nil)
        #expect(outcome.recipient == .relayDenied)
        #expect(outcome.recipient?.code == 554)
        #expect(outcome.recipient?.enhanced == EnhancedStatusCode(5, 7, 1))
    }

    @Test(arguments: ListenerRole.allCases)
    func untrustedBounceToInternalIsAccepted(_ role: ListenerRole) {
        let outcome = judge(relay(role), trust: .untrusted, from: "<>", to: "<user@internal.example>")
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: []))
    }

    @Test(arguments: relayingRoles)
    func relayNetworkInternalSenderToForeignIsAccepted(_ role: ListenerRole) {
        let outcome = judge(relay(role), trust: .relayNetwork, from: "<app@internal.example>", to: "<x@foreign.example>")
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: []))
        // The relay network is trusted: no spoofing flag for an internal sender.
        let second = judge(relay(role), trust: .relayNetwork, from: "<app@other.internal.test>", to: "<x@foreign.example>")
        #expect(second == Outcome(sender: nil, recipient: nil, flags: []))
    }

    @Test(arguments: relayingRoles)
    func relayNetworkForeignSenderToForeignIsRefusedByDefault(_ role: ListenerRole) {
        let outcome = judge(relay(role), trust: .relayNetwork, from: "<bob@foreign.example>", to: "<x@elsewhere.example>")
        #expect(outcome.sender == nil)
        #expect(outcome.recipient == .relayDenied)
        // A subdomain of an internal domain is foreign (subdomains are not implied).
        let sub = judge(relay(role), trust: .relayNetwork, from: "<bob@sub.internal.example>", to: "<x@elsewhere.example>")
        #expect(sub.recipient == .relayDenied)
    }

    /// A sender that names an internal domain last but routes elsewhere is not internal: it must not
    /// open the relay for a relay-network client (`u%foreign@internal` as MAIL FROM).
    @Test(arguments: relayingRoles, ["<u%foreign.example@internal.example>", "<foreign.example!u@internal.example>",
                                     "<\"u@foreign.example\"@internal.example>"])
    func relayNetworkRoutedSenderIsForeign(_ role: ListenerRole, _ sender: String) {
        let outcome = judge(relay(role), trust: .relayNetwork, from: sender, to: "<x@elsewhere.example>")
        #expect(outcome.sender == nil)
        #expect(outcome.recipient == .relayDenied)
        // Routing only through internal domains keeps the sender internal.
        let internalRoute = judge(relay(role), trust: .relayNetwork, from: "<u%other.internal.test@internal.example>", to: "<x@elsewhere.example>")
        #expect(internalRoute.recipient == nil)
    }

    @Test(arguments: relayingRoles)
    func relayNetworkForeignSenderToForeignWhenAllowed(_ role: ListenerRole) {
        let outcome = judge(relay(role, relayForeignSenders: true), trust: .relayNetwork,
                            from: "<bob@foreign.example>", to: "<x@elsewhere.example>")
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: []))
    }

    @Test(arguments: relayingRoles)
    func relayNetworkForeignSenderToInternalIsAccepted(_ role: ListenerRole) {
        let outcome = judge(relay(role), trust: .relayNetwork, from: "<bob@foreign.example>", to: "<user@internal.example>")
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: []))
    }

    @Test(arguments: relayingRoles)
    func relayNetworkNullSenderToForeignIsAccepted(_ role: ListenerRole) {
        // Bounces generated by the internal servers must reach the internet.
        let outcome = judge(relay(role), trust: .relayNetwork, from: "<>", to: "<x@foreign.example>")
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: []))
    }

    @Test(arguments: relayingRoles)
    func relayNetworkPostmasterSenderToForeignIsRefused(_ role: ListenerRole) {
        var flags: EnvelopeFlags = []
        let reply = relay(role).judgeRecipient(path("<x@foreign.example>"), sender: .postmaster, trust: .relayNetwork, flags: &flags)
        #expect(reply == .relayDenied)
    }

    @Test(arguments: relayingRoles)
    func authenticatedOwnAddressToForeignIsAccepted(_ role: ListenerRole) {
        let outcome = judge(relay(role), trust: alice, from: "<alice@internal.example>", to: "<x@foreign.example>")
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: []))
        // Ownership compares case-insensitively with the domain normalised.
        let cased = judge(relay(role), trust: alice, from: "<ALICE@Internal.Example.>", to: "<x@foreign.example>")
        #expect(cased == Outcome(sender: nil, recipient: nil, flags: []))
        // Quoted local parts compare in canonical form.
        let quoted = judge(relay(role), trust: alice, from: "<\"a b\"@internal.example>", to: "<x@foreign.example>")
        #expect(quoted == Outcome(sender: nil, recipient: nil, flags: []))
    }

    @Test(arguments: ListenerRole.allCases, ["<bob@internal.example>", "<bob@foreign.example>", "<>", "<alice@other.internal.test>",
                                             "<alice+tag@internal.example>"])
    func authenticatedSomeoneElsesAddressIsNotOwned(_ role: ListenerRole, _ sender: String) {
        var flags: EnvelopeFlags = []
        let reply = relay(role).judgeSender(path(sender), trust: alice, flags: &flags)
        #expect(reply == .senderNotOwned)
        #expect(reply?.code == 553)
        #expect(reply?.enhanced == EnhancedStatusCode(5, 7, 1))
        #expect(flags == [])
    }

    @Test func authenticatedOwnAddressIsNeverFlaggedAsSpoofed() {
        let outcome = judge(relay(.submission), trust: alice, from: "<alice@internal.example>", to: "<user@internal.example>")
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: []))
    }
}

@Suite("RelayControl: inbound role and routing tricks")
struct RelayRoutingTests {
    @Test(arguments: [ClientTrust.untrusted, .relayNetwork, alice])
    func inboundAcceptsInternalRecipientsOnly(_ trust: ClientTrust) {
        let control = relay(.inbound, relayForeignSenders: true)
        let sender = trust == alice ? "<alice@internal.example>" : "<app@internal.example>"
        #expect(judge(control, trust: trust, from: sender, to: "<user@internal.example>").recipient == nil)
        #expect(judge(control, trust: trust, from: sender, to: "<x@foreign.example>").recipient == .relayDenied)
        #expect(judge(control, trust: trust, from: "<>", to: "<x@foreign.example>").recipient == .relayDenied)
    }

    /// Recipients that name an internal domain last but would really leave: refused for untrusted
    /// clients on every role, and on inbound for everybody.
    static let routedToForeign = [
        "<u%foreign.example@internal.example>",
        "<\"u%foreign.example\"@internal.example>",
        "<foreign.example!u@internal.example>",
        "<\"foreign.example!u\"@internal.example>",
        "<\"u@foreign.example\"@internal.example>",
        "<\"u@Foreign.Example.\"@internal.example>",
        "<u%foreign.example%internal.example@internal.example>",
        "<u%internal.example%foreign.example@internal.example>",
        "<@internal.example:u@foreign.example>",
        "<@internal.example,@other.internal.test:u@foreign.example>",
        "<u@[192.0.2.1]>",
        "<u@[IPv6:2001:db8::1]>",
        "<u@sub.internal.example>",
        "<u@internal.example.foreign.example>",
    ]

    @Test(arguments: routedToForeign)
    func routingTricksAreRelayDenied(_ recipient: String) {
        for role in ListenerRole.allCases {
            let outcome = judge(relay(role), trust: .untrusted, from: "<bob@foreign.example>", to: recipient)
            #expect(outcome.recipient == .relayDenied, "\(role) \(recipient)")
            #expect(!outcome.flags.contains(.routedRecipient))
        }
        let inbound = judge(relay(.inbound), trust: .relayNetwork, from: "<app@internal.example>", to: recipient)
        #expect(inbound.recipient == .relayDenied)
    }

    @Test(arguments: [
        "<u%other.internal.test@internal.example>",
        "<other.internal.test!u@internal.example>",
        "<\"u@OTHER.internal.test.\"@internal.example>",
        "<u%internal.example%other.internal.test@internal.example>",
    ])
    func routingToInternalOnlyIsAcceptedAndFlagged(_ recipient: String) {
        let outcome = judge(relay(.inbound), trust: .untrusted, from: "<bob@foreign.example>", to: recipient)
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: [.routedRecipient]))
    }

    @Test(arguments: ["<USER@INTERNAL.EXAMPLE>", "<user@internal.example.>", "<@foreign.example:user@internal.example>"])
    func caseTrailingDotAndSourceRouteResolveInternally(_ recipient: String) {
        let outcome = judge(relay(.inbound), trust: .untrusted, from: "<bob@foreign.example>", to: recipient)
        #expect(outcome == Outcome(sender: nil, recipient: nil, flags: []))
    }

    @Test func postmasterAndNullRecipients() {
        for role in ListenerRole.allCases {
            var flags: EnvelopeFlags = []
            let control = relay(role)
            #expect(control.judgeRecipient(.postmaster, sender: path("<bob@foreign.example>"), trust: .untrusted, flags: &flags) == nil)
            #expect(control.judgeRecipient(.null, sender: .null, trust: .untrusted, flags: &flags) == .badAddressSyntax)
            #expect(flags == [])
        }
    }

    @Test func spoofFlagOnlyForUntrusted() {
        var flags: EnvelopeFlags = []
        #expect(relay(.inbound).judgeSender(path("<x@other.internal.test>"), trust: .untrusted, flags: &flags) == nil)
        #expect(flags == [.spoofedInternalSender])
        flags = []
        #expect(relay(.inbound).judgeSender(path("<x@internal.example>"), trust: .relayNetwork, flags: &flags) == nil)
        #expect(flags == [])
        // A literal or a subdomain is not an internal sender.
        #expect(relay(.inbound).judgeSender(path("<x@[192.0.2.1]>"), trust: .untrusted, flags: &flags) == nil)
        #expect(relay(.inbound).judgeSender(path("<x@sub.internal.example>"), trust: .untrusted, flags: &flags) == nil)
        #expect(relay(.inbound).judgeSender(.null, trust: .untrusted, flags: &flags) == nil)
        #expect(flags == [])
    }

    @Test func helpers() {
        let control = relay(.inbound)
        #expect(control.isInternal(.name("internal.example")))
        #expect(!control.isInternal(.name("sub.internal.example")))
        #expect(!control.isInternal(.literal("192.0.2.1")))
        #expect(control.resolvesInternally(Mailbox(localPart: "u", domain: .name("internal.example"))))
        #expect(!control.resolvesInternally(Mailbox(localPart: "u%evil.example", domain: .name("internal.example"))))
        #expect(RelayControl.ownershipKey(Mailbox(localPart: "Alice", domain: .name("internal.example"))) == "alice@internal.example")
        #expect(RelayControl.ownershipKey(Mailbox(localPart: "A B", domain: .name("internal.example"))) == "\"a b\"@internal.example")
    }
}
