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
        enum Scan { case line(Int), incomplete(trailingCR: Bool), bareCR, bareLF, nul }
        let scan = buffer.withUnsafeReadableBytes { raw -> Scan in
            let count = raw.count
            guard count > 0, let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
                return .incomplete(trailingCR: false)
            }
            var i = 0
            while i < count {
                let byte = base[i]
                if byte > 0x0D {
                    i += 1
                    continue
                }
                if byte == 0x0D {
                    if i + 1 == count { return .incomplete(trailingCR: true) }
                    return base[i + 1] == 0x0A ? .line(i) : .bareCR
                }
                if byte == 0x0A { return .bareLF }
                if byte == 0 { return .nul }
                i += 1
            }
            return .incomplete(trailingCR: false)
        }
        switch scan {
        case .bareCR: throw .bareCR
        case .bareLF: throw .bareLF
        case .nul: throw .nul
        case .line(let length):
            if discarding || length + 2 > maximumLineLength {
                discarding = false
                buffer.moveReaderIndex(forwardBy: length + 2)
                return .lineTooLong
            }
            let line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 2)
            return .line(line)
        case .incomplete(let trailingCR):
            // No complete line. Drop what cannot fit any more, keeping a possible trailing CR.
            let pending = buffer.readableBytes
            if discarding || pending > maximumLineLength {
                discarding = true
                buffer.moveReaderIndex(forwardBy: pending - (trailingCR ? 1 : 0))
            }
            return .needMoreData
        }
    }
}
