// SMTPServerCapabilities.swift — what a next hop's EHLO reply offers (RFC 5321 §4.1.1.1).

public import GatehouseCore

/// The service extensions a server announced, read from its EHLO reply.
public struct SMTPServerCapabilities: Hashable, Sendable {
    /// RFC 2920.
    public var pipelining = false
    /// RFC 1870; `maximumSize` is nil when no fixed limit was given (SIZE or SIZE 0).
    public var size = false
    public var maximumSize: Int?
    /// RFC 6152.
    public var eightBitMIME = false
    /// RFC 6531.
    public var smtputf8 = false
    /// RFC 3461.
    public var dsn = false
    /// RFC 3030.
    public var chunking = false
    /// RFC 3207.
    public var starttls = false
    /// RFC 2034.
    public var enhancedStatusCodes = false
    /// RFC 4954 mechanisms, upper case.
    public var authMechanisms: Set<String> = []

    public init() {}

    /// Reads the reply to EHLO. Keywords are case-insensitive; the first line is the greeting text.
    public init(ehloReply reply: SMTPReply) {
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let keyword = words.first?.uppercased() else { continue }
            let params = words.dropFirst()
            switch keyword {
            case "PIPELINING": pipelining = true
            case "SIZE":
                size = true
                if let value = params.first.flatMap({ Int($0) }), value > 0 { maximumSize = value }
            case "8BITMIME": eightBitMIME = true
            case "SMTPUTF8": smtputf8 = true
            case "DSN": dsn = true
            case "CHUNKING": chunking = true
            case "STARTTLS": starttls = true
            case "ENHANCEDSTATUSCODES": enhancedStatusCodes = true
            case "AUTH": authMechanisms.formUnion(params.map { $0.uppercased() })
            default:
                // `AUTH=LOGIN PLAIN`, an old form some servers still send.
                if keyword.hasPrefix("AUTH=") {
                    authMechanisms.insert(String(keyword.dropFirst(5)))
                    authMechanisms.formUnion(params.map { $0.uppercased() })
                }
            }
        }
    }
}
