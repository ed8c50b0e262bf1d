// ClamdClientFaultTests.swift — the client against peers that are not a healthy clamd (FakeClamd,
// a NIO listener on the loopback): silence, a peer that never reads, malformed, endless, cut-off
// and early replies, a connection closed without a word, a full listen queue, cancellation. Each
// must end in a typed `.unavailable` (or clamd's early answer), within its timeout, never a crash
// and never "clean". Also checks that the octets sent are exactly the INSTREAM request.

import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import AntiVirus

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ClamdClientFaultTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func scan(_ fake: FakeClamd, _ message: [UInt8] = Array("hello".utf8), replyTimeout: Duration = .seconds(5)) async -> AntiVirusVerdict {
        await ClamdClient(configuration: fake.configuration(replyTimeout: replyTimeout), eventLoopGroup: group).scan(message)
    }

    @Test func sendsExactlyTheINSTREAMRequest() async throws {
        let fake = try FakeClamd(.reply(Array("stream: OK\0".utf8), close: true))
        defer { fake.stop() }
        let message = cleanText(200_000)
        var configuration = fake.configuration()
        configuration.chunkSize = 4_096
        let verdict = await ClamdClient(configuration: configuration, eventLoopGroup: group).scan(message)
        #expect(verdict == .clean)
        let expected = ClamdChunker(chunkSize: 4_096).encodedRequest(for: message)
        #expect(fake.requests.count == 1)
        #expect(fake.requests.first?.count == expected.count)
        #expect(fake.requests.first == expected, "the octets sent differ from the INSTREAM request")
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let fake = try FakeClamd(.silent)
        defer { fake.stop() }
        let start = ContinuousClock.now
        let verdict = await scan(fake, replyTimeout: .milliseconds(500))
        let elapsed = ContinuousClock.now - start
        #expect(verdict == .unavailable(.timeout(.waitingForReply)))
        // At least the timeout; the upper bound is loose because a loaded CI machine delays tasks.
        #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(120))
        #expect(fake.requests.count == 1)  // the whole request went out before the wait
        #expect(AntiVirusPolicy().action(for: verdict) == .tempfail)
    }

    @Test func aServerThatNeverReadsTimesOutWhileSending() async throws {
        let fake = try FakeClamd(.neverRead)
        defer { fake.stop() }
        var configuration = fake.configuration(writeTimeout: .milliseconds(500))
        configuration.maximumStreamSize = 128 * 1024 * 1024
        let start = ContinuousClock.now
        // More than the socket buffers of both ends can hold.
        let verdict = await ClamdClient(configuration: configuration, eventLoopGroup: group).scan([UInt8](repeating: 0x61, count: 64 * 1024 * 1024))
        #expect(verdict == .unavailable(.timeout(.sending)))
        #expect(ContinuousClock.now - start < .seconds(120))
    }

    @Test func aReplyWithoutItsTerminatorIsTruncated() async throws {
        let fake = try FakeClamd(.reply(Array("stream: OK".utf8), close: true))
        defer { fake.stop() }
        #expect(await scan(fake) == .unavailable(.badReply(.truncated(received: 10))))
    }

    @Test func anEndlessReplyIsCutAtTheLimit() async throws {
        let fake = try FakeClamd(.reply([UInt8](repeating: UInt8(ascii: "A"), count: 5_000), close: false))
        defer { fake.stop() }
        #expect(await scan(fake) == .unavailable(.badReply(.tooLong(limit: AntiVirusDefaults.maximumReplyLength))))
    }

    @Test func anUnknownReplyIsUnexpected() async throws {
        let fake = try FakeClamd(.reply(Array("UNKNOWN COMMAND\0".utf8), close: true))
        defer { fake.stop() }
        #expect(await scan(fake) == .unavailable(.badReply(.unexpected("UNKNOWN COMMAND"))))
    }

    @Test func controlCharactersInAReplyAreRefused() async throws {
        let fake = try FakeClamd(.reply(Array("stream: \u{1B}]0;owned\u{07} FOUND\0".utf8), close: true))
        defer { fake.stop() }
        #expect(await scan(fake) == .unavailable(.badReply(.notPrintable(offset: 8))))
    }

    @Test func aConnectionClosedWithoutAReplyIsUnavailable() async throws {
        let fake = try FakeClamd(.closeWithoutReply)
        defer { fake.stop() }
        let verdict = await scan(fake)
        guard case .unavailable(.connectionClosed) = verdict else { Issue.record("\(verdict)"); return }
    }

    @Test func aReplyThatStaysOpenIsReadAtItsTerminator() async throws {
        // clamd closes after its reply; a peer that does not is not waited for.
        let fake = try FakeClamd(.reply(Array("stream: Eicar-Signature FOUND\0".utf8), close: false))
        defer { fake.stop() }
        let start = ContinuousClock.now
        // The verdict itself shows the reply was read at its terminator: waiting for the close would
        // have ended in a timeout (a wall-clock bound would only measure the machine's load).
        #expect(await scan(fake, replyTimeout: .seconds(600)) == .infected(signatures: ["Eicar-Signature"]))
        #expect(ContinuousClock.now - start < .seconds(300))
    }

    @Test func anEarlyAnswerEndsTheStream() async throws {
        // As clamd does at StreamMaxLength: it answers (and closes) while we are still sending.
        let fake = try FakeClamd(.replyAtOnce(Array("INSTREAM size limit exceeded. ERROR\0".utf8)))
        defer { fake.stop() }
        var configuration = fake.configuration()
        configuration.maximumStreamSize = 64 * 1024 * 1024
        let verdict = await ClamdClient(configuration: configuration, eventLoopGroup: group).scan(cleanText(20 * 1024 * 1024))
        #expect(verdict == .error("INSTREAM size limit exceeded."))
    }

    @Test func pingAndVersionRefuseWrongReplies() async throws {
        let fake = try FakeClamd(.reply(Array("PANG\0".utf8), close: true))
        defer { fake.stop() }
        let client = ClamdClient(configuration: fake.configuration(), eventLoopGroup: group)
        await #expect(throws: ClamdClientError.badReply(.unexpected("PANG"))) { try await client.ping() }
        await #expect(throws: ClamdClientError.badReply(.unexpected("PANG"))) { try await client.version() }
        #expect(fake.requests == [Array("zPING\0".utf8), Array("zVERSION\0".utf8)])
    }

    @Test func randomRepliesNeverCrashTheClient() async throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            var reply = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if Bool.random(using: &random) { reply.append(0) }
            let fake = try FakeClamd(.reply(reply, close: true))
            let verdict = await scan(fake)
            fake.stop()
            switch verdict {
            case .clean: #expect(reply.starts(with: Array("stream: OK\0".utf8)), "\(reply)")
            case .infected, .error, .unavailable: break
            }
        }
    }

    @Test func nobodyListeningIsUnavailable() async throws {
        let port = try freePort()
        let client = ClamdClient(configuration: ClamdConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port)), eventLoopGroup: group)
        #expect(await client.scan(Array("x".utf8)) == .unavailable(.connectFailed("Connection refused")))
        let missing = ClamdClient(configuration: ClamdConfiguration(endpoint: .unixSocket(path: "/tmp/no-such-clamd.sock")), eventLoopGroup: group)
        #expect(await missing.scan(Array("x".utf8)) == .unavailable(.connectFailed("No such file or directory")))
    }

    @Test func aFullListenQueueTimesOutConnecting() async throws {
        // A listener with a backlog of 0 that never accepts: once its queue holds one connection,
        // the kernel drops further SYNs and connect() hangs (loopback only).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(fd, 0) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        var configuration = ClamdConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        configuration.connectTimeout = .milliseconds(300)
        // The first connection fills the queue (it connects, then waits for a reply that never comes).
        configuration.replyTimeout = .milliseconds(200)
        let client = ClamdClient(configuration: configuration, eventLoopGroup: group)
        var sawConnectTimeout = false
        for _ in 0..<4 where !sawConnectTimeout {
            let verdict = await client.scan(Array("x".utf8))
            if verdict == .unavailable(.timeout(.connecting)) { sawConnectTimeout = true }
        }
        #expect(sawConnectTimeout)
    }

    @Test func cancellationEndsTheWait() async throws {
        let fake = try FakeClamd(.silent)
        defer { fake.stop() }
        let client = ClamdClient(configuration: fake.configuration(replyTimeout: .seconds(600)), eventLoopGroup: group)
        let start = ContinuousClock.now
        let task = Task { await client.scan(Array("x".utf8)) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        // `.cancelled` (not a timeout after 600 s) shows the cancellation ended the wait.
        #expect(await task.value == .unavailable(.cancelled))
        #expect(ContinuousClock.now - start < .seconds(300))
    }
}
