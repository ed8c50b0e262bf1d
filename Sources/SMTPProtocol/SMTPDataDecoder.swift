// SMTPDataDecoder.swift — message content after DATA (RFC 5321 §4.1.1.4, §4.5.2) or in BDAT
// chunks (RFC 3030 §2), with dot-unstuffing, strict line endings and limits.
//
// The content is copied to the output with CRLF line endings exactly as received, minus the
// transparency dots. The only end of DATA is CRLF "." CRLF (the CRLF before the dot being the end
// of the previous line, or the 354 for an empty message).
//
// Security notes: every fake end-of-data sequence that other servers accept (`\n.\n`, `\r.\r`,
// `\r\n.\n`, `\n.\r\n`, …) contains a bare CR or a bare LF, which ends the session here before
// anything is committed (CVE-2023-51764/51765/51766). NUL is refused. A line over the limit or a
// message over the size limit does not stop the scan: the rest is read and discarded up to the end
// of data and the message is refused then, so the client and the server stay in step.

public import NIOCore

public struct SMTPDataDecoder: Sendable {
    /// What the decoder found in the input.
    public enum Event: Equatable, Sendable {
        /// All input consumed; the message goes on.
        case needMoreData
        /// The end-of-data line was read. Bytes after it stay in the input (pipelined commands).
        case endOfData
    }

    private enum State: Sendable {
        case lineStart
        case text
        case carriageReturn
        case dot
        case dotCarriageReturn
    }

    /// True for DATA (dot transparency and the end-of-data line); false for BDAT chunks.
    public let dotTransparency: Bool
    public let maximumLineLength: Int
    public let maximumSize: Int

    private var state: State = .lineStart
    private var lineLength = 0
    /// Bytes of content so far (after unstuffing), including what was discarded.
    public private(set) var size = 0
    /// The message exceeded `maximumSize`; nothing past the limit was kept.
    public private(set) var exceededSize = false
    /// A line exceeded `maximumLineLength`.
    public private(set) var exceededLineLength = false

    public init(dotTransparency: Bool, maximumLineLength: Int, maximumSize: Int) {
        self.dotTransparency = dotTransparency
        self.maximumLineLength = maximumLineLength
        self.maximumSize = maximumSize
    }

    /// True when neither limit was broken: the content may be committed.
    public var isAcceptable: Bool { !exceededSize && !exceededLineLength }

    /// True when the content so far ends at a line boundary (BDAT: whether a final CRLF is needed).
    public var atLineStart: Bool { state == .lineStart }

    /// Decodes as much of `input` as possible into `output`. For BDAT pass exactly the chunk.
    public mutating func decode(_ input: inout ByteBuffer, into output: inout ByteBuffer) throws(SMTPFramingError) -> Event {
        var result = Event.needMoreData
        var failure: SMTPFramingError?
        let consumed = input.withUnsafeReadableBytes { raw -> Int in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
            let count = raw.count
            var i = 0
            while i < count {
                switch state {
                case .lineStart:
                    if dotTransparency && base[i] == 0x2E {
                        state = .dot
                        i += 1
                        continue
                    }
                    state = .text
                case .dot:
                    if base[i] == 0x0D {
                        state = .dotCarriageReturn
                        i += 1
                        continue
                    }
                    // A transparency dot: drop it; the line goes on (RFC 5321 §4.5.2). It does not
                    // count towards the line limit (RFC 5321 §4.5.3.1.6).
                    state = .text
                case .dotCarriageReturn:
                    guard base[i] == 0x0A else { failure = .bareCR; return i }
                    result = .endOfData
                    state = .lineStart
                    return i + 1
                case .carriageReturn:
                    guard base[i] == 0x0A else { failure = .bareCR; return i }
                    emitCRLF(into: &output)
                    state = .lineStart
                    lineLength = 0
                    i += 1
                    continue
                case .text:
                    break
                }
                // .text: copy the run up to the next CR, LF or NUL in one go.
                let start = i
                while i < count {
                    let b = base[i]
                    if b == 0x0D || b == 0x0A || b == 0 { break }
                    i += 1
                }
                if i > start {
                    lineLength += i - start
                    if lineLength + 2 > maximumLineLength { exceededLineLength = true }
                    emit(UnsafeBufferPointer(start: base + start, count: i - start), into: &output)
                }
                if i < count {
                    switch base[i] {
                    case 0x0D:
                        state = .carriageReturn
                        i += 1
                    case 0x0A:
                        failure = .bareLF
                        return i
                    default:
                        failure = .nul
                        return i
                    }
                }
            }
            return count
        }
        input.moveReaderIndex(forwardBy: consumed)
        if let failure { throw failure }
        return result
    }

    /// Completes a BDAT LAST message whose final line has no CRLF: adds one.
    public mutating func finishChunks(into output: inout ByteBuffer) throws(SMTPFramingError) {
        switch state {
        case .lineStart: return
        case .carriageReturn, .dotCarriageReturn: throw .bareCR
        case .text, .dot:
            emitCRLF(into: &output)
            state = .lineStart
        }
    }

    private mutating func emit(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout ByteBuffer) {
        guard bytes.count > 0 else { return }
        size += bytes.count
        if size > maximumSize { exceededSize = true }
        if isAcceptable { output.writeBytes(bytes) }
    }

    private mutating func emitCRLF(into output: inout ByteBuffer) {
        size += 2
        if size > maximumSize { exceededSize = true }
        if isAcceptable { output.writeInteger(UInt16(0x0D0A)) }
    }
}
