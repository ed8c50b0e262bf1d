// SMTPReply.swift — reply codes (RFC 5321 §4.2) with enhanced status codes (RFC 3463, RFC 5248).
//
// One type carries every reply the server sends. Texts are generic on purpose: a reply must never
// reveal configuration (which networks are trusted, which list refused a recipient, file paths).

/// An RFC 3463 enhanced status code, `class.subject.detail`.
///
/// See [RFC 3463 §3](https://www.rfc-editor.org/rfc/rfc3463#section-3) and the IANA registry of
/// [RFC 5248](https://www.rfc-editor.org/rfc/rfc5248).
public struct EnhancedStatusCode: Hashable, Sendable, CustomStringConvertible {
    public var klass: UInt8
    public var subject: UInt16
    public var detail: UInt16

    public init(_ klass: UInt8, _ subject: UInt16, _ detail: UInt16) {
        self.klass = klass
        self.subject = subject
        self.detail = detail
    }

    public var description: String { "\(klass).\(subject).\(detail)" }
}

/// A complete SMTP reply: a three-digit code, an optional enhanced status code and one or more
/// text lines. Encoded as `code-text` continuation lines and a final `code text` line (RFC 5321 §4.2.1).
public struct SMTPReply: Hashable, Sendable, CustomStringConvertible, Error {
    public var code: Int
    public var enhanced: EnhancedStatusCode?
    public var lines: [String]

    public init(_ code: Int, _ enhanced: EnhancedStatusCode?, _ text: String) {
        self.code = code
        self.enhanced = enhanced
        self.lines = [text]
    }

    public init(code: Int, enhanced: EnhancedStatusCode?, lines: [String]) {
        self.code = code
        self.enhanced = enhanced
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// 2xx.
    public var isPositive: Bool { (200..<400).contains(code) }
    /// 4xx: the client may try again later.
    public var isTransient: Bool { (400..<500).contains(code) }
    /// 5xx: do not try again.
    public var isPermanent: Bool { code >= 500 }

    /// The reply as it goes on the wire, every line ending in CRLF. Enhanced codes are only written
    /// when the session has advertised ENHANCEDSTATUSCODES (RFC 2034 §3); `withEnhanced` says so.
    public func encoded(withEnhanced: Bool = true) -> String {
        var out = ""
        out.reserveCapacity(64)
        for (index, line) in lines.enumerated() {
            out += String(code)
            out += index == lines.count - 1 ? " " : "-"
            if withEnhanced, let enhanced {
                out += enhanced.description
                if !line.isEmpty { out += " " }
            }
            out += line
            out += "\r\n"
        }
        return out
    }

    /// The first line without its trailing CRLF, for logs.
    public var description: String {
        var s = String(code)
        if let enhanced { s += " \(enhanced)" }
        if let first = lines.first, !first.isEmpty { s += " " + first }
        return s
    }
}

// MARK: - The replies the server sends, in one place.

extension SMTPReply {
    public static func greeting(_ hostname: String, banner: String) -> SMTPReply {
        SMTPReply(220, nil, "\(hostname) \(banner)")
    }
    public static func closing(_ hostname: String) -> SMTPReply {
        SMTPReply(221, EnhancedStatusCode(2, 0, 0), "\(hostname) closing connection")
    }
    public static let ok = SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok")
    public static let senderOK = SMTPReply(250, EnhancedStatusCode(2, 1, 0), "Ok")
    public static let recipientOK = SMTPReply(250, EnhancedStatusCode(2, 1, 5), "Ok")
    public static let resetOK = SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok")
    public static func queued(_ queueID: String) -> SMTPReply {
        SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok: queued as \(queueID)")
    }
    public static let cannotVerify = SMTPReply(252, EnhancedStatusCode(2, 5, 0),
                                               "Cannot VRFY user, but will accept message and attempt delivery")
    public static let startData = SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>")
    public static let readyToStartTLS = SMTPReply(220, EnhancedStatusCode(2, 0, 0), "Ready to start TLS")
    public static let authSucceeded = SMTPReply(235, EnhancedStatusCode(2, 7, 0), "Authentication successful")
    public static func help() -> SMTPReply {
        SMTPReply(code: 214, enhanced: EnhancedStatusCode(2, 0, 0), lines: [
            "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
            "See RFC 5321",
        ])
    }

    // 4xx
    public static func serviceNotAvailable(_ hostname: String) -> SMTPReply {
        SMTPReply(421, EnhancedStatusCode(4, 3, 2), "\(hostname) Service not available, closing transmission channel")
    }
    public static func timeout(_ hostname: String) -> SMTPReply {
        SMTPReply(421, EnhancedStatusCode(4, 4, 2), "\(hostname) Error: timeout exceeded")
    }
    public static func tooManySessions(_ hostname: String) -> SMTPReply {
        SMTPReply(421, EnhancedStatusCode(4, 7, 0), "\(hostname) Error: too many connections")
    }
    public static func rateLimited(_ hostname: String) -> SMTPReply {
        SMTPReply(421, EnhancedStatusCode(4, 7, 0), "\(hostname) Error: too many connections from your address")
    }
    public static let messageRateLimited = SMTPReply(452, EnhancedStatusCode(4, 7, 0), "Error: too much mail from your address")
    public static let insufficientStorage = SMTPReply(452, EnhancedStatusCode(4, 3, 1), "Insufficient system storage")
    public static let tooManyRecipients = SMTPReply(452, EnhancedStatusCode(4, 5, 3), "Error: too many recipients")
    public static let localError = SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Error: queue file write error")
    public static let tlsNotAvailable = SMTPReply(454, EnhancedStatusCode(4, 7, 0), "TLS not available due to temporary reason")

    // 5xx
    public static let commandUnrecognized = SMTPReply(500, EnhancedStatusCode(5, 5, 2), "Error: command not recognized")
    public static let lineTooLong = SMTPReply(500, EnhancedStatusCode(5, 5, 2), "Error: line too long")
    public static func syntax(_ what: String) -> SMTPReply {
        SMTPReply(501, EnhancedStatusCode(5, 5, 4), "Syntax: \(what)")
    }
    public static let badAddressSyntax = SMTPReply(501, EnhancedStatusCode(5, 1, 3), "Bad address syntax")
    public static let badSenderSyntax = SMTPReply(501, EnhancedStatusCode(5, 1, 7), "Bad sender address syntax")
    public static let notImplemented = SMTPReply(502, EnhancedStatusCode(5, 5, 1), "Error: command not implemented")
    public static let needHelo = SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Error: send HELO/EHLO first")
    public static let needMail = SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Error: need MAIL command")
    public static let needRcpt = SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Error: need RCPT command")
    public static let nestedMail = SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Error: nested MAIL command")
    public static let alreadyTLS = SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Error: TLS already active")
    public static let alreadyAuthenticated = SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Error: already authenticated")
    public static let authNotDuringTransaction = SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Error: MAIL transaction in progress")
    public static let bdatDataMix = SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Error: BDAT and DATA cannot be mixed")
    public static let parameterNotRecognized = SMTPReply(555, EnhancedStatusCode(5, 5, 4), "Error: unsupported parameter")
    public static let parameterSyntax = SMTPReply(501, EnhancedStatusCode(5, 5, 4), "Error: bad parameter syntax")
    public static let mechanismNotSupported = SMTPReply(504, EnhancedStatusCode(5, 5, 4), "Error: unsupported authentication mechanism")
    public static let authRequiresTLS = SMTPReply(530, EnhancedStatusCode(5, 7, 0), "Must issue a STARTTLS command first")
    public static let authRequired = SMTPReply(530, EnhancedStatusCode(5, 7, 0), "Authentication required")
    public static let authFailed = SMTPReply(535, EnhancedStatusCode(5, 7, 8), "Error: authentication failed")
    public static let authCancelled = SMTPReply(501, EnhancedStatusCode(5, 0, 0), "Authentication cancelled")
    public static let messageTooBig = SMTPReply(552, EnhancedStatusCode(5, 3, 4), "Error: message file too big")
    public static let unknownRecipient = SMTPReply(550, EnhancedStatusCode(5, 1, 1), "Recipient address rejected: User unknown")
    public static let relayDenied = SMTPReply(554, EnhancedStatusCode(5, 7, 1), "Relay access denied")
    public static let senderNotOwned = SMTPReply(553, EnhancedStatusCode(5, 7, 1), "Sender address rejected: not owned by user")
    public static let accessDenied = SMTPReply(554, EnhancedStatusCode(5, 7, 1), "Access denied")
    public static let protocolViolation = SMTPReply(554, EnhancedStatusCode(5, 5, 0), "Error: SMTP protocol synchronization")
    public static let bareLineEnding = SMTPReply(554, EnhancedStatusCode(5, 5, 0), "Error: bare <CR> or <LF> received; lines must end with <CR><LF>")
    public static let nulByte = SMTPReply(554, EnhancedStatusCode(5, 5, 0), "Error: NUL character received")
    public static let textLineTooLong = SMTPReply(554, EnhancedStatusCode(5, 6, 0), "Error: message line too long")
    public static let tooManyErrors = SMTPReply(421, EnhancedStatusCode(4, 7, 0), "Error: too many errors")
    public static let smtputf8Required = SMTPReply(553, EnhancedStatusCode(5, 6, 7), "Error: SMTPUTF8 required for non-ASCII address")
    public static let proxyRefused = SMTPReply(554, EnhancedStatusCode(5, 7, 1), "Error: PROXY not allowed")
}

extension SMTPReply {
    /// `550 5.7.1 text` on one line (logs, command output).
    public var singleLineText: String {
        var s = String(code)
        if let enhanced { s += " \(enhanced)" }
        return s + " " + lines.joined(separator: " ")
    }
}
