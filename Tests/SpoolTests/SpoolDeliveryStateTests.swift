// SpoolDeliveryStateTests.swift — what the queue manager does to queued files
// (Sources/Spool/Spool.swift: relocate, setRecipientStatus, remove, setNextAttempt/nextAttempt,
// statusPath): moves without directory syncs, recipients crossed off in place with the file still
// parsing and its checksum still verifying, removal with the status file, retry times as mtimes.

import Testing
import Foundation
@testable import Spool

private func recipients(_ count: Int) -> [QueuedRecipient] {
    (0..<count).map { QueuedRecipient(address: "r\($0)@internal.example", notify: $0 == 0 ? "SUCCESS,FAILURE" : nil) }
}

@Suite("Spool: delivery state")
struct SpoolDeliveryStateTests {
    // MARK: relocate

    @Test func relocateMovesTheFileUnchanged() throws {
        let temp = try TemporarySpool()
        let id = try temp.commit(envelope(), content: Array("hello\r\n".utf8))
        let before = try temp.spool.read(.incoming, id)
        try temp.spool.relocate(id, from: .incoming, to: .active)
        try temp.spool.relocate(id, from: .active, to: .deferred)
        #expect(try temp.spool.messages().map { "\($0.0)/\($0.1)" } == ["deferred/\(id)"])
        #expect(try temp.spool.read(.deferred, id) == before)
    }

    @Test func relocateOfAMissingMessage() throws {
        // An administrator deleted or held it meanwhile: a typed error the queue manager can act on.
        let temp = try TemporarySpool()
        let id = freshID()
        #expect(throws: SpoolError.noSuchMessage(id)) { try temp.spool.relocate(id, from: .active, to: .deferred) }
        let held = try temp.commit(envelope(), content: [1])
        try temp.spool.move(held, from: .incoming, to: .hold)
        #expect(throws: SpoolError.noSuchMessage(held)) { try temp.spool.relocate(held, from: .active, to: .deferred) }
        #expect(try temp.spool.messages().map { $0.0 } == [.hold])
    }

    @Test func relocateRefusesBadIDs() throws {
        let temp = try TemporarySpool()
        #expect(throws: SpoolError.invalidQueueID("../hold/x")) { try temp.spool.relocate("../hold/x", from: .incoming, to: .active) }
        #expect(throws: SpoolError.invalidQueueID("")) { try temp.spool.relocate("", from: .incoming, to: .active) }
    }

    // MARK: setRecipientStatus

    @Test func crossingOffKeepsTheFileValid() throws {
        let temp = try TemporarySpool()
        let original = envelope(recipients: recipients(4))
        let content = Array("Subject: x\r\n\r\n".utf8) + (0...255).map { UInt8($0) }
        let id = try temp.commit(original, content: content)
        try temp.spool.move(id, from: .incoming, to: .active)
        let before = try temp.spool.read(.active, id)
        let offsets = try QueueFile.parse(before).recipientOffsets

        try temp.spool.setRecipientStatus(id, in: .active, [(offsets[1], .delivered), (offsets[3], .failed)])
        let after = try temp.spool.read(.active, id)
        // Still parses, so its checksum still verifies (parse checks it) and nothing else changed.
        let parsed = try QueueFile.parse(after)
        #expect(parsed.envelope.recipients.map(\.status) == [.pending, .delivered, .pending, .failed])
        #expect(parsed.envelope.recipients.map(\.address) == original.recipients.map(\.address))
        #expect(parsed.envelope.recipients[0].notify == "SUCCESS,FAILURE")
        #expect(parsed.extractContent(from: after) == content)
        #expect(after.count == before.count)
        let changed = before.indices.filter { before[$0] != after[$0] }
        #expect(changed == [offsets[1], offsets[3]])
        // The integrity check agrees.
        #expect(try temp.spool.check(repair: false).map { $0.error == nil } == [true])

        // Crossing off the rest, and again (idempotent).
        try temp.spool.setRecipientStatus(id, in: .active, [(offsets[0], .delivered), (offsets[2], .delivered)])
        try temp.spool.setRecipientStatus(id, in: .active, [(offsets[0], .delivered)])
        #expect(try QueueFile.parse(try temp.spool.read(.active, id)).envelope.recipients.map(\.status)
                == [.delivered, .delivered, .delivered, .failed])
    }

    @Test func nothingToCrossOffTouchesNothing() throws {
        let temp = try TemporarySpool()
        // Not even the file's existence is checked.
        try temp.spool.setRecipientStatus(freshID(), in: .active, [])
    }

    @Test func crossingOffAMissingMessage() throws {
        let temp = try TemporarySpool()
        let id = freshID()
        #expect(throws: SpoolError.noSuchMessage(id)) { try temp.spool.setRecipientStatus(id, in: .active, [(5, .delivered)]) }
    }

    @Test func eachOfManyRecipientsCanBeCrossedOff() throws {
        let temp = try TemporarySpool()
        let id = try temp.commit(envelope(recipients: recipients(60)), content: Array(repeating: 0x61, count: 10_000))
        let offsets = try QueueFile.parse(try temp.spool.read(.incoming, id)).recipientOffsets
        #expect(offsets.count == 60)
        var expected = [RecipientStatus](repeating: .pending, count: 60)
        for i in stride(from: 0, to: 60, by: 7) {
            let status: RecipientStatus = i % 2 == 0 ? .delivered : .failed
            try temp.spool.setRecipientStatus(id, in: .incoming, [(offsets[i], status)])
            expected[i] = status
            #expect(try QueueFile.parse(try temp.spool.read(.incoming, id)).envelope.recipients.map(\.status) == expected)
        }
    }

    // MARK: remove

    @Test func removeDeletesTheMessageAndItsStatus() throws {
        let temp = try TemporarySpool()
        let id = try temp.commit(envelope(), content: [1, 2, 3])
        try Data("attempts=1\n".utf8).write(to: URL(fileURLWithPath: temp.spool.statusPath(id)))
        try temp.spool.remove(id, from: .incoming)
        #expect(try temp.spool.messages().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: temp.spool.statusPath(id)))
        // Without a status file, and twice.
        let other = try temp.commit(envelope(), content: [1])
        try temp.spool.remove(other, from: .incoming)
        #expect(throws: SpoolError.noSuchMessage(other)) { try temp.spool.remove(other, from: .incoming) }
        #expect(throws: SpoolError.invalidQueueID("../x")) { try temp.spool.remove("../x", from: .incoming) }
    }

    @Test func removeFromTheWrongStateRemovesNothing() throws {
        let temp = try TemporarySpool()
        let id = try temp.commit(envelope(), content: [1])
        #expect(throws: SpoolError.noSuchMessage(id)) { try temp.spool.remove(id, from: .deferred) }
        #expect(try temp.spool.messages().map { $0.1 } == [id])
    }

    // MARK: next attempt

    @Test func nextAttemptIsTheModificationTime() throws {
        let temp = try TemporarySpool()
        let id = try temp.commit(envelope(), content: [1])
        try temp.spool.move(id, from: .incoming, to: .deferred)
        try temp.spool.setNextAttempt(id, in: .deferred, at: 1_900_000_000)
        #expect(temp.spool.nextAttempt(id, in: .deferred) == 1_900_000_000)
        try temp.spool.setNextAttempt(id, in: .deferred, at: 1_000)
        #expect(temp.spool.nextAttempt(id, in: .deferred) == 1_000)
        // A rename keeps it: the time survives a move between states.
        try temp.spool.relocate(id, from: .deferred, to: .active)
        #expect(temp.spool.nextAttempt(id, in: .active) == 1_000)
        // The content is untouched.
        #expect(try QueueFile.parse(try temp.spool.read(.active, id)).contentSize == 1)
    }

    @Test func nextAttemptOfAMissingMessage() throws {
        let temp = try TemporarySpool()
        let id = freshID()
        #expect(temp.spool.nextAttempt(id, in: .deferred) == nil)
        #expect(throws: SpoolError.noSuchMessage(id)) { try temp.spool.setNextAttempt(id, in: .deferred, at: 1) }
    }

    // MARK: status files

    @Test func statusFilesLiveBesideTheQueueStates() throws {
        let temp = try TemporarySpool()
        let id = freshID()
        #expect(temp.spool.statusPath(id) == temp.spool.root + "/status/" + id)
        var info = stat()
        #expect(stat(temp.spool.root + "/status", &info) == 0)
        #expect(info.st_mode & 0o170000 == 0o040000)
        #expect(info.st_mode & 0o777 == 0o700)
        // A status file is not a message.
        try Data("attempts=1\n".utf8).write(to: URL(fileURLWithPath: temp.spool.statusPath(id)))
        #expect(try temp.spool.messages().isEmpty)
        #expect(try temp.spool.check(repair: true).isEmpty)
    }

    @Test func anExistingSpoolGetsAStatusDirectory() throws {
        // A spool created before status files existed is upgraded when opened.
        let temp = try TemporarySpool()
        #expect(rmdir(temp.spool.root + "/status") == 0)
        let reopened = try Spool(directory: temp.directory)
        var info = stat()
        #expect(stat(reopened.root + "/status", &info) == 0)
    }
}
