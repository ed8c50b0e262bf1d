// SMTPDataDecoderTests.swift — message content framing (Sources/SMTPProtocol/SMTPDataDecoder.swift):
// dot-unstuffing, the end of data at every split, every known smuggling sequence, limits, BDAT mode.

import Testing
import NIOCore
import PropertyBased
@testable import SMTPProtocol

/// What feeding a sequence of reads to one decoder gave.
struct DataOutcome: Equatable, CustomStringConvertible {
    enum End: Equatable { case endOfData, needMoreData, error(SMTPFramingError) }
    var end: End
    /// The decoded content.
    var output: [UInt8]
    /// Bytes after the end of data (or not yet fed when an error stopped the session).
    var unread: [UInt8]

    var description: String {
        "\(end) output=\(String(decoding: output, as: UTF8.self).debugDescription) unread=\(String(decoding: unread, as: UTF8.self).debugDescription)"
    }
}

/// Feeds the reads one after the other, the way the handler does, until the end of data or an error.
func decodeData(_ chunks: [[UInt8]], dotTransparency: Bool = true, maximumLineLength: Int = 1000, maximumSize: Int = 1 << 20)
    -> (DataOutcome, SMTPDataDecoder)
{
    var decoder = SMTPDataDecoder(dotTransparency: dotTransparency, maximumLineLength: maximumLineLength, maximumSize: maximumSize)
    var output = ByteBufferAllocator().buffer(capacity: 64)
    var input = ByteBufferAllocator().buffer(capacity: 64)
    for (index, chunk) in chunks.enumerated() {
        input.writeBytes(chunk)
        do {
            let event = try decoder.decode(&input, into: &output)
            if event == .endOfData {
                return (DataOutcome(end: .endOfData, output: output.bytes, unread: input.bytes + chunks[(index + 1)...].joined()), decoder)
            }
            // needMoreData means everything was consumed.
            #expect(input.readableBytes == 0)
        } catch {
            return (DataOutcome(end: .error(error), output: output.bytes, unread: input.bytes + chunks[(index + 1)...].joined()), decoder)
        }
    }
    return (DataOutcome(end: .needMoreData, output: output.bytes, unread: input.bytes), decoder)
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

struct DataFixture: Sendable, CustomTestStringConvertible {
    var input: String
    var end: DataOutcome.End
    var output: String
    var unread: String = ""
    var testDescription: String { input.debugDescription }
}

@Suite("SMTPDataDecoder")
struct SMTPDataDecoderTests {
    static let fixtures: [DataFixture] = [
        DataFixture(input: "Subject: hi\r\n\r\nHello\r\n.\r\n", end: .endOfData, output: "Subject: hi\r\n\r\nHello\r\n"),
        // The empty message: the 354's CRLF counts as the one before the dot.
        DataFixture(input: ".\r\n", end: .endOfData, output: ""),
        DataFixture(input: "\r\n.\r\n", end: .endOfData, output: "\r\n"),
        // Dot-unstuffing (RFC 5321 §4.5.2): one leading dot is removed from every line.
        DataFixture(input: "..\r\n.\r\n", end: .endOfData, output: ".\r\n"),
        DataFixture(input: "..hidden\r\n.\r\n", end: .endOfData, output: ".hidden\r\n"),
        DataFixture(input: "...\r\n.\r\n", end: .endOfData, output: "..\r\n"),
        DataFixture(input: "a\r\n..b\r\n.c\r\n.\r\n", end: .endOfData, output: "a\r\n.b\r\nc\r\n"),
        // Dots elsewhere are content.
        DataFixture(input: "a.\r\nb .\r\n x.\r\n.\r\n", end: .endOfData, output: "a.\r\nb .\r\n x.\r\n"),
        // Pipelined commands after the end of data stay unread.
        DataFixture(input: "x\r\n.\r\nQUIT\r\n", end: .endOfData, output: "x\r\n", unread: "QUIT\r\n"),
        DataFixture(input: ".\r\n.\r\n", end: .endOfData, output: "", unread: ".\r\n"),
        // Not finished yet.
        DataFixture(input: "", end: .needMoreData, output: ""),
        DataFixture(input: "partial line", end: .needMoreData, output: "partial line"),
        DataFixture(input: "line\r\n.", end: .needMoreData, output: "line\r\n"),
        DataFixture(input: "line\r\n.\r", end: .needMoreData, output: "line\r\n"),
        DataFixture(input: "line\r", end: .needMoreData, output: "line"),
        // 8-bit content passes through unchanged.
        DataFixture(input: "caf\u{E9} \u{1F600}\r\n.\r\n", end: .endOfData, output: "caf\u{E9} \u{1F600}\r\n"),
        // Framing errors.
        DataFixture(input: "a\nb\r\n.\r\n", end: .error(.bareLF), output: "a", unread: "\nb\r\n.\r\n"),
        DataFixture(input: "a\rb\r\n.\r\n", end: .error(.bareCR), output: "a", unread: "b\r\n.\r\n"),
        DataFixture(input: "a\0b\r\n.\r\n", end: .error(.nul), output: "a", unread: "\0b\r\n.\r\n"),
        DataFixture(input: "\n.\r\n", end: .error(.bareLF), output: "", unread: "\n.\r\n"),
    ]

    @Test(arguments: fixtures, Feeding.allCases)
    func fixture(_ f: DataFixture, _ feeding: Feeding) {
        let (outcome, _) = decodeData(feeding.chunks(bytes(f.input)))
        #expect(outcome == DataOutcome(end: f.end, output: bytes(f.output), unread: bytes(f.unread)))
    }

    @Test func endOfDataSplitAtEveryBoundary() {
        let message = "Subject: split\r\n\r\n..dotted\r\nlast line\r\n.\r\nRSET\r\n"
        let all = bytes(message)
        let expected = DataOutcome(end: .endOfData, output: bytes("Subject: split\r\n\r\n.dotted\r\nlast line\r\n"), unread: bytes("RSET\r\n"))
        for i in 0...all.count {
            let (two, _) = decodeData([Array(all[..<i]), Array(all[i...])])
            #expect(two == expected, "split at \(i)")
            for j in i...all.count {
                let (three, _) = decodeData([Array(all[..<i]), Array(all[i..<j]), Array(all[j...])])
                #expect(three == expected, "split at \(i), \(j)")
            }
        }
    }

    /// Every fake end-of-data sequence other servers have accepted (SMTP smuggling,
    /// CVE-2023-51764/51765/51766): none may end the data; each must stop the session.
    static let smuggling: [(String, SMTPFramingError)] = [
        ("\n.\n", .bareLF),
        ("\n.\r", .bareLF),
        ("\r.\n", .bareCR),
        ("\r.\r", .bareCR),
        ("\n.\r\n", .bareLF),
        ("\r.\r\n", .bareCR),
        ("\r\n\0.\r\n", .nul),
        ("\r\n.\n", .bareLF),
        ("\r\n.\r", .bareCR),
        ("\r\n.\r\r\n", .bareCR),
        ("\r\r\n.\r\n", .bareCR),
        ("\r\n.\n\r\n", .bareLF),
        ("\r\n\n.\r\n", .bareLF),
        ("\r\n\r.\r\n", .bareCR),
        ("\r\n.\0\r\n", .nul),
    ]

    @Test(arguments: smuggling, Feeding.allCases)
    func smugglingSequencesNeverEndTheData(_ smuggle: (String, SMTPFramingError), _ feeding: Feeding) {
        let (sequence, error) = smuggle
        let input = "From: a@b.example\r\n\r\nhello" + sequence + "MAIL FROM:<evil@x.example>\r\nRCPT TO:<v@y.example>\r\nDATA\r\n\r\nforged\r\n.\r\n"
        let (outcome, _) = decodeData(feeding.chunks(bytes(input)))
        #expect(outcome.end == .error(error), "\(sequence.debugDescription)")
        // Nothing of the smuggled commands reached the content.
        #expect(!String(decoding: outcome.output, as: UTF8.self).contains("MAIL FROM"))
    }

    @Test(arguments: smuggling)
    func smugglingSequenceAsTheVeryFirstBytes(_ smuggle: (String, SMTPFramingError)) {
        // Right after the 354, where the decoder is at a line start.
        let (outcome, _) = decodeData([bytes(smuggle.0 + "x\r\n.\r\n")])
        #expect(outcome.end != .endOfData)
        if case .error = outcome.end {} else { Issue.record("\(smuggle.0.debugDescription) gave \(outcome.end)") }
    }

    // MARK: Limits

    @Test func sizeLimitKeepsNothingPastTheLimitAndStillReachesTheEnd() {
        let content = "01234\r\n56789ABC\r\nmore and more\r\n"
        for feeding in Feeding.allCases {
            let (outcome, decoder) = decodeData(feeding.chunks(bytes(content + ".\r\nQUIT\r\n")), maximumSize: 10)
            #expect(outcome.end == .endOfData)
            #expect(outcome.unread == bytes("QUIT\r\n"))
            #expect(decoder.exceededSize)
            #expect(!decoder.exceededLineLength)
            #expect(!decoder.isAcceptable)
            #expect(decoder.size == content.utf8.count)
            #expect(outcome.output.count <= 10, "\(feeding)")
            #expect(bytes(content).starts(with: outcome.output))
        }
    }

    @Test func sizeExactlyAtTheLimitIsAcceptable() {
        let content = "12345678\r\n"  // 10 octets
        let (outcome, decoder) = decodeData([bytes(content + ".\r\n")], maximumSize: 10)
        #expect(outcome.end == .endOfData)
        #expect(decoder.isAcceptable)
        #expect(decoder.size == 10)
        #expect(outcome.output == bytes(content))
        let (_, over) = decodeData([bytes("123456789\r\n.\r\n")], maximumSize: 10)
        #expect(over.exceededSize)
    }

    @Test func sizeCountsContentAfterUnstuffing() {
        let (_, decoder) = decodeData([bytes("..\r\n.\r\n")])
        #expect(decoder.size == 3)
    }

    @Test func lineLimitIncludesCRLF() {
        // 1000 octets including CRLF are allowed (RFC 5321 §4.5.3.1.6), 1001 are not.
        let fits = String(repeating: "a", count: 998)
        let (ok, okDecoder) = decodeData([bytes(fits + "\r\n.\r\n")])
        #expect(ok.end == .endOfData)
        #expect(okDecoder.isAcceptable)
        let (over, overDecoder) = decodeData(Feeding.byteByByte.chunks(bytes(fits + "a\r\nnext\r\n.\r\nQUIT\r\n")))
        #expect(over.end == .endOfData)
        #expect(over.unread == bytes("QUIT\r\n"))
        #expect(overDecoder.exceededLineLength)
        #expect(!overDecoder.exceededSize)
        #expect(!overDecoder.isAcceptable)
    }

    @Test func lineLimitDoesNotCountTheTransparencyDot() {
        // RFC 5321 §4.5.3.1.6: "not counting the leading dot duplicated for transparency". A line of
        // 998 octets that starts with a dot is sent as 999 octets plus CRLF and must be accepted.
        let line = "." + String(repeating: "a", count: 997)
        let (outcome, decoder) = decodeData([bytes("." + line + "\r\n.\r\n")])
        #expect(outcome.end == .endOfData)
        #expect(outcome.output == bytes(line + "\r\n"))
        #expect(!decoder.exceededLineLength)
        #expect(decoder.isAcceptable)
        // One octet more is over the limit, stuffed or not.
        let (_, over) = decodeData([bytes("." + line + "a\r\n.\r\n")])
        #expect(over.exceededLineLength)
    }

    @Test func lineLimitIsPerLine() {
        // Many short lines add up to more than the line limit without breaking it.
        let content = String(repeating: "0123456789\r\n", count: 50)
        let (outcome, decoder) = decodeData([bytes(content + ".\r\n")], maximumLineLength: 12)
        #expect(outcome.end == .endOfData)
        #expect(decoder.isAcceptable)
        #expect(outcome.output == bytes(content))
    }

    // MARK: BDAT

    @Test func bdatHasNoDotHandling() {
        let chunk = "..a\r\n.\r\nb\r\n"
        for feeding in Feeding.allCases {
            let (outcome, decoder) = decodeData(feeding.chunks(bytes(chunk)), dotTransparency: false)
            #expect(outcome == DataOutcome(end: .needMoreData, output: bytes(chunk), unread: []))
            #expect(decoder.atLineStart)
        }
    }

    @Test func bdatStillRefusesBareLineEndsAndNUL() {
        #expect(decodeData([bytes("a\nb")], dotTransparency: false).0.end == .error(.bareLF))
        #expect(decodeData([bytes("a\rb")], dotTransparency: false).0.end == .error(.bareCR))
        #expect(decodeData([bytes("a\0b")], dotTransparency: false).0.end == .error(.nul))
    }

    @Test func finishChunksAddsTheMissingCRLF() throws {
        var decoder = SMTPDataDecoder(dotTransparency: false, maximumLineLength: 1000, maximumSize: 1000)
        var output = ByteBuffer("")
        var first = ByteBuffer("Subject: x\r\n\r\nno final")
        var second = ByteBuffer(" line end")
        #expect(try decoder.decode(&first, into: &output) == .needMoreData)
        #expect(try decoder.decode(&second, into: &output) == .needMoreData)
        #expect(!decoder.atLineStart)
        try decoder.finishChunks(into: &output)
        #expect(output.text == "Subject: x\r\n\r\nno final line end\r\n")
        #expect(decoder.atLineStart)
        #expect(decoder.size == output.readableBytes)
        // Already at a line end: nothing is added.
        try decoder.finishChunks(into: &output)
        #expect(output.text == "Subject: x\r\n\r\nno final line end\r\n")
    }

    @Test func finishChunksCases() throws {
        // Empty message (BDAT 0 LAST): nothing added.
        var empty = SMTPDataDecoder(dotTransparency: false, maximumLineLength: 1000, maximumSize: 1000)
        var output = ByteBuffer("")
        try empty.finishChunks(into: &output)
        #expect(output.readableBytes == 0)
        // A chunk ending in CR whose LF never comes: a bare CR.
        var cr = SMTPDataDecoder(dotTransparency: false, maximumLineLength: 1000, maximumSize: 1000)
        var input = ByteBuffer("text\r")
        #expect(try cr.decode(&input, into: &output) == .needMoreData)
        #expect(throws: SMTPFramingError.bareCR) { try cr.finishChunks(into: &output) }
        // A CR at the end of one chunk and the LF at the start of the next is one line end.
        var split = SMTPDataDecoder(dotTransparency: false, maximumLineLength: 1000, maximumSize: 1000)
        var out2 = ByteBuffer("")
        var a = ByteBuffer("x\r"), b = ByteBuffer("\ny")
        _ = try split.decode(&a, into: &out2)
        _ = try split.decode(&b, into: &out2)
        try split.finishChunks(into: &out2)
        #expect(out2.text == "x\r\ny\r\n")
    }

    @Test func finishChunksRespectsTheSizeLimit() throws {
        var decoder = SMTPDataDecoder(dotTransparency: false, maximumLineLength: 1000, maximumSize: 5)
        var output = ByteBuffer("")
        var input = ByteBuffer("abcd")
        _ = try decoder.decode(&input, into: &output)
        #expect(decoder.isAcceptable)
        try decoder.finishChunks(into: &output)
        #expect(decoder.exceededSize)
        #expect(output.readableBytes <= 5)
    }

    // MARK: Properties

    static let printable = Gen<Character?>.element(of: (32...126).map { Character(Unicode.Scalar(UInt8($0))) }).map { $0! }
    /// Prefixes that make lines start with dots often, to exercise stuffing.
    static let prefixes = ["", ".", "..", "x"]

    @Test func stuffedMessagesDecodeBackExactly() async {
        await propertyCheck(input: Self.printable.string(of: 0...40).array(of: 0...25), Gen.int(in: 0...3).array(of: 25),
                            Gen.int(in: 1...64).array(of: 1...8)) { texts, prefixChoices, sizes in
            let lines = texts.enumerated().map { Self.prefixes[prefixChoices[$0.offset]] + $0.element }
            let original = lines.map { $0 + "\r\n" }.joined()
            let stuffed = lines.map { ($0.hasPrefix(".") ? "." + $0 : $0) + "\r\n" }.joined() + ".\r\n"
            let (outcome, decoder) = decodeData(chunk(Array(stuffed.utf8), sizes: sizes))
            #expect(outcome == DataOutcome(end: .endOfData, output: Array(original.utf8), unread: []))
            #expect(decoder.isAcceptable)
            #expect(decoder.size == original.utf8.count)
        }
    }

    /// Bytes biased towards the ones that matter to the decoder, and high bytes (the eight-byte
    /// search must not take 0x8D or 0x80 for CR or NUL).
    /// Half of the choices are letters, so that runs of 16 bytes and more (the decoder's vector
    /// search) end at every kind of byte.
    static let framingByte = Gen.int(in: 0...19).map { choice -> UInt8 in
        let interesting: [UInt8] = [0x0D, 0x0A, 0x2E, 0x2E, 0x61, 0x00, 0x8D, 0x8A, 0x80, 0xFF]
        return choice < interesting.count ? interesting[choice] : UInt8(truncatingIfNeeded: 0x41 + choice)
    }

    /// Any input, in any reads, decodes as the rules of RFC 5321 §4.5.2 applied one byte at a time
    /// say (`referenceDecode`), for DATA and for BDAT: the same event, content, unread bytes, size
    /// and line state. The decoder's copying in runs and its eight-byte search change nothing.
    @Test(arguments: [true, false])
    func anyInputDecodesAsTheByteAtATimeRules(_ dotTransparency: Bool) async {
        await propertyCheck(count: 3000, input: Self.framingByte.array(of: 0...120), Gen.int(in: 1...40).array(of: 1...8)) { input, sizes in
            let (outcome, decoder) = decodeData(chunk(input, sizes: sizes), dotTransparency: dotTransparency, maximumLineLength: 100_000)
            let (expected, atLineStart) = referenceDecode(input, dotTransparency: dotTransparency)
            #expect(outcome == expected, "\(input) in reads of \(sizes)")
            #expect(decoder.size == expected.output.count)
            #expect(decoder.isAcceptable)
            if expected.end == .needMoreData { #expect(decoder.atLineStart == atLineStart) }
        }
    }
}

/// The DATA rules one byte at a time, written for clarity rather than speed: a leading dot is
/// dropped, "." CRLF at a line start ends the data, CRLF is content, a bare CR, a bare LF or NUL is an
/// error. A CR at the very end is not yet content (its LF may follow). For BDAT (no dot
/// transparency) only the line-end and NUL rules apply. Also says whether the input ended at a
/// line start.
private func referenceDecode(_ input: [UInt8], dotTransparency: Bool) -> (DataOutcome, Bool) {
    var output: [UInt8] = []
    var lineStart = true
    var i = 0
    while i < input.count {
        if dotTransparency && lineStart && input[i] == 0x2E {
            lineStart = false
            if i + 1 < input.count && input[i + 1] == 0x0D {
                guard i + 2 < input.count else { return (DataOutcome(end: .needMoreData, output: output, unread: []), false) }
                guard input[i + 2] == 0x0A else {
                    return (DataOutcome(end: .error(.bareCR), output: output, unread: Array(input[(i + 2)...])), false)
                }
                return (DataOutcome(end: .endOfData, output: output, unread: Array(input[(i + 3)...])), false)
            }
            i += 1
            continue
        }
        lineStart = false
        switch input[i] {
        case 0x0D:
            guard i + 1 < input.count else { return (DataOutcome(end: .needMoreData, output: output, unread: []), false) }
            guard input[i + 1] == 0x0A else {
                return (DataOutcome(end: .error(.bareCR), output: output, unread: Array(input[(i + 1)...])), false)
            }
            output += [0x0D, 0x0A]
            lineStart = true
            i += 2
        case 0x0A:
            return (DataOutcome(end: .error(.bareLF), output: output, unread: Array(input[i...])), false)
        case 0x00:
            return (DataOutcome(end: .error(.nul), output: output, unread: Array(input[i...])), false)
        default:
            output.append(input[i])
            i += 1
        }
    }
    return (DataOutcome(end: .needMoreData, output: output, unread: []), lineStart)
}
