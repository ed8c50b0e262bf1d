#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Spool
import Testing
@testable import Quarantine

@Suite("Quarantine store")
struct QuarantineStoreTests {
    let root: String
    let store: QuarantineStore
    let spool: Spool
    let message = Array("From: a@remote.test\r\nSubject: held\r\n\r\nbody\r\n".utf8)

    init() throws {
        root = NSTemporaryDirectory() + "quarantine-tests-" + UUID().uuidString
        mkdir(root, 0o700)
        store = try QuarantineStore(directory: root + "/quarantine")
        spool = try Spool(directory: root + "/queue")
    }

    func record(_ recipients: [String] = ["bob@example.org", "carol@example.org"], folder: String = "spam", expires: Int64 = 2_000_000_000,
                id: String = QuarantineStore.newID()) -> QuarantineRecord {
        QuarantineRecord(id: id, queueID: Spool.newQueueID(), folder: folder, arrival: 1_000, expires: expires, sender: "a@remote.test",
                         recipients: recipients.map { QuarantineRecipient(address: $0) }, from: "a@remote.test", subject: "held",
                         size: message.count, rulesFired: ["protect/spam"], spamScore: 9.5, viruses: [], clientAddress: "192.0.2.1",
                         listener: "mx", smtputf8: false, trace: ["bob@example.org: protect/spam: FIRED"])
    }

    /// The queued messages, parsed.
    func queued() throws -> [QueueFile.Parsed] {
        try spool.list(.incoming).filter { !$0.hasSuffix(".part") }.map { try QueueFile.parse(spool.read(.incoming, $0)) }
    }

    @Test func storedEntriesReadBackWithTheirContent() throws {
        let r = record()
        try store.store(r, content: message)
        #expect(try store.record(r.id) == r)
        #expect(try store.content(r.id) == message)
        #expect(try store.list().map(\.id) == [r.id])
        let json = String(decoding: FileManager.default.contents(atPath: root + "/quarantine/\(r.id).json") ?? Data(), as: UTF8.self)
        #expect(json.contains("\"queue_id\"") && json.contains("\"rules_fired\""), "records ship with snake_case keys")
    }

    @Test func releaseQueuesOnceForEveryHeldRecipient() throws {
        let r = record()
        try store.store(r, content: message)
        let done = try store.release(r.id, spool: spool, hostname: "mx.test", now: 5_000)
        #expect(done.recipients == ["bob@example.org", "carol@example.org"])
        let parsed = try queued()
        #expect(parsed.count == 1)
        #expect(parsed[0].envelope.recipients.map(\.address) == ["bob@example.org", "carol@example.org"])
        #expect(parsed[0].envelope.sender == "a@remote.test")
        #expect(parsed[0].envelope.queueID == done.queueID)
        let after = try store.record(r.id)
        #expect(after.held.isEmpty && after.recipients.allSatisfy { $0.releasedAs == done.queueID && $0.releasedAt == 5_000 })
        #expect(throws: QuarantineError.nothingToRelease(r.id)) { try store.release(r.id, spool: spool, hostname: "mx.test") }
        #expect(try queued().count == 1, "asked twice, queued once")
    }

    @Test func releaseToOneRecipientLeavesTheOtherHeld() throws {
        let r = record()
        try store.store(r, content: message)
        _ = try store.release(r.id, to: ["CAROL@example.org"], spool: spool, hostname: "mx.test")
        #expect(try store.record(r.id).held == ["bob@example.org"])
        #expect(throws: QuarantineError.notARecipient(id: r.id, address: "eve@example.org")) {
            try store.release(r.id, to: ["eve@example.org"], spool: spool, hostname: "mx.test")
        }
        _ = try store.release(r.id, spool: spool, hostname: "mx.test")
        #expect(try queued().flatMap { $0.envelope.recipients.map(\.address) }.sorted() == ["bob@example.org", "carol@example.org"])
    }

    @Test func forwardLeavesTheEntryAndDeleteRemovesIt() throws {
        let r = record()
        try store.store(r, content: message)
        _ = try store.forward(r.id, to: ["security@example.org"], spool: spool, hostname: "mx.test")
        #expect(try queued().map { $0.envelope.recipients.map(\.address) } == [["security@example.org"]])
        #expect(try store.record(r.id).held.count == 2)
        try store.delete(r.id)
        #expect(throws: QuarantineError.noSuchEntry(r.id)) { try store.record(r.id) }
        #expect(throws: QuarantineError.noSuchEntry(r.id)) { try store.delete(r.id) }
    }

    @Test func sweepRemovesExpiredEntriesAndOldOrphans() throws {
        let old = record(expires: 10_000)
        let current = record(expires: 30_000)
        try store.store(old, content: message)
        try store.store(current, content: message)
        let orphan = QuarantineStore.newID()
        _ = FileManager.default.createFile(atPath: root + "/quarantine/\(orphan).eml", contents: Data(message))
        #expect(try store.sweep(now: 20_000) == [old.id])
        #expect(try store.list().map(\.id) == [current.id])
        #expect(FileManager.default.fileExists(atPath: root + "/quarantine/\(orphan).eml"), "a fresh orphan may be a store in progress")
        let kept = record()
        try store.store(kept, content: message)
        _ = FileManager.default.createFile(atPath: root + "/quarantine/\(kept.id).json.tmp", contents: Data("{".utf8))
        _ = try store.sweep(now: Int64(time(nil)) + 7_200)
        #expect(!FileManager.default.fileExists(atPath: root + "/quarantine/\(orphan).eml"))
        #expect(!FileManager.default.fileExists(atPath: root + "/quarantine/\(kept.id).json.tmp"), "a stale temporary file goes")
        #expect(try store.record(kept.id) == kept, "its entry stays")
    }

    @Test func damagedAndHostileInputGetsTypedErrors() throws {
        #expect(throws: QuarantineError.invalidID("../../etc/passwd")) { try store.record("../../etc/passwd") }
        #expect(throws: QuarantineError.invalidID("../x")) { try store.content("../x") }
        let id = QuarantineStore.newID()
        _ = FileManager.default.createFile(atPath: root + "/quarantine/\(id).json", contents: Data("{\"id\": 3".utf8))
        #expect(throws: QuarantineError.damagedRecord(id)) { try store.record(id) }
        #expect(try store.list().isEmpty, "a damaged record is skipped by list")
    }

    @Test func concurrentReleasesQueueOnce() async throws {
        let r = record()
        try store.store(r, content: message)
        let store = self.store, spool = self.spool
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { (try? store.release(r.id, spool: spool, hostname: "mx.test")) != nil }
            }
            var all: [Bool] = []
            for await ok in group { all.append(ok) }
            return all
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try queued().count == 1)
    }
}
