// ProxyProtocol.swift — the HAProxy PROXY protocol header, versions 1 and 2
// (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt).
//
// Security notes: the header is honoured only on listeners that enable it and only from configured
// balancer networks (the node checks that before calling this decoder). The header must arrive
// first and whole; anything malformed ends the connection. v1 is at most 107 bytes; v2's address
// block is bounded by `Defaults.proxyHeaderLength`.

public import NIOCore
public import GatehouseCore

public enum ProxyProtocolError: Error, Hashable, Sendable {
    case notProxyProtocol
    case malformed
    case tooLong
    case unsupportedVersion
}

/// What the header said.
public enum ProxyHeader: Hashable, Sendable {
    /// The balancer's own connection (health checks): use the real peer address.
    case local
    /// A proxied client.
    case proxied(source: IPAddress, sourcePort: Int, destination: IPAddress, destinationPort: Int)
}

public enum ProxyProtocolDecoder {
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// Decodes the header at the start of `buffer`. Returns nil when more bytes are needed; on
    /// success the header is consumed and the rest (the SMTP stream) stays.
    public static func decode(_ buffer: inout ByteBuffer) throws(ProxyProtocolError) -> ProxyHeader? {
        let view = buffer.readableBytesView
        guard let first = view.first else { return nil }
        if first == UInt8(ascii: "P") {
            return try decodeV1(&buffer)
        }
        if first == 0x0D {
            return try decodeV2(&buffer)
        }
        throw .notProxyProtocol
    }

    /// `PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n`
    static func decodeV1(_ buffer: inout ByteBuffer) throws(ProxyProtocolError) -> ProxyHeader? {
        let view = buffer.readableBytesView
        let prefix = Array("PROXY ".utf8)
        for (i, b) in view.prefix(prefix.count).enumerated() where b != prefix[i] { throw .notProxyProtocol }
        guard let lf = view.firstIndex(of: 0x0A) else {
            if view.count > 107 { throw .tooLong }
            return nil
        }
        let length = lf - view.startIndex + 1
        guard length <= 107, length >= 2, view[lf - 1] == 0x0D else { throw .malformed }
        let line = String(decoding: view[view.startIndex..<(lf - 1)], as: UTF8.self)
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        buffer.moveReaderIndex(forwardBy: length)
        guard parts.count >= 2 else { throw .malformed }
        if parts[1] == "UNKNOWN" { return .local }
        guard parts.count == 6, parts[1] == "TCP4" || parts[1] == "TCP6",
              let source = IPAddress(parsing: parts[2]), let destination = IPAddress(parsing: parts[3]),
              let sport = port(parts[4]), let dport = port(parts[5]) else { throw .malformed }
        // The family must match the addresses' text: TCP4 dotted quads, TCP6 IPv6 text.
        let wantsIPv6 = parts[1] == "TCP6"
        guard parts[2].contains(":") == wantsIPv6, parts[3].contains(":") == wantsIPv6 else { throw .malformed }
        return .proxied(source: source, sourcePort: sport, destination: destination, destinationPort: dport)
    }

    static func port(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
              !(text.count > 1 && text.first == "0"), let p = Int(text), p <= 65535 else { return nil }
        return p
    }

    static func decodeV2(_ buffer: inout ByteBuffer) throws(ProxyProtocolError) -> ProxyHeader? {
        let view = buffer.readableBytesView
        for (i, b) in view.prefix(12).enumerated() where b != v2Signature[i] { throw .notProxyProtocol }
        guard view.count >= 16 else { return nil }
        let start = view.startIndex
        let versionCommand = view[start + 12]
        guard versionCommand >> 4 == 2 else { throw .unsupportedVersion }
        let family = view[start + 13]
        let length = Int(view[start + 14]) << 8 | Int(view[start + 15])
        guard 16 + length <= Defaults.proxyHeaderLength else { throw .tooLong }
        guard view.count >= 16 + length else { return nil }
        let body = Array(view[(start + 16)..<(start + 16 + length)])
        buffer.moveReaderIndex(forwardBy: 16 + length)
        switch versionCommand & 0x0F {
        case 0x0: return .local
        case 0x1: break
        default: throw .malformed
        }
        switch family {
        case 0x11:  // TCP over IPv4
            guard body.count >= 12 else { throw .malformed }
            return .proxied(source: IPAddress(bytes4: Array(body[0..<4])), sourcePort: Int(body[8]) << 8 | Int(body[9]),
                            destination: IPAddress(bytes4: Array(body[4..<8])), destinationPort: Int(body[10]) << 8 | Int(body[11]))
        case 0x21:  // TCP over IPv6
            guard body.count >= 36 else { throw .malformed }
            return .proxied(source: IPAddress(bytes16: Array(body[0..<16])), sourcePort: Int(body[32]) << 8 | Int(body[33]),
                            destination: IPAddress(bytes16: Array(body[16..<32])), destinationPort: Int(body[34]) << 8 | Int(body[35]))
        case 0x00:
            return .local  // UNSPEC
        default:
            throw .malformed  // UDP and unix sockets make no sense for SMTP
        }
    }
}
