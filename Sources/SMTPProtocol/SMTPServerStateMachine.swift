// SMTPServerStateMachine.swift — one SMTP server session as a value type (RFC 5321 §4.1.4 command
// order, RFC 3207 STARTTLS, RFC 4954 AUTH, RFC 3030 CHUNKING, RFC 2920 PIPELINING).
//
// The machine does no I/O. The channel handler feeds it parsed commands and outcomes (TLS up,
// credentials checked, message committed) and carries out the `Action` it returns. Relay control,
// recipient validation, limits and ordering rules all live here so that they are tested without
// sockets.
//
// Security notes:
//   - After STARTTLS everything learnt in plain text is forgotten (RFC 3207 §4.2): HELO, any
//     transaction, authentication. The handler discards buffered plain-text bytes.
//   - AUTH is offered and accepted only inside TLS; credentials never appear in a reply or a log.
//   - Pipelining synchronisation: a client that is not authenticated and sends anything after
//     DATA before the 354 is dropped (RFC 2920 §3.1: DATA ends a command group).
//   - Errors are counted; past the limit the session is closed (harvesting, dictionary attacks).

public import GatehouseCore

/// What a session needs to know about its listener. Immutable for the life of the session.
public struct SMTPSessionSettings: Sendable {
    public var hostname: String
    public var banner: String
    public var role: ListenerRole
    public var tlsMode: TLSMode
    /// Whether a certificate is loaded; without one STARTTLS is not offered.
    public var tlsAvailable: Bool
    public var authMode: AuthMode
    public var relay: RelayControl
    /// Valid recipients of internal domains (lower case), or nil to accept every local part.
    public var validRecipients: Set<String>?
    public var maximumMessageSize: Int
    public var maximumRecipients: Int
    public var maximumTextLineLength: Int
    public var errorsBeforeDisconnect: Int

    public init(hostname: String, banner: String = "ESMTP Gatehouse", role: ListenerRole, tlsMode: TLSMode,
                tlsAvailable: Bool, authMode: AuthMode, relay: RelayControl, validRecipients: Set<String>? = nil,
                maximumMessageSize: Int = Defaults.messageSize, maximumRecipients: Int = Defaults.recipientsPerMessage,
                maximumTextLineLength: Int = Defaults.textLineLength, errorsBeforeDisconnect: Int = Defaults.errorsBeforeDisconnect) {
        self.hostname = hostname
        self.banner = banner
        self.role = role
        self.tlsMode = tlsMode
        self.tlsAvailable = tlsAvailable
        self.authMode = authMode
        self.relay = relay
        self.validRecipients = validRecipients
        self.maximumMessageSize = maximumMessageSize
        self.maximumRecipients = maximumRecipients
        self.maximumTextLineLength = maximumTextLineLength
        self.errorsBeforeDisconnect = errorsBeforeDisconnect
    }
}

/// Facts that change while the session runs, supplied with each command by the handler.
public struct SMTPSessionConditions: Sendable {
    /// The spool has room for a message of the maximum size.
    public var spoolHasSpace: Bool
    /// The client is within its message rate.
    public var messageRateAllows: Bool
    /// More bytes were already received after this command line.
    public var bytesFollowCommand: Bool

    public init(spoolHasSpace: Bool = true, messageRateAllows: Bool = true, bytesFollowCommand: Bool = false) {
        self.spoolHasSpace = spoolHasSpace
        self.messageRateAllows = messageRateAllows
        self.bytesFollowCommand = bytesFollowCommand
    }
}

/// A recipient accepted by RCPT.
public struct EnvelopeRecipient: Hashable, Sendable {
    public var path: Path
    public var parameters: RecipientParameters
    public init(path: Path, parameters: RecipientParameters) {
        self.path = path
        self.parameters = parameters
    }
}

/// The mail transaction being built: MAIL, then RCPTs, then content.
public struct SMTPTransaction: Hashable, Sendable {
    public var sender: Path
    public var parameters: MailParameters
    public var recipients: [EnvelopeRecipient] = []
    public var flags: EnvelopeFlags
    /// Whether content arrives by BDAT (then DATA is refused) or DATA.
    public var usesChunking = false
}

public struct SMTPServerStateMachine: Sendable {
    /// What the handler must do next.
    public enum Action: Equatable, Sendable {
        /// Send the reply; go on reading commands.
        case reply(SMTPReply)
        /// Send the reply, then close the connection.
        case replyAndClose(SMTPReply)
        /// Send 220, drop every buffered plain-text byte, start the TLS handshake, then call `tlsEstablished()`.
        case startTLS(SMTPReply)
        /// Send 354 and read message content with `SMTPDataDecoder(dotTransparency: true)`.
        case startData(SMTPReply)
        /// Read exactly `size` bytes of BDAT content. When `discard`, read and throw away.
        case receiveChunk(size: Int, last: Bool, discard: Bool)
        /// Send `334 challenge` and read one AUTH response line (up to `Defaults.authLineLength`).
        case authChallenge(String)
        /// Check the credentials off the event loop, then call `credentialsChecked`.
        case verifyCredentials(authorizationID: String, username: String, password: String)
        /// Commit the transaction with its content to the spool, then call `committed` or `commitFailed`.
        case commit(SMTPTransaction)
    }

    enum Phase: Equatable, Sendable {
        case greeting
        case command
        case data
        case chunk(last: Bool, discard: Bool, failure: SMTPReply?)
        case authPlain
        case authLoginUser
        case authLoginPassword(username: String)
        case verifying
        case committing
        case closed
    }

    public let settings: SMTPSessionSettings
    /// The client's address as every check sees it (after PROXY).
    public let clientAddress: IPAddress
    /// The client's address is in the listener's relay networks.
    public let inRelayNetworks: Bool

    private(set) var phase: Phase = .greeting
    public private(set) var heloName: String?
    public private(set) var esmtp = false
    public private(set) var tlsActive: Bool
    public private(set) var authenticatedUser: String?
    private var ownedAddresses: Set<String> = []
    public private(set) var transaction: SMTPTransaction?
    private var errors = 0
    private var authFailures = 0

    public init(settings: SMTPSessionSettings, clientAddress: IPAddress, inRelayNetworks: Bool) {
        self.settings = settings
        self.clientAddress = clientAddress
        self.inRelayNetworks = inRelayNetworks
        self.tlsActive = settings.tlsMode == .implicit
    }

    /// Who the client is for relay control.
    public var trust: ClientTrust {
        if let authenticatedUser { return .authenticated(user: authenticatedUser, addresses: ownedAddresses) }
        return inRelayNetworks ? .relayNetwork : .untrusted
    }

    /// Pipelining synchronisation applies to clients that have not authenticated.
    public var enforcesSynchronisation: Bool { authenticatedUser == nil }

    // MARK: - Session start

    /// The greeting. Call once when the session starts.
    public mutating func greeting() -> SMTPReply {
        phase = .command
        return .greeting(settings.hostname, banner: settings.banner)
    }

    /// Bytes arrived before the greeting was sent (pre-greet talker).
    public mutating func pregreetViolation() -> Action {
        phase = .closed
        return .replyAndClose(.protocolViolation)
    }

    // MARK: - Commands

    public var advertisesSTARTTLS: Bool {
        !tlsActive && settings.tlsAvailable && (settings.tlsMode == .starttls || settings.tlsMode == .starttlsRequired)
    }

    public var advertisesAUTH: Bool {
        tlsActive && settings.authMode != .off && authenticatedUser == nil
    }

    private var tlsRequiredButMissing: Bool {
        settings.tlsMode == .starttlsRequired && !tlsActive
    }

    /// The EHLO reply (RFC 5321 §4.1.1.1), listing the extensions this session offers now.
    public func ehloReply() -> SMTPReply {
        var lines = ["\(settings.hostname)", "PIPELINING", "SIZE \(settings.maximumMessageSize)"]
        lines += ["8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "CHUNKING"]
        if advertisesSTARTTLS { lines.append("STARTTLS") }
        if advertisesAUTH { lines.append("AUTH PLAIN LOGIN") }
        return SMTPReply(code: 250, enhanced: nil, lines: lines)
    }

    /// Feeds one parsed command line.
    public mutating func command(_ parsed: Result<SMTPCommand, SMTPCommandError>,
                                 conditions: SMTPSessionConditions = SMTPSessionConditions()) -> Action {
        guard phase == .command else {
            return close(.protocolViolation)
        }
        let command: SMTPCommand
        switch parsed {
        case .failure(let error): return fail(error.reply)
        case .success(let c): command = c
        }
        switch command {
        case .ehlo(let name):
            heloName = name
            esmtp = true
            transaction = nil
            return .reply(ehloReply())
        case .helo(let name):
            heloName = name
            esmtp = false
            transaction = nil
            return .reply(SMTPReply(250, nil, settings.hostname))
        case .mail(let sender, let parameters):
            return mail(sender, parameters, conditions)
        case .rcpt(let recipient, let parameters):
            return rcpt(recipient, parameters)
        case .data:
            return data(conditions)
        case .bdat(let size, let last):
            return bdat(size: size, last: last)
        case .rset:
            transaction = nil
            return .reply(.resetOK)
        case .noop:
            return .reply(.ok)
        case .quit:
            phase = .closed
            return .replyAndClose(.closing(settings.hostname))
        case .vrfy:
            if tlsRequiredButMissing { return fail(.authRequiresTLS) }
            return .reply(.cannotVerify)  // reveals nothing (RFC 5321 §3.5.3)
        case .expn:
            return fail(.notImplemented)
        case .help:
            return .reply(.help())
        case .startTLS:
            return startTLS(conditions)
        case .auth(let mechanism, let initial):
            return auth(mechanism, initial)
        }
    }

    private mutating func mail(_ sender: Path, _ parameters: MailParameters, _ conditions: SMTPSessionConditions) -> Action {
        guard heloName != nil else { return fail(.needHelo) }
        guard transaction == nil else { return fail(.nestedMail) }
        if tlsRequiredButMissing { return fail(.authRequiresTLS) }
        if settings.authMode == .required && authenticatedUser == nil { return fail(.authRequired) }
        if !esmtp && parameters != MailParameters() { return fail(.parameterNotRecognized) }
        if let size = parameters.size, size > settings.maximumMessageSize { return fail(.messageTooBig) }
        guard conditions.spoolHasSpace else { return fail(.insufficientStorage) }
        guard conditions.messageRateAllows else { return fail(.messageRateLimited) }
        var flags: EnvelopeFlags = []
        if let refusal = settings.relay.judgeSender(sender, trust: trust, flags: &flags) {
            return fail(refusal)
        }
        transaction = SMTPTransaction(sender: sender, parameters: parameters, flags: flags)
        return .reply(.senderOK)
    }

    private mutating func rcpt(_ recipient: Path, _ parameters: RecipientParameters) -> Action {
        guard var current = transaction else { return fail(.needMail) }
        if !esmtp && parameters != RecipientParameters() { return fail(.parameterNotRecognized) }
        guard current.recipients.count < settings.maximumRecipients else { return fail(.tooManyRecipients) }
        if let mailbox = recipient.mailbox, mailbox.needsSMTPUTF8, !current.parameters.smtputf8 {
            return fail(.smtputf8Required)
        }
        var flags = current.flags
        if let refusal = settings.relay.judgeRecipient(recipient, sender: current.sender, trust: trust, flags: &flags) {
            return fail(refusal)
        }
        // Validate where the mail really goes: a routed form of an unknown user is unknown too.
        if let valid = settings.validRecipients, let mailbox = recipient.mailbox?.finalMailbox,
           settings.relay.isInternal(mailbox.domain), !valid.contains(mailbox.description.lowercased()) {
            return fail(.unknownRecipient)
        }
        current.flags = flags
        current.recipients.append(EnvelopeRecipient(path: recipient, parameters: parameters))
        transaction = current
        return .reply(.recipientOK)
    }

    private mutating func data(_ conditions: SMTPSessionConditions) -> Action {
        guard let current = transaction else { return fail(.needMail) }
        guard !current.recipients.isEmpty else { return fail(.needRcpt) }
        guard !current.usesChunking else { return fail(.bdatDataMix) }
        if conditions.bytesFollowCommand && enforcesSynchronisation {
            // Message data sent before the 354 (RFC 2920 §3.1).
            return close(.protocolViolation)
        }
        phase = .data
        return .startData(.startData)
    }

    private mutating func bdat(size: Int, last: Bool) -> Action {
        // The chunk must be read whatever we answer (RFC 3030 §2): errors are given after it.
        var failure: SMTPReply?
        if !esmtp { failure = .commandUnrecognized }
        else if transaction == nil { failure = .needMail }
        else if transaction!.recipients.isEmpty { failure = .needRcpt }
        if failure == nil { transaction!.usesChunking = true }
        phase = .chunk(last: last, discard: failure != nil, failure: failure)
        return .receiveChunk(size: size, last: last, discard: failure != nil)
    }

    private mutating func startTLS(_ conditions: SMTPSessionConditions) -> Action {
        if tlsActive { return fail(.alreadyTLS) }
        guard settings.tlsAvailable, settings.tlsMode == .starttls || settings.tlsMode == .starttlsRequired else {
            return fail(.commandUnrecognized)
        }
        guard heloName != nil else { return fail(.needHelo) }
        phase = .greeting  // nothing is read until the handshake completes
        return .startTLS(.readyToStartTLS)
    }

    /// The TLS handshake completed: forget everything said in plain text (RFC 3207 §4.2).
    public mutating func tlsEstablished() {
        tlsActive = true
        heloName = nil
        esmtp = false
        transaction = nil
        authenticatedUser = nil
        ownedAddresses = []
        phase = .command
    }

    // MARK: - AUTH (RFC 4954)

    private mutating func auth(_ mechanism: String, _ initial: String?) -> Action {
        guard settings.authMode != .off else { return fail(.commandUnrecognized) }
        guard tlsActive else { return fail(.authRequiresTLS) }
        guard heloName != nil, esmtp else { return fail(.needHelo) }
        guard authenticatedUser == nil else { return fail(.alreadyAuthenticated) }
        guard transaction == nil else { return fail(.authNotDuringTransaction) }
        switch mechanism {
        case "PLAIN":
            if let initial {
                return plainResponse(initial == "=" ? "" : initial)
            }
            phase = .authPlain
            return .authChallenge("")
        case "LOGIN":
            if let initial {
                return loginUsername(initial)
            }
            phase = .authLoginUser
            return .authChallenge(Base64.encode(Array("Username:".utf8)))
        default:
            return fail(.mechanismNotSupported)
        }
    }

    /// One line of an AUTH exchange (the client's answer to a 334).
    public mutating func authResponse(_ line: String) -> Action {
        if line == "*" {
            phase = .command
            return fail(.authCancelled)
        }
        switch phase {
        case .authPlain:
            return plainResponse(line)
        case .authLoginUser:
            return loginUsername(line)
        case .authLoginPassword(let username):
            guard let password = Base64.decode(line).flatMap({ String(validating: $0, as: UTF8.self) }) else {
                phase = .command
                return fail(.authCancelled)
            }
            phase = .verifying
            return .verifyCredentials(authorizationID: "", username: username, password: password)
        default:
            return close(.protocolViolation)
        }
    }

    private mutating func plainResponse(_ text: String) -> Action {
        // message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 §2)
        guard let bytes = Base64.decode(text) else {
            phase = .command
            return fail(.authCancelled)
        }
        let fields = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3,
              let authzid = String(validating: fields[0], as: UTF8.self),
              let authcid = String(validating: fields[1], as: UTF8.self),
              let password = String(validating: fields[2], as: UTF8.self),
              !authcid.isEmpty else {
            phase = .command
            return fail(.authFailed)
        }
        // Acting as another identity (proxy authorisation) is not offered.
        guard authzid.isEmpty || authzid == authcid else {
            phase = .command
            return fail(.authFailed)
        }
        phase = .verifying
        return .verifyCredentials(authorizationID: authzid, username: authcid, password: password)
    }

    private mutating func loginUsername(_ text: String) -> Action {
        guard let username = Base64.decode(text).flatMap({ String(validating: $0, as: UTF8.self) }), !username.isEmpty else {
            phase = .command
            return fail(.authCancelled)
        }
        phase = .authLoginPassword(username: username)
        return .authChallenge(Base64.encode(Array("Password:".utf8)))
    }

    /// The outcome of `verifyCredentials`: the user and the addresses they own, or nil.
    public mutating func credentialsChecked(user: String?, addresses: Set<String>) -> Action {
        phase = .command
        guard let user else {
            authFailures += 1
            if authFailures >= Defaults.authFailuresBeforeDisconnect { return close(.authFailed) }
            return fail(.authFailed)
        }
        authenticatedUser = user
        ownedAddresses = addresses
        return .reply(.authSucceeded)
    }

    // MARK: - Content

    /// DATA content ended (`SMTPDataDecoder` reported end of data).
    public mutating func dataEnded(_ decoder: SMTPDataDecoder) -> Action {
        guard phase == .data, let current = transaction else { return close(.protocolViolation) }
        phase = .command
        if decoder.exceededSize { transaction = nil; return fail(.messageTooBig) }
        if decoder.exceededLineLength { transaction = nil; return fail(.textLineTooLong) }
        phase = .committing
        return .commit(current)
    }

    /// A BDAT chunk was read completely. `decoder` is the message's decoder (nil when discarded).
    public mutating func chunkEnded(_ decoder: SMTPDataDecoder?) -> Action {
        guard case .chunk(let last, let discard, let failure) = phase else { return close(.protocolViolation) }
        phase = .command
        if discard { return fail(failure ?? .needMail) }
        guard let decoder, let current = transaction else { return close(.protocolViolation) }
        if !last {
            // Over a limit or not, the client goes on sending chunks; a limit is refused at LAST.
            return .reply(SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok: \(decoder.size) octets received"))
        }
        if decoder.exceededSize { transaction = nil; return fail(.messageTooBig) }
        if decoder.exceededLineLength { transaction = nil; return fail(.textLineTooLong) }
        phase = .committing
        return .commit(current)
    }

    /// The spool committed the message durably.
    public mutating func committed(queueID: String) -> Action {
        phase = .command
        transaction = nil
        return .reply(.queued(queueID))
    }

    /// The policy refused the message after its data (a 5xx or 4xx of its own). Not counted as a
    /// client error: the client did nothing wrong at the protocol level.
    public mutating func refusedByPolicy(_ reply: SMTPReply) -> Action {
        phase = .command
        transaction = nil
        return .reply(reply)
    }

    /// The spool could not commit the message.
    public mutating func commitFailed(_ reply: SMTPReply) -> Action {
        phase = .command
        transaction = nil
        return fail(reply)
    }

    /// A command line over the limit was discarded.
    public mutating func lineTooLong() -> Action {
        fail(.lineTooLong)
    }

    /// A framing violation (bare CR/LF, NUL): end the session.
    public mutating func framingViolation(_ error: SMTPFramingError) -> Action {
        close(error == .nul ? .nulByte : .bareLineEnding)
    }

    /// The client sent nothing for too long.
    public mutating func timedOut() -> Action {
        close(.timeout(settings.hostname))
    }

    // MARK: - Helpers

    private mutating func fail(_ reply: SMTPReply) -> Action {
        errors += 1
        if errors >= settings.errorsBeforeDisconnect {
            phase = .closed
            return .replyAndClose(reply.isTransient || reply.isPermanent ? SMTPReply.tooManyErrors : reply)
        }
        return .reply(reply)
    }

    private mutating func close(_ reply: SMTPReply) -> Action {
        phase = .closed
        return .replyAndClose(reply)
    }

    /// True once the session has ended.
    public var isClosed: Bool { phase == .closed }

    /// Whether the machine waits for an AUTH response line.
    public var expectsAuthResponse: Bool {
        switch phase {
        case .authPlain, .authLoginUser, .authLoginPassword: return true
        default: return false
        }
    }
}
