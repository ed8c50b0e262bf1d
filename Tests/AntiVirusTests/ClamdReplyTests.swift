// ClamdReplyTests.swift — what replies mean: INSTREAM results in every form clamd sends (and
// nothing else read as clean), PONG, VERSION. The property tests are in ClamdFuzzTests.swift.

import Testing
@testable import AntiVirus

@Suite struct ClamdReplyTests {
    func scan(_ text: String) throws(ClamdReplyError) -> ClamdScanResult {
        try ClamdScanResult.parse(Array(text.utf8))
    }

    @Test func readsClean() throws {
        #expect(try scan("stream: OK") == .clean)
    }

    @Test func readsASignature() throws {
        #expect(try scan("stream: Eicar-Signature FOUND") == .infected(signatures: ["Eicar-Signature"]))
        #expect(try scan("stream: Win.Test.EICAR_HDB-1 FOUND") == .infected(signatures: ["Win.Test.EICAR_HDB-1"]))
        #expect(try scan("stream: Gatehouse.Test.EICAR.UNOFFICIAL FOUND") == .infected(signatures: ["Gatehouse.Test.EICAR.UNOFFICIAL"]))
        #expect(try scan("stream: Heuristics.Encrypted.Zip FOUND") == .infected(signatures: ["Heuristics.Encrypted.Zip"]))
    }

    @Test func takesExtendedDetectionInfoOffTheName() throws {
        // clamd.conf ExtendedDetectionInfo yes: "(hash:size)" after the name.
        #expect(try scan("stream: Eicar-Signature(44d88612fea8a8f36de82e1278abb02f:68) FOUND")
            == .infected(signatures: ["Eicar-Signature"]))
        // Parentheses that are not hash:size stay part of the name.
        #expect(try scan("stream: Odd(name) FOUND") == .infected(signatures: ["Odd(name)"]))
        #expect(try scan("stream: (abc:12) FOUND") == .infected(signatures: ["(abc:12)"]))
    }

    @Test func readsErrors() throws {
        #expect(try scan("INSTREAM size limit exceeded. ERROR") == .error("INSTREAM size limit exceeded."))
        #expect(try scan("stream: Can't allocate memory ERROR") == .error("Can't allocate memory"))
        #expect(try scan("read timeout ERROR") == .error("read timeout"))
    }

    @Test func anythingElseIsUnexpectedNeverClean() {
        for text in ["", "UNKNOWN COMMAND", "PONG", "stream: ", "stream: OK ", "stream:OK", "Stream: OK",
                     "stream: FOUND", "stream:  FOUND", "stream: X", "1: stream: OK", "OK", "ERROR"] {
            #expect(throws: ClamdReplyError.unexpected(text)) { try scan(text) }
        }
    }

    @Test func refusesOctetsOutsidePrintableASCII() {
        #expect(throws: ClamdReplyError.notPrintable(offset: 8)) { try scan("stream: \u{1B}[31mX FOUND") }
        #expect(throws: ClamdReplyError.notPrintable(offset: 10)) { try scan("stream: OK\n") }
        #expect(throws: ClamdReplyError.notPrintable(offset: 8)) { try scan("stream: Ünïcode FOUND") }
        #expect(throws: ClamdReplyError.notPrintable(offset: 0)) { try ClamdScanResult.parse([0x7F]) }
    }

    @Test func readsPong() throws {
        try ClamdPong.parse(Array("PONG".utf8))
        #expect(throws: ClamdReplyError.unexpected("PONG ")) { try ClamdPong.parse(Array("PONG ".utf8)) }
        #expect(throws: ClamdReplyError.unexpected("stream: OK")) { try ClamdPong.parse(Array("stream: OK".utf8)) }
    }

    @Test func readsVersions() throws {
        #expect(try ClamdVersion.parse(Array("ClamAV 1.4.6".utf8)) == ClamdVersion(engine: "1.4.6"))
        let full = try ClamdVersion.parse(Array("ClamAV 1.4.6/27470/Sun Nov 22 09:36:51 2026".utf8))
        #expect(full == ClamdVersion(engine: "1.4.6", databaseVersion: 27470, databaseDate: "Sun Nov 22 09:36:51 2026"))
        #expect(full.description == "ClamAV 1.4.6/27470/Sun Nov 22 09:36:51 2026")
        for text in ["", "ClamAV", "ClamAV ", "ClamAV /1", "clamav 1.0", "ClamAV 1.0/x/date", "PONG"] {
            #expect(throws: ClamdReplyError.unexpected(text)) { try ClamdVersion.parse(Array(text.utf8)) }
        }
    }
}
