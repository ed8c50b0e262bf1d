// SpoolTests.swift — the durable queue on disk (Sources/Spool/Spool.swift, QueueFile.swift,
// Envelope.swift): write, commit and read back; recovery; integrity checks; abort; large messages.
// Every test works in its own temporary directory under /tmp.

import Testing
import Foundation
import NIOCore
import GatehouseCore
@testable import Spool

/// A spool in a fresh temporary directory, removed when the test is done.
final class TemporarySpool {
    let directory: String
    let spool: Spool

    init() throws {
        var template = Array("/tmp/gatehouse-spooltest-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw SpoolError.system(call: "mkdtemp", path: "/tmp", errno: errno) }
        directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } + "/queue"
        spool = try Spool(directory: directory)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: String(directory.dropLast("/queue".count)))
    }

    func bytes(_ state: QueueState, _ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: spool.root + "/" + state.rawValue + "/" + name)))
    }

    func write(_ bytes: [UInt8], _ state: QueueState, _ name: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: spool.root + "/" + state.rawValue + "/" + name))
    }

    /// Writes and commits one message, returning its id.
    @discardableResult
    func commit(_ envelope: Envelope, content: [UInt8]) throws -> String {
        let writer = try spool.beginMessage(envelope: envelope)
        try writer.append(content)
        try writer.commit()
        return envelope.queueID
    }
}

/// A valid, unique queue id (time and 25 random bits).
func freshID() -> String { Spool.newQueueID() }

func envelope(id: String = freshID(), sender: String = "bob@foreign.example", recipients: [QueuedRecipient]? = nil) -> Envelope {
    Envelope(queueID: id, arrival: 1_700_000_123, sender: sender,
             recipients: recipients ?? [QueuedRecipient(address: "user@internal.example")],
             clientAddress: "192.0.2.1", clientName: "client.example", helo: "client.example", listener: "inbound",
             receivedProtocol: "ESMTPS", authenticatedUser: nil, body: nil, smtputf8: false, dsnReturn: nil, envelopeID: nil, flags: 0)
}

/// The content bytes of a parsed queue file.
func content(of parsed: QueueFile.Parsed, in file: [UInt8]) -> [UInt8] {
    parsed.contentRanges.flatMap { file[$0.0..<($0.0 + $0.1)] }
}

@Suite("Spool: write, commit, read back")
struct SpoolRoundTripTests {
    @Test func envelopeAndContentRoundTrip() throws {
        let temp = try TemporarySpool()
        let id = freshID()
        let original = Envelope(
            queueID: id, arrival: 1_712_345_678, sender: "bounce+tag\\x41@foreign.example",
            recipients: [
                QueuedRecipient(address: "user@internal.example", notify: "SUCCESS,FAILURE", originalRecipient: "rfc822;user@internal.example"),
                QueuedRecipient(address: "\"odd\tname\"@internal.example"),
                QueuedRecipient(address: "josé@bücher.example", notify: "NEVER"),
                QueuedRecipient(address: "postmaster", originalRecipient: "rfc822;back\\slash"),
            ],
            clientAddress: "2001:db8::1", clientName: "line\nbreak.example", helo: "evil\r\nX-Injected: yes\tand\\more\u{7F}\u{0}",
            listener: "inbound=1", receivedProtocol: "ESMTPSA", authenticatedUser: "alice", body: "8BITMIME", smtputf8: true,
            dsnReturn: "HDRS", envelopeID: "QQ+2B314159", flags: 3)
        var body: [UInt8] = Array("Subject: all bytes\r\n\r\n".utf8)
        body += (0...255).map { UInt8($0) }
        body += Array("\r\n.\r\n..\r\n".utf8)
        try temp.commit(original, content: body)

        #expect(try temp.spool.list(.incoming) == [id])
        let file = try temp.spool.read(.incoming, id)
        let parsed = try QueueFile.parse(file)
        #expect(parsed.envelope == original)
        #expect(parsed.contentSize == body.count)
        #expect(content(of: parsed, in: file) == body)
        #expect(parsed.recipientOffsets.count == 4)
        // Escaped values keep the envelope record one field per line.
        let envelopeRecord = file[...]
        #expect(!String(decoding: envelopeRecord, as: UTF8.self).contains("X-Injected: yes\t"))
    }

    @Test func theDecisionTraceIsKeptWithTheEnvelope() throws {
        let temp = try TemporarySpool()
        var original = envelope()
        original.trace = ["user@internal.example: tags/stamp: FIRED [✓ subject /stamp me/i matched \"stamp me\"]",
                          "user@internal.example: tags/never: no [✗ subject]", "", "tab\there, back\\slash"]
        let id = try temp.commit(original, content: Array("x\r\n".utf8))
        let parsed = try QueueFile.parse(try temp.spool.read(.incoming, id))
        #expect(parsed.envelope.trace == original.trace)
        #expect(parsed.envelope == original)
        // No trace, no field: files of messages no policy saw are unchanged.
        let plain = try temp.commit(envelope(), content: Array("x\r\n".utf8))
        let file = try temp.spool.read(.incoming, plain)
        #expect(try QueueFile.parse(file).envelope.trace.isEmpty)
        #expect(!String(decoding: file, as: UTF8.self).contains("\ntrace="))
    }

    @Test func escapingIsReversible() {
        for value in ["", "plain", "tab\there", "new\nline", "cr\rlf", "back\\slash", "\\x41", "\\x5c", "\\", "\\x", "\\x4", "\u{0}\u{1F}\u{7F}",
                      "é ü 😀", "a=b=c"] {
            let escaped = QueueFile.escape(value)
            #expect(!escaped.contains(0x0A) && !escaped.contains(0x09) && !escaped.contains(0x0D) && !escaped.contains(0))
            #expect(QueueFile.unescape(escaped[...]) == value, "\(value.debugDescription)")
        }
        #expect(QueueFile.escape("a\tb\\") == Array("a\\x09b\\x5c".utf8))
    }

    @Test func emptyMessageAndNullSender() throws {
        let temp = try TemporarySpool()
        let original = envelope(sender: "")
        try temp.commit(original, content: [])
        let file = try temp.spool.read(.incoming, original.queueID)
        let parsed = try QueueFile.parse(file)
        #expect(parsed.envelope == original)
        #expect(parsed.envelope.sender == "")
        #expect(parsed.contentSize == 0)
        #expect(parsed.contentRanges.isEmpty)
    }

    @Test func contentInManyAppendsIsConcatenated() throws {
        let temp = try TemporarySpool()
        let original = envelope()
        let writer = try temp.spool.beginMessage(envelope: original)
        var expected: [UInt8] = []
        for i in 0..<50 {
            let piece = Array("line \(i)\r\n".utf8)
            expected += piece
            if i % 2 == 0 { try writer.append(piece) } else { try writer.append(ByteBuffer(bytes: piece)) }
        }
        #expect(writer.contentSize == expected.count)
        try writer.commit()
        let file = try temp.spool.read(.incoming, original.queueID)
        #expect(content(of: try QueueFile.parse(file), in: file) == expected)
    }

    @Test func largeMessageRoundTrips() throws {
        let temp = try TemporarySpool()
        let original = envelope()
        let writer = try temp.spool.beginMessage(envelope: original)
        var generator = SystemRandomNumberGenerator()
        var expected: [UInt8] = []
        let total = 6 << 20
        expected.reserveCapacity(total)
        // About 6 MB in uneven chunks, one of them larger than a content record.
        var sizes = [65_536, 1, 300_000, 3 << 20, 77]
        var planned = sizes.reduce(0, +)
        while planned < total {
            let size = min(Int.random(in: 1...200_000, using: &generator), total - planned)
            sizes.append(size)
            planned += size
        }
        var state = UInt64.random(in: 1...UInt64.max, using: &generator)
        for size in sizes {
            var piece = [UInt8](repeating: 0, count: size)
            for i in 0..<size {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17  // xorshift64
                piece[i] = UInt8(truncatingIfNeeded: state)
            }
            expected += piece
            try writer.append(piece)
        }
        try writer.commit()
        let file = try temp.spool.read(.incoming, original.queueID)
        let parsed = try QueueFile.parse(file)
        #expect(parsed.contentSize == expected.count)
        #expect(parsed.contentRanges.allSatisfy { $0.1 <= QueueFile.maximumRecord })
        #expect(content(of: parsed, in: file) == expected)
        // Made in place from the file's buffer (records moved to the front): the same bytes.
        #expect(parsed.contentRanges.count > 20)
        #expect(parsed.extractContent(from: file) == expected)
        // A message given whole is cut into records as it goes, never buffered whole here.
        let whole = try temp.spool.beginMessage(envelope: envelope())
        try whole.append(expected)
        try whole.commit()
        let wholeFile = try temp.spool.read(.incoming, whole.envelope.queueID)
        let wholeParsed = try QueueFile.parse(wholeFile)
        #expect(wholeParsed.contentRanges.allSatisfy { $0.1 <= Defaults.spoolWriteChunk })
        #expect(wholeParsed.extractContent(from: wholeFile) == expected)
    }

    @Test func filesArePrivate() throws {
        let temp = try TemporarySpool()
        let id = try temp.commit(envelope(), content: Array("x\r\n".utf8))
        var info = stat()
        #expect(stat(temp.spool.path(.incoming, id), &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(stat(temp.spool.root + "/incoming", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
    }

    @Test func reopeningAnExistingSpoolKeepsMessages() throws {
        let temp = try TemporarySpool()
        let id = try temp.commit(envelope(), content: [1, 2, 3])
        let again = try Spool(directory: temp.directory)
        #expect(try again.messages().map { $0.1 } == [id])
        #expect(try again.messages().map { $0.0 } == [.incoming])
    }

    @Test func crossingOffARecipientInPlaceKeepsTheFileValid() throws {
        let temp = try TemporarySpool()
        let original = envelope(recipients: [QueuedRecipient(address: "a@internal.example"), QueuedRecipient(address: "b@internal.example")])
        try temp.commit(original, content: Array("hi\r\n".utf8))
        var file = try temp.spool.read(.incoming, original.queueID)
        let parsed = try QueueFile.parse(file)
        file[parsed.recipientOffsets[1]] = RecipientStatus.delivered.rawValue
        let crossed = try QueueFile.parse(file)
        #expect(crossed.envelope.recipients.map(\.status) == [.pending, .delivered])
        file[parsed.recipientOffsets[0]] = RecipientStatus.failed.rawValue
        #expect(try QueueFile.parse(file).envelope.recipients.map(\.status) == [.failed, .delivered])
    }

    @Test func moveBetweenStates() throws {
        let temp = try TemporarySpool()
        let id = try temp.commit(envelope(), content: [0x41])
        try temp.spool.move(id, from: .incoming, to: .active)
        try temp.spool.move(id, from: .active, to: .deferred)
        #expect(try temp.spool.list(.incoming).isEmpty)
        #expect(try temp.spool.messages().map { "\($0.0)/\($0.1)" } == ["deferred/\(id)"])
        #expect(throws: SpoolError.self) { try temp.spool.move(id, from: .incoming, to: .hold) }
        #expect(throws: SpoolError.invalidQueueID("../x")) { try temp.spool.move("../x", from: .deferred, to: .hold) }
    }

    @Test func badIDsAndMissingMessages() throws {
        let temp = try TemporarySpool()
        #expect(throws: SpoolError.invalidQueueID("../../etc/passwd")) { try temp.spool.beginMessage(envelope: envelope(id: "../../etc/passwd")) }
        #expect(throws: SpoolError.invalidQueueID("short")) { try temp.spool.read(.incoming, "short") }
        let missing = freshID()
        #expect(throws: SpoolError.noSuchMessage(missing)) { try temp.spool.read(.incoming, missing) }
        #expect(try temp.spool.list(.incoming).isEmpty)
    }

    @Test func theSameIDCannotBeWrittenTwice() throws {
        let temp = try TemporarySpool()
        let original = envelope()
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: Defaults.spoolWriteChunk + 10)
        let first = try temp.spool.beginMessage(envelope: original)
        try first.append(big)
        let second = try temp.spool.beginMessage(envelope: original)
        #expect(throws: SpoolError.self) { try second.append(big) }
        first.abort()
    }

    @Test func aMessageGetsAFileOnlyWhenItOutgrowsMemoryOrIsCommitted() throws {
        let temp = try TemporarySpool()
        let writer = try temp.spool.beginMessage(envelope: envelope())
        try writer.append([1, 2, 3])
        #expect(try temp.spool.list(.incoming).isEmpty)
        try writer.append([UInt8](repeating: 0, count: Defaults.spoolWriteChunk))
        #expect(try temp.spool.list(.incoming).count == 1)
        writer.abort()
        #expect(try temp.spool.list(.incoming).isEmpty)
    }

    @Test func freeSpaceIsReported() throws {
        let temp = try TemporarySpool()
        #expect(temp.spool.freeSpace() > 0)
    }
}

@Suite("Spool: hand-off of committed messages")
struct SpoolHandOffTests {
    /// What the observer was told, in order.
    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(String, [UInt8]?)] = []
        func add(_ id: String, _ file: [UInt8]?) { lock.withLock { items.append((id, file)) } }
        var all: [(String, [UInt8]?)] { lock.withLock { items } }
    }

    @Test func aMessageWrittenInOnePieceIsHandedOverWithItsFileBytes() throws {
        let t = try TemporarySpool()
        let seen = Seen()
        t.spool.observeCommits { id, file, _ in seen.add(id, file); return false }
        let body = Array("Subject: hi\r\n\r\nhello\r\n".utf8)
        let id = try t.commit(envelope(), content: body)
        #expect(seen.all.count == 1)
        let (queueID, file) = try #require(seen.all.first)
        #expect(queueID == id)
        // The bytes handed over are the committed file, byte for byte, already durable on disk.
        #expect(file == (try t.bytes(.incoming, id)))
        let parsed = try QueueFile.parse(try #require(file))
        #expect(parsed.envelope.queueID == id)
        #expect(parsed.extractContent(from: file!) == body)
    }

    @Test func aMessageWrittenInPiecesIsAnnouncedWithoutBytes() throws {
        let t = try TemporarySpool()
        let seen = Seen()
        t.spool.observeCommits { id, file, _ in seen.add(id, file); return false }
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: Defaults.spoolWriteChunk + 1000)
        let id = try t.commit(envelope(), content: big)
        #expect(seen.all.count == 1)
        #expect(seen.all.first?.0 == id)
        #expect(seen.all.first?.1 == nil)
    }

    @Test func nothingIsAnnouncedForAbortedMessagesOrAfterTheObserverIsRemoved() throws {
        let t = try TemporarySpool()
        let seen = Seen()
        t.spool.observeCommits { id, file, _ in seen.add(id, file); return false }
        let writer = try t.spool.beginMessage(envelope: envelope())
        try writer.append(Array("x\r\n".utf8))
        writer.abort()
        #expect(seen.all.isEmpty)
        t.spool.observeCommits(nil)
        try t.commit(envelope(), content: Array("y\r\n".utf8))
        #expect(seen.all.isEmpty)
    }

    @Test func manyCommitsCallTheSameObserverAtConstantCost() throws {
        // The observer is kept in a class box: a closure kept in a Mutex directly was wrapped in
        // two more conversion thunks at each access, so the n-th call went through 2n nested
        // thunks (quadratic time, and here a stack overflow long before the end).
        let t = try TemporarySpool()
        let count = Counter()
        t.spool.observeCommits { _, _, _ in count.increment(); return false }
        for _ in 0..<100_000 { t.spool.committed("id", file: nil) }
        #expect(count.value == 100_000)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func increment() { lock.withLock { n += 1 } }
        var value: Int { lock.withLock { n } }
    }
}

@Suite("Spool: abort and recovery")
struct SpoolRecoveryTests {
    @Test func abortLeavesNothing() throws {
        let temp = try TemporarySpool()
        let writer = try temp.spool.beginMessage(envelope: envelope())
        try writer.append(Array(repeating: 0x61, count: 300_000))
        #expect(try temp.spool.list(.incoming).count == 1)
        writer.abort()
        #expect(try temp.spool.list(.incoming).isEmpty)
        writer.abort()  // twice is harmless
        #expect(try temp.spool.messages().isEmpty)
    }

    @Test func droppedWriterLeavesNothing() throws {
        let temp = try TemporarySpool()
        do {
            let writer = try temp.spool.beginMessage(envelope: envelope())
            try writer.append([UInt8](repeating: 1, count: Defaults.spoolWriteChunk + 3))
            #expect(try temp.spool.list(.incoming).count == 1)
        }
        #expect(try temp.spool.list(.incoming).isEmpty)
    }

    @Test func uncommittedMessagesAreNotMessages() throws {
        let temp = try TemporarySpool()
        let original = envelope()
        let writer = try temp.spool.beginMessage(envelope: original)
        try writer.append([UInt8](repeating: 1, count: Defaults.spoolWriteChunk + 3))
        #expect(try temp.spool.list(.incoming) == [original.queueID + ".part"])
        #expect(try temp.spool.messages().isEmpty)
        try writer.commit()
        #expect(try temp.spool.list(.incoming) == [original.queueID])
        #expect(try temp.spool.messages().map { $0.1 } == [original.queueID])
    }

    @Test func recoverRemovesPartFiles() throws {
        let temp = try TemporarySpool()
        let kept = try temp.commit(envelope(), content: [1])
        // What a crash in the middle of a transaction leaves.
        let crashed1 = freshID(), crashed2 = freshID()
        try temp.write(Array("half a message".utf8), .incoming, crashed1 + ".part")
        try temp.write([], .incoming, crashed2 + ".part")
        #expect(try temp.spool.recover().sorted() == [crashed1, crashed2].sorted())
        #expect(try temp.spool.list(.incoming) == [kept])
        #expect(try temp.spool.recover().isEmpty)
    }
}

@Suite("Spool: integrity check")
struct SpoolCheckTests {
    /// Commits a message and returns its id with the bytes of its file.
    private func committed(_ temp: TemporarySpool, _ text: String = "Subject: check\r\n\r\nbody\r\n") throws -> (String, [UInt8]) {
        let id = try temp.commit(envelope(), content: Array(text.utf8))
        return (id, try temp.spool.read(.incoming, id))
    }

    @Test func damagedFilesAreReportedAndMovedToCorrupt() throws {
        let temp = try TemporarySpool()
        let (good, _) = try committed(temp)

        // A flipped content byte.
        let (flipped, flippedFile) = try committed(temp)
        var damaged = flippedFile
        let range = try QueueFile.parse(flippedFile).contentRanges[0]
        damaged[range.0 + 3] ^= 0x20
        try temp.write(damaged, .incoming, flipped)

        // A truncated file.
        let (truncated, truncatedFile) = try committed(temp)
        try temp.write(Array(truncatedFile.dropLast(10)), .incoming, truncated)

        // A missing trailer (a crash before the end record, renamed by hand).
        let (noTrailer, noTrailerFile) = try committed(temp)
        try temp.write(Array(noTrailerFile.dropLast(5 + QueueFile.trailerSize)), .incoming, noTrailer)

        // A flipped envelope byte.
        let (flippedEnvelope, envelopeFile) = try committed(temp)
        var damagedEnvelope = envelopeFile
        let heloOffset = try #require(findSubsequence(Array("helo=client".utf8), in: envelopeFile))
        damagedEnvelope[heloOffset + 5] = UInt8(ascii: "C")
        try temp.write(damagedEnvelope, .incoming, flippedEnvelope)

        let expected: [String: QueueFileError] = [
            flipped: .checksumMismatch,
            noTrailer: .missingTrailer,
            flippedEnvelope: .checksumMismatch,
        ]

        // Without repair: reported, left in place.
        let report = try temp.spool.check(repair: false)
        #expect(report.count == 5)
        for result in report {
            #expect(result.state == .incoming)
            if result.id == good {
                #expect(result.error == nil)
            } else if result.id == truncated {
                guard case .truncated? = result.error else { Issue.record("truncated file gave \(String(describing: result.error))"); continue }
            } else {
                #expect(result.error == expected[result.id], "\(result.id)")
            }
        }
        #expect(try temp.spool.list(.corrupt).isEmpty)

        // With repair: moved to corrupt and reported there.
        let repaired = try temp.spool.check(repair: true)
        #expect(repaired.count == 5)
        #expect(repaired.filter { $0.error == nil }.map(\.id) == [good])
        #expect(repaired.filter { $0.error != nil }.allSatisfy { $0.state == .corrupt })
        #expect(try temp.spool.list(.incoming) == [good])
        #expect(try temp.spool.list(.corrupt).sorted() == [flipped, truncated, noTrailer, flippedEnvelope].sorted())

        // A second check finds them in corrupt and leaves them there.
        let again = try temp.spool.check(repair: true)
        #expect(again.filter { $0.state == .corrupt }.count == 4)
        #expect(again.filter { $0.state == .corrupt }.allSatisfy { $0.error != nil })
        #expect(try temp.spool.list(.corrupt).count == 4)
    }

    @Test func fileUnderAnotherIDIsCorrupt() throws {
        let temp = try TemporarySpool()
        let (_, file) = try committed(temp)
        let other = freshID()
        try temp.write(file, .deferred, other)
        let report = try temp.spool.check(repair: true)
        let moved = try #require(report.first { $0.id == other })
        #expect(moved.error == .badEnvelope("queue id does not match the file name"))
        #expect(moved.state == .corrupt)
        #expect(try temp.spool.list(.deferred).isEmpty)
    }

    @Test func checkCoversEveryState() throws {
        let temp = try TemporarySpool()
        let ids = try (0..<4).map { _ in try committed(temp).0 }
        try temp.spool.move(ids[1], from: .incoming, to: .active)
        try temp.spool.move(ids[2], from: .incoming, to: .deferred)
        try temp.spool.move(ids[3], from: .incoming, to: .hold)
        let report = try temp.spool.check(repair: true)
        #expect(report.count == 4)
        #expect(report.allSatisfy { $0.error == nil })
        #expect(Set(report.map(\.state)) == [.incoming, .active, .deferred, .hold])
    }
}

func findSubsequence(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
    return nil
}

extension ByteBuffer {
    init(bytes: [UInt8]) {
        self = ByteBufferAllocator().buffer(capacity: bytes.count)
        writeBytes(bytes)
    }
}
