// ClamdCommand.swift — the commands Gatehouse sends to clamd, and the INSTREAM frame format.
//
// clamd(8), "COMMANDS"; https://docs.clamav.net/manual/Usage/Scanning.html#clamd
//
// Every command is sent in its `z` form: the letter z, the command, a NUL. clamd then ends its
// reply with a NUL too ("Clamd replies will honour the requested terminator"), so a reply is
// framed without guessing (`ClamdReplyDecoder`). Without an IDSESSION, clamd answers one command
// per connection and closes it.
//
//   zPING\0      → PONG\0
//   zVERSION\0   → ClamAV 1.4.6/27000/Mon Nov 23 09:00:00 2026\0   (the part after the engine
//                  version is the signature database's, absent when only unofficial ones load)
//   zINSTREAM\0  then frames <length: 4 octets, unsigned, network byte order><length octets>,
//                ended by a frame of length 0
//                → stream: OK\0 | stream: <signature> FOUND\0 | <text> ERROR\0
//
// Security notes: the stream goes over the socket as it is. clamd is trusted with message content,
// so a TCP endpoint belongs on the loopback interface or a private network (clamd has neither
// authentication nor TLS).

/// A command of the clamd protocol, as Gatehouse sends it.
public enum ClamdCommand: Hashable, Sendable, CaseIterable {
    /// `zPING`: is the daemon up and answering? Reply `PONG`.
    case ping
    /// `zVERSION`: the engine's and the signature database's versions.
    case version
    /// `zINSTREAM`: scan the frames that follow.
    case instream

    /// The command's name in the protocol.
    public var name: String {
        switch self {
        case .ping: return "PING"
        case .version: return "VERSION"
        case .instream: return "INSTREAM"
        }
    }

    /// The octets sent: `z`, the name, NUL.
    public var encoded: [UInt8] {
        [UInt8(ascii: "z")] + Array(name.utf8) + [0]
    }

    /// The header of an INSTREAM frame holding `length` octets: the length as four octets in network
    /// byte order. `length` must fit in 32 bits (a `ClamdChunker` never makes larger chunks).
    public static func frameHeader(length: Int) -> [UInt8] {
        precondition(length >= 0 && length <= Int(UInt32.max), "INSTREAM frame length out of range")
        let value = UInt32(length)
        return [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
                UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    /// The frame of length zero that ends an INSTREAM stream.
    public static let endOfStream: [UInt8] = [0, 0, 0, 0]
}
