// QuarantineRecord.swift — what the node keeps about one quarantined message, beside its content.
//
// The record is the unit the manager will index (DESIGN.md §4, §8): plain values, JSON with
// snake_case keys, one file per message, so a follower can ship it as it is. The decision trace
// travels with it, so an administrator looking at a quarantined message sees why it is there.

/// One recipient of a quarantined message and what became of it.
public struct QuarantineRecipient: Codable, Sendable, Hashable {
    public var address: String
    /// When it was released (seconds since 1970), nil while held.
    public var releasedAt: Int64?
    /// The queue id the release was queued under.
    public var releasedAs: String?

    enum CodingKeys: String, CodingKey {
        case address, releasedAt = "released_at", releasedAs = "released_as"
    }

    public init(address: String, releasedAt: Int64? = nil, releasedAs: String? = nil) {
        self.address = address
        self.releasedAt = releasedAt
        self.releasedAs = releasedAs
    }
}

/// One quarantined message.
public struct QuarantineRecord: Codable, Sendable, Hashable {
    /// The entry's id (the same alphabet as queue ids; unique per node).
    public var id: String
    /// The queue id the session gave the message (the id in the mail log).
    public var queueID: String
    /// `spam`, `virus`, `policy` … as the policy's action named it.
    public var folder: String
    /// Seconds since 1970.
    public var arrival: Int64
    /// When the entry is removed.
    public var expires: Int64
    /// The envelope sender; empty for the null sender.
    public var sender: String
    public var recipients: [QuarantineRecipient]
    /// The From and Subject fields as a reader sees them (decoded).
    public var from: String
    public var subject: String
    public var size: Int
    /// The rules that sent the message here (`group/rule`).
    public var rulesFired: [String]
    public var spamScore: Double?
    /// Signatures found by the anti-virus engine.
    public var viruses: [String]
    public var clientAddress: String
    public var listener: String
    /// Whether the envelope asked for SMTPUTF8 (a release must ask again).
    public var smtputf8: Bool
    /// The decision trace, one line per step.
    public var trace: [String]

    /// snake_case in JSON, as every record Gatehouse ships.
    enum CodingKeys: String, CodingKey {
        case id, queueID = "queue_id", folder, arrival, expires, sender, recipients, from, subject, size
        case rulesFired = "rules_fired", spamScore = "spam_score", viruses, clientAddress = "client_address", listener, smtputf8, trace
    }

    public init(id: String, queueID: String, folder: String, arrival: Int64, expires: Int64, sender: String,
                recipients: [QuarantineRecipient], from: String, subject: String, size: Int, rulesFired: [String],
                spamScore: Double?, viruses: [String], clientAddress: String, listener: String, smtputf8: Bool, trace: [String]) {
        self.id = id
        self.queueID = queueID
        self.folder = folder
        self.arrival = arrival
        self.expires = expires
        self.sender = sender
        self.recipients = recipients
        self.from = from
        self.subject = subject
        self.size = size
        self.rulesFired = rulesFired
        self.spamScore = spamScore
        self.viruses = viruses
        self.clientAddress = clientAddress
        self.listener = listener
        self.smtputf8 = smtputf8
        self.trace = trace
    }

    /// Recipients not released yet.
    public var held: [String] { recipients.filter { $0.releasedAt == nil }.map(\.address) }
}
