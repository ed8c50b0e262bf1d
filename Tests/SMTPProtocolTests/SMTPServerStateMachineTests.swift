// SMTPServerStateMachineTests.swift — whole SMTP conversations against the session state machine
// (Sources/SMTPProtocol/SMTPServerStateMachine.swift), without sockets: each line goes through the
// real parser, and the test plays the handler's part (TLS up, credentials checked, content read,
// message committed).

import Testing
import NIOCore
import GatehouseCore
@testable import SMTPProtocol

private typealias Action = SMTPServerStateMachine.Action

private let hostname = "mx.gatehouse.test"
private let internalDomain = "internal.example"

private func settings(role: ListenerRole = .inbound, tls: TLSMode = .starttls, tlsAvailable: Bool = true, auth: AuthMode = .off,
                      relayForeignSenders: Bool = false, validRecipients: Set<String>? = nil, maximumMessageSize: Int = 10_000,
                      maximumRecipients: Int = 100, maximumTextLineLength: Int = 1000, errors: Int = 10) -> SMTPSessionSettings {
    SMTPSessionSettings(hostname: hostname, role: role, tlsMode: tls, tlsAvailable: tlsAvailable, authMode: auth,
                        relay: RelayControl(internalDomains: [internalDomain], role: role, relayForeignSenders: relayForeignSenders),
                        validRecipients: validRecipients, maximumMessageSize: maximumMessageSize, maximumRecipients: maximumRecipients,
                        maximumTextLineLength: maximumTextLineLength, errorsBeforeDisconnect: errors)
}

/// A session under test: a machine that has sent its greeting.
private struct Session {
    var machine: SMTPServerStateMachine

    init(_ settings: SMTPSessionSettings, relayNetwork: Bool = false, client: String = "203.0.113.9") {
        machine = SMTPServerStateMachine(settings: settings, clientAddress: IPAddress(parsing: client)!, inRelayNetworks: relayNetwork)
        _ = machine.greeting()
    }

    /// One command line as the handler feeds it: parsed, then given to the machine.
    @discardableResult
    mutating func send(_ line: String, _ conditions: SMTPSessionConditions = SMTPSessionConditions()) -> Action {
        machine.command(SMTPCommandParser.parse(Array(line.utf8)), conditions: conditions)
    }

    /// Sends a line and returns the code of the reply it got (0 for an action without a reply).
    mutating func code(_ line: String, _ conditions: SMTPSessionConditions = SMTPSessionConditions()) -> Int {
        send(line, conditions).reply?.code ?? 0
    }

    /// STARTTLS and a completed handshake.
    mutating func startTLS() {
        let action = send("STARTTLS")
        #expect(action == .startTLS(.readyToStartTLS))
        machine.tlsEstablished()
    }

    /// AUTH PLAIN with an initial response, checked successfully.
    mutating func authenticate(_ user: String = "alice", password: String = "secret", owns addresses: Set<String>) {
        let action = send("AUTH PLAIN " + base64("\0\(user)\0\(password)"))
        #expect(action == .verifyCredentials(authorizationID: "", username: user, password: password))
        #expect(machine.credentialsChecked(user: user, addresses: addresses) == .reply(.authSucceeded))
    }
}

extension SMTPServerStateMachine.Action {
    /// The reply the handler sends for this action, if any.
    var reply: SMTPReply? {
        switch self {
        case .reply(let r), .replyAndClose(let r), .startTLS(let r), .startData(let r): return r
        default: return nil
        }
    }

    var closes: Bool {
        if case .replyAndClose = self { return true }
        return false
    }
}

private func base64(_ text: String) -> String { Base64.encode(Array(text.utf8)) }

/// A decoder that has read `content` (DATA framing, end of data included by the caller).
private func decoded(_ content: String, dot: Bool = true, maximumSize: Int = 10_000, maximumLineLength: Int = 1000) -> SMTPDataDecoder {
    var decoder = SMTPDataDecoder(dotTransparency: dot, maximumLineLength: maximumLineLength, maximumSize: maximumSize)
    var input = ByteBuffer(content)
    var output = ByteBuffer("")
    do {
        _ = try decoder.decode(&input, into: &output)
    } catch {
        Issue.record("content should decode: \(error)")
    }
    return decoder
}

private func ehloLines(_ action: Action) -> [String] { action.reply?.lines ?? [] }

@Suite("SMTPServerStateMachine: greeting, EHLO and simple commands")
struct SMTPGreetingTests {
    @Test func greeting() {
        var machine = SMTPServerStateMachine(settings: settings(), clientAddress: .v4(1), inRelayNetworks: false)
        let reply = machine.greeting()
        #expect(reply.encoded() == "220 mx.gatehouse.test ESMTP Gatehouse\r\n")
        #expect(!machine.isClosed)
    }

    @Test func commandBeforeGreetingIsAViolation() {
        var machine = SMTPServerStateMachine(settings: settings(), clientAddress: .v4(1), inRelayNetworks: false)
        #expect(machine.command(.success(.noop)) == .replyAndClose(.protocolViolation))
        #expect(machine.isClosed)
    }

    @Test func pregreetTalkerIsDropped() {
        var machine = SMTPServerStateMachine(settings: settings(), clientAddress: .v4(1), inRelayNetworks: false)
        #expect(machine.pregreetViolation() == .replyAndClose(.protocolViolation))
        #expect(machine.isClosed)
        #expect(machine.command(.success(.noop)) == .replyAndClose(.protocolViolation))
    }

    @Test func ehloBeforeTLSOffersSTARTTLSButNotAUTH() {
        var session = Session(settings(tls: .starttls, auth: .required))
        let action = session.send("EHLO client.example")
        #expect(action == .reply(SMTPReply(code: 250, enhanced: nil, lines: [
            hostname, "PIPELINING", "SIZE 10000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "CHUNKING", "STARTTLS",
        ])))
        #expect(session.machine.esmtp)
        #expect(session.machine.heloName == "client.example")
        #expect(session.machine.advertisesSTARTTLS)
        #expect(!session.machine.advertisesAUTH)
    }

    @Test func ehloAfterTLSOffersAUTHButNotSTARTTLS() {
        var session = Session(settings(tls: .starttls, auth: .optional))
        session.send("EHLO client.example")
        session.startTLS()
        let lines = ehloLines(session.send("EHLO client.example"))
        #expect(!lines.contains("STARTTLS"))
        #expect(lines.last == "AUTH PLAIN LOGIN")
    }

    @Test func noAUTHWhenAuthIsOff() {
        var session = Session(settings(tls: .starttls, auth: .off))
        session.send("EHLO client.example")
        session.startTLS()
        let lines = ehloLines(session.send("EHLO client.example"))
        #expect(!lines.contains { $0.hasPrefix("AUTH") })
        #expect(!lines.contains("STARTTLS"))
    }

    @Test func noSTARTTLSWithoutACertificateOrWithTLSNone() {
        for (tls, available) in [(TLSMode.starttls, false), (.none, true), (.starttlsRequired, false)] {
            var session = Session(settings(tls: tls, tlsAvailable: available))
            #expect(!ehloLines(session.send("EHLO client.example")).contains("STARTTLS"), "\(tls) \(available)")
            #expect(session.send("STARTTLS") == .reply(.commandUnrecognized))
        }
    }

    @Test func implicitTLSOffersAUTHFromTheStart() {
        var session = Session(settings(tls: .implicit, auth: .required))
        #expect(session.machine.tlsActive)
        let lines = ehloLines(session.send("EHLO client.example"))
        #expect(lines.contains("AUTH PLAIN LOGIN"))
        #expect(!lines.contains("STARTTLS"))
        #expect(session.send("STARTTLS") == .reply(.alreadyTLS))
    }

    @Test func noAUTHAdvertisedOnceAuthenticated() {
        var session = Session(settings(role: .submission, tls: .implicit, auth: .required))
        session.send("EHLO client.example")
        session.authenticate(owns: ["alice@internal.example"])
        #expect(!ehloLines(session.send("EHLO client.example")).contains("AUTH PLAIN LOGIN"))
    }

    @Test func heloIsPlainSMTP() {
        var session = Session(settings())
        #expect(session.send("HELO old.client") == .reply(SMTPReply(250, nil, hostname)))
        #expect(!session.machine.esmtp)
        #expect(session.machine.heloName == "old.client")
        // ESMTP parameters are unknown to a HELO session: 555.
        #expect(session.send("MAIL FROM:<a@foreign.example> SIZE=10") == .reply(.parameterNotRecognized))
        #expect(session.code("MAIL FROM:<a@foreign.example>") == 250)
        #expect(session.send("RCPT TO:<u@internal.example> NOTIFY=NEVER") == .reply(.parameterNotRecognized))
        #expect(session.code("RCPT TO:<u@internal.example>") == 250)
    }

    @Test func simpleCommands() {
        var session = Session(settings())
        #expect(session.send("NOOP") == .reply(.ok))
        #expect(session.send("HELP") == .reply(.help()))
        #expect(session.send("VRFY postmaster") == .reply(.cannotVerify))
        #expect(session.send("EXPN staff") == .reply(.notImplemented))
        #expect(session.send("RSET") == .reply(.resetOK))
        #expect(session.send("TURN") == .reply(.notImplemented))
        #expect(session.send("XYZZY") == .reply(.commandUnrecognized))
        #expect(session.send("MAIL FROM:<a@b..example>") == .reply(.badSenderSyntax))
        #expect(session.send("QUIT") == .replyAndClose(.closing(hostname)))
        #expect(session.machine.isClosed)
        // Nothing is read after QUIT.
        #expect(session.send("NOOP") == .replyAndClose(.protocolViolation))
    }

    @Test func sessionEvents() {
        var session = Session(settings())
        #expect(session.machine.lineTooLong() == .reply(.lineTooLong))
        #expect(session.machine.lineTooLong().reply?.code == 500)
        #expect(session.machine.framingViolation(.bareLF) == .replyAndClose(.bareLineEnding))
        var nul = Session(settings())
        #expect(nul.machine.framingViolation(.nul) == .replyAndClose(.nulByte))
        var bareCR = Session(settings())
        #expect(bareCR.machine.framingViolation(.bareCR) == .replyAndClose(.bareLineEnding))
        var idle = Session(settings())
        let timeout = idle.machine.timedOut()
        #expect(timeout == .replyAndClose(.timeout(hostname)))
        #expect(timeout.reply?.code == 421)
        #expect(idle.machine.isClosed)
    }
}

@Suite("SMTPServerStateMachine: mail transactions")
struct SMTPTransactionTests {
    @Test func fullConversationCommitsTheTransaction() throws {
        var session = Session(settings())
        #expect(session.code("EHLO client.example") == 250)
        #expect(session.send("MAIL FROM:<bob@foreign.example> SIZE=500 BODY=8BITMIME") == .reply(.senderOK))
        #expect(session.send("RCPT TO:<user@internal.example> NOTIFY=FAILURE") == .reply(.recipientOK))
        #expect(session.send("RCPT TO:<postmaster>") == .reply(.recipientOK))
        #expect(session.send("DATA") == .startData(.startData))
        #expect(session.send("NOOP") == .replyAndClose(.protocolViolation), "commands are not read during DATA")
    }

    @Test func dataEndedCommitsAndQueues() throws {
        var session = Session(settings())
        session.send("EHLO client.example")
        session.send("MAIL FROM:<bob@foreign.example> SIZE=500 BODY=8BITMIME")
        session.send("RCPT TO:<user@internal.example> NOTIFY=FAILURE")
        session.send("DATA")
        var parameters = MailParameters()
        parameters.size = 500
        parameters.body = .eightBitMIME
        var notify = RecipientParameters()
        notify.notify = .failure
        let expected = SMTPTransaction(sender: .mailbox(Mailbox(localPart: "bob", domain: .name("foreign.example")), sourceRoute: []),
                                       parameters: parameters,
                                       recipients: [EnvelopeRecipient(path: .mailbox(Mailbox(localPart: "user", domain: .name(internalDomain)),
                                                                                     sourceRoute: []), parameters: notify)],
                                       flags: [])
        #expect(session.machine.dataEnded(decoded("Subject: x\r\n\r\nhi\r\n.\r\n")) == .commit(expected))
        // While committing nothing else is read.
        #expect(session.send("NOOP") == .replyAndClose(.protocolViolation))
    }

    @Test func committedRepliesWithTheQueueID() {
        var session = Session(settings())
        for line in ["EHLO c", "MAIL FROM:<bob@foreign.example>", "RCPT TO:<user@internal.example>", "DATA"] { session.send(line) }
        guard case .commit = session.machine.dataEnded(decoded("x\r\n.\r\n")) else { Issue.record("no commit"); return }
        let reply = session.machine.committed(queueID: "0123456789BCDFGH")
        #expect(reply == .reply(.queued("0123456789BCDFGH")))
        #expect(reply.reply?.encoded() == "250 2.0.0 Ok: queued as 0123456789BCDFGH\r\n")
        #expect(session.machine.transaction == nil)
        // A new transaction may start at once.
        #expect(session.code("MAIL FROM:<bob@foreign.example>") == 250)
    }

    @Test func commitFailedRepliesAndResets() {
        var session = Session(settings())
        for line in ["EHLO c", "MAIL FROM:<bob@foreign.example>", "RCPT TO:<user@internal.example>", "DATA"] { session.send(line) }
        _ = session.machine.dataEnded(decoded("x\r\n.\r\n"))
        #expect(session.machine.commitFailed(.localError) == .reply(.localError))
        #expect(session.machine.transaction == nil)
        #expect(session.code("RCPT TO:<user@internal.example>") == 503)
    }

    @Test func spoofedInternalSenderIsFlaggedInTheTransaction() {
        var session = Session(settings())
        session.send("EHLO c")
        #expect(session.code("MAIL FROM:<ceo@internal.example>") == 250)
        #expect(session.machine.transaction?.flags == [.spoofedInternalSender])
        #expect(session.code("RCPT TO:<u%internal.example@internal.example>") == 250)
        #expect(session.machine.transaction?.flags == [.spoofedInternalSender, .routedRecipient])
    }

    @Test func orderingErrors() {
        var session = Session(settings())
        #expect(session.send("MAIL FROM:<a@foreign.example>") == .reply(.needHelo))
        #expect(session.send("RCPT TO:<u@internal.example>") == .reply(.needMail))
        #expect(session.send("DATA") == .reply(.needMail))
        session.send("EHLO c")
        #expect(session.send("RCPT TO:<u@internal.example>") == .reply(.needMail))
        #expect(session.send("DATA") == .reply(.needMail))
        #expect(session.code("MAIL FROM:<a@foreign.example>") == 250)
        #expect(session.send("DATA") == .reply(.needRcpt))
        #expect(session.send("MAIL FROM:<a@foreign.example>") == .reply(.nestedMail))
        for reply in [SMTPReply.needHelo, .needMail, .needRcpt, .nestedMail] {
            #expect(reply.code == 503)
            #expect(reply.enhanced == EnhancedStatusCode(5, 5, 1))
        }
    }

    @Test func rsetAndEhloEndTheTransaction() {
        var session = Session(settings())
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        session.send("RCPT TO:<u@internal.example>")
        #expect(session.send("RSET") == .reply(.resetOK))
        #expect(session.machine.transaction == nil)
        #expect(session.send("DATA") == .reply(.needMail))
        #expect(session.code("MAIL FROM:<a@foreign.example>") == 250)
        session.send("EHLO c")
        #expect(session.machine.transaction == nil)
        #expect(session.code("MAIL FROM:<a@foreign.example>") == 250)
        session.send("HELO c")
        #expect(session.machine.transaction == nil)
    }

    @Test func relayDenied() {
        var session = Session(settings(role: .inbound))
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        let action = session.send("RCPT TO:<victim@elsewhere.example>")
        #expect(action == .reply(.relayDenied))
        #expect(action.reply?.encoded() == "554 5.7.1 Relay access denied\r\n")
        #expect(session.send("RCPT TO:<u%elsewhere.example@internal.example>") == .reply(.relayDenied))
        #expect(session.send("DATA") == .reply(.needRcpt))
    }

    @Test func relayNetworkOnOutbound() {
        var session = Session(settings(role: .outbound), relayNetwork: true, client: "10.0.0.5")
        #expect(session.machine.trust == .relayNetwork)
        session.send("EHLO app")
        session.send("MAIL FROM:<app@internal.example>")
        #expect(session.code("RCPT TO:<x@foreign.example>") == 250)
        session.send("RSET")
        session.send("MAIL FROM:<>")
        #expect(session.code("RCPT TO:<x@foreign.example>") == 250, "bounces from inside reach the internet")
        session.send("RSET")
        session.send("MAIL FROM:<someone@foreign.example>")
        #expect(session.send("RCPT TO:<x@foreign.example>") == .reply(.relayDenied))
    }

    @Test func inboundRefusesForeignEvenForRelayNetworks() {
        var session = Session(settings(role: .inbound, relayForeignSenders: true), relayNetwork: true)
        session.send("EHLO app")
        session.send("MAIL FROM:<app@internal.example>")
        #expect(session.send("RCPT TO:<x@foreign.example>") == .reply(.relayDenied))
        #expect(session.code("RCPT TO:<x@internal.example>") == 250)
    }

    @Test func unknownRecipient() {
        var session = Session(settings(validRecipients: ["user@internal.example", "\"first last\"@internal.example"]))
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        let action = session.send("RCPT TO:<nobody@internal.example>")
        #expect(action == .reply(.unknownRecipient))
        #expect(action.reply?.code == 550)
        #expect(action.reply?.enhanced == EnhancedStatusCode(5, 1, 1))
        #expect(session.code("RCPT TO:<user@internal.example>") == 250)
        #expect(session.code("RCPT TO:<USER@Internal.Example.>") == 250)
        #expect(session.code("RCPT TO:<\"first last\"@internal.example>") == 250)
        #expect(session.code("RCPT TO:<postmaster>") == 250)
        // Foreign recipients get the relay answer, not the user-unknown one.
        #expect(session.send("RCPT TO:<nobody@foreign.example>") == .reply(.relayDenied))
        #expect(session.machine.transaction?.recipients.count == 4)
    }

    /// docs/configuration.md: with `recipients` configured, RCPT for an internal domain is accepted
    /// only for listed addresses, and a routed form is judged on its final mailbox, so the list
    /// cannot be bypassed (harvesting, backscatter from the internal server).
    @Test func routedRecipientsAreValidatedToo() {
        var session = Session(settings(validRecipients: ["user@internal.example"]))
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        #expect(session.send("RCPT TO:<nobody%internal.example@internal.example>") == .reply(.unknownRecipient))
        #expect(session.send("RCPT TO:<internal.example!nobody@internal.example>") == .reply(.unknownRecipient))
        #expect(session.send("RCPT TO:<\"nobody@internal.example\"@internal.example>") == .reply(.unknownRecipient))
        #expect(session.send("RCPT TO:<user%internal.example@internal.example>") == .reply(.recipientOK))
    }

    @Test func tooManyRecipients() {
        var session = Session(settings(maximumRecipients: 2))
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        #expect(session.code("RCPT TO:<u1@internal.example>") == 250)
        #expect(session.code("RCPT TO:<u2@internal.example>") == 250)
        let action = session.send("RCPT TO:<u3@internal.example>")
        #expect(action == .reply(.tooManyRecipients))
        #expect(action.reply?.encoded() == "452 4.5.3 Error: too many recipients\r\n")
        #expect(session.machine.transaction?.recipients.count == 2)
        #expect(session.send("DATA") == .startData(.startData))
    }

    @Test func sizeLimitAtMail() {
        var session = Session(settings(maximumMessageSize: 10_000))
        session.send("EHLO c")
        let action = session.send("MAIL FROM:<a@foreign.example> SIZE=10001")
        #expect(action == .reply(.messageTooBig))
        #expect(action.reply?.encoded() == "552 5.3.4 Error: message file too big\r\n")
        #expect(session.machine.transaction == nil)
        #expect(session.code("MAIL FROM:<a@foreign.example> SIZE=10000") == 250)
    }

    @Test func hugeDeclaredSizeIsTooBig() {
        var session = Session(settings())
        session.send("EHLO c")
        #expect(session.send("MAIL FROM:<a@foreign.example> SIZE=99999999999999999999") == .reply(.messageTooBig))
        #expect(session.send("MAIL FROM:<a@foreign.example> SIZE=9223372036854775807") == .reply(.messageTooBig))
    }

    @Test func spoolFullAndRateLimit() {
        var session = Session(settings())
        session.send("EHLO c")
        let full = session.send("MAIL FROM:<a@foreign.example>", SMTPSessionConditions(spoolHasSpace: false))
        #expect(full == .reply(.insufficientStorage))
        #expect(full.reply?.encoded() == "452 4.3.1 Insufficient system storage\r\n")
        let rate = session.send("MAIL FROM:<a@foreign.example>", SMTPSessionConditions(messageRateAllows: false))
        #expect(rate == .reply(.messageRateLimited))
        #expect(rate.reply?.code == 452)
        #expect(session.machine.transaction == nil)
        #expect(session.code("MAIL FROM:<a@foreign.example>") == 250)
    }

    @Test func dataSentBeforeThe354IsAViolation() {
        var session = Session(settings())
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        session.send("RCPT TO:<u@internal.example>")
        let action = session.send("DATA", SMTPSessionConditions(bytesFollowCommand: true))
        #expect(action == .replyAndClose(.protocolViolation))
        #expect(action.reply?.code == 554)
        #expect(action.reply?.enhanced == EnhancedStatusCode(5, 5, 0))
        #expect(session.machine.isClosed)
    }

    @Test func pipelinedCommandsBeforeDataAreFine() {
        var session = Session(settings())
        let pipelined = SMTPSessionConditions(bytesFollowCommand: true)
        #expect(session.code("EHLO c", pipelined) == 250)
        #expect(session.code("MAIL FROM:<a@foreign.example>", pipelined) == 250)
        #expect(session.code("RCPT TO:<u@internal.example>", pipelined) == 250)
        #expect(session.send("DATA") == .startData(.startData))
    }

    @Test func authenticatedClientsMayPipelineIntoData() {
        var session = Session(settings(role: .submission, tls: .implicit, auth: .required))
        session.send("EHLO c")
        session.authenticate(owns: ["alice@internal.example"])
        #expect(!session.machine.enforcesSynchronisation)
        session.send("MAIL FROM:<alice@internal.example>")
        session.send("RCPT TO:<x@foreign.example>")
        #expect(session.send("DATA", SMTPSessionConditions(bytesFollowCommand: true)) == .startData(.startData))
    }

    @Test func utf8RecipientNeedsSMTPUTF8() {
        var session = Session(settings())
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        let action = session.send("RCPT TO:<josé@internal.example>")
        #expect(action == .reply(.smtputf8Required))
        #expect(action.reply?.code == 553)
        session.send("RSET")
        session.send("MAIL FROM:<a@foreign.example> SMTPUTF8")
        #expect(session.code("RCPT TO:<josé@internal.example>") == 250)
    }

    @Test func dataEndedWithExceededSize() {
        var session = Session(settings(maximumMessageSize: 10))
        for line in ["EHLO c", "MAIL FROM:<a@foreign.example>", "RCPT TO:<u@internal.example>", "DATA"] { session.send(line) }
        let decoder = decoded("0123456789ABCDEF\r\n.\r\n", maximumSize: 10)
        #expect(decoder.exceededSize)
        let action = session.machine.dataEnded(decoder)
        #expect(action == .reply(.messageTooBig))
        #expect(action.reply?.code == 552)
        #expect(session.machine.transaction == nil)
        #expect(session.send("NOOP") == .reply(.ok), "the session goes on")
    }

    @Test func dataEndedWithLongLine() {
        var session = Session(settings())
        for line in ["EHLO c", "MAIL FROM:<a@foreign.example>", "RCPT TO:<u@internal.example>", "DATA"] { session.send(line) }
        let decoder = decoded(String(repeating: "x", count: 2000) + "\r\n.\r\n")
        #expect(decoder.exceededLineLength)
        let action = session.machine.dataEnded(decoder)
        #expect(action == .reply(.textLineTooLong))
        #expect(action.reply?.encoded() == "554 5.6.0 Error: message line too long\r\n")
        #expect(session.machine.transaction == nil)
    }

    @Test func dataEndedOutsideDataIsAViolation() {
        var session = Session(settings())
        session.send("EHLO c")
        #expect(session.machine.dataEnded(decoded(".\r\n")) == .replyAndClose(.protocolViolation))
    }

    @Test func tooManyErrorsCloseTheSession() {
        var session = Session(settings(errors: 3))
        #expect(session.send("BOGUS") == .reply(.commandUnrecognized))
        #expect(session.send("MAIL FROM:<a@foreign.example>") == .reply(.needHelo))
        let third = session.send("RCPT TO:<u@internal.example>")
        #expect(third == .replyAndClose(.tooManyErrors))
        #expect(third.reply?.encoded() == "421 4.7.0 Error: too many errors\r\n")
        #expect(session.machine.isClosed)
    }

    @Test func successfulCommandsDoNotCountAsErrors() {
        var session = Session(settings(errors: 2))
        #expect(session.code("BOGUS") == 500)
        for _ in 0..<20 { #expect(session.send("NOOP") == .reply(.ok)) }
        #expect(session.send("BOGUS").closes)
    }

    @Test func harvestingIsCutOff() {
        // A dictionary attack: unknown recipients count as errors.
        var session = Session(settings(validRecipients: ["user@internal.example"], errors: 5))
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        var closed = false
        for n in 0..<10 {
            let action = session.send("RCPT TO:<guess\(n)@internal.example>")
            if action.closes { closed = true; #expect(n == 4); break }
            #expect(action == .reply(.unknownRecipient))
        }
        #expect(closed)
    }
}

@Suite("SMTPServerStateMachine: STARTTLS")
struct SMTPStartTLSTests {
    @Test func startTLSForgetsThePlainTextSession() {
        var session = Session(settings(tls: .starttls))
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        #expect(session.send("STARTTLS") == .startTLS(.readyToStartTLS))
        #expect(SMTPReply.readyToStartTLS.code == 220)
        // Nothing is read until the handshake is done (injected plain text is a violation).
        #expect(session.send("RCPT TO:<u@internal.example>") == .replyAndClose(.protocolViolation))
    }

    @Test func tlsEstablishedResetsHeloAndTransaction() {
        var session = Session(settings(tls: .starttls))
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        session.startTLS()
        #expect(session.machine.tlsActive)
        #expect(session.machine.heloName == nil)
        #expect(!session.machine.esmtp)
        #expect(session.machine.transaction == nil)
        #expect(session.send("MAIL FROM:<a@foreign.example>") == .reply(.needHelo))
        #expect(session.code("EHLO c") == 250)
        #expect(session.code("MAIL FROM:<a@foreign.example>") == 250)
    }

    @Test func secondSTARTTLSIsRefused() {
        var session = Session(settings(tls: .starttls))
        session.send("EHLO c")
        session.startTLS()
        session.send("EHLO c")
        let again = session.send("STARTTLS")
        #expect(again == .reply(.alreadyTLS))
        #expect(again.reply?.code == 503)
    }

    @Test func startTLSNeedsEHLO() {
        var session = Session(settings(tls: .starttls))
        #expect(session.send("STARTTLS") == .reply(.needHelo))
    }

    @Test func starttlsRequiredRefusesMailAndAuthBeforeTLS() {
        var session = Session(settings(role: .submission, tls: .starttlsRequired, auth: .required))
        session.send("EHLO c")
        let mail = session.send("MAIL FROM:<alice@internal.example>")
        #expect(mail == .reply(.authRequiresTLS))
        #expect(mail.reply?.encoded() == "530 5.7.0 Must issue a STARTTLS command first\r\n")
        #expect(session.send("AUTH PLAIN " + base64("\0alice\0secret")) == .reply(.authRequiresTLS))
        #expect(session.send("VRFY alice") == .reply(.authRequiresTLS))
        session.startTLS()
        session.send("EHLO c")
        // TLS now; authentication is still required.
        #expect(session.send("MAIL FROM:<alice@internal.example>") == .reply(.authRequired))
        session.authenticate(owns: ["alice@internal.example"])
        #expect(session.code("MAIL FROM:<alice@internal.example>") == 250)
    }

    @Test func starttlsRequiredWithoutAuth() {
        var session = Session(settings(role: .inbound, tls: .starttlsRequired, auth: .off))
        session.send("EHLO c")
        #expect(session.send("MAIL FROM:<a@foreign.example>") == .reply(.authRequiresTLS))
        session.startTLS()
        session.send("EHLO c")
        #expect(session.code("MAIL FROM:<a@foreign.example>") == 250)
    }

    @Test func authRequiredRefusesMailWithoutAuth() {
        var session = Session(settings(role: .submission, tls: .starttls, auth: .required))
        session.send("EHLO c")
        let action = session.send("MAIL FROM:<alice@internal.example>")
        #expect(action == .reply(.authRequired))
        #expect(action.reply?.code == 530)
    }
}

@Suite("SMTPServerStateMachine: AUTH")
struct SMTPAuthTests {
    private func tlsSession(auth: AuthMode = .required, role: ListenerRole = .submission, errors: Int = 10) -> Session {
        var session = Session(settings(role: role, tls: .starttls, auth: auth, errors: errors))
        session.send("EHLO c")
        session.startTLS()
        session.send("EHLO c")
        return session
    }

    @Test func plainWithInitialResponse() {
        var session = tlsSession()
        let action = session.send("AUTH PLAIN " + base64("\0alice\0s3cret pass"))
        #expect(action == .verifyCredentials(authorizationID: "", username: "alice", password: "s3cret pass"))
        let ok = session.machine.credentialsChecked(user: "alice", addresses: ["alice@internal.example"])
        #expect(ok == .reply(.authSucceeded))
        #expect(ok.reply?.encoded() == "235 2.7.0 Authentication successful\r\n")
        #expect(session.machine.authenticatedUser == "alice")
        #expect(session.machine.trust == .authenticated(user: "alice", addresses: ["alice@internal.example"]))
    }

    @Test func plainWithAuthorizationIdentity() {
        var session = tlsSession()
        // Acting as someone else (proxy authorisation) is not offered: refused before any check.
        let proxy = session.send("AUTH PLAIN " + base64("admin\0alice\0pw"))
        #expect(proxy == .reply(.authFailed))
        #expect(!session.machine.expectsAuthResponse)
        // Naming oneself as the authorisation identity is fine.
        #expect(session.send("AUTH PLAIN " + base64("alice\0alice\0pw"))
                == .verifyCredentials(authorizationID: "alice", username: "alice", password: "pw"))
    }

    @Test func plainProxyAuthorisationWithoutInitialResponse() {
        var session = tlsSession()
        #expect(session.send("AUTH PLAIN") == .authChallenge(""))
        #expect(session.machine.authResponse(base64("root\0alice\0pw")) == .reply(.authFailed))
        #expect(session.code("NOOP") == 250)
    }

    @Test func plainWithoutInitialResponse() {
        var session = tlsSession()
        #expect(session.send("AUTH PLAIN") == .authChallenge(""))
        #expect(session.machine.expectsAuthResponse)
        #expect(session.machine.authResponse(base64("\0alice\0pw")) == .verifyCredentials(authorizationID: "", username: "alice", password: "pw"))
        #expect(!session.machine.expectsAuthResponse)
    }

    @Test func plainMalformed() {
        var session = tlsSession()
        // "=" is an empty initial response: no fields at all.
        #expect(session.send("AUTH PLAIN =") == .reply(.authFailed))
        #expect(session.send("AUTH PLAIN " + base64("\0\0pw")) == .reply(.authFailed), "empty user name")
        #expect(session.send("AUTH PLAIN " + base64("alice")) == .reply(.authFailed), "no NULs")
        #expect(session.send("AUTH PLAIN not*base64") == .reply(.authCancelled))
        #expect(session.send("AUTH PLAIN YWxpY2U") == .reply(.authCancelled), "unpadded base64 is refused")
        #expect(session.machine.authenticatedUser == nil)
    }

    @Test func loginTwoSteps() {
        var session = tlsSession()
        #expect(session.send("AUTH LOGIN") == .authChallenge("VXNlcm5hbWU6"))  // "Username:"
        #expect(session.machine.expectsAuthResponse)
        #expect(session.machine.authResponse(base64("alice")) == .authChallenge("UGFzc3dvcmQ6"))  // "Password:"
        #expect(session.machine.expectsAuthResponse)
        #expect(session.machine.authResponse(base64("pa ss")) == .verifyCredentials(authorizationID: "", username: "alice", password: "pa ss"))
        #expect(session.machine.credentialsChecked(user: "alice", addresses: []) == .reply(.authSucceeded))
    }

    @Test func loginWithInitialResponse() {
        var session = tlsSession()
        #expect(session.send("AUTH LOGIN " + base64("alice")) == .authChallenge("UGFzc3dvcmQ6"))
        #expect(session.machine.authResponse(base64("pw")) == .verifyCredentials(authorizationID: "", username: "alice", password: "pw"))
    }

    @Test func loginBadBase64Cancels() {
        var session = tlsSession()
        session.send("AUTH LOGIN")
        #expect(session.machine.authResponse("!!!!") == .reply(.authCancelled))
        #expect(!session.machine.expectsAuthResponse)
        session.send("AUTH LOGIN")
        _ = session.machine.authResponse(base64("alice"))
        #expect(session.machine.authResponse("@@@@") == .reply(.authCancelled))
        #expect(session.code("NOOP") == 250)
    }

    @Test(arguments: ["PLAIN", "LOGIN", "LOGIN-PASSWORD"])
    func starCancels(_ step: String) {
        var session = tlsSession()
        switch step {
        case "PLAIN": session.send("AUTH PLAIN")
        case "LOGIN": session.send("AUTH LOGIN")
        default:
            session.send("AUTH LOGIN")
            _ = session.machine.authResponse(base64("alice"))
        }
        let action = session.machine.authResponse("*")
        #expect(action == .reply(.authCancelled))
        #expect(action.reply?.encoded() == "501 5.0.0 Authentication cancelled\r\n")
        #expect(!session.machine.expectsAuthResponse)
        #expect(session.machine.authenticatedUser == nil)
        #expect(session.code("NOOP") == 250)
    }

    @Test func failuresDisconnectAfterThree() {
        var session = tlsSession()
        for attempt in 1...3 {
            #expect(session.send("AUTH PLAIN " + base64("\0alice\0wrong")) == .verifyCredentials(authorizationID: "", username: "alice", password: "wrong"))
            let action = session.machine.credentialsChecked(user: nil, addresses: [])
            #expect(action.reply == .authFailed)
            #expect(action.reply?.encoded() == "535 5.7.8 Error: authentication failed\r\n")
            #expect(action.closes == (attempt == 3), "attempt \(attempt)")
        }
        #expect(session.machine.isClosed)
    }

    @Test func senderOwnershipIsEnforced() {
        var session = tlsSession()
        session.authenticate(owns: ["alice@internal.example", "sales@internal.example"])
        let other = session.send("MAIL FROM:<bob@internal.example>")
        #expect(other == .reply(.senderNotOwned))
        #expect(other.reply?.encoded() == "553 5.7.1 Sender address rejected: not owned by user\r\n")
        #expect(session.send("MAIL FROM:<>") == .reply(.senderNotOwned))
        #expect(session.code("MAIL FROM:<Sales@Internal.Example>") == 250)
        #expect(session.code("RCPT TO:<anyone@foreign.example>") == 250)
        #expect(session.code("RCPT TO:<colleague@internal.example>") == 250)
    }

    @Test func authRefusals() {
        var off = Session(settings(tls: .starttls, auth: .off))
        off.send("EHLO c")
        off.startTLS()
        off.send("EHLO c")
        #expect(off.send("AUTH PLAIN") == .reply(.commandUnrecognized))

        var plain = Session(settings(role: .submission, tls: .starttls, auth: .required))
        plain.send("EHLO c")
        #expect(plain.send("AUTH PLAIN") == .reply(.authRequiresTLS))

        var noHelo = Session(settings(role: .submission, tls: .implicit, auth: .required))
        #expect(noHelo.send("AUTH PLAIN") == .reply(.needHelo))
        noHelo.send("HELO c")
        #expect(noHelo.send("AUTH PLAIN") == .reply(.needHelo), "AUTH is an ESMTP extension")

        var session = tlsSession()
        #expect(session.send("AUTH CRAM-MD5") == .reply(.mechanismNotSupported))
        #expect(session.send("AUTH CRAM-MD5").reply?.code == 504)
        session.authenticate(owns: ["alice@internal.example"])
        #expect(session.send("AUTH PLAIN") == .reply(.alreadyAuthenticated))

        var inTransaction = tlsSession(auth: .optional, role: .inbound)
        inTransaction.send("MAIL FROM:<a@foreign.example>")
        #expect(inTransaction.send("AUTH PLAIN") == .reply(.authNotDuringTransaction))
    }

    @Test func authResponseOutsideAnExchangeIsAViolation() {
        var session = tlsSession()
        #expect(session.machine.authResponse("dGVzdA==") == .replyAndClose(.protocolViolation))
    }

    @Test func tlsRestartForgetsAuthentication() {
        // Only possible with a handler bug, but the machine must still forget (RFC 3207 §4.2).
        var session = tlsSession()
        session.authenticate(owns: ["alice@internal.example"])
        session.machine.tlsEstablished()
        #expect(session.machine.authenticatedUser == nil)
        #expect(session.machine.trust == .untrusted)
    }
}

@Suite("SMTPServerStateMachine: BDAT")
struct SMTPChunkingTests {
    private func readyForContent() -> Session {
        var session = Session(settings())
        session.send("EHLO c")
        session.send("MAIL FROM:<a@foreign.example>")
        session.send("RCPT TO:<u@internal.example>")
        return session
    }

    @Test func chunksThenLastCommits() {
        var session = readyForContent()
        #expect(session.send("BDAT 5") == .receiveChunk(size: 5, last: false, discard: false))
        #expect(session.send("NOOP") == .replyAndClose(.protocolViolation), "no command while a chunk is read")
    }

    @Test func chunkReplies() {
        var session = readyForContent()
        session.send("BDAT 5")
        let first = decoded("Hello", dot: false)
        #expect(session.machine.chunkEnded(first) == .reply(SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok: 5 octets received")))
        #expect(session.machine.transaction?.usesChunking == true)
        #expect(session.send("DATA") == .reply(.bdatDataMix))
        #expect(session.send("BDAT 7 LAST") == .receiveChunk(size: 7, last: true, discard: false))
        guard case .commit(let transaction) = session.machine.chunkEnded(decoded("Hello\r\nWorld\r\n", dot: false)) else {
            Issue.record("LAST should commit")
            return
        }
        #expect(transaction.usesChunking)
        #expect(transaction.recipients.count == 1)
        #expect(session.machine.committed(queueID: "ID") == .reply(.queued("ID")))
    }

    @Test func emptyLastChunk() {
        var session = readyForContent()
        #expect(session.send("BDAT 0 LAST") == .receiveChunk(size: 0, last: true, discard: false))
        guard case .commit = session.machine.chunkEnded(decoded("", dot: false)) else {
            Issue.record("BDAT 0 LAST should commit")
            return
        }
    }

    @Test func chunkWithoutMailIsReadAndDiscarded() {
        var session = Session(settings())
        session.send("EHLO c")
        #expect(session.send("BDAT 100") == .receiveChunk(size: 100, last: false, discard: true))
        #expect(session.machine.chunkEnded(nil) == .reply(.needMail))
        session.send("MAIL FROM:<a@foreign.example>")
        #expect(session.send("BDAT 10 LAST") == .receiveChunk(size: 10, last: true, discard: true))
        #expect(session.machine.chunkEnded(nil) == .reply(.needRcpt))
        #expect(session.machine.transaction?.usesChunking == false)
    }

    @Test func chunkAfterHELOIsUnrecognized() {
        var session = Session(settings())
        session.send("HELO c")
        session.send("MAIL FROM:<a@foreign.example>")
        session.send("RCPT TO:<u@internal.example>")
        #expect(session.send("BDAT 3") == .receiveChunk(size: 3, last: false, discard: true))
        #expect(session.machine.chunkEnded(nil) == .reply(.commandUnrecognized))
    }

    @Test func chunkEndedOutsideAChunkIsAViolation() {
        var session = readyForContent()
        #expect(session.machine.chunkEnded(decoded("x", dot: false)) == .replyAndClose(.protocolViolation))
    }

    @Test func oversizedChunksAreRefusedAtLast() {
        var session = readyForContent()
        var decoder = SMTPDataDecoder(dotTransparency: false, maximumLineLength: 1000, maximumSize: 10)
        var output = ByteBuffer("")
        var chunk = ByteBuffer("0123456789ABCDEF")
        session.send("BDAT 16")
        _ = try? decoder.decode(&chunk, into: &output)
        #expect(decoder.exceededSize)
        // Not LAST: keep reading so that client and server stay in step.
        #expect(session.machine.chunkEnded(decoder).reply?.code == 250)
        session.send("BDAT 2 LAST")
        var last = ByteBuffer("\r\n")
        _ = try? decoder.decode(&last, into: &output)
        let action = session.machine.chunkEnded(decoder)
        #expect(action == .reply(.messageTooBig))
        #expect(session.machine.transaction == nil)
    }

    @Test func longLineInChunksIsRefusedAtLast() {
        var session = readyForContent()
        session.send("BDAT 2000 LAST")
        let decoder = decoded(String(repeating: "y", count: 2000), dot: false)
        #expect(decoder.exceededLineLength)
        #expect(session.machine.chunkEnded(decoder) == .reply(.textLineTooLong))
    }
}
