// SMTPDelivery.swift — delivers one message to one destination over SMTP: next hops in turn,
// TLS by the route's policy, AUTH to a smarthost, one transaction, a reply for every recipient.
//
// A `SMTPDestinationSession` belongs to one worker of one destination and keeps its connection
// between messages (connection reuse), so a burst to one destination costs one TCP and TLS setup.
//
// Rules (RFC 5321 §5.1, §4.5.4; the failover rules):
//   - a hop that cannot be reached, does not greet with 2xx, times out or answers 4xx → the next
//     hop, for the recipients still open; when no hop is left they are deferred;
//   - a 5xx for a recipient is final (bounce);
//   - TLS `required`/`verify`: no STARTTLS offered or a failed handshake → the next hop, never plain
//     text; `opportunistic`: a failed handshake is retried once in plain text (as Postfix's "may");
//   - credentials are sent only over TLS.

import Configuration
import GatehouseCore
import NIOCore
import NIOSSL
import SMTPProtocol
import Spool

/// What a delivery needs besides the message: shared by all workers, rebuilt on reconfiguration.
struct DeliveryContext: Sendable {
    /// The scheduler's loop: connections are made on it.
    var loop: any EventLoop
    var planner: NextHopPlanner
    /// Our name in EHLO.
    var hostname: String
    var timeouts: DeliveryTimeouts
    /// For `opportunistic` and `required` (no certificate check).
    var tlsUnverified: NIOSSLContext?
    /// For `verify`, per CA file ("" = the system's trust store).
    var tlsVerified: [String: NIOSSLContext]
    /// RFC 6152 downgrade: nil when the content cannot be made 7-bit.
    var eightBitDowngrade: @Sendable ([UInt8]) -> [UInt8]?
    /// For warnings about next hops (response injection).
    var log: any LogSink
}

/// A message (or part of its recipients) to deliver to one destination.
struct DeliveryRequest: Sendable {
    var envelope: Envelope
    /// Recipients of this request (indexes into `envelope.recipients` are kept by the caller).
    var recipients: [QueuedRecipient]
    var content: [UInt8]
}

final class SMTPDestinationSession {
    private var connection: SMTPClientConnection?
    private var capabilities = SMTPServerCapabilities()
    private var hop: NextHop?
    private var messagesOnConnection = 0
    private let context: DeliveryContext

    init(context: DeliveryContext) {
        self.context = context
    }

    /// Delivers `request` to `domain` by `route`; one outcome per recipient, in order.
    nonisolated(nonsending) func deliver(_ request: DeliveryRequest, route: RouteConfiguration, domain: String) async -> [RecipientOutcome] {
        var outcomes = [RecipientOutcome?](repeating: nil, count: request.recipients.count)
        var remaining = Array(request.recipients.indices)
        var lastProblem = RecipientOutcome.deferred(EnhancedStatusCode(4, 4, 1), "no next hop could be reached")

        // A cached connection first; a stale one (closed by the server while idle) is dropped quietly.
        if let connection, connection.isActive, messagesOnConnection < Defaults.Delivery.messagesPerConnection, let hop {
            switch await transaction(connection, hop: hop, request, indices: remaining) {
            case .stale:
                close()
            case .done(let results):
                apply(results, to: &outcomes, open: &remaining, lastProblem: &lastProblem)
                if remaining.isEmpty { return outcomes.map { $0! } }
                close()
            }
        } else {
            close()
        }

        switch await context.planner.plan(route: route, domain: domain) {
        case .permanent(let outcome):
            return outcomes.map { $0 ?? outcome }
        case .temporary(let outcome):
            return outcomes.map { $0 ?? outcome }
        case .hops(let hops):
            for hop in hops where !remaining.isEmpty {
                var plainFallback = false
                while true {
                    let setup = await open(hop, route: route, plainText: plainFallback)
                    switch setup {
                    case .failed(var outcome, let retryPlain):
                        outcome.relay = hop.description
                        lastProblem = outcome
                        if retryPlain && !plainFallback { plainFallback = true; continue }
                    case .permanent(var outcome):
                        outcome.relay = hop.description
                        // The hop refuses this message for every recipient (SIZE, SMTPUTF8, 8-bit).
                        for i in remaining { outcomes[i] = outcome }
                        remaining = []
                    case .ready(let connection):
                        switch await transaction(connection, hop: hop, request, indices: remaining) {
                        case .stale:
                            lastProblem = .deferred(EnhancedStatusCode(4, 4, 2), "lost connection with \(hop)")
                            close()
                        case .done(let results):
                            apply(results, to: &outcomes, open: &remaining, lastProblem: &lastProblem)
                            if !remaining.isEmpty { await quit() }
                        }
                    }
                    break
                }
            }
        }
        for i in remaining { outcomes[i] = lastProblem }
        return outcomes.map { $0! }
    }

    private func apply(_ results: [(Int, RecipientOutcome)], to outcomes: inout [RecipientOutcome?], open: inout [Int],
                       lastProblem: inout RecipientOutcome) {
        for (i, result) in results {
            var outcome = result
            if outcome.relay == nil { outcome.relay = hop?.description }
            if outcome.kind == .deferred {
                lastProblem = outcome
            } else {
                outcomes[i] = outcome
            }
        }
        open = open.filter { outcomes[$0] == nil }
    }

    /// Closes the cached connection politely.
    nonisolated(nonsending) func quit() async {
        if let connection { await connection.quit() }
        connection = nil
        hop = nil
    }

    /// Closes the cached connection without a word (shutdown: the event loops are going away).
    func close() {
        connection?.close()
        connection = nil
        hop = nil
    }

    private enum Setup {
        case ready(SMTPClientConnection)
        case failed(RecipientOutcome, retryPlainText: Bool)
        case permanent(RecipientOutcome)
    }

    /// Connects, reads the greeting, EHLO (HELO), STARTTLS by policy, AUTH. Caches the connection.
    nonisolated(nonsending) private func open(_ hop: NextHop, route: RouteConfiguration, plainText: Bool) async -> Setup {
        close()
        let t = context.timeouts
        let address: SocketAddress
        do { address = try hop.socketAddress() } catch {
            return .failed(.deferred(EnhancedStatusCode(4, 4, 1), "bad next hop address \(hop)"), retryPlainText: false)
        }
        let connection: SMTPClientConnection
        do {
            connection = try await SMTPClientConnection.connect(to: address, group: context.loop, timeout: t.connect)
        } catch {
            return .failed(.deferred(EnhancedStatusCode(4, 4, 1), "connect to \(hop): \(error)"), retryPlainText: false)
        }
        let mta = "dns; \(hop.name)"
        do {
            let greeting = try await connection.reply(timeout: t.greeting, phase: "receiving the initial server greeting")
            guard greeting.code == 220 else {
                await connection.quit()
                return .failed(.deferred(EnhancedStatusCode(4, 4, 2), "host \(hop) refused to talk to me: \(greeting.singleLine)", remoteMTA: mta),
                               retryPlainText: false)
            }
            var caps = try await hello(connection, hop: hop)
            guard let helloCaps = caps else {
                await connection.quit()
                return .failed(.deferred(EnhancedStatusCode(4, 4, 2), "host \(hop) refused EHLO and HELO", remoteMTA: mta), retryPlainText: false)
            }
            var capabilities = helloCaps
            var tlsUp = false  // of this connection only
            let tlsContext: NIOSSLContext? = switch route.tls {
            case .none: nil
            case .opportunistic, .required: context.tlsUnverified
            case .verify: context.tlsVerified[route.caFile ?? ""]
            }
            let wantsTLS = route.tls != .none && !(plainText && route.tls == .opportunistic)
            if wantsTLS && capabilities.starttls, let tlsContext {
                let verifyName = route.tls == .verify ? hop.name : nil
                let reply: SMTPReply
                do {
                    reply = try await connection.startTLS(context: tlsContext, serverHostname: verifyName ?? sniName(hop), timeout: t.helo)
                } catch {
                    connection.close()
                    return .failed(.deferred(EnhancedStatusCode(4, 7, 5), "TLS with \(hop) failed: \(error)", remoteMTA: mta),
                                   retryPlainText: route.tls == .opportunistic)
                }
                if reply.code != 220 {
                    if route.tls != .opportunistic {
                        await connection.quit()
                        return .failed(.deferred(EnhancedStatusCode(4, 7, 4), "TLS is required, but \(hop) refused STARTTLS: \(reply.singleLine)", remoteMTA: mta),
                                       retryPlainText: false)
                    }
                } else {
                    let injected = await connection.plainTextDiscardedAfterSTARTTLS()
                    if injected > 0 {
                        context.log.record(LogRecord(program: "smtp", text: "warning: \(hop): \(injected) bytes of plain text after the 220 to STARTTLS discarded (possible response injection)"))
                    }
                    caps = try await hello(connection, hop: hop)
                    guard let tlsCaps = caps else {
                        await connection.quit()
                        return .failed(.deferred(EnhancedStatusCode(4, 4, 2), "host \(hop) refused EHLO after STARTTLS", remoteMTA: mta), retryPlainText: false)
                    }
                    capabilities = tlsCaps
                    capabilities.starttls = false
                    tlsUp = true
                }
            } else if route.tls == .required || route.tls == .verify {
                await connection.quit()
                let why = capabilities.starttls ? "no TLS context" : "\(hop) does not offer STARTTLS"
                return .failed(.deferred(EnhancedStatusCode(4, 7, 4), "TLS is required, but \(why)", remoteMTA: mta), retryPlainText: false)
            }
            if let credentials = route.credentials {
                guard tlsUp else {
                    await connection.quit()
                    return .failed(.deferred(EnhancedStatusCode(4, 7, 4), "credentials for \(hop) are only sent over TLS, and TLS is not up", remoteMTA: mta),
                                   retryPlainText: false)
                }
                if let problem = try await authenticate(connection, capabilities: capabilities, credentials: credentials) {
                    await connection.quit()
                    return .failed(.deferred(EnhancedStatusCode(4, 7, 0), "authentication with \(hop) failed: \(problem)", remoteMTA: mta), retryPlainText: false)
                }
            }
            self.connection = connection
            self.capabilities = capabilities
            self.hop = hop
            self.messagesOnConnection = 0
            return .ready(connection)
        } catch {
            connection.close()
            return .failed(.deferred(EnhancedStatusCode(4, 4, 2), "\(hop): \(error)", remoteMTA: mta), retryPlainText: false)
        }
    }

    private func sniName(_ hop: NextHop) -> String? {
        IPAddress(parsing: hop.name) == nil ? hop.name : nil
    }

    /// EHLO, or HELO when EHLO is refused with 5xx. Nil when neither is accepted.
    nonisolated(nonsending) private func hello(_ connection: SMTPClientConnection, hop: NextHop) async throws(SMTPClientError) -> SMTPServerCapabilities? {
        try await connection.send("EHLO \(context.hostname)\r\n")
        let reply = try await connection.reply(timeout: context.timeouts.helo, phase: "waiting for the reply to EHLO")
        if reply.code == 250 { return SMTPServerCapabilities(ehloReply: reply) }
        guard reply.isPermanent else { return nil }
        try await connection.send("HELO \(context.hostname)\r\n")
        let helo = try await connection.reply(timeout: context.timeouts.helo, phase: "waiting for the reply to HELO")
        return helo.code == 250 ? SMTPServerCapabilities() : nil
    }

    /// AUTH PLAIN, else LOGIN (RFC 4954, RFC 4616). Returns a problem, or nil on success.
    nonisolated(nonsending) private func authenticate(_ connection: SMTPClientConnection, capabilities: SMTPServerCapabilities,
                              credentials: RouteCredentials) async throws(SMTPClientError) -> String? {
        let timeout = context.timeouts.helo
        if capabilities.authMechanisms.contains("PLAIN") {
            let token = SMTPProtocol.Base64.encode(Array(("\0" + credentials.username + "\0" + credentials.password).utf8))
            try await connection.send("AUTH PLAIN \(token)\r\n")
            let reply = try await connection.reply(timeout: timeout, phase: "waiting for the reply to AUTH")
            return reply.code == 235 ? nil : reply.singleLine
        }
        if capabilities.authMechanisms.contains("LOGIN") {
            try await connection.send("AUTH LOGIN\r\n")
            var reply = try await connection.reply(timeout: timeout, phase: "waiting for the reply to AUTH")
            guard reply.code == 334 else { return reply.singleLine }
            try await connection.send(SMTPProtocol.Base64.encode(Array(credentials.username.utf8)) + "\r\n")
            reply = try await connection.reply(timeout: timeout, phase: "waiting for the reply to AUTH")
            guard reply.code == 334 else { return reply.singleLine }
            try await connection.send(SMTPProtocol.Base64.encode(Array(credentials.password.utf8)) + "\r\n")
            reply = try await connection.reply(timeout: timeout, phase: "waiting for the reply to AUTH")
            return reply.code == 235 ? nil : reply.singleLine
        }
        return "the server offers neither PLAIN nor LOGIN"
    }

    private enum TransactionResult {
        /// The connection failed before any reply to MAIL: the message was not started there.
        case stale
        case done([(Int, RecipientOutcome)])
    }

    /// One mail transaction for the recipients `indices` of `request`.
    nonisolated(nonsending) private func transaction(_ connection: SMTPClientConnection, hop: NextHop, _ request: DeliveryRequest, indices: [Int]) async -> TransactionResult {
        let envelope = request.envelope
        let mta = "dns; \(hop.name)"
        let t = context.timeouts
        func all(_ outcome: RecipientOutcome) -> TransactionResult { .done(indices.map { ($0, outcome) }) }

        // What the next hop can take.
        var content = request.content
        let eightBit = SMTPDataEncoder.hasEightBit(content)
        if envelope.smtputf8 && !capabilities.smtputf8 {
            return all(.failed(EnhancedStatusCode(5, 6, 7), "SMTPUTF8 is required, but was not offered by host \(hop)", remoteMTA: mta))
        }
        if eightBit && !capabilities.eightBitMIME && !envelope.smtputf8 {
            guard let converted = context.eightBitDowngrade(content) else {
                return all(.failed(EnhancedStatusCode(5, 6, 3), "message has 8-bit content that cannot be converted to 7-bit for \(hop), which lacks 8BITMIME", remoteMTA: mta))
            }
            content = converted
        }
        var wire = ByteBuffer()
        let chunking = capabilities.chunking
        SMTPDataEncoder.encode(content, into: &wire, dotStuffing: !chunking)
        let size = chunking ? wire.readableBytes : content.count
        if let maximum = capabilities.maximumSize, size > maximum {
            return all(.failed(EnhancedStatusCode(5, 3, 4), "message size \(size) exceeds size limit \(maximum) of server \(hop)", remoteMTA: mta))
        }

        var mailParameters: [String] = []
        if capabilities.size { mailParameters.append("SIZE=\(size)") }
        // With 8BITMIME nothing was converted, so the content is still what `eightBit` describes.
        if capabilities.eightBitMIME && eightBit { mailParameters.append("BODY=8BITMIME") }
        if envelope.smtputf8 { mailParameters.append("SMTPUTF8") }
        if capabilities.dsn {
            if let ret = envelope.dsnReturn { mailParameters.append("RET=\(ret)") }
            if let envid = envelope.envelopeID { mailParameters.append("ENVID=\(envid)") }
        }
        let recipients = indices.map { i -> SMTPClientTransaction.Recipient in
            let r = request.recipients[i]
            var parameters: [String] = []
            if capabilities.dsn {
                if let notify = r.notify { parameters.append("NOTIFY=\(notify)") }
                if let orcpt = r.originalRecipient { parameters.append("ORCPT=\(orcpt)") }
            }
            return SMTPClientTransaction.Recipient(address: r.address, parameters: parameters)
        }
        var machine = SMTPClientTransaction(sender: envelope.sender, mailParameters: mailParameters, recipients: recipients,
                                            pipelining: capabilities.pipelining, chunking: chunking)
        var sawReply = false
        var action = machine.start()
        messagesOnConnection += 1
        do {
            while true {
                let timeout: Double
                switch machine.phase {
                case .mail: timeout = t.mail
                case .recipient: timeout = t.rcpt
                case .data: timeout = t.data
                case .content, .done: timeout = t.dataDone
                }
                switch action {
                case .send(let text):
                    try await connection.send(text)
                    let reply = try await connection.reply(timeout: timeout, phase: phaseName(machine.phase))
                    sawReply = true
                    action = machine.receive(reply)
                case .read:
                    action = machine.receive(try await connection.reply(timeout: timeout, phase: phaseName(machine.phase)))
                case .sendContent:
                    if chunking {
                        try await connection.send("BDAT \(wire.readableBytes) LAST\r\n")
                    }
                    try await connection.send(wire)
                    action = machine.receive(try await connection.reply(timeout: t.dataDone, phase: "sending end of data -- message may be sent more than once"))
                case .sendEmptyContent:
                    try await connection.send(".\r\n")
                    action = machine.receive(try await connection.reply(timeout: t.dataDone, phase: "sending end of data"))
                case .finished(let replies):
                    if machine.needsReset {
                        try? await connection.send("RSET\r\n")
                        _ = try? await connection.reply(timeout: t.mail, phase: "waiting for the reply to RSET")
                    }
                    return .done(zip(indices, replies).map { i, reply in
                var outcome = RecipientOutcome.from(reply: reply, remoteMTA: mta)
                outcome.relay = hop.description
                return (i, outcome)
            })
                }
            }
        } catch {
            connection.close()
            self.connection = nil
            if !sawReply && messagesOnConnection > 1 { return .stale }
            let reason = "lost connection with \(hop) while \(phaseName(machine.phase)): \(error)"
            let replies = machine.abort(SMTPReply(451, EnhancedStatusCode(4, 4, 2), reason))
            return .done(zip(indices, replies).map { i, reply in
                (i, reply.code == 451 && reply.lines == [reason] ? .deferred(EnhancedStatusCode(4, 4, 2), reason, remoteMTA: mta)
                                                               : RecipientOutcome.from(reply: reply, remoteMTA: mta))
            })
        }
    }

    private func phaseName(_ phase: SMTPClientTransaction.Phase) -> String {
        switch phase {
        case .mail: return "sending MAIL FROM"
        case .recipient: return "sending RCPT TO"
        case .data: return "sending DATA command"
        case .content: return "sending message body"
        case .done: return "ending the transaction"
        }
    }
}
