// QueueFileTests.swift — the queue file format's own checks (Sources/Spool/QueueFile.swift): every
// truncation and every flipped byte is refused, each typed error in its place.

import Testing
@testable import Spool

@Suite("QueueFile.parse")
struct QueueFileParseTests {
    private func validFile() throws -> (TemporarySpool, [UInt8]) {
        let temp = try TemporarySpool()
        let id = try temp.commit(envelope(), content: Array("hello\r\n".utf8))
        return (temp, try temp.spool.read(.incoming, id))
    }

    @Test func everyTruncationIsRefused() throws {
        let (_, file) = try validFile()
        for length in 0..<file.count {
            #expect(throws: QueueFileError.self, "length \(length)") { try QueueFile.parse(Array(file[..<length])) }
        }
        #expect(throws: QueueFileError.missingTrailer) { try QueueFile.parse([]) }
    }

    @Test func everyFlippedPayloadByteIsDetected() throws {
        let (_, file) = try validFile()
        let parsed = try QueueFile.parse(file)
        for offset in 0..<file.count {
            // Recipient status bytes change in place on purpose; every other byte is covered.
            if parsed.recipientOffsets.contains(offset) { continue }
            var damaged = file
            damaged[offset] ^= 0x01
            #expect(throws: QueueFileError.self, "offset \(offset)") { try QueueFile.parse(damaged) }
        }
    }

    @Test func specificErrors() throws {
        let (_, file) = try validFile()
        var version = file
        version[5] = UInt8(ascii: "X")  // "GHQ2" → "XHQ2"
        #expect(throws: QueueFileError.badVersion) { try QueueFile.parse(version) }

        var unknown = file
        unknown[0] = UInt8(ascii: "Q")
        #expect(throws: QueueFileError.unknownRecord(type: UInt8(ascii: "Q"), offset: 0)) { try QueueFile.parse(unknown) }

        var tooLarge = file
        tooLarge[1] = 0x7F
        #expect(throws: QueueFileError.recordTooLarge(offset: 0)) { try QueueFile.parse(tooLarge) }

        var size = file
        size[size.count - 1] ^= 0x01  // the content size in the trailer; the checksum does not cover it
        #expect(throws: QueueFileError.sizeMismatch) { try QueueFile.parse(size) }

        var checksum = file
        checksum[checksum.count - 9] ^= 0x01  // last byte of the digest
        #expect(throws: QueueFileError.checksumMismatch) { try QueueFile.parse(checksum) }

        #expect(throws: QueueFileError.missingTrailer) { try QueueFile.parse(file + [0x00]) }
    }

    /// The file rewritten in format 1 (version "GHQ1", SHA-256 in the end record), as the gateway
    /// wrote queue files before 2026-12-07.
    private func formatOne(_ file: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let checksum = QueueFileChecksum(.sha256)
        var offset = 0
        var contentSize = 0
        while offset < file.count {
            let type = file[offset]
            let length = Int(file[offset + 1]) << 24 | Int(file[offset + 2]) << 16 | Int(file[offset + 3]) << 8 | Int(file[offset + 4])
            var payload = Array(file[(offset + 5)..<(offset + 5 + length)])
            offset += 5 + length
            if type == QueueFile.RecordType.end.rawValue { break }
            if type == QueueFile.RecordType.version.rawValue { payload = QueueFile.version1 }
            if type == QueueFile.RecordType.content.rawValue { contentSize += length }
            checksum.update(payload)
            out += QueueFile.recordHeader(type, payload.count) + payload
        }
        let size = (0..<8).reversed().map { UInt8(truncatingIfNeeded: contentSize >> ($0 * 8)) }
        return out + QueueFile.recordHeader(QueueFile.RecordType.end.rawValue, 40) + checksum.finalize() + size
    }

    @Test func formatOneFilesAreStillRead() throws {
        let (_, file) = try validFile()
        let old = formatOne(file)
        #expect(Array(old[5..<9]) == Array("GHQ1".utf8))
        #expect(old.count == file.count + 16)  // a 32-byte digest instead of 16
        let parsed = try QueueFile.parse(old)
        let current = try QueueFile.parse(file)
        #expect(parsed.envelope.queueID == current.envelope.queueID)
        #expect(parsed.envelope.recipients.map(\.address) == current.envelope.recipients.map(\.address))
        #expect(parsed.extractContent(from: old) == Array("hello\r\n".utf8))
        // Its SHA-256 is checked like the current checksum.
        for offset in 0..<old.count where !parsed.recipientOffsets.contains(offset) {
            var damaged = old
            damaged[offset] ^= 0x01
            #expect(throws: QueueFileError.self, "offset \(offset)") { try QueueFile.parse(damaged) }
        }
        // A format-1 file with the current (shorter) end record, or the other way round, is refused.
        var mixed = Array(file)
        mixed.replaceSubrange(5..<9, with: Array("GHQ1".utf8))
        #expect(throws: QueueFileError.missingTrailer) { try QueueFile.parse(mixed) }
        var mixedBack = old
        mixedBack.replaceSubrange(5..<9, with: Array("GHQ2".utf8))
        #expect(throws: QueueFileError.missingTrailer) { try QueueFile.parse(mixedBack) }
    }

    @Test func theChecksumIsXXH3OfThePayloads() throws {
        let (_, file) = try validFile()
        #expect(Array(file[5..<9]) == Array("GHQ2".utf8))
        #expect(Array(file.suffix(29).prefix(5)) == QueueFile.recordHeader(QueueFile.RecordType.end.rawValue, 24))
        // Not checked when the caller says the bytes never were on a disk; everything else still is.
        var damaged = file
        damaged[damaged.count - 9] ^= 0x01
        #expect(throws: QueueFileError.checksumMismatch) { try QueueFile.parse(damaged) }
        #expect(try QueueFile.parse(damaged, verifyingChecksum: false).contentSize == 7)
        damaged[damaged.count - 1] ^= 0x01
        #expect(throws: QueueFileError.sizeMismatch) { try QueueFile.parse(damaged, verifyingChecksum: false) }
    }

    @Test func errorDescriptions() {
        #expect(QueueFileError.truncated(offset: 12).description == "truncated record at offset 12")
        #expect(QueueFileError.missingTrailer.description == "no end record (incomplete file)")
        #expect(SpoolError.noSuchMessage("X").description == "no such message: X")
    }
}
