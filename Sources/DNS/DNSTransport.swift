// DNSTransport.swift — one query to one nameserver over UDP (RFC 1035 §4.2.1) or TCP (§4.2.2,
// RFC 7766), on SwiftNIO.
//
// The handlers only carry out what the pure core decides: `DNSQuery.validate` says whether a
// message is the answer. Each exchange uses a new socket:
//   - UDP: a new connected datagram socket per query, so the kernel picks a fresh random source
//     port (Linux randomises ephemeral ports) and drops datagrams from any other address than the
//     nameserver's; a datagram that is not the answer is ignored and the wait goes on until the
//     timeout (RFC 5452 §9.1). ICMP port unreachable surfaces as ECONNREFUSED and ends the wait at once.
//   - TCP: a new connection, the query with its two-octet length prefix, one reply frame read;
//     the connection is closed after it (RFC 7766 §6.2.1 lets clients close idle connections).
// A timer bounds each exchange, connection set-up included.

import NIOCore
import NIOPosix

enum DNSTransport {
    /// Sends `query` to `server` over UDP and waits for the answer.
    static func udp(_ query: DNSQuery, to server: SocketAddress, timeout: TimeAmount, on eventLoop: any EventLoop) async throws(DNSError) -> DNSMessage {
        let promise = eventLoop.makePromise(of: DNSMessage.self)
        let bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: DNSDefaults.udpReceiveBufferSize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DNSUDPExchangeHandler(query: query, server: server, timeout: timeout, promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: server).get()
        } catch {
            let failure = DNSError.temporary(.network(describe(error)))
            promise.fail(failure)  // ignored if the handler already completed it
            throw failure
        }
        return try await result(of: promise, closing: channel)
    }

    /// Sends `query` to `server` over TCP and reads the first reply.
    static func tcp(_ query: DNSQuery, to server: SocketAddress, timeout: TimeAmount, on eventLoop: any EventLoop) async throws(DNSError) -> DNSMessage {
        let promise = eventLoop.makePromise(of: DNSMessage.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSTCPFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(DNSTCPExchangeHandler(query: query, timeout: timeout, promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: server).get()
        } catch {
            var failure = DNSError.temporary(.network(describe(error)))
            if let error = error as? ChannelError, case .connectTimeout = error { failure = .temporary(.timeout) }
            promise.fail(failure)
            throw failure
        }
        return try await result(of: promise, closing: channel)
    }

    private static func result(of promise: EventLoopPromise<DNSMessage>, closing channel: any Channel) async throws(DNSError) -> DNSMessage {
        do {
            let message = try await promise.futureResult.get()
            channel.close(promise: nil)
            return message
        } catch {
            channel.close(promise: nil)
            throw error as? DNSError ?? .temporary(.network(describe(error)))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return error.description }
        return String(describing: error)
    }
}

/// Sends one query on a connected datagram channel once it is active, and waits for the answer.
/// The whole exchange runs on the event loop: the timer starts when the query leaves, whatever
/// the load on the tasks that wait for the result.
final class DNSUDPExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let query: DNSQuery
    private let server: SocketAddress
    private let timeout: TimeAmount
    private let promise: EventLoopPromise<DNSMessage>
    private var timer: Scheduled<Void>?
    /// The last undecodable datagram's error, reported if nothing better arrives.
    private var malformed: DNSParseError?
    private var done = false

    init(query: DNSQuery, server: SocketAddress, timeout: TimeAmount, promise: EventLoopPromise<DNSMessage>) {
        self.query = query
        self.server = server
        self.timeout = timeout
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            finish(context, .failure(malformed.map(DNSError.malformed) ?? .temporary(.timeout)))
        }
        let message = query.encoded()
        var buffer = context.channel.allocator.buffer(capacity: message.count)
        buffer.writeBytes(message)
        let write = context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: server, data: buffer)))
        write.assumeIsolated().whenFailure { [self] error in
            finish(context, .failure(.temporary(.network(DNSTransport.describe(error)))))
        }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(context, .failure(.temporary(.network("channel closed"))), close: false)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        switch query.validate(Array(envelope.data.readableBytesView)) {
        case .accepted(let message):
            finish(context, .success(message))
        case .notOurs:
            break  // an old reply, or a spoof: keep waiting for ours
        case .malformed(let error):
            malformed = error
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context, .failure(.temporary(.network(DNSTransport.describe(error)))))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(malformed.map(DNSError.malformed) ?? .temporary(.network("channel closed"))))
        context.fireChannelInactive()
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<DNSMessage, DNSError>, close: Bool = true) {
        guard !done else { return }
        done = true
        timer?.cancel()
        switch result {
        case .success(let message): promise.succeed(message)
        case .failure(let error): promise.fail(error)
        }
        if close { context.close(promise: nil) }
    }
}

/// Frames DNS over TCP: a two-octet length, then the message (RFC 1035 §4.2.2).
struct DNSTCPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

/// Sends one query on a new TCP connection and reads the first reply.
final class DNSTCPExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let query: DNSQuery
    private let timeout: TimeAmount
    private let promise: EventLoopPromise<DNSMessage>
    private var timer: Scheduled<Void>?
    private var done = false

    init(query: DNSQuery, timeout: TimeAmount, promise: EventLoopPromise<DNSMessage>) {
        self.query = query
        self.timeout = timeout
        self.promise = promise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            finish(context, .failure(.temporary(.timeout)))
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(context, .failure(.temporary(.network("connection closed"))), close: false)
    }

    func channelActive(context: ChannelHandlerContext) {
        let message = query.encoded()
        var buffer = context.channel.allocator.buffer(capacity: 2 + message.count)
        buffer.writeInteger(UInt16(message.count))
        buffer.writeBytes(message)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch query.validate(Array(frame.readableBytesView)) {
        case .accepted(let message): finish(context, .success(message))
        case .notOurs(let mismatch): finish(context, .failure(.temporary(.mismatchedResponse(mismatch))))
        case .malformed(let error): finish(context, .failure(.malformed(error)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context, .failure(.temporary(.network(DNSTransport.describe(error)))))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(.temporary(.network("connection closed before the reply"))))
        context.fireChannelInactive()
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<DNSMessage, DNSError>, close: Bool = true) {
        guard !done else { return }
        done = true
        timer?.cancel()
        switch result {
        case .success(let message): promise.succeed(message)
        case .failure(let error): promise.fail(error)
        }
        if close { context.close(promise: nil) }
    }
}
