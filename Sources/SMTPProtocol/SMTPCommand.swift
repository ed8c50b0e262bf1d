// SMTPCommand.swift — the commands a client sends (RFC 5321 §4.1.1) and their ESMTP parameters
// (RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN, RFC 3030 CHUNKING,
// RFC 4954 AUTH, RFC 3207 STARTTLS).

public import GatehouseCore

/// One parsed command line.
public enum SMTPCommand: Hashable, Sendable {
    case ehlo(String)
    case helo(String)
    case mail(Path, MailParameters)
    case rcpt(Path, RecipientParameters)
    case data
    /// `BDAT chunk-size [LAST]` (RFC 3030 §2).
    case bdat(size: Int, last: Bool)
    case rset
    case noop
    case quit
    case vrfy(String)
    case expn(String)
    case help
    case startTLS
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    case auth(mechanism: String, initialResponse: String?)
}

/// `BODY=` (RFC 6152 §2, RFC 3030 §3).
public enum BodyType: String, Hashable, Sendable {
    case sevenBit = "7BIT"
    case eightBitMIME = "8BITMIME"
}

/// `RET=` (RFC 3461 §4.3).
public enum DSNReturn: String, Hashable, Sendable {
    case full = "FULL"
    case headers = "HDRS"
}

/// `NOTIFY=` (RFC 3461 §4.1).
public struct DSNNotify: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let never = DSNNotify(rawValue: 1 << 0)
    public static let success = DSNNotify(rawValue: 1 << 1)
    public static let failure = DSNNotify(rawValue: 1 << 2)
    public static let delay = DSNNotify(rawValue: 1 << 3)
}

/// The parameters of MAIL FROM.
public struct MailParameters: Hashable, Sendable {
    /// `SIZE=` the client's estimate of the message size (RFC 1870 §3).
    public var size: Int?
    public var body: BodyType?
    /// `SMTPUTF8` (RFC 6531 §3.4).
    public var smtputf8 = false
    public var ret: DSNReturn?
    /// `ENVID=` as xtext, kept verbatim (RFC 3461 §4.4).
    public var envelopeID: String?
    /// `AUTH=` (RFC 4954 §5), kept verbatim; never trusted.
    public var auth: String?

    public init() {}
}

/// The parameters of RCPT TO.
public struct RecipientParameters: Hashable, Sendable {
    public var notify: DSNNotify?
    /// `ORCPT=addr-type;xtext` kept verbatim (RFC 3461 §4.2).
    public var originalRecipient: String?

    public init() {}
}

/// Why a command line was refused. Each case carries the reply the client gets.
public enum SMTPCommandError: Error, Hashable, Sendable {
    case unrecognized
    case syntax(String)
    case badAddress(AddressError, sender: Bool)
    case unknownParameter(String)
    case badParameter(String)
    case notImplemented
    case needsSMTPUTF8

    public var reply: SMTPReply {
        switch self {
        case .unrecognized: return .commandUnrecognized
        case .syntax(let usage): return .syntax(usage)
        case .badAddress(.needsSMTPUTF8, _), .needsSMTPUTF8: return .smtputf8Required
        case .badAddress(_, let sender): return sender ? .badSenderSyntax : .badAddressSyntax
        case .unknownParameter: return .parameterNotRecognized
        case .badParameter: return .parameterSyntax
        case .notImplemented: return .notImplemented
        }
    }
}
