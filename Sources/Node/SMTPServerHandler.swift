// SMTPServerHandler.swift — carries out an `SMTPServerStateMachine` on a channel.
//
// The handler owns framing (command lines, AUTH lines, DATA content, BDAT chunks, the PROXY
// header), the connection-level checks (ACL, limits, pre-greet), STARTTLS, timeouts and the spool
// writes. Decisions are the state machine's; the handler only performs the actions it returns.
//
// Security notes:
//   - STARTTLS: after the 220 every buffered plain-text byte is dropped before the TLS handler is
//     inserted (CVE-2011-0411); nothing read in plain text survives into the TLS session.
//   - Memory per session is bounded: command lines by the line limit; content by
//     `Defaults.spoolWriteChunk` without a policy (reads pause while a write to disk is in
//     flight), and with a policy by the message size limit and the node's scan memory budget
//     (`ScanMemoryBudget`: every session together at most `scanning.memory_limit`).
//   - A message's bytes never outlive its transaction: RSET, EHLO, HELO or STARTTLS between
//     BDAT chunks drop what was received, so nothing can be prepended to the next message.
//   - The 250 after DATA is sent only when `SpoolWriter.commit()` returned: file and directory fsynced.
//   - Replies are flushed when the input is drained, as PIPELINING expects (RFC 2920 §3.2).

import Configuration
import GatehouseCore
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SMTPProtocol
import Spool

final class SMTPServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Mode {
        case proxyHeader
        case pregreet
        case commands
        case authLine
        case data
        case chunk(remaining: Int, last: Bool, discard: Bool)
        /// Waiting for TLS, a credential check or the spool.
        case waiting
        case closed
    }

    private let runtime: ListenerRuntime
    private var mode: Mode = .waiting
    private var machine: SMTPServerStateMachine?
    private var input: ByteBuffer
    private var lineDecoder: SMTPLineDecoder
    private var authDecoder = SMTPLineDecoder(maximumLineLength: Defaults.authLineLength)
    private var dataDecoder: SMTPDataDecoder?
    private var content: ByteBuffer
    private var message: MessageSink?
    /// Bytes of this message reserved from the scan memory budget (`runtime.decider?.memory`).
    private var scanReserved = 0
    /// The budget ran out while this message arrived: the rest is read without being kept, and the
    /// end of data is answered 452 4.3.1.
    private var scanOverBudget = false
    /// With a policy, the message received so far beyond `content`, in exact-size pieces of about
    /// `Defaults.spoolWriteChunk`: the memory held is what the budget counts, not the capacity of
    /// a buffer that grows by doubling.
    private var heldPieces: [[UInt8]] = []
    private var heldBytes = 0
    private var peer: IPAddress = .v4(0)
    private var client: IPAddress = .v4(0)
    private var exempt = false
    private var admitted = false
    private var tlsVersion: String?
    private var timeout: Scheduled<Void>?
    private var greetTask: Scheduled<Void>?
    private var readsPaused = false
    private var needsFlush = false
    private var counts: [(String, Int)] = []
    private var lastCommand = "CONNECT"
    /// On a PROXY listener, a client outside the balancers must not send a PROXY header.
    private var watchForForgedProxy = false

    init(runtime: ListenerRuntime, allocator: ByteBufferAllocator) {
        self.runtime = runtime
        self.lineDecoder = SMTPLineDecoder(maximumLineLength: runtime.listener.limits.commandLineLength)
        self.input = allocator.buffer(capacity: 0)
        self.content = allocator.buffer(capacity: 0)
    }

    private var log: any LogSink { runtime.services.log }
    private var clientText: String { "unknown[\(client)]" }

    // MARK: - Connection

    func channelActive(context: ChannelHandlerContext) {
        guard let address = context.channel.remoteAddress?.ipAddress, let ip = IPAddress(parsing: address) else {
            context.close(promise: nil)
            return
        }
        peer = ip
        client = ip
        resetTimeout(context)
        if runtime.listener.proxyProtocol {
            if runtime.listener.balancers.containsAddress(peer) {
                mode = .proxyHeader
                return
            }
            watchForForgedProxy = true
        }
        admit(context)
    }

    /// Connection ACL, then limits, then the greeting (DESIGN.md §4: connection → ACL and rate limits → greeting).
    private func admit(_ context: ChannelHandlerContext) {
        log.record(LogRecord(program: "smtpd", text: "connect from \(clientText) to \(runtime.listener.name)"))
        switch runtime.listener.acl.decide(client) {
        case .deny:
            log.record(LogRecord(program: "smtpd", noQueue: true, text: "reject: CONNECT from \(clientText): 554 5.7.1 Access denied; listener=\(runtime.listener.name)"))
            closeWith(.accessDenied, context)
            return
        case .exempt:
            exempt = true
        case .allow:
            break
        }
        switch runtime.limiter.admit(client, exempt: exempt) {
        case .admitted:
            admitted = true
        case .listenerFull:
            log.record(LogRecord(program: "smtpd", text: "warning: too many sessions on \(runtime.listener.name); refusing \(clientText)"))
            closeWith(.tooManySessions(runtime.node.hostname), context)
            return
        case .tooManySessions, .connectionRate:
            log.record(LogRecord(program: "smtpd", text: "warning: connection limit exceeded for \(clientText) on \(runtime.listener.name)"))
            closeWith(.rateLimited(runtime.node.hostname), context)
            return
        }
        machine = SMTPServerStateMachine(settings: runtime.settings, clientAddress: client,
                                         inRelayNetworks: runtime.listener.relayNetworks.containsAddress(client))
        let delay = runtime.listener.greetDelay
        if delay > 0 && !exempt {
            mode = .pregreet
            greetTask = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delay * 1000))) { [self] in
                greetTask = nil
                guard case .pregreet = mode else { return }
                greet(context)
            }
        } else {
            greet(context)
        }
    }

    private func greet(_ context: ChannelHandlerContext) {
        guard machine != nil else { return }
        send(machine!.greeting(), context)
        mode = .commands
        flushIfNeeded(context)
        process(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        greetTask?.cancel()
        if admitted {
            runtime.limiter.release(client)
            admitted = false
            let summary = counts.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            if case .closed = mode {} else {
                log.record(LogRecord(program: "smtpd", text: "lost connection after \(lastCommand) from \(clientText)"))
            }
            log.record(LogRecord(program: "smtpd", text: "disconnect from \(clientText)\(summary.isEmpty ? "" : " " + summary)"))
        }
        mode = .closed
        abortMessage()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .closed = mode {} else {
            log.record(LogRecord(program: "smtpd", text: "warning: \(clientText): \(error)"))
        }
        mode = .closed
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            if let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) {
                tlsVersion = handler.tlsVersion.map(SMTPServerHandler.describe)
            }
            log.record(LogRecord(program: "smtpd", text: "TLS connection established from \(clientText): \(tlsVersion ?? "TLS")"))
            if runtime.listener.tls == .implicit { return }
            machine?.tlsEstablished()
            abortMessage()  // nothing received before TLS belongs to a message sent after it
            mode = .commands
            process(context)
            flushIfNeeded(context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    static func describe(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv1: return "TLSv1"
        case .tlsv11: return "TLSv1.1"
        case .tlsv12: return "TLSv1.2"
        case .tlsv13: return "TLSv1.3"
        }
    }

    // MARK: - Input

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch mode {
        case .closed:
            return
        case .pregreet:
            log.record(LogRecord(program: "smtpd", noQueue: true, text: "reject: CONNECT from \(clientText): 554 5.5.0 pre-greeting traffic"))
            greetTask?.cancel()
            perform(machine!.pregreetViolation(), context)
            return
        default:
            break
        }
        resetTimeout(context)
        if input.readableBytes == 0 {
            input = bytes
        } else {
            input.writeBuffer(&bytes)
        }
        if watchForForgedProxy, input.readableBytes > 0 {
            watchForForgedProxy = false
            if SMTPServerHandler.looksLikeProxyHeader(input) {
                log.record(LogRecord(program: "smtpd", noQueue: true, text: "reject: CONNECT from \(clientText): 554 5.7.1 PROXY header from a host that is not a balancer"))
                closeWith(.proxyRefused, context)
                return
            }
        }
        process(context)
        flushIfNeeded(context)
    }

    static func looksLikeProxyHeader(_ buffer: ByteBuffer) -> Bool {
        let v1 = Array("PROXY ".utf8)
        let v2: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
        let view = buffer.readableBytesView
        switch view.first {
        case UInt8(ascii: "P"): return view.starts(with: v1.prefix(view.count))  // "PROXY " or its start
        case 0x0D: return view.count >= 4 && view.starts(with: v2.prefix(view.count))
        default: return false
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context)
    }

    /// Works through the buffered input as far as the current mode allows.
    private func process(_ context: ChannelHandlerContext) {
        while true {
            switch mode {
            case .closed, .waiting, .pregreet:
                return
            case .proxyHeader:
                do {
                    guard let header = try ProxyProtocolDecoder.decode(&input) else { return }
                    if case .proxied(let source, _, _, _) = header { client = source }
                    admit(context)
                } catch {
                    log.record(LogRecord(program: "smtpd", text: "warning: bad PROXY header from \(peer): \(error)"))
                    closeWith(.proxyRefused, context)
                    return
                }
            case .commands, .authLine:
                let isAuth: Bool
                if case .authLine = mode { isAuth = true } else { isAuth = false }
                let event: SMTPLineDecoder.Event
                do {
                    event = isAuth ? try authDecoder.next(&input) : try lineDecoder.next(&input)
                } catch {
                    log.record(LogRecord(program: "smtpd", text: "warning: \(error == .nul ? "NUL character" : "bare <CR> or <LF>") in command from \(clientText); dropping the session"))
                    perform(machine!.framingViolation(error), context)
                    return
                }
                switch event {
                case .needMoreData:
                    return
                case .lineTooLong:
                    perform(machine!.lineTooLong(), context)
                case .line(let line):
                    if isAuth {
                        mode = .commands
                        perform(machine!.authResponse(String(decoding: line.readableBytesView, as: UTF8.self)), context)
                    } else {
                        handleCommand(line, context)
                    }
                }
            case .data:
                guard input.readableBytes > 0 else { return }
                let event: SMTPDataDecoder.Event
                do {
                    event = try dataDecoder!.decode(&input, into: &content)
                } catch {
                    dataViolation(error, context)
                    return
                }
                spillContent(context, force: false)
                if event == .endOfData {
                    mode = .commands
                    let action = machine!.dataEnded(dataDecoder!)
                    if case .commit = action {} else { abortMessage() }
                    perform(action, context)
                }
            case .chunk(let remaining, let last, let discard):
                if remaining > 0 {
                    guard input.readableBytes > 0 else { return }
                    let n = min(remaining, input.readableBytes)
                    if discard || dataDecoder == nil {
                        input.moveReaderIndex(forwardBy: n)
                    } else {
                        var slice = input.readSlice(length: n)!
                        do {
                            _ = try dataDecoder!.decode(&slice, into: &content)
                        } catch {
                            dataViolation(error, context)
                            return
                        }
                        spillContent(context, force: false)
                    }
                    mode = .chunk(remaining: remaining - n, last: last, discard: discard)
                    continue
                }
                mode = .commands
                if discard {
                    perform(machine!.chunkEnded(nil), context)
                    continue
                }
                if last {
                    do { try dataDecoder!.finishChunks(into: &content) } catch {
                        dataViolation(error, context)
                        return
                    }
                }
                let action = machine!.chunkEnded(dataDecoder!)
                if case .commit = action {} else if last { abortMessage() }
                perform(action, context)
            }
        }
    }

    private func dataViolation(_ error: SMTPFramingError, _ context: ChannelHandlerContext) {
        log.record(LogRecord(program: "smtpd", queueID: message?.envelope.queueID, noQueue: true,
                             text: "reject: DATA from \(clientText): 554 5.5.0 \(error == .nul ? "NUL character" : "bare <CR> or <LF>") in message content; dropping the session"))
        abortMessage()
        perform(machine!.framingViolation(error), context)
    }

    private func handleCommand(_ line: ByteBuffer, _ context: ChannelHandlerContext) {
        let parsed = SMTPCommandParser.parse(line.readableBytesView)
        var conditions = SMTPSessionConditions()
        conditions.bytesFollowCommand = input.readableBytes > 0
        let name: String
        switch parsed {
        case .success(let command):
            name = SMTPServerHandler.name(of: command)
            if case .mail = command {
                conditions.spoolHasSpace = runtime.services.spoolHasSpace.load(ordering: .relaxed)
                conditions.messageRateAllows = runtime.limiter.takeMessage(client, exempt: exempt)
            }
        case .failure:
            name = "unknown"
        }
        lastCommand = name.uppercased()
        count(name)
        let action = machine!.command(parsed, conditions: conditions)
        if case .reply(let reply) = action, !reply.isPositive {
            logReject(parsed, reply)
        } else if case .replyAndClose(let reply) = action, reply.code >= 500 || reply.code == 421 {
            logReject(parsed, reply)
        }
        perform(action, context)
        // RSET, EHLO, HELO or STARTTLS between BDAT chunks end the transaction in the state
        // machine: what was received for it goes too, so nothing of it can join the next message.
        if message != nil && machine?.transaction == nil { abortMessage() }
    }

    private func logReject(_ parsed: Result<SMTPCommand, SMTPCommandError>, _ reply: SMTPReply) {
        guard case .success(let command) = parsed else { return }
        let sender = machine?.transaction.map { "from=\($0.sender)" }
        switch command {
        case .rcpt(let path, _):
            log.record(LogRecord(program: "smtpd", noQueue: true,
                                 text: "reject: RCPT from \(clientText): \(reply.code) \(reply.enhanced?.description ?? "") \(path): \(reply.lines[0]); \(sender ?? "from=<>") to=\(path) proto=\(proto) helo=<\(machine?.heloName ?? "")>"))
        case .mail(let path, _):
            log.record(LogRecord(program: "smtpd", noQueue: true,
                                 text: "reject: MAIL from \(clientText): \(reply.code) \(reply.enhanced?.description ?? "") \(path): \(reply.lines[0]); from=\(path) proto=\(proto) helo=<\(machine?.heloName ?? "")>"))
        case .data:
            if reply.code == 554 {
                log.record(LogRecord(program: "smtpd", text: "improper command pipelining after DATA from \(clientText)"))
            }
        default:
            break
        }
    }

    private var proto: String {
        guard let machine else { return "SMTP" }
        var p = machine.esmtp ? "ESMTP" : "SMTP"
        if machine.tlsActive { p += "S" }
        if machine.authenticatedUser != nil { p += "A" }
        return p == "SMTPS" || p == "SMTPA" || p == "SMTPSA" ? "E" + p : p
    }

    static func name(of command: SMTPCommand) -> String {
        switch command {
        case .ehlo: return "ehlo"
        case .helo: return "helo"
        case .mail: return "mail"
        case .rcpt: return "rcpt"
        case .data: return "data"
        case .bdat: return "bdat"
        case .rset: return "rset"
        case .noop: return "noop"
        case .quit: return "quit"
        case .vrfy: return "vrfy"
        case .expn: return "expn"
        case .help: return "help"
        case .startTLS: return "starttls"
        case .auth: return "auth"
        }
    }

    private func count(_ name: String) {
        if let i = counts.firstIndex(where: { $0.0 == name }) { counts[i].1 += 1 } else { counts.append((name, 1)) }
    }

    // MARK: - Actions

    private func perform(_ action: SMTPServerStateMachine.Action, _ context: ChannelHandlerContext) {
        switch action {
        case .reply(let reply):
            send(reply, context)
        case .replyAndClose(let reply):
            closeWith(reply, context)
        case .startTLS(let reply):
            guard let tls = runtime.tls else {
                send(.tlsNotAvailable, context)
                return
            }
            send(reply, context)
            flushIfNeeded(context)
            // Drop every plain-text byte received after STARTTLS (CVE-2011-0411).
            if input.readableBytes > 0 {
                log.record(LogRecord(program: "smtpd", text: "warning: \(clientText): discarded \(input.readableBytes) bytes of plain text pipelined after STARTTLS"))
            }
            input.clear()
            mode = .waiting
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
            } catch {
                closeWith(.tlsNotAvailable, context)
            }
        case .startData(let reply):
            beginMessage(context)
            dataDecoder = SMTPDataDecoder(dotTransparency: true, maximumLineLength: runtime.listener.limits.lineLength,
                                          maximumSize: runtime.listener.limits.messageSize)
            mode = .data
            send(reply, context)
            flushIfNeeded(context)
        case .receiveChunk(let size, let last, let discard):
            if !discard && message == nil {
                beginMessage(context)
                dataDecoder = SMTPDataDecoder(dotTransparency: false, maximumLineLength: runtime.listener.limits.lineLength,
                                              maximumSize: runtime.listener.limits.messageSize)
            }
            mode = .chunk(remaining: size, last: last, discard: discard)
        case .authChallenge(let challenge):
            let text = "334 \(challenge)\r\n"
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            context.write(wrapOutboundOut(buffer), promise: nil)
            needsFlush = true
            mode = .authLine
        case .verifyCredentials(_, let username, let password):
            mode = .waiting
            let users = runtime.services.users
            let future = runtime.services.threadPool.runIfActive(eventLoop: context.eventLoop) {
                users.verify(name: username, password: password)
            }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            future.whenComplete { result in
                let (handler, context) = loopBound.value
                guard case .waiting = handler.mode else { return }
                let user = try? result.get() ?? nil
                if let user {
                    handler.log.record(LogRecord(program: "smtpd", text: "\(handler.clientText): sasl_username=\(user.name)"))
                } else {
                    handler.log.record(LogRecord(program: "smtpd", text: "warning: \(handler.clientText): SASL authentication failed"))
                }
                handler.mode = .commands
                handler.perform(handler.machine!.credentialsChecked(user: user?.name, addresses: user?.addresses ?? []), context)
                handler.process(context)
                handler.flushIfNeeded(context)
            }
        case .commit(let transaction):
            commit(transaction, context)
        }
    }

    private func send(_ reply: SMTPReply, _ context: ChannelHandlerContext) {
        // Enhanced codes go with ESMTP; before any HELO we send them too (as Postfix does), only a HELO session gets none.
        let text = reply.encoded(withEnhanced: machine.map { $0.esmtp || $0.heloName == nil } ?? true)
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.write(wrapOutboundOut(buffer), promise: nil)
        needsFlush = true
    }

    private func flushIfNeeded(_ context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        context.flush()
    }

    private func closeWith(_ reply: SMTPReply, _ context: ChannelHandlerContext) {
        if case .closed = mode { return }
        send(reply, context)
        needsFlush = false
        mode = .closed
        abortMessage()
        let channel = context.channel
        context.flush()
        // Close once the reply is on the wire; the channel outlives this handler's context.
        channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private func resetTimeout(_ context: ChannelHandlerContext) {
        timeout?.cancel()
        let seconds: Double
        switch mode {
        case .data, .chunk: seconds = runtime.listener.limits.dataTimeout
        default: seconds = runtime.listener.limits.commandTimeout
        }
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [self] in
            switch mode {
            case .closed, .waiting: return
            default: break
            }
            log.record(LogRecord(program: "smtpd", text: "timeout after \(lastCommand) from \(clientText)"))
            closeWith(.timeout(runtime.node.hostname), context)
        }
    }

    // MARK: - The message

    private func beginMessage(_ context: ChannelHandlerContext) {
        abortMessage()  // a message not finished (BDAT chunks without LAST) never joins this one
        guard let machine, let transaction = machine.transaction else { return }
        let id = Spool.newQueueID()
        if let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) {
            tlsVersion = handler.tlsVersion.map(SMTPServerHandler.describe)
        }
        let envelope = Envelope(
            queueID: id, arrival: Int64(time(nil)), sender: transaction.sender.mailbox?.description ?? "",
            recipients: transaction.recipients.map { r in
                QueuedRecipient(address: r.path.mailbox?.description ?? "postmaster",
                                notify: r.parameters.notify.map(SMTPServerHandler.describe),
                                originalRecipient: r.parameters.originalRecipient)
            },
            clientAddress: client.description, clientName: "unknown", helo: machine.heloName ?? "",
            listener: runtime.listener.name, receivedProtocol: proto, authenticatedUser: machine.authenticatedUser,
            body: transaction.parameters.body?.rawValue, smtputf8: transaction.parameters.smtputf8,
            dsnReturn: transaction.parameters.ret?.rawValue, envelopeID: transaction.parameters.envelopeID,
            flags: transaction.flags.rawValue)
        message = MessageSink(spool: runtime.services.spool, envelope: envelope, eventLoop: context.eventLoop,
                              threadPool: runtime.services.threadPool)
        log.record(LogRecord(program: "smtpd", queueID: id, text: "client=\(clientText)\(machine.authenticatedUser.map { ", sasl_username=\($0)" } ?? "")"))
        content.clear()
        content.writeString(receivedHeader(envelope, transaction))
    }

    static func describe(_ notify: DSNNotify) -> String {
        var items: [String] = []
        if notify.contains(.never) { items.append("NEVER") }
        if notify.contains(.success) { items.append("SUCCESS") }
        if notify.contains(.failure) { items.append("FAILURE") }
        if notify.contains(.delay) { items.append("DELAY") }
        return items.joined(separator: ",")
    }

    /// The trace header (RFC 5321 §4.4), with the TLS version when used (RFC 3848 protocol names).
    private func receivedHeader(_ envelope: Envelope, _ transaction: SMTPTransaction) -> String {
        var header = "Received: from \(SMTPServerHandler.sanitize(envelope.helo)) (unknown [\(client)])\r\n"
        header += "\tby \(runtime.node.hostname) (Gatehouse) with \(envelope.receivedProtocol) id \(envelope.queueID)"
        if let tlsVersion { header += "\r\n\t(using \(tlsVersion))" }
        if transaction.recipients.count == 1, let mailbox = transaction.recipients[0].path.mailbox {
            header += "\r\n\tfor <\(SMTPServerHandler.sanitize(mailbox.description))>"
        }
        header += "; \(rfc5322Date())\r\n"
        return header
    }

    /// Keeps client-chosen text printable and free of anything that could end a header field.
    static func sanitize(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(255).map { s in
            (s.value < 0x20 || s.value == 0x7F || s == "(" || s == ")" || s == ";") ? "_" : s
        }))
    }

    /// Hands content over `Defaults.spoolWriteChunk` to the spool; pauses reading while two writes are pending.
    private func spillContent(_ context: ChannelHandlerContext, force: Bool) {
        guard let message else { return }
        if !(dataDecoder?.isAcceptable ?? true) {
            content = context.channel.allocator.buffer(capacity: 0)  // over a limit: refused; keep nothing
            dropHeldPieces()
            return
        }
        // With a policy the message stays in memory (at most the size limit) until it is decided,
        // within the node's scan memory budget.
        if let decider = runtime.decider {
            if content.readableBytes >= Defaults.spoolWriteChunk && !scanOverBudget {
                heldPieces.append(Array(content.readableBytesView))
                heldBytes += content.readableBytes
                content.clear()  // its storage (about one chunk) is reused for the next piece
            }
            holdForScan(decider.memory)
            return
        }
        guard content.readableBytes >= Defaults.spoolWriteChunk || force else { return }
        let chunk = content
        content = context.channel.allocator.buffer(capacity: Defaults.spoolWriteChunk)
        let written = message.append(chunk)
        if message.pendingWrites > 1 && !readsPaused {
            readsPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            written.whenComplete { _ in
                let (handler, context) = loopBound.value
                handler.readsPaused = false
                context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                context.read()
            }
        }
    }

    /// Reserves budget for what `content` holds beyond the reservation so far; when the budget is
    /// spent, drops the content and marks the message for a 452 at its end.
    private func holdForScan(_ budget: ScanMemoryBudget) {
        if scanOverBudget {
            content.clear()
            return
        }
        let needed = heldBytes + content.readableBytes - scanReserved
        guard needed > 0 else { return }
        let step = max(needed, Defaults.Scanning.memoryReservationStep)
        if budget.reserve(step) {
            scanReserved += step
        } else {
            scanOverBudget = true
            content = ByteBuffer()  // the storage goes with the reservation
            dropHeldPieces()
        }
    }

    /// Forgets what is held of the message and gives its reservation back.
    private func dropHeldPieces() {
        heldPieces = []
        heldBytes = 0
        releaseScanMemory()
    }

    private func releaseScanMemory() {
        runtime.decider?.memory.release(scanReserved)
        scanReserved = 0
    }

    private func commit(_ transaction: SMTPTransaction, _ context: ChannelHandlerContext) {
        guard let message else {
            perform(machine!.commitFailed(.localError), context)
            return
        }
        if let decider = runtime.decider {
            holdForScan(decider.memory)
            if scanOverBudget {
                abortMessage()
                let reply = SMTPReply(452, EnhancedStatusCode(4, 3, 1), "Insufficient system resources, try again later")
                log.record(LogRecord(program: "smtpd", queueID: message.envelope.queueID,
                                     text: "reject: end of data from \(clientText): \(reply.singleLineText); scan memory limit of \(decider.memory.limit) bytes reached; from=<\(message.envelope.sender)>"))
                perform(machine!.refusedByPolicy(reply), context)
                return
            }
            decide(message, decider, context)
            return
        }
        mode = .waiting
        let rest = content
        content = context.channel.allocator.buffer(capacity: 0)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        message.commit(rest).whenComplete { result in
            let (handler, context) = loopBound.value
            handler.message = nil
            handler.dataDecoder = nil
            switch result {
            case .success(let size):
                let envelope = message.envelope
                handler.log.record(LogRecord(program: "cleanup", queueID: envelope.queueID,
                                             text: "from=<\(envelope.sender)>, size=\(size), nrcpt=\(envelope.recipients.count) (queue incoming)"))
                if case .closed = handler.mode { return }
                handler.mode = .commands
                handler.perform(handler.machine!.committed(queueID: envelope.queueID), context)
            case .failure(let error):
                handler.log.record(LogRecord(program: "cleanup", queueID: message.envelope.queueID, text: "warning: queue file write error: \(error)"))
                if case .closed = handler.mode { return }
                handler.mode = .commands
                handler.perform(handler.machine!.commitFailed(.localError), context)
            }
            handler.process(context)
            handler.flushIfNeeded(context)
        }
    }

    /// The policy's turn: scan, decide, write what the decision asks for, then answer.
    private func decide(_ message: MessageSink, _ decider: MessageDecider, _ context: ChannelHandlerContext) {
        mode = .waiting
        // One contiguous copy for the decider; each piece is freed as soon as it is copied, so the
        // message is not held twice.
        var collected = [UInt8]()
        collected.reserveCapacity(heldBytes + content.readableBytes)
        heldPieces.reverse()
        while let piece = heldPieces.popLast() { collected += piece }
        collected += content.readableBytesView
        heldBytes = 0
        let raw = collected
        content = context.channel.allocator.buffer(capacity: 0)
        message.abort()  // nothing of it was written: the decider queues what must be queued
        self.message = nil
        dataDecoder = nil
        // The reservation goes with the bytes to the decision and is given back when it is made.
        let reserved = scanReserved
        let budget = decider.memory
        scanReserved = 0
        let envelope = message.envelope
        let role = runtime.listener.role
        let client: IPAddress? = self.client
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask {
            await decider.decide(raw, envelope: envelope, role: role, client: client)
        }.whenSuccess { outcome in
            budget.release(reserved)
            let (handler, context) = loopBound.value
            switch outcome {
            case .accepted(let queueID):
                handler.log.record(LogRecord(program: "cleanup", queueID: queueID,
                                             text: "from=<\(envelope.sender)>, size=\(raw.count), nrcpt=\(envelope.recipients.count) (queue incoming)"))
                if case .closed = handler.mode { return }
                handler.mode = .commands
                handler.perform(handler.machine!.committed(queueID: queueID), context)
            case .refused(let reply):
                handler.log.record(LogRecord(program: "smtpd", queueID: envelope.queueID,
                                             text: "reject: end of data from \(handler.clientText): \(reply.singleLineText); from=<\(envelope.sender)>"))
                if case .closed = handler.mode { return }
                handler.mode = .commands
                handler.perform(handler.machine!.refusedByPolicy(reply), context)
            case .failed:
                if case .closed = handler.mode { return }
                handler.mode = .commands
                handler.perform(handler.machine!.commitFailed(.localError), context)
            }
            handler.process(context)
            handler.flushIfNeeded(context)
        }
    }

    private func abortMessage() {
        message?.abort()
        message = nil
        dataDecoder = nil
        content = ByteBuffer()  // the storage goes too: an idle session keeps no message-sized buffer
        dropHeldPieces()
        scanOverBudget = false
    }
}

/// Serialises one message's spool I/O on the thread pool: creation, appends, commit or abort.
final class MessageSink: @unchecked Sendable {
    let envelope: Envelope
    private let spool: Spool
    private let eventLoop: any EventLoop
    private let threadPool: NIOThreadPool
    /// Touched only on the thread pool, one job at a time (jobs are chained).
    private var writer: SpoolWriter?
    /// The tail of the job chain; event loop only.
    private var tail: EventLoopFuture<Void>
    /// Appends not yet done; event loop only.
    private(set) var pendingWrites = 0
    private var finished = false

    init(spool: Spool, envelope: Envelope, eventLoop: any EventLoop, threadPool: NIOThreadPool) {
        self.spool = spool
        self.envelope = envelope
        self.eventLoop = eventLoop
        self.threadPool = threadPool
        self.tail = eventLoop.makeSucceededVoidFuture()
    }

    private func openIfNeeded() throws {
        if writer == nil { writer = try spool.beginMessage(envelope: envelope) }
    }

    func append(_ chunk: ByteBuffer) -> EventLoopFuture<Void> {
        pendingWrites += 1
        let next = tail.flatMap { [self] in
            threadPool.runIfActive(eventLoop: eventLoop) { [self] in
                try openIfNeeded()
                try writer!.append(chunk)
            }
        }
        tail = next.always { [self] _ in pendingWrites -= 1 }
        return tail
    }

    /// Writes the rest and commits durably. Succeeds with the content size once fsynced.
    func commit(_ rest: ByteBuffer) -> EventLoopFuture<Int> {
        finished = true
        let result = tail.flatMap { [self] in
            threadPool.runIfActive(eventLoop: eventLoop) { [self] () throws -> Int in
                do {
                    try openIfNeeded()
                    try writer!.append(rest)
                    try writer!.commit()
                    let size = writer!.contentSize
                    writer = nil
                    return size
                } catch {
                    writer?.abort()
                    writer = nil
                    throw error
                }
            }
        }
        tail = result.map { _ in }.recover { _ in }
        return result
    }

    /// Drops the message. Safe to call more than once; no-op after commit.
    func abort() {
        guard !finished else { return }
        finished = true
        let pool = threadPool
        tail.whenComplete { [self] _ in
            pool.submit { [self] _ in
                writer?.abort()
                writer = nil
            }
        }
    }
}
