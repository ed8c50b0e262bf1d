// PolicyFacts.swift — what the engines found out about a message, as plain values: the input of
// policy evaluation. Built by the node (or `gatehouse policy test`) from the envelope, the MIME
// engine, the spam rules, the anti-virus scanner and sender authentication; evaluation itself does
// no I/O.

public import GatehouseCore

/// One attachment (or any non-body part) as the policy sees it.
public struct AttachmentFacts: Sendable, Hashable {
    /// Every spelling of its name (Content-Type name, Content-Disposition filename, decoded forms).
    public var names: [String]
    /// The type by content (`exe`, `zip`, `pdf`, …), as the MIME engine names it.
    public var trueType: String?
    public var declaredType: String
    public var typeMismatch: Bool
    public var encrypted: Bool
    public var unscannable: Bool
    /// Archive nesting depth where it was found (0: directly in the message).
    public var depth: Int
    public var size: Int

    public init(names: [String], trueType: String?, declaredType: String, typeMismatch: Bool = false, encrypted: Bool = false,
                unscannable: Bool = false, depth: Int = 0, size: Int) {
        self.names = names
        self.trueType = trueType
        self.declaredType = declaredType
        self.typeMismatch = typeMismatch
        self.encrypted = encrypted
        self.unscannable = unscannable
        self.depth = depth
        self.size = size
    }
}

/// The anti-virus outcome.
public enum VirusFacts: Sendable, Hashable {
    case notScanned
    case clean
    case infected([String])
    /// The scanner was down, timed out or could not scan the message.
    case failed(String)
}

public struct PolicyFacts: Sendable {
    public var sender: String
    public var recipients: [String]
    public var listener: String
    /// Per recipient, in `recipients` order.
    public var directions: [Direction]
    public var clientAddress: IPAddress?
    public var clientName: String?
    public var authenticatedUser: String?
    public var size: Int
    /// Header fields in order, values decoded (RFC 2047) and unfolded.
    public var headers: [(name: String, value: String)]
    public var subject: String
    /// Body text as the recipient reads it (text parts, HTML as text).
    public var bodyText: String
    public var attachments: [AttachmentFacts]
    public var defects: Set<String>
    public var spamScore: Double?
    public var spamThreshold: Double
    /// Rules that hit, with their scores (evidence for the trace).
    public var spamHits: [(name: String, score: Double)]
    public var virus: VirusFacts
    public var spf: String?
    public var dkim: String?
    public var dmarc: String?
    public var dnsblListings: Set<String>
    /// Local hour (0–23) and weekday (1 = Monday … 7 = Sunday) at evaluation.
    public var hour: Int
    public var weekday: Int
    public var senderRate: Int

    public init(sender: String, recipients: [String], listener: String, directions: [Direction], clientAddress: IPAddress? = nil,
                clientName: String? = nil, authenticatedUser: String? = nil, size: Int, headers: [(name: String, value: String)] = [],
                subject: String = "", bodyText: String = "", attachments: [AttachmentFacts] = [], defects: Set<String> = [],
                spamScore: Double? = nil, spamThreshold: Double = 5, spamHits: [(name: String, score: Double)] = [],
                virus: VirusFacts = .notScanned, spf: String? = nil, dkim: String? = nil, dmarc: String? = nil,
                dnsblListings: Set<String> = [], hour: Int = 12, weekday: Int = 1, senderRate: Int = 0) {
        self.sender = sender
        self.recipients = recipients
        self.listener = listener
        self.directions = directions
        self.clientAddress = clientAddress
        self.clientName = clientName
        self.authenticatedUser = authenticatedUser
        self.size = size
        self.headers = headers
        self.subject = subject
        self.bodyText = bodyText
        self.attachments = attachments
        self.defects = defects
        self.spamScore = spamScore
        self.spamThreshold = spamThreshold
        self.spamHits = spamHits
        self.virus = virus
        self.spf = spf
        self.dkim = dkim
        self.dmarc = dmarc
        self.dnsblListings = dnsblListings
        self.hour = hour
        self.weekday = weekday
        self.senderRate = senderRate
    }
}
