// SMTPLineDecoder.swift — command-line framing with strict CRLF (RFC 5321 §2.3.8, §4.1.1).
//
// Security notes: only CRLF ends a line. A bare CR or a bare LF is a protocol violation that ends
// the session: accepting either would let a client make us see line boundaries that the next hop
// does not see (SMTP smuggling, CVE-2023-51764/51765/51766). NUL is refused for the same reason
// (C-based peers stop reading at it). A line longer than the limit is consumed and discarded up to
// its CRLF and reported once, so memory stays bounded whatever the client sends.

public import NIOCore

/// Framing violations that end the session.
public enum SMTPFramingError: Error, Hashable, Sendable {
    case bareCR
    case bareLF
    case nul

    public var reply: SMTPReplyKind { self == .nul ? .nul : .bareLineEnding }
}

/// Which reply a framing error earns, without importing the reply table into every caller.
public enum SMTPReplyKind: Sendable { case bareLineEnding, nul }

/// Splits the command stream into lines.
public struct SMTPLineDecoder: Sendable {
    /// What the decoder found.
    public enum Event: Equatable, Sendable {
        /// A complete line, CRLF removed.
        case line(ByteBuffer)
        /// A line over the limit was read and discarded (reply 500 5.5.2 and go on).
        case lineTooLong
        /// No complete line yet: read more.
        case needMoreData
    }

    /// Longest line including CRLF.
    public var maximumLineLength: Int
    private var discarding = false

    public init(maximumLineLength: Int) {
        self.maximumLineLength = maximumLineLength
    }

    /// Takes the next line from `buffer`, leaving any bytes after it in place.
    public mutating func next(_ buffer: inout ByteBuffer) throws(SMTPFramingError) -> Event {
        let view = buffer.readableBytesView
        var index = view.startIndex
        while index < view.endIndex {
            let byte = view[index]
            if byte == 0x0D {  // CR
                let next = view.index(after: index)
                if next == view.endIndex {
                    break  // need the next byte to judge the CR
                }
                guard view[next] == 0x0A else { throw .bareCR }
                let length = index - view.startIndex
                if discarding || length + 2 > maximumLineLength {
                    discarding = false
                    buffer.moveReaderIndex(forwardBy: length + 2)
                    return .lineTooLong
                }
                let line = buffer.readSlice(length: length)!
                buffer.moveReaderIndex(forwardBy: 2)
                return .line(line)
            }
            if byte == 0x0A { throw .bareLF }
            if byte == 0 { throw .nul }
            index = view.index(after: index)
        }
        // No complete line. Drop what cannot fit any more, keeping a possible trailing CR.
        let pending = view.count
        if discarding || pending > maximumLineLength {
            discarding = true
            let keep = (pending > 0 && view[view.index(before: view.endIndex)] == 0x0D) ? 1 : 0
            buffer.moveReaderIndex(forwardBy: pending - keep)
        }
        return .needMoreData
    }
}
