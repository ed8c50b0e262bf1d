// Serve.swift — `gatehouse serve`: the standalone gateway in the foreground.

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Configuration
import GatehouseCore
@preconcurrency import Dispatch
import Node

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway. Without --config: the embedded default (loopback 2525 and 2587, domain example.test).")

    @Option(name: .long, help: "The YAML configuration file (see docs/configuration.md).")
    var config: String?

    @OptionGroup var dataOptions: DataOptions

    func run() async throws {
        let hostname = systemHostname()
        let source: any ConfigurationSource = config.map { YAMLFileSource(path: $0, hostname: hostname) } ?? EmbeddedDefaultSource(hostname: hostname)
        let configuration: NodeConfiguration
        do {
            configuration = try source.load()
        } catch {
            printError("gatehouse: \(error)\n")
            throw ExitCode(2)
        }
        let log: any LogSink
        do {
            log = try configuration.logFile.map { try LineLogSink(path: $0, hostname: configuration.hostname) } ?? LineLogSink(hostname: configuration.hostname)
        } catch {
            printError("gatehouse: \(error)\n")
            throw ExitCode(2)
        }
        let node: GatehouseNode
        do {
            node = try GatehouseNode(configuration: configuration, dataDirectory: dataOptions.data, log: log)
            try await node.start()
        } catch {
            printError("gatehouse: \(error)\n")
            throw ExitCode(1)
        }
        log.record(LogRecord(program: "master", text: "daemon started -- version 0.1, configuration version \(configuration.version)\(config == nil ? " (embedded default)" : "")"))

        // SIGTERM/SIGINT stop; SIGHUP re-reads the configuration and applies it live.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        let queue = DispatchQueue(label: "gatehouse.signals")
        let stop = AsyncStream<Void> { continuation in
            let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
            for s in sources {
                s.setEventHandler { continuation.yield() }
                s.resume()
            }
            let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
            hup.setEventHandler {
                Task {
                    do {
                        var next = try source.load()
                        next.version = max(next.version, configuration.version)
                        try await node.apply(next)
                        log.record(LogRecord(program: "master", text: "reloaded configuration version \(next.version)"))
                    } catch {
                        log.record(LogRecord(program: "master", text: "warning: configuration reload refused, keeping the running version: \(error)"))
                    }
                }
            }
            hup.resume()
            SignalSources.shared.keep(sources + [hup])
        }
        for await _ in stop { break }
        log.record(LogRecord(program: "master", text: "terminating on signal"))
        await node.stop()
    }
}

func systemHostname() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
    let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "localhost" : name
}

/// Keeps the signal sources alive for the life of the process.
final class SignalSources: @unchecked Sendable {
    static let shared = SignalSources()
    private var sources: [any DispatchSourceSignal] = []
    func keep(_ more: [any DispatchSourceSignal]) { sources += more }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    let bytes = Array((text.hasSuffix("\n") ? text : text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
