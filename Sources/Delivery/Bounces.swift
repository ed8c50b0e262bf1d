// Bounces.swift — delivery status notifications into the spool, and the 8-bit downgrade.
// (Interim: composition lands with the Bounce target.)

import GatehouseCore
import Spool

enum Bounces {
    enum Kind: Sendable { case failure, delay(until: Int64) }

    static func send(kind: Kind, message: QueueFile.Parsed, content: [UInt8], outcomes: [(key: Int, value: RecipientOutcome)],
                     spool: Spool, hostname: String, now: Int64, log: any LogSink) {
        log.record(LogRecord(program: "bounce", queueID: message.envelope.queueID, text: "sender non-delivery notification pending"))
    }

    @Sendable static func downgrade(_ content: [UInt8]) -> [UInt8]? { nil }
}
