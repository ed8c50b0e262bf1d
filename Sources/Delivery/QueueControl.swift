// QueueControl.swift — what an administrator does to the queue: hold, release, delete, retry,
// flush, and a look at one message. Works on the files directly (as Postfix's postsuper does), so
// it needs no running gateway; a running queue manager notices at its next scan. A message being
// delivered while it is held or deleted finishes that attempt; its bookkeeping then finds the file
// gone from active/ and leaves it where the administrator put it.

#if canImport(Glibc)
import Glibc
#endif
public import Spool

public enum QueueControl {
    public enum Operation: String, Sendable, CaseIterable {
        case hold, release, delete, retry
    }

    /// Applies `operation` to `ids` (or every message that it applies to when `ids` is ["ALL"]).
    /// Returns one line per message for the administrator; unknown ids are reported, not fatal.
    public static func perform(_ operation: Operation, ids: [String], spool: Spool) throws(SpoolError) -> [(id: String, done: Bool, text: String)] {
        let listing = try spool.listing()
        let all = listing.messages
        let states = Dictionary(all.map { ($0.1, $0.0) }, uniquingKeysWith: { first, _ in first })
        let targets = ids == ["ALL"] ? all.map(\.1) : ids
        var results: [(String, Bool, String)] = []
        for id in targets {
            guard QueueID.isValid(id) else { results.append((id, false, "not a queue id")); continue }
            guard let state = states[id] else { results.append((id, false, "no such message")); continue }
            if state == .active, operation == .hold || operation == .delete, let result = try fromSegment(id, operation) {
                results.append(result)
                continue
            }
            switch operation {
            case .hold:
                guard state != .hold, state != .corrupt else {
                    if ids != ["ALL"] { results.append((id, false, "is in \(state.rawValue)")) }
                    continue
                }
                results.append(try move(id, from: state, to: .hold, done: "held"))
            case .release:
                guard state == .hold else { if ids != ["ALL"] { results.append((id, false, "is not on hold")) }; continue }
                results.append(try move(id, from: .hold, to: .incoming, done: "released"))
            case .retry:
                if state == .incoming || state == .active {
                    if ids != ["ALL"] { results.append((id, true, "already queued for delivery")) }
                    continue
                }
                guard state == .deferred else {
                    if ids != ["ALL"] { results.append((id, false, "is in \(state.rawValue)\(state == .hold ? "; release it" : "")")) }
                    continue
                }
                results.append(try move(id, from: .deferred, to: .incoming, done: "queued for immediate delivery"))
            case .delete:
                do { try spool.remove(id, from: state) } catch SpoolError.noSuchMessage {
                    results.append((id, false, "no such message")); continue
                }
                results.append((id, true, "deleted"))
            }
        }
        return results

        /// A message being delivered from a segment is taken out under its record's lock: held
        /// (copied into hold/) or deleted; nil when it has a queue file of its own.
        func fromSegment(_ id: String, _ operation: Operation) throws(SpoolError) -> (String, Bool, String)? {
            guard let record = listing.segmentRecords[id], access(spool.path(.active, id), F_OK) != 0 else { return nil }
            let taken = try spool.segments.take(record.location) { (bytes: [UInt8]) throws(SpoolError) in
                if operation == .hold { try spool.writeClassic(id, bytes, to: .hold) }
            }
            guard taken else { return (id, false, "no longer queued: its delivery has just ended") }
            return (id, true, operation == .hold ? "held" : "deleted")
        }

        /// A durable move; a message that moved on since the listing (the queue manager took it,
        /// or the id was given twice) is reported for itself and the others go on.
        func move(_ id: String, from: QueueState, to: QueueState, done: String) throws(SpoolError) -> (String, Bool, String) {
            do {
                try spool.move(id, from: from, to: to)
                return (id, true, done)
            } catch .system(call: "rename", _, let code) where code == ENOENT {
                return (id, false, "is no longer in \(from.rawValue)")
            }
        }
    }

    /// One message as `queue show` prints it.
    public struct MessageReport: Sendable, Codable {
        public struct Recipient: Sendable, Codable {
            public var address: String
            /// pending, delivered, failed
            public var status: String
            public var notify: String?
            public var originalRecipient: String?
            /// The last problem: for a pending recipient after an attempt, or why a recipient failed.
            public var reason: String?
            public var dsn: String?
        }
        public var id: String
        public var state: String
        public var sender: String
        public var arrival: Int64
        public var size: Int
        public var client: String
        public var helo: String
        public var listener: String
        public var attempts: Int
        public var lastAttempt: Int64?
        public var nextAttempt: Int64?
        public var recipients: [Recipient]
        /// The policy's decision trace kept with the message (empty when no policy ran).
        public var trace: [String]
    }

    public static func report(_ id: String, spool: Spool) throws -> MessageReport {
        guard QueueID.isValid(id) else { throw SpoolError.invalidQueueID(id) }
        let listing = try spool.listing()
        guard let (state, _) = listing.messages.first(where: { $0.1 == id }) else { throw SpoolError.noSuchMessage(id) }
        let parsed = try QueueFile.parse(try spool.read(state, id, in: listing))
        let status = DeliveryStatus.load(spool.statusPath(id))
        let e = parsed.envelope
        let recipients = e.recipients.enumerated().map { i, r -> MessageReport.Recipient in
            let outcome = r.status == .delivered ? nil : status.recipients[i]
            return MessageReport.Recipient(
                address: r.address, status: r.status == .pending ? "pending" : r.status == .delivered ? "delivered" : "failed",
                notify: r.notify, originalRecipient: r.originalRecipient, reason: outcome?.diagnostic, dsn: outcome?.status.description)
        }
        return MessageReport(
            id: id, state: state.rawValue, sender: e.sender, arrival: e.arrival, size: parsed.contentSize,
            client: e.clientName + "[" + e.clientAddress + "]", helo: e.helo, listener: e.listener, attempts: status.attempts,
            lastAttempt: status.lastAttempt == 0 ? nil : status.lastAttempt,
            nextAttempt: state == .deferred ? spool.nextAttempt(id, in: .deferred) : nil, recipients: recipients,
            trace: e.trace)
    }
}
