// Envelope.swift — what the spool keeps about a message besides its content: the SMTP envelope
// (RFC 5321 §2.3.1), DSN parameters (RFC 3461), and where it came from.

import GatehouseCore

/// One recipient of a queued message.
public struct QueuedRecipient: Hashable, Sendable, Codable {
    /// The forward-path without angle brackets (`postmaster` for the bare postmaster).
    public var address: String
    /// DSN `NOTIFY=` as given (e.g. `SUCCESS,FAILURE`), or nil.
    public var notify: String?
    /// DSN `ORCPT=` as given, or nil.
    public var originalRecipient: String?
    /// Delivery status. Crossed off in place as delivery goes on (see `QueueFile`).
    public var status: RecipientStatus

    public init(address: String, notify: String? = nil, originalRecipient: String? = nil, status: RecipientStatus = .pending) {
        self.address = address
        self.notify = notify
        self.originalRecipient = originalRecipient
        self.status = status
    }
}

/// The state of one recipient, stored as the record type byte so that it can change in place.
public enum RecipientStatus: UInt8, Hashable, Sendable, Codable {
    case pending = 0x52    // 'R'
    case delivered = 0x44  // 'D'
    case failed = 0x46     // 'F'
}

/// The envelope of a queued message.
public struct Envelope: Hashable, Sendable, Codable {
    public var queueID: String
    /// Arrival time, seconds since 1970.
    public var arrival: Int64
    /// The reverse-path without angle brackets; empty for the null sender.
    public var sender: String
    public var recipients: [QueuedRecipient]
    public var clientAddress: String
    public var clientName: String
    public var helo: String
    public var listener: String
    /// `SMTP`, `ESMTP`, `ESMTPS`, `ESMTPSA` … (RFC 3848).
    public var receivedProtocol: String
    public var authenticatedUser: String?
    /// `BODY=` (7BIT or 8BITMIME), if given.
    public var body: String?
    public var smtputf8: Bool
    /// DSN `RET=` and `ENVID=`.
    public var dsnReturn: String?
    public var envelopeID: String?
    /// Relay control flags (`EnvelopeFlags.rawValue`).
    public var flags: UInt32
    /// A next hop (`host:port`, `[host]:port`) chosen by the policy's `route` action instead of
    /// the recipient domain's route.
    public var route: String?
    /// The policy's decision trace for these recipients (groups and rules evaluated, which fired,
    /// the evidence), one line per step; empty when no policy ran. Kept with the queued message
    /// so `gatehouse queue show` can say why it is going where it goes.
    public var trace: [String] = []

    public init(queueID: String, arrival: Int64, sender: String, recipients: [QueuedRecipient], clientAddress: String,
                clientName: String, helo: String, listener: String, receivedProtocol: String, authenticatedUser: String?,
                body: String?, smtputf8: Bool, dsnReturn: String?, envelopeID: String?, flags: UInt32, route: String? = nil) {
        self.queueID = queueID
        self.arrival = arrival
        self.sender = sender
        self.recipients = recipients
        self.clientAddress = clientAddress
        self.clientName = clientName
        self.helo = helo
        self.listener = listener
        self.receivedProtocol = receivedProtocol
        self.authenticatedUser = authenticatedUser
        self.body = body
        self.smtputf8 = smtputf8
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
        self.flags = flags
        self.route = route
    }

    /// The envelope of a message the node itself queues (a bounce, a notification, a release from
    /// quarantine): from this host, over the `local` protocol, on the pseudo-listener `listener`.
    public static func local(queueID: String, arrival: Int64, sender: String, recipients: [String], hostname: String, listener: String,
                             content: [UInt8], smtputf8: Bool = false) -> Envelope {
        Envelope(queueID: queueID, arrival: arrival, sender: sender, recipients: recipients.map { QueuedRecipient(address: $0) },
                 clientAddress: "127.0.0.1", clientName: "localhost", helo: hostname, listener: listener, receivedProtocol: "local",
                 authenticatedUser: nil, body: content.contains { $0 >= 0x80 } ? "8BITMIME" : nil, smtputf8: smtputf8,
                 dsnReturn: nil, envelopeID: nil, flags: 0)
    }

    /// The fields other than recipients, as `key=value` lines (values escaped) for the envelope record.
    func encodedFields() -> [UInt8] {
        var fields: [(String, String)] = [
            ("id", queueID), ("arrival", String(arrival)), ("sender", sender), ("client_address", clientAddress),
            ("client_name", clientName), ("helo", helo), ("listener", listener), ("protocol", receivedProtocol),
            ("smtputf8", smtputf8 ? "1" : "0"), ("flags", String(flags)),
        ]
        if let authenticatedUser { fields.append(("auth", authenticatedUser)) }
        if let body { fields.append(("body", body)) }
        if let dsnReturn { fields.append(("ret", dsnReturn)) }
        if let envelopeID { fields.append(("envid", envelopeID)) }
        if let route { fields.append(("route", route)) }
        if !trace.isEmpty { fields.append(("trace", trace.joined(separator: "\n"))) }
        var out: [UInt8] = []
        for (key, value) in fields {
            out += key.utf8
            out.append(UInt8(ascii: "="))
            out += QueueFile.escape(value)
            out.append(0x0A)
        }
        return out
    }
}
