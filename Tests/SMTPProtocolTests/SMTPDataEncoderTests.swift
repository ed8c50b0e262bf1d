// SMTPDataEncoderTests.swift — message content on the wire after DATA or BDAT
// (Sources/SMTPProtocol/SMTPDataEncoder.swift): line ends normalised to CRLF, leading dots doubled,
// the ".CRLF" terminator, no smuggling sequence ever reaching the wire, and the round trip
// through our own server's data decoder.

import Testing
import NIOCore
import PropertyBased
@testable import SMTPProtocol

private func encode(_ bytes: [UInt8], dotStuffing: Bool = true) -> [UInt8] {
    var out = ByteBufferAllocator().buffer(capacity: 16)
    SMTPDataEncoder.encode(bytes, into: &out, dotStuffing: dotStuffing)
    return out.bytes
}

private func encode(_ text: String, dotStuffing: Bool = true) -> String {
    String(decoding: encode(Array(text.utf8), dotStuffing: dotStuffing), as: UTF8.self)
}

/// The content with every CRLF, bare CR and bare LF written as CRLF, and CRLF added to a last line
/// without one: what the receiver must see (a reference implementation, written independently).
private func normalised(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        switch bytes[i] {
        case 0x0D:
            out += [0x0D, 0x0A]
            i += (i + 1 < bytes.count && bytes[i + 1] == 0x0A) ? 2 : 1
        case 0x0A:
            out += [0x0D, 0x0A]
            i += 1
        default:
            out.append(bytes[i])
            i += 1
        }
    }
    if let last = out.last, last != 0x0A { out += [0x0D, 0x0A] }
    return out
}

/// What a receiver reads from DATA content: the lines up to the first line that is a lone ".",
/// with one leading dot removed from each. `nil` when the content is not well formed (a bare CR
/// or LF, no terminator, or bytes after it).
private func unstuffed(_ wire: [UInt8]) -> [UInt8]? {
    var lines: [[UInt8]] = []
    var current: [UInt8] = []
    var i = 0
    while i < wire.count {
        let b = wire[i]
        if b == 0x0D {
            guard i + 1 < wire.count, wire[i + 1] == 0x0A else { return nil }  // bare CR
            lines.append(current)
            current = []
            i += 2
            continue
        }
        if b == 0x0A { return nil }  // bare LF
        current.append(b)
        i += 1
    }
    guard current.isEmpty, let terminator = lines.firstIndex(of: [UInt8(ascii: ".")]), terminator == lines.count - 1 else { return nil }
    var out: [UInt8] = []
    for line in lines.dropLast() {
        out += line.first == UInt8(ascii: ".") ? Array(line.dropFirst()) : line
        out += [0x0D, 0x0A]
    }
    return out
}

/// Byte-string offsets of `needle` in `haystack`.
private func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
    guard haystack.count >= needle.count else { return [] }
    return (0...(haystack.count - needle.count)).filter { Array(haystack[$0..<($0 + needle.count)]) == needle }
}

private let crlfDotCRLF = Array("\r\n.\r\n".utf8)

@Suite("SMTPDataEncoder")
struct SMTPDataEncoderTests {
    static let fixtures: [(String, String)] = [
        // The empty message is the terminator alone.
        ("", ".\r\n"),
        ("Subject: hi\r\n\r\nHello\r\n", "Subject: hi\r\n\r\nHello\r\n.\r\n"),
        // A last line without a line end gets one.
        ("Hello", "Hello\r\n.\r\n"),
        ("a\r\nb", "a\r\nb\r\n.\r\n"),
        // Bare LF, bare CR and CRLF all become CRLF (RFC 5321 §2.3.8).
        ("a\nb\n", "a\r\nb\r\n.\r\n"),
        ("a\rb\r", "a\r\nb\r\n.\r\n"),
        ("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n"),
        ("a\n\rb", "a\r\n\r\nb\r\n.\r\n"),
        ("\r\r\r", "\r\n\r\n\r\n.\r\n"),
        ("\n\n", "\r\n\r\n.\r\n"),
        ("\r", "\r\n.\r\n"),
        ("\n", "\r\n.\r\n"),
        // Leading dots are doubled (RFC 5321 §4.5.2), dots elsewhere are not.
        (".", "..\r\n.\r\n"),
        (".\r\n", "..\r\n.\r\n"),
        ("..\r\n", "...\r\n.\r\n"),
        (".hidden\r\nvisible.\r\n a.b\r\n", "..hidden\r\nvisible.\r\n a.b\r\n.\r\n"),
        ("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"),
        // Smuggling attempts: a lone dot after a bare LF or bare CR is a line of its own on the wire,
        // so it is stuffed like any other (CVE-2023-51764 and relatives).
        ("a\n.\nMAIL FROM:<x@y>\n", "a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n"),
        ("a\r.\rRCPT TO:<x@y>\r", "a\r\n..\r\nRCPT TO:<x@y>\r\n.\r\n"),
        ("a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n"),
        ("a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"),
        ("a\r\r.\r\r", "a\r\n\r\n..\r\n\r\n.\r\n"),
    ]

    @Test(arguments: fixtures)
    func dataEncoding(_ input: String, _ wire: String) {
        #expect(encode(input) == wire, "\(input.debugDescription)")
    }

    @Test(arguments: fixtures)
    func bdatEncodingOnlyNormalisesLineEnds(_ input: String, _ wire: String) {
        // BDAT (RFC 3030) has no stuffing and no terminator.
        #expect(encode(Array(input.utf8), dotStuffing: false) == normalised(Array(input.utf8)), "\(input.debugDescription)")
    }

    @Test func bdatExamples() {
        #expect(encode("", dotStuffing: false) == "")
        #expect(encode(".\n.", dotStuffing: false) == ".\r\n.\r\n")
        #expect(encode("a\rb", dotStuffing: false) == "a\r\nb\r\n")
    }

    @Test func encodingAppendsToWhatIsInTheBuffer() {
        var out = ByteBuffer("BDAT 3 LAST\r\n")
        SMTPDataEncoder.encode(Array("a\nb".utf8), into: &out, dotStuffing: false)
        #expect(out.text == "BDAT 3 LAST\r\na\r\nb\r\n")
    }

    @Test func eightBitAndNULPassThrough() {
        let input: [UInt8] = [0x00, 0xC3, 0xA9, 0xFF, 0x7F, 0x2E]
        #expect(encode(input) == input + [0x0D, 0x0A, 0x2E, 0x0D, 0x0A])
        #expect(SMTPDataEncoder.hasEightBit(input))
        #expect(!SMTPDataEncoder.hasEightBit(Array("plain ascii\r\n\u{7F}".utf8)))
        #expect(!SMTPDataEncoder.hasEightBit([UInt8]()))
        #expect(SMTPDataEncoder.hasEightBit([0x80]))
    }

    @Test func contentLongerThanTheInternalChunk() {
        // The encoder writes in pieces of 8 KiB; a CR at every boundary must still pair with its LF.
        var input: [UInt8] = []
        for i in 0..<5_000 { input += Array(((i % 3 == 0) ? ".line\r" : (i % 3 == 1) ? "x\n" : "\r\n").utf8) }
        input += Array(repeating: 0x61, count: 20_000)
        input += [0x0D]
        for shift in [0, 1, 2, 8190, 8191, 8192] {
            let shifted = Array(repeating: UInt8(ascii: "z"), count: shift) + input
            let wire = encode(shifted)
            #expect(unstuffed(wire) == normalised(shifted), "shift \(shift)")
        }
    }

    @Test func theResultIsWhatOurServerDecodes() throws {
        // Our own data decoder (the receiving side) reads back the normalised content exactly.
        for input in ["", "a", ".", "..\n.\r\n.", "x\r\n.\r\nQUIT\r\n", "\r\r\n\n.\r", String(repeating: ".\n", count: 50)] {
            let wire = encode(Array(input.utf8))
            let (outcome, _) = decodeData([wire])
            #expect(outcome == DataOutcome(end: .endOfData, output: normalised(Array(input.utf8)), unread: []), "\(input.debugDescription)")
        }
    }

    // MARK: Properties

    /// Bytes biased towards the ones that matter: CR, LF and dot, plus others.
    static let byte = Gen.int(in: 0...9).map { choice -> UInt8 in
        let interesting: [UInt8] = [0x0D, 0x0A, 0x2E, 0x61, 0x00, 0xFF]
        return choice < interesting.count ? interesting[choice] : UInt8(truncatingIfNeeded: choice * 37)
    }

    @Test func randomContentNeverEndsTheDataEarly() async {
        await propertyCheck(count: 2000, input: Self.byte.array(of: 0...200), Gen<UInt8>.value(in: 0...255).array(of: 0...60)) { biased, random in
            for input in [biased, random, biased + random] {
                let wire = encode(input)
                // Ends with the terminator, which is either the whole output or follows a CRLF.
                #expect(Array(wire.suffix(3)) == Array(".\r\n".utf8))
                if wire.count > 3 { #expect(Array(wire.suffix(5)) == crlfDotCRLF) }
                // No end of data before the terminator: "\r\n.\r\n" only as the last five bytes,
                // and the output does not start with ".\r\n" unless that is all of it.
                let ends = occurrences(of: crlfDotCRLF, in: wire)
                #expect(ends.allSatisfy { $0 == wire.count - 5 }, "\(input)")
                if wire.count > 3 { #expect(Array(wire.prefix(3)) != Array(".\r\n".utf8)) }
                // No bare CR or LF.
                for (i, b) in wire.enumerated() {
                    if b == 0x0D { #expect(i + 1 < wire.count && wire[i + 1] == 0x0A, "bare CR at \(i) of \(wire)") }
                    if b == 0x0A { #expect(i > 0 && wire[i - 1] == 0x0D, "bare LF at \(i) of \(wire)") }
                }
                // Undoing the stuffing gives the input with its line ends normalised.
                #expect(unstuffed(wire) == normalised(input), "\(input)")
            }
        }
    }

    @Test func randomContentForBDATIsNormalisedOnly() async {
        await propertyCheck(count: 1000, input: Self.byte.array(of: 0...200)) { input in
            let wire = encode(input, dotStuffing: false)
            #expect(wire == normalised(input))
            // And stuffing adds exactly one dot per line that starts with one, plus the terminator.
            let lines = occurrences(of: [0x0D, 0x0A], in: wire).map { $0 + 2 }
            let dotted = ([0] + lines.dropLast()).filter { $0 < wire.count && wire[$0] == UInt8(ascii: ".") }.count
            #expect(encode(input).count == wire.count + dotted + 3)
        }
    }

    @Test func randomContentRoundTripsThroughTheServerDecoder() async {
        await propertyCheck(count: 500, input: Self.byte.array(of: 0...300), Gen.int(in: 1...40).array(of: 1...6)) { bytes, sizes in
            let input = bytes.filter { $0 != 0 }  // our server refuses NUL, which is not the encoder's business
            let wire = encode(input)
            let (outcome, decoder) = decodeData(chunk(wire, sizes: sizes), maximumLineLength: 100_000)
            #expect(outcome == DataOutcome(end: .endOfData, output: normalised(input), unread: []))
            #expect(decoder.isAcceptable)
        }
    }
}
