// ClamdClient.swift — scans messages with ClamAV's clamd over INSTREAM, on SwiftNIO.
//
// clamd(8); https://docs.clamav.net/manual/Usage/Scanning.html#clamd
//
// One exchange per connection: connect (TCP or unix socket), send `zINSTREAM\0`, the message in
// frames of at most `chunkSize` octets and the empty end frame, read one NUL-terminated reply; clamd
// closes the connection after it, and so do we. Nothing is pooled or kept open: a clamd that
// restarts (signature reloads, upgrades) is simply found again by the next scan.
//
// The pure parts decide everything (`ClamdChunker`, `ClamdReplyDecoder`, `ClamdScanResult`); the
// handler only feeds octets to the decoder and reports the one outcome through a promise, which
// whatever happens first completes: the reply, a bad reply, the end of the connection, a timer,
// cancellation.
//
// Failures are verdicts, not throws: a scanner that cannot be reached, is too slow (a timer per
// phase: connect, each chunk's write, the reply) or answers nonsense gives `.unavailable`, which the
// policy tempfails by default (fail closed). A message larger than `maximumStreamSize` is not sent
// at all: `.error("too large …")`.
//
// Security notes:
//   - The reply is bounded (`maximumReplyLength`) and must be printable ASCII; a peer that is not
//     clamd cannot make us buffer without limit or put control characters into logs.
//   - If clamd answers before the stream is complete (its StreamMaxLength, a read timeout), the
//     connection is closed at once and the answer used: we never keep streaming into a closed scan.
//   - Message content is not logged here; callers log verdicts and sizes only.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOCore
import NIOPosix

/// A clamd client. Cheap to create and to share: each call opens its own connection.
public struct ClamdClient: AntiVirusScanner {
    public let configuration: ClamdConfiguration
    private let eventLoopGroup: any EventLoopGroup

    public init(configuration: ClamdConfiguration, eventLoopGroup: any EventLoopGroup) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
    }

    /// Scans one whole message (the raw RFC 5322 octets: clamd decodes MIME and archives itself).
    /// Never throws: a failure to get a verdict is `.unavailable`.
    public func scan(_ message: [UInt8]) async -> AntiVirusVerdict {
        guard message.count <= configuration.maximumStreamSize else {
            return .error("too large: \(message.count) octets, the scanning limit is \(configuration.maximumStreamSize)")
        }
        let chunker = ClamdChunker(chunkSize: configuration.chunkSize)
        let frames = chunker.ranges(count: message.count)
        let result = await exchange { allocator, index in
            // Frame 0 carries the command, frame `frames.count` is the end of the stream.
            guard index <= frames.count else { return nil }
            var buffer: ByteBuffer
            if index < frames.count {
                let range = frames[index]
                buffer = allocator.buffer(capacity: 14 + range.count)
                if index == 0 { buffer.writeBytes(ClamdCommand.instream.encoded) }
                buffer.writeInteger(UInt32(range.count), endianness: .big)
                buffer.writeBytes(message[range])
            } else {
                buffer = allocator.buffer(capacity: 14)
                if index == 0 { buffer.writeBytes(ClamdCommand.instream.encoded) }
                buffer.writeBytes(ClamdCommand.endOfStream)
            }
            return buffer
        }
        switch result {
        case .success(let reply):
            do {
                return AntiVirusVerdict(try ClamdScanResult.parse(reply))
            } catch {
                return .unavailable(.badReply(error))
            }
        case .failure(let error):
            return .unavailable(error)
        }
    }

    /// Checks that clamd answers `PONG`.
    public func ping() async throws(ClamdClientError) {
        let reply = try await exchange(body: Self.commandOnly(.ping)).get()
        do {
            try ClamdPong.parse(reply)
        } catch {
            throw .badReply(error)
        }
    }

    /// clamd's engine and signature database versions.
    public func version() async throws(ClamdClientError) -> ClamdVersion {
        let reply = try await exchange(body: Self.commandOnly(.version)).get()
        do {
            return try ClamdVersion.parse(reply)
        } catch {
            throw .badReply(error)
        }
    }

    private static func commandOnly(_ command: ClamdCommand) -> @Sendable (ByteBufferAllocator, Int) -> ByteBuffer? {
        { allocator, index in index == 0 ? allocator.buffer(bytes: command.encoded) : nil }
    }

    // MARK: One exchange

    /// Connects, writes the buffers `body` gives for 0, 1, 2… until it gives nil, each within the
    /// write timeout, then waits for the reply within the reply timeout.
    private func exchange(
        body: @escaping @Sendable (ByteBufferAllocator, Int) -> ByteBuffer?
    ) async -> Result<[UInt8], ClamdClientError> {
        if Task.isCancelled { return .failure(.cancelled) }
        let loop = eventLoopGroup.any()
        let promise = loop.makePromise(of: [UInt8].self)
        let maximumReplyLength = configuration.maximumReplyLength
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ClamdReplyHandler(maximumLength: maximumReplyLength, promise: promise))
                }
            }
        if case .tcp = configuration.endpoint {
            bootstrap = bootstrap.channelOption(.tcpOption(.tcp_nodelay), value: 1)
        }

        let channel: any Channel
        do {
            switch configuration.endpoint {
            case .tcp(let host, let port):
                channel = try await bootstrap.connect(host: host, port: port).get()
            case .unixSocket(let path):
                channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            }
        } catch {
            let failure = Self.connectFailure(error)
            promise.fail(failure)  // ignored if the handler already completed it
            return .failure(failure)
        }

        if Task.isCancelled {  // while connecting (bounded by the connect timeout)
            promise.fail(ClamdClientError.cancelled)
            channel.close(promise: nil)
            return .failure(.cancelled)
        }

        let writeTimeout = TimeAmount(configuration.writeTimeout)
        let replyTimeout = TimeAmount(configuration.replyTimeout)
        return await withTaskCancellationHandler {
            var index = 0
            var sent = true
            while let buffer = body(channel.allocator, index) {
                index += 1
                let writePromise = loop.makePromise(of: Void.self)
                channel.writeAndFlush(buffer, promise: writePromise)
                let written = writePromise.futureResult
                let timer = loop.scheduleTask(in: writeTimeout) {
                    promise.fail(ClamdClientError.timeout(.sending))
                    channel.close(promise: nil)
                }
                // Cancelled on the event loop as soon as the write completes, not when this task
                // next runs: a busy executor must not turn a finished write into a timeout.
                written.whenComplete { _ in timer.cancel() }
                do {
                    try await written.get()
                } catch {
                    // The connection is gone: clamd answered early (the handler closed it after the
                    // reply), broke it, or the write timer fired. The promise says which.
                    sent = false
                    break
                }
            }
            if sent {
                let timer = loop.scheduleTask(in: replyTimeout) {
                    promise.fail(ClamdClientError.timeout(.waitingForReply))
                    channel.close(promise: nil)
                }
                promise.futureResult.whenComplete { _ in timer.cancel() }
            } else {
                channel.close(promise: nil)  // completes the promise through channelInactive if nothing did
            }
            let result: Result<[UInt8], ClamdClientError>
            do {
                result = .success(try await promise.futureResult.get())
            } catch let error as ClamdClientError {
                result = .failure(error)
            } catch {
                result = .failure(.connectionClosed(Self.describe(error)))
            }
            channel.close(promise: nil)
            return result
        } onCancel: {
            promise.fail(ClamdClientError.cancelled)
            channel.close(promise: nil)
        }
    }

    static func connectFailure(_ error: any Error) -> ClamdClientError {
        if let error = error as? ChannelError, case .connectTimeout = error { return .timeout(.connecting) }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return connectFailure(first.error) }
            if let dnsError = error.dnsAAAAError ?? error.dnsAError { return .connectFailed(describe(dnsError)) }
        }
        return .connectFailed(describe(error))
    }

    /// "Connection refused" rather than NIO's nested error descriptions.
    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first { return describe(first.error) }
        return String(describing: error)
    }
}

/// Reads the one reply of an exchange and completes the exchange's promise: with the reply, with a
/// bad reply, or with the end of the connection. Closes the connection once the outcome is known.
final class ClamdReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var decoder: ClamdReplyDecoder
    private let promise: EventLoopPromise<[UInt8]>
    private var lastError: String?
    private var done = false

    init(maximumLength: Int, promise: EventLoopPromise<[UInt8]>) {
        self.decoder = ClamdReplyDecoder(maximumLength: maximumLength)
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let buffer = unwrapInboundIn(data)
        do {
            if let reply = try decoder.feed(buffer.readableBytesView) {
                finish(context, .success(reply))
            }
        } catch {
            finish(context, .failure(.badReply(error)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = ClamdClient.describe(error)
        context.close(promise: nil)  // channelInactive reports it, after any reply already read
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            do {
                if let reply = try decoder.finish() {
                    finish(context, .success(reply), close: false)
                } else {
                    finish(context, .failure(.connectionClosed(lastError)), close: false)
                }
            } catch {
                finish(context, .failure(.badReply(error)), close: false)
            }
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !done { finish(context, .failure(.connectionClosed(lastError)), close: false) }
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<[UInt8], ClamdClientError>, close: Bool = true) {
        guard !done else { return }
        done = true
        switch result {
        case .success(let reply): promise.succeed(reply)
        case .failure(let error): promise.fail(error)
        }
        if close { context.close(promise: nil) }
    }
}
