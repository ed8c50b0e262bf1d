// Bounces.swift — delivery status notifications (RFC 3464) into the spool, and the RFC 6152
// downgrade used when a next hop lacks 8BITMIME.
//
// A notification is a new message from the null sender, committed through the spool's one way in
// (fsync before this returns), so the queue manager delivers it like any other mail and it survives
// a crash. The caller crosses off the recipients it reports only after this returned.

import Bounce
import GatehouseCore
import MIME
import Spool

enum Bounces {
    enum Kind: Sendable { case failure, delay(until: Int64) }

    /// Sends the sender a notification about `outcomes` (recipient index → outcome), for the
    /// recipients whose NOTIFY asks for it; nothing for a message from the null sender. Returns
    /// false only when a notification was due and could not be queued.
    @discardableResult
    static func send(kind: Kind, message: QueueFile.Parsed, content: [UInt8], outcomes: [(key: Int, value: RecipientOutcome)],
                     spool: Spool, hostname: String, now: Int64, log: any LogSink) -> Bool {
        let envelope = message.envelope
        let action: DeliveryStatusNotification.Action
        var until: Int64?
        switch kind {
        case .failure: action = .failed
        case .delay(let retryUntil): action = .delayed; until = retryUntil
        }
        let recipients = outcomes.map { index, outcome in
            let r = envelope.recipients[index]
            return DeliveryStatusNotification.Recipient(
                finalRecipient: r.address, originalRecipient: r.originalRecipient, notify: r.notify, action: action,
                status: outcome.status.description, remoteMTA: outcome.remoteMTA, diagnosticCode: outcome.diagnostic,
                lastAttemptDate: now, willRetryUntil: until)
        }
        let report = DeliveryStatusNotification(
            reportingMTA: "dns; " + hostname, hostname: hostname, arrivalDate: envelope.arrival, envelopeID: envelope.envelopeID,
            returnContent: envelope.dsnReturn.flatMap(DeliveryStatusNotification.Return.init(parameter:)),
            sender: envelope.sender, smtputf8: envelope.smtputf8, recipients: recipients, originalMessage: content)
        guard let wanted = report.filteredForNotification() else {
            if envelope.sender.isEmpty {
                log.record(LogRecord(program: "bounce", queueID: envelope.queueID,
                                     text: "no notification: the message came from the null sender"))
            }
            return true
        }
        let id = Spool.newQueueID()
        let composed = wanted.compose(date: now, uniqueID: id)
        let notice = Envelope.local(queueID: id, arrival: now, sender: "", recipients: [envelope.sender], hostname: hostname,
                                    listener: "bounce", content: composed.bytes, smtputf8: composed.requiresSMTPUTF8)
        do {
            try spool.inject(envelope: notice, content: composed.bytes)
            let what = action == .failed ? "non-delivery" : "delay"
            log.record(LogRecord(program: "bounce", queueID: envelope.queueID, text: "sender \(what) notification: \(id)"))
            return true
        } catch {
            log.record(LogRecord(program: "bounce", queueID: envelope.queueID, text: "warning: cannot queue the notification: \(error)"))
            return false
        }
    }

    /// RFC 6152 downgrade of 8-bit content to 7-bit; nil when it cannot be done (8-bit in a
    /// header that cannot be encoded, or a limit).
    @Sendable static func downgrade(_ content: [UInt8]) -> [UInt8]? {
        guard let result = try? EightBitDowngrade().downgrade(content), result.isSevenBit else { return nil }
        return result.bytes
    }
}
