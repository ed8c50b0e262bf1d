// SegmentLogTests.swift — small messages many to a file (Sources/Spool/SegmentLog.swift): the
// commit path through a segment, crossing off, moving out, rotation, and recovery after a crash,
// including torn and damaged records.

import Testing
import Foundation
import GatehouseCore
@testable import Spool

@Suite("Spool: segments")
struct SegmentLogTests {
    /// An observer that takes every message into a segment (as the queue manager does while it has
    /// room) and remembers where each went.
    final class Taker: @unchecked Sendable {
        private let lock = NSLock()
        private var taken: [(String, SegmentLocation?)] = []
        var accept = true
        func add(_ id: String, _ location: SegmentLocation?) -> Bool {
            lock.withLock {
                taken.append((id, location))
                return location != nil && accept
            }
        }
        var all: [(String, SegmentLocation?)] { lock.withLock { taken } }
    }

    func observe(_ t: TemporarySpool, _ taker: Taker) {
        t.spool.observeCommits({ id, _, location in taker.add(id, location) }, takesSegments: { true })
    }

    func segmentFiles(_ t: TemporarySpool) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: t.spool.root + "/segment")) ?? []).sorted()
    }

    @Test func aSmallMessageGoesIntoASegmentAndIsHandedOver() throws {
        let t = try TemporarySpool()
        let taker = Taker()
        observe(t, taker)
        let id = try t.commit(envelope(), content: Array("Subject: s\r\n\r\nbody\r\n".utf8))
        let location = try #require(taker.all.first?.1)
        #expect(taker.all.first?.0 == id)
        // No queue file of its own; the record reads back as the queue file.
        #expect(t.spool.locate(id) == nil)
        let parsed = try QueueFile.parse(try t.spool.segments.read(location))
        #expect(parsed.envelope.queueID == id)
        // Listed (and readable) as an active message for `gatehouse queue`.
        let listing = try t.spool.listing()
        #expect(listing.messages.contains { $0.0 == .active && $0.1 == id })
        #expect(try QueueFile.parse(t.spool.read(.active, id, in: listing)).envelope.queueID == id)
        // The gateway's own read of active/ does not look into segments.
        #expect(throws: SpoolError.noSuchMessage(id)) { try t.spool.read(.active, id) }
        // Crossed off: gone from the listing.
        #expect(t.spool.segments.finish(location) == .live)
        #expect(try t.spool.messages().isEmpty)
    }

    @Test func aMessageTheObserverRefusesIsMovedIntoIncomingBeforeTheCommitReturns() throws {
        let t = try TemporarySpool()
        let taker = Taker()
        taker.accept = false
        observe(t, taker)
        let id = try t.commit(envelope(), content: Array("x\r\n".utf8))
        #expect(t.spool.locate(id) == .incoming)
        #expect(try QueueFile.parse(t.bytes(.incoming, id)).envelope.queueID == id)
        // The record is taken, so neither a listing nor a recovery brings a second copy.
        #expect(try t.spool.messages().filter { $0.1 == id }.count == 1)
        #expect(try t.spool.recoverSegments().recovered.isEmpty)
    }

    @Test func aLargeMessageKeepsAFileOfItsOwn() throws {
        let t = try TemporarySpool()
        let taker = Taker()
        observe(t, taker)
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: Defaults.spoolWriteChunk + 10)
        let id = try t.commit(envelope(), content: big)
        #expect(t.spool.locate(id) == .incoming)
        #expect(taker.all.first?.1 == nil)
    }

    @Test func recoveryTurnsLiveRecordsIntoQueueFilesAndSkipsFinishedOnes() throws {
        let t = try TemporarySpool()
        let taker = Taker()
        observe(t, taker)
        var ids: [String] = []
        for i in 0..<10 { ids.append(try t.commit(envelope(), content: Array("message \(i)\r\n".utf8))) }
        let locations = taker.all.map { $0.1! }
        for location in locations.prefix(4) { t.spool.segments.finish(location) }
        // A crash: a new process opens the same spool.
        let again = try Spool(directory: t.spool.root)
        let result = try again.recoverSegments()
        #expect(Set(result.recovered) == Set(ids.suffix(6)))
        #expect(result.damaged == 0)
        for id in ids.suffix(6) { #expect(again.locate(id) == .incoming) }
        for id in ids.prefix(4) { #expect(again.locate(id) == nil) }
        #expect(segmentFiles(t).isEmpty)
    }

    @Test func aTornRecordAtTheEndIsSkippedAndTheOthersRecovered() throws {
        let t = try TemporarySpool()
        let taker = Taker()
        observe(t, taker)
        let kept = try t.commit(envelope(), content: Array("kept\r\n".utf8))
        _ = try t.commit(envelope(), content: Array(String(repeating: "torn ", count: 100).utf8))
        let file = t.spool.root + "/segment/" + segmentFiles(t)[0]
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        #expect(truncate(file, off_t(size - 40)) == 0)  // the second record's write never finished
        let result = try Spool(directory: t.spool.root).recoverSegments()
        #expect(result.recovered == [kept])
        #expect(result.damaged == 1)
    }

    @Test func damageInTheMiddleIsSkippedAndLaterRecordsAreFoundAgain() throws {
        let t = try TemporarySpool()
        let taker = Taker()
        observe(t, taker)
        var ids: [String] = []
        for i in 0..<3 { ids.append(try t.commit(envelope(), content: Array("message number \(i)\r\n".utf8))) }
        let second = try #require(taker.all[1].1)
        let path = t.spool.root + "/segment/" + segmentFiles(t)[0]
        let fd = open(path, O_WRONLY)
        var garbage = [UInt8](repeating: 0xAB, count: 24)
        #expect(pwrite(fd, &garbage, garbage.count, off_t(second.offset + 40)) == 24)
        close(fd)
        let result = try Spool(directory: t.spool.root).recoverSegments()
        #expect(Set(result.recovered) == [ids[0], ids[2]])
        #expect(result.damaged == 1)
    }

    @Test func segmentsRotateAndAFinishedSealedSegmentIsRemoved() throws {
        var template = Array("/tmp/gatehouse-segtest-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let root = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { try? FileManager.default.removeItem(atPath: root) }
        let spool = try Spool(directory: root + "/queue", segmentBytes: 4096)
        let taker = Taker()
        spool.observeCommits({ id, _, location in taker.add(id, location) }, takesSegments: { true })
        for i in 0..<20 {
            let writer = try spool.beginMessage(envelope: envelope())
            try writer.append(Array(String(repeating: "line \(i)\r\n", count: 50).utf8))
            try writer.commit()
        }
        let files = { ((try? FileManager.default.contentsOfDirectory(atPath: root + "/queue/segment")) ?? []).count }
        #expect(files() > 2)
        for (_, location) in taker.all { spool.segments.finish(location!) }
        // Every sealed segment went with its last record; the current one stays for the next.
        spool.segments.waitForRemovals()
        #expect(files() == 1)
        spool.segments.seal()
        spool.segments.waitForRemovals()
        #expect(files() == 0)
    }

    @Test func manyThreadsCommittingAtOnceShareSyncsAndEveryRecordIsRecovered() throws {
        let t = try TemporarySpool()
        let taker = Taker()
        observe(t, taker)
        let spool = t.spool
        DispatchQueue.concurrentPerform(iterations: 400) { i in
            let writer = try! spool.beginMessage(envelope: envelope())
            try! writer.append(Array("concurrent \(i)\r\n".utf8))
            try! writer.commit()
        }
        #expect(taker.all.count == 400)
        #expect(Set(taker.all.map { $0.1! }).count == 400)
        let result = try Spool(directory: t.spool.root).recoverSegments()
        #expect(Set(result.recovered) == Set(taker.all.map(\.0)))
    }

    @Test func anAdministratorTakesALiveRecordOnceAndTheGatewaySeesItTaken() throws {
        let t = try TemporarySpool()
        let taker = Taker()
        observe(t, taker)
        let id = try t.commit(envelope(), content: Array("hold me\r\n".utf8))
        let location = try #require(taker.all.first?.1)
        let spool = t.spool
        #expect(try spool.segments.take(location) { (bytes: [UInt8]) throws(SpoolError) in
            try spool.writeClassic(id, bytes, to: .hold)
        })
        #expect(spool.locate(id) == .hold)
        // A second take finds it gone; the gateway's crossing off reports it taken.
        #expect(try !spool.segments.take(location) { (_: [UInt8]) throws(SpoolError) in })
        #expect(spool.segments.finish(location) == .taken)
        #expect(try spool.messages().map(\.1) == [id])
        #expect(try Spool(directory: spool.root).recoverSegments().recovered.isEmpty)
    }

    @Test func theGatewayDoesNotWaitForARecordAnAdministratorHolds() throws {
        let t = try TemporarySpool()
        let taker = Taker()
        observe(t, taker)
        _ = try t.commit(envelope(), content: Array("locked\r\n".utf8))
        let location = try #require(taker.all.first?.1)
        // `gatehouse queue` in another process: its own open file description, the same byte.
        let other = open(t.spool.root + "/segment/" + segmentFiles(t)[0], O_RDWR)
        defer { close(other) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = off_t(location.offset)
        lock.l_len = 1
        #expect(fcntl(other, SegmentLog.setLock, &lock) == 0)
        #expect(t.spool.segments.finish(location, waiting: false) == nil)
        lock.l_type = Int16(F_UNLCK)
        #expect(fcntl(other, SegmentLog.setLock, &lock) == 0)
        #expect(t.spool.segments.finish(location, waiting: false) == .live)
    }

    @Test func aRecordHeaderInsideMessageContentIsNotBelieved() throws {
        // Content that imitates a record header (right magic, any length and check) must not make
        // recovery skip or invent records: without the segment's nonce its check cannot match.
        let t = try TemporarySpool()
        let taker = Taker()
        observe(t, taker)
        var fake: [UInt8] = [SegmentLog.RecordState.done.rawValue] + SegmentLog.magic + [0xFF, 0xFF, 0x00, 0x00]
        fake += [UInt8](repeating: 0, count: 8)
        let body = Array(repeating: fake, count: 64).flatMap { $0 }
        let first = try t.commit(envelope(), content: body)
        let second = try t.commit(envelope(), content: Array("after\r\n".utf8))
        let path = t.spool.root + "/segment/" + segmentFiles(t)[0]
        // Damage the first record's header (a bad disk): recovery must resynchronise through its content.
        let firstLocation = try #require(taker.all.first?.1)
        let fd = open(path, O_WRONLY)
        var zero = [UInt8](repeating: 0, count: 8)
        #expect(pwrite(fd, &zero, 8, off_t(firstLocation.offset)) == 8)
        close(fd)
        let result = try Spool(directory: t.spool.root).recoverSegments()
        #expect(result.recovered == [second])
        #expect(!result.recovered.contains(first))
        #expect(result.damaged == 1)
    }

    @Test func recordsOfArbitraryBytesNeverCrashTheScan() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let count = Int.random(in: 0..<2048, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if count > 8 { bytes[0] = SegmentLog.RecordState.live.rawValue; bytes[1...3] = ArraySlice(SegmentLog.magic) }
            let (records, _) = SegmentLog.records(in: bytes, sequence: 1, live: false)
            #expect(records.isEmpty)
        }
    }
}
