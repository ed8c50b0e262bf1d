// SMTPLineDecoderTests.swift — command-line framing (Sources/SMTPProtocol/SMTPLineDecoder.swift):
// each fixture is fed whole, byte by byte and in 3-byte reads, and must give the same lines, the
// same error and leave the same bytes unread.

import Testing
import NIOCore
import PropertyBased
@testable import SMTPProtocol

/// What the decoder produced for an input.
enum LineOutcome: Equatable, CustomStringConvertible {
    case line(String)
    case lineTooLong
    case error(SMTPFramingError)

    var description: String {
        switch self {
        case .line(let s): return "line(\(s.debugDescription))"
        case .lineTooLong: return "lineTooLong"
        case .error(let e): return "error(\(e))"
        }
    }
}

/// Feeds `chunks` to a decoder the way the channel handler does: append, then take lines until
/// `needMoreData`. Stops at the first framing error. Returns the events and the unread bytes.
func decodeLines(_ chunks: [[UInt8]], maximumLineLength: Int) -> (events: [LineOutcome], unread: [UInt8]) {
    var decoder = SMTPLineDecoder(maximumLineLength: maximumLineLength)
    var buffer = ByteBufferAllocator().buffer(capacity: 64)
    var events: [LineOutcome] = []
    for (index, chunk) in chunks.enumerated() {
        buffer.writeBytes(chunk)
        while true {
            let before = buffer.readerIndex
            do {
                switch try decoder.next(&buffer) {
                case .line(let line): events.append(.line(String(decoding: line.readableBytesView, as: UTF8.self)))
                case .lineTooLong: events.append(.lineTooLong)
                case .needMoreData:
                    break
                }
                if buffer.readerIndex == before { break }
            } catch {
                // A failed decode consumes nothing.
                #expect(buffer.readerIndex == before)
                events.append(.error(error))
                return (events, buffer.bytes + chunks[(index + 1)...].joined())
            }
        }
    }
    return (events, buffer.bytes)
}

struct LineFixture: Sendable, CustomTestStringConvertible {
    var input: String
    var maximumLineLength = 512
    var events: [LineOutcome]
    /// The unread bytes once everything was fed (for errors: from the offending line on).
    var unread: String = ""
    /// Byte-by-byte feeding of an over-long line drops the bytes it will never need, so the unread
    /// rest differs; only the events are compared then.
    var unreadDependsOnFeeding = false

    var testDescription: String { input.debugDescription }
}

@Suite("SMTPLineDecoder")
struct SMTPLineDecoderTests {
    static let fixtures: [LineFixture] = [
        LineFixture(input: "EHLO client.example\r\n", events: [.line("EHLO client.example")]),
        LineFixture(input: "\r\n", events: [.line("")]),
        LineFixture(input: "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
                    events: [.line("MAIL FROM:<a@b>"), .line("RCPT TO:<c@d>"), .line("DATA")]),
        // Need more: the partial line stays in the buffer.
        LineFixture(input: "", events: []),
        LineFixture(input: "EHLO", events: [], unread: "EHLO"),
        LineFixture(input: "NOOP\r\nQUI", events: [.line("NOOP")], unread: "QUI"),
        // A trailing CR waits for the next byte before it is judged.
        LineFixture(input: "QUIT\r", events: [], unread: "QUIT\r"),
        // Non-ASCII bytes are the parser's business, not the framer's.
        LineFixture(input: "HELO é\r\n", events: [.line("HELO é")]),
        // Bare CR, bare LF and NUL end the session; the offending line stays unread.
        LineFixture(input: "NOOP\r\nA\rB\r\n", events: [.line("NOOP"), .error(.bareCR)], unread: "A\rB\r\n"),
        LineFixture(input: "A\r\r\n", events: [.error(.bareCR)], unread: "A\r\r\n"),
        LineFixture(input: "NOOP\nQUIT\r\n", events: [.error(.bareLF)], unread: "NOOP\nQUIT\r\n"),
        LineFixture(input: "\n", events: [.error(.bareLF)], unread: "\n"),
        LineFixture(input: "NO\0OP\r\n", events: [.error(.nul)], unread: "NO\0OP\r\n"),
        LineFixture(input: "NOOP\r\n\0", events: [.line("NOOP"), .error(.nul)], unread: "\0"),
        // Limits: the CRLF counts. 10 is the limit here.
        LineFixture(input: "12345678\r\n", maximumLineLength: 10, events: [.line("12345678")]),
        LineFixture(input: "123456789\r\nNEXT\r\n", maximumLineLength: 10, events: [.lineTooLong, .line("NEXT")]),
        LineFixture(input: "0123456789ABCDEFGHIJ\r\nNEXT\r\nQUIT\r\n", maximumLineLength: 10,
                    events: [.lineTooLong, .line("NEXT"), .line("QUIT")]),
        LineFixture(input: String(repeating: "x", count: 100) + "\r\n" + String(repeating: "y", count: 100) + "\r\nOK\r\n",
                    maximumLineLength: 10, events: [.lineTooLong, .lineTooLong, .line("OK")]),
        // Over-long and unfinished: discarded, no event yet.
        LineFixture(input: String(repeating: "x", count: 50), maximumLineLength: 10, events: [], unreadDependsOnFeeding: true),
        // A bare LF inside an over-long line is still a violation.
        LineFixture(input: String(repeating: "x", count: 50) + "\nQUIT\r\n", maximumLineLength: 10,
                    events: [.error(.bareLF)], unreadDependsOnFeeding: true),
        LineFixture(input: String(repeating: "x", count: 50) + "\rQUIT\r\n", maximumLineLength: 10,
                    events: [.error(.bareCR)], unreadDependsOnFeeding: true),
    ]

    @Test(arguments: fixtures, Feeding.allCases)
    func fixture(_ fixture: LineFixture, _ feeding: Feeding) {
        let result = decodeLines(feeding.chunks(Array(fixture.input.utf8)), maximumLineLength: fixture.maximumLineLength)
        #expect(result.events == fixture.events)
        if !fixture.unreadDependsOnFeeding {
            #expect(String(decoding: result.unread, as: UTF8.self) == fixture.unread)
        }
    }

    @Test func lineTooLongIsReportedOnceAndMemoryStaysBounded() throws {
        var decoder = SMTPLineDecoder(maximumLineLength: 16)
        var buffer = ByteBuffer("")
        // 10 000 bytes without a line end, in 100-byte reads: nothing accumulates.
        for _ in 0..<100 {
            buffer.writeString(String(repeating: "A", count: 100))
            #expect(try decoder.next(&buffer) == .needMoreData)
            #expect(buffer.readableBytes <= 16)
        }
        buffer.writeString("\r")
        #expect(try decoder.next(&buffer) == .needMoreData)
        #expect(buffer.readableBytes == 1)  // the CR is kept to be judged with the next byte
        buffer.writeString("\nRSET\r\n")
        #expect(try decoder.next(&buffer) == .lineTooLong)
        #expect(try decoder.next(&buffer) == .line(ByteBuffer("RSET")))
        #expect(try decoder.next(&buffer) == .needMoreData)
        #expect(buffer.readableBytes == 0)
    }

    @Test func failedDecodeLeavesTheBufferUntouched() {
        var decoder = SMTPLineDecoder(maximumLineLength: 512)
        var buffer = ByteBuffer("HELO a\rb\r\n")
        let before = buffer
        #expect(throws: SMTPFramingError.bareCR) { try decoder.next(&buffer) }
        #expect(buffer == before)
    }

    @Test func exactLimitByteByByte() {
        // The longest allowed line arrives a byte at a time: its CR must not trigger discarding.
        for limit in [2, 3, 10, 512] {
            let line = String(repeating: "z", count: limit - 2)
            let fits = decodeLines(Feeding.byteByByte.chunks(Array((line + "\r\nX\r\n").utf8)), maximumLineLength: limit)
            #expect(fits.events == [.line(line), limit >= 3 ? .line("X") : .lineTooLong], "limit \(limit)")
            let over = decodeLines(Feeding.byteByByte.chunks(Array((line + "z\r\nY\r\n").utf8)), maximumLineLength: limit)
            #expect(over.events == [.lineTooLong, limit >= 3 ? .line("Y") : .lineTooLong], "limit \(limit)")
        }
    }

    @Test func framingErrorReplies() {
        #expect(SMTPFramingError.bareCR.reply == .bareLineEnding)
        #expect(SMTPFramingError.bareLF.reply == .bareLineEnding)
        #expect(SMTPFramingError.nul.reply == .nul)
    }

    @Test func randomChunkingGivesTheSameLines() async {
        let printable = Gen<Character?>.element(of: (32...126).map { Character(Unicode.Scalar(UInt8($0))) }).map { $0! }
        await propertyCheck(input: printable.string(of: 0...30).array(of: 0...12), Gen.int(in: 1...12).array(of: 1...6)) { lines, sizes in
            let input = Array(lines.map { $0 + "\r\n" }.joined().utf8)
            let result = decodeLines(chunk(input, sizes: sizes), maximumLineLength: 32)
            #expect(result.events == lines.map { LineOutcome.line($0) })
            #expect(result.unread.isEmpty)
        }
    }
}
