// ClamdCommandTests.swift — the octets of each command and of INSTREAM frame headers (clamd(8)).

import Testing
@testable import AntiVirus

@Suite struct ClamdCommandTests {
    @Test func commandsAreNulTerminatedWithTheZPrefix() {
        #expect(ClamdCommand.ping.encoded == Array("zPING\0".utf8))
        #expect(ClamdCommand.version.encoded == Array("zVERSION\0".utf8))
        #expect(ClamdCommand.instream.encoded == Array("zINSTREAM\0".utf8))
    }

    @Test func frameHeadersAreFourOctetsInNetworkByteOrder() {
        #expect(ClamdCommand.frameHeader(length: 0) == [0, 0, 0, 0])
        #expect(ClamdCommand.frameHeader(length: 1) == [0, 0, 0, 1])
        #expect(ClamdCommand.frameHeader(length: 0x0102_0304) == [1, 2, 3, 4])
        #expect(ClamdCommand.frameHeader(length: 65_536) == [0, 1, 0, 0])
        #expect(ClamdCommand.frameHeader(length: Int(UInt32.max)) == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(ClamdCommand.endOfStream == ClamdCommand.frameHeader(length: 0))
    }
}
