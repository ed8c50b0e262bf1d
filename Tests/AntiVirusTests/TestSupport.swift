// TestSupport.swift — helpers shared by the anti-virus tests: the EICAR test string (built at run
// time from two halves, so that no source file holds it whole and no scanner flags this file),
// `Clamd`, a real clamd started by Resources/clamd-test.sh with our own signature database, and
// `FakeClamd`, a NIO listener that misbehaves on purpose.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import AntiVirus

// MARK: EICAR

enum EICAR {
    /// The 68-octet EICAR anti-virus test file (https://www.eicar.org), assembled at run time.
    static var bytes: [UInt8] {
        let first = #"X5O!P%@AP[4\PZX54(P^)7CC)7}$EI"#
        let second = #"CAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"#
        return Array((first + second).utf8)
    }

    /// The name our signature gets in clamd's replies (unsigned databases add ".UNOFFICIAL").
    static let signature = "Gatehouse.Test.EICAR.UNOFFICIAL"
}

/// `count` octets of printable text that is not a virus: a pseudo-random 64 KiB block, repeated
/// (fast even in debug builds, for the tests that need tens of megabytes).
func cleanText(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    let words = Array("the quick brown fox jumps over a lazy dog\r\n".utf8)
    var state = seed
    let block = (0..<min(count, 65_536)).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return words[Int(state >> 33) % words.count]
    }
    guard count > block.count else { return block }
    var text: [UInt8] = []
    text.reserveCapacity(count)
    while text.count + block.count <= count { text += block }
    text += block[..<(count - text.count)]
    return text
}

/// A new empty directory under the temporary directory (short: unix socket paths are limited).
func temporaryDirectory(_ prefix: String) throws -> URL {
    let url = URL(fileURLWithPath: "/tmp").appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freePort() throws -> Int {
    let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .bind(host: "127.0.0.1", port: 0).wait()
    defer { try? channel.close().wait() }
    return channel.localAddress!.port!
}

/// Runs a program to completion; returns its exit status and its standard output and error,
/// merged. posix_spawn and waitpid rather than Foundation's Process, whose waitUntilExit can miss
/// the child's exit when the child leaves a daemon behind (it hung here).
@discardableResult
func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw TestFailure("pipe: \(String(cString: strerror(errno)))") }
    // Not inherited by programs other threads start (pipe2 is not visible from Swift's Glibc).
    _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    close(fds[1])
    defer { close(fds[0]) }
    guard spawned == 0 else { throw TestFailure("posix_spawn \(executable): \(String(cString: strerror(spawned)))") }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(fds[0], &chunk, chunk.count)
        if count > 0 { output += chunk[..<count]; continue }
        if count < 0 && errno == EINTR { continue }
        break
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return (exitStatus, String(decoding: output, as: UTF8.self))
}

/// A deflated zip archive holding `files`, made by Python's zipfile (Debian's /usr/bin/python3).
func zipArchive(_ files: [String: [UInt8]]) throws -> [UInt8] {
    let directory = try temporaryDirectory("av-zip")
    defer { try? FileManager.default.removeItem(at: directory) }
    var arguments = ["-c", """
        import sys, zipfile
        with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as archive:
            for name, path in zip(sys.argv[2::2], sys.argv[3::2]):
                archive.write(path, arcname=name)
        """, directory.appendingPathComponent("archive.zip").path]
    for (index, (name, content)) in files.sorted(by: { $0.key < $1.key }).enumerated() {
        let path = directory.appendingPathComponent("member\(index)")
        try Data(content).write(to: path)
        arguments += [name, path.path]
    }
    let result = try run("/usr/bin/python3", arguments)
    guard result.status == 0 else { throw TestFailure("zipfile failed: \(result.output)") }
    return Array(try Data(contentsOf: directory.appendingPathComponent("archive.zip")))
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: A real clamd

/// A clamd of our own (Resources/clamd-test.sh): 127.0.0.1:`port` and `directory`/clamd.sock,
/// signature database `gatehouse.ndb` only, StreamMaxLength 10M. A watchdog started with it stops it
/// when the test process ends; `stop()` stops it at once.
final class Clamd: Sendable {
    let directory: URL
    let port: Int
    let pid: Int32
    /// Seconds from launch to the first PONG.
    let startSeconds: Double

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Resources/clamd-test.sh").path
    /// clamd's StreamMaxLength in the test configuration.
    static let streamMaxLength = 10 * 1024 * 1024

    /// The daemon most tests share, started on first use.
    static let shared: Result<Clamd, TestFailure> = {
        do { return .success(try Clamd()) } catch { return .failure(error as? TestFailure ?? TestFailure("\(error)")) }
    }()

    init() throws {
        directory = try temporaryDirectory("av-clamd")
        var lastError = ""
        for _ in 0..<3 {  // a port taken between freePort() and clamd's bind: try another
            let port = try freePort()
            let result = try run("/bin/bash", [Self.script, "start", directory.path, String(port),
                                               String(ProcessInfo.processInfo.processIdentifier)])
            let ready = result.output.split(separator: "\n").last { $0.hasPrefix("READY ") } ?? ""
            let fields = ready.split(separator: " ").map(String.init)
            if result.status == 0, fields.count == 3, let pid = Int32(fields[1]), let seconds = Double(fields[2]) {
                self.port = port
                self.pid = pid
                self.startSeconds = seconds
                return
            }
            lastError = result.output
        }
        throw TestFailure("clamd did not start (is clamav-daemon installed? apt-get install clamav-daemon clamav): \(lastError)")
    }

    var socketPath: String { directory.appendingPathComponent("clamd.sock").path }

    func configuration(_ endpoint: ClamdEndpoint? = nil) -> ClamdConfiguration {
        ClamdConfiguration(endpoint: endpoint ?? .tcp(host: "127.0.0.1", port: port),
                           connectTimeout: .seconds(5), writeTimeout: .seconds(10), replyTimeout: .seconds(30))
    }

    /// clamd's log, for failure messages.
    var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("clamd.log"), encoding: .utf8)) ?? ""
    }

    func stop() {
        _ = try? run("/bin/bash", [Self.script, "stop", directory.path])
    }

    func remove() {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

// MARK: A fake clamd

/// A loopback listener that plays clamd badly. It reads the request as clamd would (a `z` command,
/// then INSTREAM frames up to the empty one), records it, and then does what `behaviour` says.
final class FakeClamd: Sendable {
    enum Behaviour: Sendable {
        /// Send these octets once the request is complete, then close (`close`) or stay silent.
        case reply([UInt8], close: Bool)
        /// Send these octets as soon as the connection is accepted, then close.
        case replyAtOnce([UInt8])
        /// Read the request and never answer.
        case silent
        /// Never read anything (the socket buffers fill and writes stall).
        case neverRead
        /// Close the connection once the request is complete, without a word.
        case closeWithoutReply
    }

    let channel: any Channel
    let behaviour: Behaviour
    private let state = NIOLockedValueBox(State())

    struct State {
        var connections = 0
        var requests: [[UInt8]] = []
    }

    init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        let state = self.state
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: { if case .neverRead = behaviour { return false } else { return true } }())
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    state.withLockedValue { $0.connections += 1 }
                    try child.pipeline.syncOperations.addHandler(FakeClamdHandler(behaviour: behaviour, state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    var port: Int { channel.localAddress!.port! }
    var connections: Int { state.withLockedValue { $0.connections } }
    /// Each complete request received, command included.
    var requests: [[UInt8]] { state.withLockedValue { $0.requests } }

    func configuration(replyTimeout: Duration = .seconds(5), writeTimeout: Duration = .seconds(5)) -> ClamdConfiguration {
        ClamdConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port), connectTimeout: .seconds(2),
                           writeTimeout: writeTimeout, replyTimeout: replyTimeout)
    }

    func stop() {
        try? channel.close().wait()
    }

    /// The length of the complete request at the start of `bytes`, if it is complete: a `z` command
    /// up to its NUL, and for INSTREAM the frames up to the empty one.
    static func completeRequestLength(_ bytes: [UInt8]) -> Int? {
        guard let nul = bytes.firstIndex(of: 0) else { return nil }
        guard bytes[..<nul].elementsEqual("zINSTREAM".utf8) else { return nul + 1 }
        var offset = nul + 1
        while offset + 4 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            if length == 0 { return offset }
            offset += length
        }
        return nil
    }

    fileprivate final class FakeClamdHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let behaviour: Behaviour
        let state: NIOLockedValueBox<State>
        var received: [UInt8] = []
        var answered = false

        init(behaviour: Behaviour, state: NIOLockedValueBox<State>) {
            self.behaviour = behaviour
            self.state = state
        }

        func channelActive(context: ChannelHandlerContext) {
            if case .replyAtOnce(let bytes) = behaviour {
                answered = true
                // A small write goes out at once; the close follows it.
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
                context.close(promise: nil)
            }
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            received += unwrapInboundIn(data).readableBytesView
            guard let length = FakeClamd.completeRequestLength(received) else { return }
            answered = true
            let request = Array(received.prefix(length))
            state.withLockedValue { $0.requests.append(request) }
            switch behaviour {
            case .reply(let bytes, let close):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
                if close { context.close(promise: nil) }
            case .closeWithoutReply:
                context.close(promise: nil)
            case .silent, .neverRead, .replyAtOnce:
                break
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
