// LogRecord.swift — the one interface every part of the node logs through.
//
// Records are structured; `LineLogSink` (Node) renders them as Postfix-style lines today, and the
// log follower will ship the same records to the manager (DESIGN.md §4).

/// One event.
public struct LogRecord: Sendable {
    /// The part of the node that speaks: `smtpd`, `spool`, `master`.
    public var program: String
    /// The queue id, or nil (`NOQUEUE` for rejects, nothing for connection events).
    public var queueID: String?
    /// Whether a missing queue id should print as `NOQUEUE:`.
    public var noQueue: Bool
    /// The text after the queue id.
    public var text: String

    public init(program: String, queueID: String? = nil, noQueue: Bool = false, text: String) {
        self.program = program
        self.queueID = queueID
        self.noQueue = noQueue
        self.text = text
    }
}

/// Where records go.
public protocol LogSink: Sendable {
    func record(_ record: LogRecord)
}
