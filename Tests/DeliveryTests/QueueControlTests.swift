// QueueControlTests.swift — the administrator's queue operations (Sources/Delivery/QueueControl.swift)
// on a real spool in a temporary directory: hold, release, delete, retry for single ids and ALL,
// refusals that name the message, and the `queue show` report.

import Testing
import Foundation
import GatehouseCore
@testable import Spool
@testable import Delivery

/// The results as "id: done text" lines, for compact expectations.
private func lines(_ results: [(id: String, done: Bool, text: String)]) -> [String] {
    results.map { "\($0.id): \($0.done ? "ok" : "no") \($0.text)" }
}

@Suite("QueueControl")
struct QueueControlTests {
    @Test func holdAndRelease() throws {
        let temp = try TemporarySpool()
        let id = try temp.message(in: .deferred)
        #expect(lines(try QueueControl.perform(.hold, ids: [id], spool: temp.spool)) == ["\(id): ok held"])
        #expect(try temp.states() == [id: .hold])
        // Held twice: refused, and the message stays where it is.
        #expect(lines(try QueueControl.perform(.hold, ids: [id], spool: temp.spool)) == ["\(id): no is in hold"])
        #expect(lines(try QueueControl.perform(.release, ids: [id], spool: temp.spool)) == ["\(id): ok released"])
        // Released messages go to incoming, where the queue manager picks them up at once.
        #expect(try temp.states() == [id: .incoming])
        #expect(lines(try QueueControl.perform(.release, ids: [id], spool: temp.spool)) == ["\(id): no is not on hold"])
        // The file is intact after the moves.
        #expect(try QueueFile.parse(try temp.spool.read(.incoming, id)).envelope.queueID == id)
    }

    @Test(arguments: [QueueState.incoming, .active, .deferred])
    func holdFromEveryDeliverableState(_ state: QueueState) throws {
        let temp = try TemporarySpool()
        let id = try temp.message(in: state)
        #expect(try QueueControl.perform(.hold, ids: [id], spool: temp.spool).map { $0.done } == [true])
        #expect(try temp.states() == [id: .hold])
    }

    @Test func corruptMessagesAreNotHeld() throws {
        let temp = try TemporarySpool()
        let id = try temp.message(in: .corrupt)
        #expect(lines(try QueueControl.perform(.hold, ids: [id], spool: temp.spool)) == ["\(id): no is in corrupt"])
        #expect(try temp.states() == [id: .corrupt])
    }

    @Test func retryMovesDeferredMessagesToIncoming() throws {
        let temp = try TemporarySpool()
        let deferred = try temp.message(in: .deferred)
        let held = try temp.message(in: .hold)
        #expect(lines(try QueueControl.perform(.retry, ids: [deferred, held], spool: temp.spool))
                == ["\(deferred): ok queued for immediate delivery", "\(held): no is in hold; release it"])
        #expect(try temp.states() == [deferred: .incoming, held: .hold])
    }

    @Test func deleteRemovesTheMessageAndItsStatus() throws {
        let temp = try TemporarySpool()
        let id = try temp.message(in: .deferred)
        var status = DeliveryStatus()
        status.attempts = 3
        status.store(temp.spool.statusPath(id))
        #expect(FileManager.default.fileExists(atPath: temp.spool.statusPath(id)))
        #expect(lines(try QueueControl.perform(.delete, ids: [id], spool: temp.spool)) == ["\(id): ok deleted"])
        #expect(try temp.spool.messages().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: temp.spool.statusPath(id)))
    }

    @Test(arguments: QueueState.allCases)
    func deleteFromEveryState(_ state: QueueState) throws {
        let temp = try TemporarySpool()
        let id = try temp.message(in: state)
        #expect(try QueueControl.perform(.delete, ids: [id], spool: temp.spool).map { $0.done } == [true])
        #expect(try temp.spool.messages().isEmpty)
    }

    @Test(arguments: QueueControl.Operation.allCases)
    func badAndUnknownIDsAreReportedNotFatal(_ operation: QueueControl.Operation) throws {
        let temp = try TemporarySpool()
        let present = try temp.message(in: operation == .release ? .hold : .deferred)
        let unknown = Spool.newQueueID()
        let results = try QueueControl.perform(operation, ids: ["../../etc/passwd", unknown, present, "short"], spool: temp.spool)
        #expect(results.map { $0.id } == ["../../etc/passwd", unknown, present, "short"])
        #expect(results.map { $0.done } == [false, false, true, false])
        #expect(results[0].text == "not a queue id")
        #expect(results[1].text == "no such message")
        #expect(results[3].text == "not a queue id")
    }

    @Test func releaseAndRetryALLTouchOnlyWhatTheyApplyTo() throws {
        let temp = try TemporarySpool()
        let incoming = try temp.message(in: .incoming)
        let deferred1 = try temp.message(in: .deferred)
        let deferred2 = try temp.message(in: .deferred)
        let held = try temp.message(in: .hold)
        let corrupt = try temp.message(in: .corrupt)

        let retried = try QueueControl.perform(.retry, ids: ["ALL"], spool: temp.spool)
        #expect(Set(retried.map { $0.id }) == [deferred1, deferred2])
        #expect(retried.allSatisfy { $0.done })

        let released = try QueueControl.perform(.release, ids: ["ALL"], spool: temp.spool)
        #expect(released.map { $0.id } == [held])
        #expect(released.allSatisfy { $0.done })

        #expect(try temp.states() == [incoming: .incoming, deferred1: .incoming, deferred2: .incoming, held: .incoming, corrupt: .corrupt])
        // Nothing to do is not a failure.
        #expect(try QueueControl.perform(.retry, ids: ["ALL"], spool: temp.spool).isEmpty)
    }

    @Test func holdALLHoldsEverythingDeliverable() throws {
        let temp = try TemporarySpool()
        let incoming = try temp.message(in: .incoming)
        let deferred = try temp.message(in: .deferred)
        let held = try temp.message(in: .hold)
        let corrupt = try temp.message(in: .corrupt)
        let results = try QueueControl.perform(.hold, ids: ["ALL"], spool: temp.spool)
        #expect(try temp.states() == [incoming: .hold, deferred: .hold, held: .hold, corrupt: .corrupt])
        #expect(Set(results.filter { $0.done }.map { $0.id }) == [incoming, deferred])
        // "Every message that it applies to" (the doc comment of `perform`): a message already held,
        // or corrupt, is not one hold applies to, so `queue hold ALL` must not report it as a failure
        // (release ALL and retry ALL stay silent about such messages; the CLI exits 1 on any failure).
        #expect(results.allSatisfy { $0.done }, "\(lines(results))")
    }

    @Test func deleteALLEmptiesTheQueue() throws {
        let temp = try TemporarySpool()
        for state in QueueState.allCases { try temp.message(in: state) }
        let results = try QueueControl.perform(.delete, ids: ["ALL"], spool: temp.spool)
        #expect(results.count == QueueState.allCases.count)
        #expect(results.allSatisfy { $0.done })
        #expect(try temp.spool.messages().isEmpty)
    }

    @Test func anEmptyQueue() throws {
        let temp = try TemporarySpool()
        for operation in QueueControl.Operation.allCases {
            #expect(try QueueControl.perform(operation, ids: ["ALL"], spool: temp.spool).isEmpty)
            #expect(try QueueControl.perform(operation, ids: [], spool: temp.spool).isEmpty)
        }
    }

    // MARK: queue show

    @Test func reportOfADeferredMessage() throws {
        let temp = try TemporarySpool()
        let envelope = testEnvelope(sender: "", recipients: [
            QueuedRecipient(address: "done@example.net"),
            QueuedRecipient(address: "waiting@example.net", notify: "FAILURE", originalRecipient: "rfc822;Waiting@example.net"),
            QueuedRecipient(address: "gone@example.net"),
        ])
        let content = Array("Subject: x\r\n\r\nhello\r\n".utf8)
        let id = try temp.commit(envelope, content: content)
        // The queue manager's bookkeeping: two recipients crossed off, a reason for the third.
        let parsed = try QueueFile.parse(try temp.spool.read(.incoming, id))
        try temp.spool.setRecipientStatus(id, in: .incoming, [(parsed.recipientOffsets[0], .delivered), (parsed.recipientOffsets[2], .failed)])
        try temp.spool.move(id, from: .incoming, to: .deferred)
        try temp.spool.setNextAttempt(id, in: .deferred, at: 1_900_000_000)
        var status = DeliveryStatus()
        status.attempts = 4
        status.lastAttempt = 1_899_999_000
        status.recipients[1] = .deferred(EnhancedStatusCode(4, 7, 1), "smtp; 451 4.7.1 Greylisted")
        status.recipients[2] = .failed(EnhancedStatusCode(5, 1, 1), "smtp; 550 5.1.1 unknown")
        status.store(temp.spool.statusPath(id))

        let report = try QueueControl.report(id, spool: temp.spool)
        #expect(report.id == id)
        #expect(report.state == "deferred")
        #expect(report.sender == "")
        #expect(report.arrival == envelope.arrival)
        #expect(report.size == content.count)
        #expect(report.client == "client.example[192.0.2.1]")
        #expect(report.helo == "client.example")
        #expect(report.listener == "inbound")
        #expect(report.attempts == 4)
        #expect(report.lastAttempt == 1_899_999_000)
        #expect(report.nextAttempt == 1_900_000_000)
        #expect(report.recipients.map(\.address) == ["done@example.net", "waiting@example.net", "gone@example.net"])
        #expect(report.recipients.map(\.status) == ["delivered", "pending", "failed"])
        // A reason for a recipient still pending and for one that failed; none once delivered.
        #expect(report.recipients.map(\.reason) == [nil, "smtp; 451 4.7.1 Greylisted", "smtp; 550 5.1.1 unknown"])
        #expect(report.recipients[1].dsn == "4.7.1")
        #expect(report.recipients[1].notify == "FAILURE")
        #expect(report.recipients[1].originalRecipient == "rfc822;Waiting@example.net")
        // It encodes for `queue show --json`.
        let json = try JSONEncoder().encode(report)
        #expect(String(decoding: json, as: UTF8.self).contains("waiting@example.net"))
    }

    @Test func reportOfAFreshMessage() throws {
        let temp = try TemporarySpool()
        let id = try temp.commit()
        let report = try QueueControl.report(id, spool: temp.spool)
        #expect(report.state == "incoming")
        #expect(report.attempts == 0)
        #expect(report.lastAttempt == nil)
        #expect(report.nextAttempt == nil)
        #expect(report.recipients.map(\.status) == ["pending"])
        #expect(report.recipients[0].reason == nil)
    }

    @Test func reportRefusals() throws {
        let temp = try TemporarySpool()
        #expect(throws: SpoolError.invalidQueueID("../x")) { try QueueControl.report("../x", spool: temp.spool) }
        let unknown = Spool.newQueueID()
        #expect(throws: SpoolError.noSuchMessage(unknown)) { try QueueControl.report(unknown, spool: temp.spool) }
    }
}
