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
        version[5] = UInt8(ascii: "X")  // "GHQ1" → "XHQ1"
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

    @Test func errorDescriptions() {
        #expect(QueueFileError.truncated(offset: 12).description == "truncated record at offset 12")
        #expect(QueueFileError.missingTrailer.description == "no end record (incomplete file)")
        #expect(SpoolError.noSuchMessage("X").description == "no such message: X")
    }
}
