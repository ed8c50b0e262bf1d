// ClamdReplyDecoder.swift — frames one clamd reply: the octets up to the NUL that ends it.
//
// clamd(8): replies to `z` commands end with NUL. Outside an IDSESSION there is one reply per
// connection; octets after the NUL are ignored (clamd sends none, then closes). The decoder is fed
// whatever the socket delivers, a byte at a time or all at once, and gives the same result.
//
// A peer that is not clamd is not trusted: a reply longer than the limit, or a connection that ends
// in the middle of one, is a typed error (`ClamdReplyError`), never unbounded buffering.

/// Why a reply from clamd could not be read or understood. The scan is then `.unavailable`.
public enum ClamdReplyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No NUL within `limit` octets (`AntiVirusDefaults.maximumReplyLength`). Stops a peer that
    /// streams endless data at us from growing memory.
    case tooLong(limit: Int)
    /// The connection ended after part of a reply and before its NUL.
    case truncated(received: Int)
    /// An octet outside printable ASCII (what clamd's replies are made of). Stops control
    /// characters and terminal escapes from reaching logs through a signature name.
    case notPrintable(offset: Int)
    /// A reply in none of the forms the command can have (`UNKNOWN COMMAND`, an IDSESSION
    /// reply, another protocol's greeting…). The text is printable ASCII, at most the reply limit.
    case unexpected(String)

    public var description: String {
        switch self {
        case .tooLong(let limit): return "reply longer than \(limit) octets"
        case .truncated(let received): return "connection closed after \(received) octets of a reply"
        case .notPrintable(let offset): return "reply with a non-printable octet at offset \(offset)"
        case .unexpected(let text): return "unexpected reply: \(text.prefix(80))"
        }
    }
}

/// Incremental reader of one NUL-terminated reply.
public struct ClamdReplyDecoder: Sendable {
    /// Longest reply accepted, terminator excluded.
    public let maximumLength: Int
    private var buffer: [UInt8] = []
    private var reply: [UInt8]?

    public init(maximumLength: Int = AntiVirusDefaults.maximumReplyLength) {
        self.maximumLength = max(maximumLength, 1)
    }

    /// Octets received so far that belong to the reply.
    public var receivedCount: Int { reply?.count ?? buffer.count }

    /// Takes received octets; returns the reply (without its NUL) once complete, and the same reply
    /// on every later call (further octets are ignored).
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(ClamdReplyError) -> [UInt8]? {
        if let reply { return reply }
        if let end = bytes.firstIndex(of: 0) {
            let before = bytes[..<end]
            guard buffer.count + before.count <= maximumLength else { throw .tooLong(limit: maximumLength) }
            buffer += before
            reply = buffer
            buffer = []
            return reply
        }
        guard buffer.count + bytes.count <= maximumLength else { throw .tooLong(limit: maximumLength) }
        buffer += bytes
        return nil
    }

    /// The connection ended: the reply if it was complete, otherwise `.truncated`. `nil` when nothing
    /// at all was received (the caller reports a closed connection).
    public func finish() throws(ClamdReplyError) -> [UInt8]? {
        if let reply { return reply }
        if buffer.isEmpty { return nil }
        throw .truncated(received: buffer.count)
    }
}
