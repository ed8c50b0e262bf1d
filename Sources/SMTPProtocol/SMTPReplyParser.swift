// SMTPReplyParser.swift — reads the replies of a server we deliver to (RFC 5321 §4.2).
//
// A reply is one or more lines `code-text` ending with `code text` (or a bare `code`). The code
// must be the same on every line. Enhanced status codes (RFC 2034, RFC 3463) are taken off the
// front of each line when the first line carries one. A next hop is not trusted: line length and
// line count are bounded, and anything that is not a reply is a typed error that ends the
// connection. Lines end in CRLF; a bare LF is tolerated here (replies do not carry message data,
// so nothing can be smuggled through them), as Postfix's client does.

public import NIOCore
public import GatehouseCore

/// A reply that cannot be read; the connection is closed and the delivery deferred.
public enum SMTPReplyParseError: Error, Hashable, Sendable, CustomStringConvertible {
    case lineTooLong(limit: Int)
    case tooManyLines(limit: Int)
    /// A line that does not start with three digits followed by space, hyphen or the end.
    case malformed(String)
    /// A continuation line whose code differs from the first line's.
    case inconsistentCode(first: Int, later: Int)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): return "reply line longer than \(limit) octets"
        case .tooManyLines(let limit): return "reply with more than \(limit) lines"
        case .malformed(let line): return "malformed reply line: \(line.prefix(80))"
        case .inconsistentCode(let first, let later): return "reply code changes from \(first) to \(later)"
        }
    }
}

/// Incremental reply reader: feed bytes, take complete replies.
public struct SMTPReplyParser: Sendable {
    public var maximumLineLength: Int
    public var maximumLines: Int
    private var code: Int?
    private var lines: [String] = []

    public init(maximumLineLength: Int = Defaults.Delivery.replyLineLength, maximumLines: Int = Defaults.Delivery.replyLines) {
        self.maximumLineLength = maximumLineLength
        self.maximumLines = maximumLines
    }

    /// The next complete reply in `buffer`, consuming its bytes; nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(SMTPReplyParseError) -> SMTPReply? {
        while true {
            guard let newline = buffer.readableBytesView.firstIndex(of: 0x0A) else {
                if buffer.readableBytes > maximumLineLength { throw .lineTooLong(limit: maximumLineLength) }
                return nil
            }
            let length = newline - buffer.readerIndex
            guard length < maximumLineLength else { throw .lineTooLong(limit: maximumLineLength) }
            var bytes = buffer.readBytes(length: length + 1)!
            bytes.removeLast()
            if bytes.last == 0x0D { bytes.removeLast() }
            if let reply = try take(bytes) { return reply }
        }
    }

    /// Parses one whole reply given as text (tests, tools).
    public static func parse(_ text: String) throws(SMTPReplyParseError) -> SMTPReply? {
        var parser = SMTPReplyParser()
        var buffer = ByteBuffer(string: text)
        return try parser.next(&buffer)
    }

    private mutating func take(_ line: [UInt8]) throws(SMTPReplyParseError) -> SMTPReply? {
        let text = String(decoding: line, as: UTF8.self)
        guard line.count >= 3, line[0...2].allSatisfy({ (0x30...0x39).contains($0) }), (0x32...0x35).contains(line[0]) else {
            throw .malformed(text)
        }
        let lineCode = Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
        var last = true
        if line.count > 3 {
            switch line[3] {
            case UInt8(ascii: "-"): last = false
            case UInt8(ascii: " "): last = true
            default: throw .malformed(text)
            }
        }
        if let code, code != lineCode { throw .inconsistentCode(first: code, later: lineCode) }
        code = lineCode
        lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
        guard lines.count <= maximumLines else { throw .tooManyLines(limit: maximumLines) }
        guard last else { return nil }
        defer { code = nil; lines = [] }
        return SMTPReplyParser.reply(code: lineCode, lines: lines)
    }

    /// Splits enhanced status codes off the lines when the first line starts with one whose class
    /// matches the reply code (RFC 3463 §2: class 2, 4 or 5).
    static func reply(code: Int, lines: [String]) -> SMTPReply {
        guard let first = lines.first, let (enhanced, _) = enhancedPrefix(first), Int(enhanced.klass) == code / 100 else {
            return SMTPReply(code: code, enhanced: nil, lines: lines)
        }
        let texts = lines.map { line -> String in
            if let (_, rest) = enhancedPrefix(line) { return String(rest) }
            return line
        }
        return SMTPReply(code: code, enhanced: enhanced, lines: texts)
    }

    /// `x.y.z` (x one digit, y and z up to three digits) and the text after it.
    static func enhancedPrefix(_ line: String) -> (EnhancedStatusCode, Substring)? {
        let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        let fields = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 3, fields[0].count == 1, (1...3).contains(fields[1].count), (1...3).contains(fields[2].count),
              let k = UInt8(fields[0]), [2, 4, 5].contains(k), let s = UInt16(fields[1]), let d = UInt16(fields[2]) else {
            return nil
        }
        return (EnhancedStatusCode(k, s, d), parts.count > 1 ? parts[1] : "")
    }
}

extension SMTPReply {
    /// The reply in one line for logs and bounces: `550 5.1.1 text text`.
    public var singleLine: String {
        var s = String(code)
        if let enhanced { s += " \(enhanced)" }
        let text = lines.joined(separator: " ")
        if !text.isEmpty { s += " " + text }
        return s
    }
}
