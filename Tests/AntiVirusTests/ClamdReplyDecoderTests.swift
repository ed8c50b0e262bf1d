// ClamdReplyDecoderTests.swift — framing one NUL-terminated reply: any split of the octets gives
// the same reply, the length limit holds, a cut-off reply is an error and silence is nil.

import Testing
@testable import AntiVirus

@Suite struct ClamdReplyDecoderTests {
    let reply = Array("stream: Eicar-Signature FOUND".utf8)

    @Test func readsAWholeReply() throws {
        var decoder = ClamdReplyDecoder()
        #expect(try decoder.feed(reply + [0]) == reply)
        #expect(try decoder.finish() == reply)
    }

    @Test func readsAReplyAnOctetAtATime() throws {
        var decoder = ClamdReplyDecoder()
        for octet in reply {
            #expect(try decoder.feed([octet]) == nil)
        }
        #expect(decoder.receivedCount == reply.count)
        #expect(try decoder.feed([0]) == reply)
    }

    @Test func readsAReplySplitAnywhere() throws {
        let octets = reply + [0]
        for cut in 0...octets.count {
            var decoder = ClamdReplyDecoder()
            let first = try decoder.feed(octets[..<cut])
            let second = try decoder.feed(octets[cut...])
            #expect((first ?? second) == reply)
        }
    }

    @Test func ignoresWhatFollowsTheTerminator() throws {
        var decoder = ClamdReplyDecoder()
        #expect(try decoder.feed(Array("PONG\0garbage\0".utf8)) == Array("PONG".utf8))
        #expect(try decoder.feed(Array("more".utf8)) == Array("PONG".utf8))
    }

    @Test func boundsTheReplyLength() throws {
        var exact = ClamdReplyDecoder(maximumLength: 8)
        #expect(try exact.feed(Array("12345678\0".utf8)) == Array("12345678".utf8))

        var over = ClamdReplyDecoder(maximumLength: 8)
        #expect(throws: ClamdReplyError.tooLong(limit: 8)) { try over.feed(Array("123456789\0".utf8)) }

        // Without a terminator, the limit trips as soon as the octets pass it.
        var endless = ClamdReplyDecoder(maximumLength: 8)
        #expect(try endless.feed(Array("12345678".utf8)) == nil)
        #expect(throws: ClamdReplyError.tooLong(limit: 8)) { try endless.feed([UInt8(ascii: "9")]) }

        #expect(ClamdReplyDecoder().maximumLength == AntiVirusDefaults.maximumReplyLength)
    }

    @Test func aReplyCutOffByTheEndOfTheConnectionIsAnError() throws {
        var decoder = ClamdReplyDecoder()
        _ = try decoder.feed(Array("stream: O".utf8))
        #expect(throws: ClamdReplyError.truncated(received: 9)) { try decoder.finish() }
    }

    @Test func silenceIsNoReply() throws {
        let decoder = ClamdReplyDecoder()
        #expect(try decoder.finish() == nil)
    }

    @Test func anEmptyReplyIsAReply() throws {
        var decoder = ClamdReplyDecoder()
        #expect(try decoder.feed([0]) == [])
    }
}
