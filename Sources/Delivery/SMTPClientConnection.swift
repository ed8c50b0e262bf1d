// SMTPClientConnection.swift — one SMTP connection to a next hop, on SwiftNIO.
//
// The pipeline is one small handler that frames replies with the pure `SMTPReplyParser` and hands
// them to whoever waits, in order. Everything else (what to send, what a reply means) is decided by
// the caller and the pure `SMTPClientTransaction`.
//
// Security notes:
//   - STARTTLS: when the 220 to STARTTLS is read, every byte the server sent after it in plain text
//     is thrown away and the TLS handler is put in front before anything else is read, so a
//     man in the middle cannot inject replies that we would read as coming over TLS (the client
//     side of CVE-2011-0411).
//   - Replies are bounded in line length and line count; a server that talks nonsense gets the
//     connection closed, never unbounded buffering.

#if canImport(Glibc)
import Glibc
#endif
import GatehouseCore
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
public import SMTPProtocol

/// Why a connection or a command failed before a reply said so.
public enum SMTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
    case connectFailed(String)
    case timeout(phase: String)
    case connectionClosed
    case badReply(SMTPReplyParseError)
    case tlsFailed(String)

    public var description: String {
        switch self {
        case .connectFailed(let why): return "connect failed: \(why)"
        case .timeout(let phase): return "timeout while \(phase)"
        case .connectionClosed: return "lost connection"
        case .badReply(let error): return "bad reply: \(error)"
        case .tlsFailed(let why): return "TLS failed: \(why)"
        }
    }
}

/// A connected SMTP client channel.
final class SMTPClientConnection: Sendable {
    let channel: any Channel
    let peer: SocketAddress
    private let handler: SMTPReplyHandler

    private init(channel: any Channel, peer: SocketAddress, handler: SMTPReplyHandler) {
        self.channel = channel
        self.peer = peer
        self.handler = handler
    }

    /// Connects; the greeting is the first `reply`.
    nonisolated(nonsending) static func connect(to address: SocketAddress, group: any EventLoopGroup, timeout: Double) async throws(SMTPClientError) -> SMTPClientConnection {
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SMTPReplyHandler())
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: address).value()
        } catch {
            throw .connectFailed(SMTPClientConnection.explain(error))
        }
        do {
            let handler = try await channel.pipeline.handler(type: SMTPReplyHandler.self).value()
            return SMTPClientConnection(channel: channel, peer: address, handler: handler)
        } catch {
            channel.close(promise: nil)
            throw .connectionClosed
        }
    }

    /// "Connection refused" rather than NIO's nested error descriptions.
    static func explain(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let connect = error as? NIOConnectionError, let first = connect.connectionErrors.first {
            return explain(first.error)
        }
        if error is ChannelError, case .connectTimeout = error as! ChannelError { return "Connection timed out" }
        return String(describing: error)
    }

    /// The next reply, waiting at most `timeout` seconds; `phase` names the wait in errors.
    nonisolated(nonsending) func reply(timeout: Double, phase: String) async throws(SMTPClientError) -> SMTPReply {
        let handler = self.handler
        let future = channel.eventLoop.flatSubmit {
            handler.nextReply(timeout: .milliseconds(Int64(timeout * 1000)), phase: phase)
        }
        do {
            return try await future.value()
        } catch let error as SMTPClientError {
            throw error
        } catch {
            throw .connectionClosed
        }
    }

    /// Writes and flushes.
    nonisolated(nonsending) func send(_ text: String) async throws(SMTPClientError) {
        try await send(ByteBuffer(string: text))
    }

    nonisolated(nonsending) func send(_ buffer: ByteBuffer) async throws(SMTPClientError) {
        do {
            try await channel.writeAndFlush(buffer).value()
        } catch {
            throw .connectionClosed
        }
    }

    /// Sends STARTTLS. On a 220 the plaintext left over is discarded, TLS is set up and its
    /// handshake awaited; the reply is returned either way (a refusal is the caller's decision).
    nonisolated(nonsending) func startTLS(context: NIOSSLContext, serverHostname: String?, timeout: Double) async throws(SMTPClientError) -> SMTPReply {
        let handler = self.handler
        let armed = channel.eventLoop.submit { handler.armTLS(context: context, serverHostname: serverHostname) }
        _ = try? await armed.value()
        try await send("STARTTLS\r\n")
        let reply = try await self.reply(timeout: timeout, phase: "waiting for the reply to STARTTLS")
        guard reply.code == 220 else { return reply }
        let handshake = channel.eventLoop.flatSubmit { handler.handshakeFuture(timeout: .milliseconds(Int64(timeout * 1000))) }
        do {
            try await handshake.value()
        } catch let error as SMTPClientError {
            throw error
        } catch {
            throw .tlsFailed(String(describing: error))
        }
        return reply
    }

    /// Bytes that followed the 220 to STARTTLS in plain text and were dropped (response injection).
    nonisolated(nonsending) func plainTextDiscardedAfterSTARTTLS() async -> Int {
        let handler = self.handler
        return (try? await channel.eventLoop.submit { handler.discardedAfterSTARTTLS }.value()) ?? 0
    }

    /// Sends QUIT (best effort) and closes.
    nonisolated(nonsending) func quit() async {
        try? await send("QUIT\r\n")
        _ = try? await reply(timeout: 5, phase: "waiting for the reply to QUIT")
        close()
    }

    func close() {
        channel.close(promise: nil)
    }

    var isActive: Bool { channel.isActive }
}

/// Frames replies and hands them out in order. Touched only on its channel's event loop.
final class SMTPReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private var parser = SMTPReplyParser()
    private var buffer = ByteBuffer()
    private var ready = CircularBuffer<SMTPReply>()
    private var waiter: EventLoopPromise<SMTPReply>?
    private var failure: SMTPClientError?
    private var context: ChannelHandlerContext?
    private var tlsSwitch: (NIOSSLContext, String?)?
    private var handshake: EventLoopPromise<Void>?
    private var handshakeDone = false
    /// Plain text that followed the 220 to STARTTLS and was dropped.
    private(set) var discardedAfterSTARTTLS = 0

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func armTLS(context: NIOSSLContext, serverHostname: String?) {
        tlsSwitch = (context, serverHostname)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if failure != nil { return }
        buffer.writeBuffer(&incoming)
        while true {
            let reply: SMTPReply?
            do {
                reply = try parser.next(&buffer)
            } catch {
                fail(.badReply(error))
                context.close(promise: nil)
                return
            }
            guard let reply else { break }
            if let (tls, hostname) = tlsSwitch {
                tlsSwitch = nil
                if reply.code == 220 {
                    // Whatever followed the 220 came in plain text: drop it before TLS starts.
                    discardedAfterSTARTTLS += buffer.readableBytes
                    buffer.clear()
                    parser = SMTPReplyParser()
                    do {
                        let sslHandler = try NIOSSLClientHandler(context: tls, serverHostname: hostname)
                        try context.pipeline.syncOperations.addHandler(sslHandler, position: .first)
                    } catch {
                        deliver(reply)
                        fail(.tlsFailed(String(describing: error)))
                        return
                    }
                    deliver(reply)
                    return
                }
            }
            deliver(reply)
        }
        buffer.discardReadBytes()
    }

    private func deliver(_ reply: SMTPReply) {
        if let waiter {
            self.waiter = nil
            waiter.succeed(reply)
        } else {
            ready.append(reply)
        }
    }

    private func fail(_ error: SMTPClientError) {
        if failure == nil { failure = error }
        if let waiter {
            self.waiter = nil
            waiter.fail(error)
        }
        if let handshake {
            self.handshake = nil
            handshake.fail(error)
        }
    }

    func nextReply(timeout: TimeAmount, phase: String) -> EventLoopFuture<SMTPReply> {
        let loop = context?.eventLoop
        guard let loop else { return MultiThreadedEventLoopGroup.singleton.any().makeFailedFuture(SMTPClientError.connectionClosed) }
        if let reply = ready.popFirst() { return loop.makeSucceededFuture(reply) }
        if let failure { return loop.makeFailedFuture(failure) }
        let promise = loop.makePromise(of: SMTPReply.self)
        waiter = promise
        let timer = loop.scheduleTask(in: timeout) { [weak self] in
            guard let self, self.waiter?.futureResult === promise.futureResult else { return }
            self.waiter = nil
            promise.fail(SMTPClientError.timeout(phase: phase))
            self.context?.close(promise: nil)
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }

    func handshakeFuture(timeout: TimeAmount) -> EventLoopFuture<Void> {
        guard let loop = context?.eventLoop else {
            return MultiThreadedEventLoopGroup.singleton.any().makeFailedFuture(SMTPClientError.connectionClosed)
        }
        if handshakeDone { return loop.makeSucceededVoidFuture() }
        if let failure { return loop.makeFailedFuture(failure) }
        let promise = loop.makePromise(of: Void.self)
        handshake = promise
        let timer = loop.scheduleTask(in: timeout) { [weak self] in
            guard let self, self.handshake?.futureResult === promise.futureResult else { return }
            self.handshake = nil
            promise.fail(SMTPClientError.timeout(phase: "TLS handshake"))
            self.context?.close(promise: nil)
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            handshakeDone = true
            if let handshake {
                self.handshake = nil
                handshake.succeed(())
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if handshake != nil || !handshakeDone && context.pipeline.syncOperations.handlerOrNil(NIOSSLClientHandler.self) {
            fail(.tlsFailed(String(describing: error)))
        } else {
            fail(.connectionClosed)
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connectionClosed)
        context.fireChannelInactive()
    }
}

extension ChannelPipeline.SynchronousOperations {
    func handlerOrNil<H: ChannelHandler>(_ type: H.Type) -> Bool {
        (try? handler(type: type)) != nil
    }
}

extension EventLoopFuture where Value: Sendable {
    /// The future's result, awaited on the caller's executor. `get()` resumes on the global
    /// executor, which wakes another thread; the scheduler runs on its connections' event loop,
    /// where this resumes without any.
    nonisolated(nonsending) func value() async throws -> Value {
        try await withUnsafeThrowingContinuation { continuation in
            whenComplete { continuation.resume(with: $0) }
        }
    }
}
