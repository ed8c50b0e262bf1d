// PolicyCommand.swift — `gatehouse policy test` (one message: verdict and decision trace, nothing
// sent) and `gatehouse policy check DIR` (a folder of fixtures with expected verdicts: policy as
// code, for administrators' own CI).

#if canImport(Glibc)
import Glibc
#endif
import AntiVirus
import ArgumentParser
import Configuration
import Foundation
import GatehouseCore
import NIOPosix
import Policy
import Scanning
import SpamBayes
import SpamRules

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Try the policy on messages without sending anything.", subcommands: [Test.self, Check.self])

    /// Where the policy and the engines come from.
    struct EngineOptions: ParsableArguments {
        @Option(name: .long, help: "Configuration file (its policy, domains and listeners); the embedded default without it.")
        var config: String?
        @Option(name: .long, help: "Scan with this clamd: HOST:PORT or a unix socket path.")
        var clamd: String?
        @Option(name: .long, help: "Data directory whose trained Bayes database (bayes/tokens.db) adds to the spam score.")
        var data: String?

        func load() throws -> (NodeConfiguration, MessageScanner) {
            let node: NodeConfiguration
            if let config {
                do { node = try YAMLFileSource(path: config, hostname: systemHostname()).load() } catch {
                    printError("\(error)\n")
                    throw ExitCode(2)
                }
            } else {
                node = NodeConfiguration.embeddedDefault(hostname: systemHostname())
            }
            var antiVirus: (any AntiVirusScanner)?
            if let clamd {
                guard let endpoint = ClamdEndpoint(clamd) else {
                    printError("--clamd: not HOST:PORT or a socket path: \(clamd)\n")
                    throw ExitCode(2)
                }
                antiVirus = ClamdClient(configuration: ClamdConfiguration(endpoint: endpoint), eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            }
            var bayes: BayesFilter?
            if let data {
                do { bayes = try BayesFilter.load(path: BayesStore.path(inDataDirectory: data)) } catch {
                    printError("--data: \(error)\n")
                    throw ExitCode(2)
                }
            }
            let scanning = node.scanning
            do {
                return (node, try MessageScanner(ruleFiles: scanning.ruleFiles, spamThreshold: scanning.spamThreshold, antiVirus: antiVirus,
                                                 bayes: bayes))
            } catch {
                printError("\(error)\n")
                throw ExitCode(2)
            }
        }
    }

    /// The verdict of one message, as printed with --json.
    struct Report: Codable {
        struct Verdict: Codable {
            var recipient: String
            var verdict: String
            var rules: [String]
            var actions: [String]
        }
        var reply: String
        var verdicts: [Verdict]
        var spamScore: Double?
        var virus: String
        var trace: [String]
    }

    static func evaluate(_ raw: [UInt8], from: String, to: [String], listener: String?, client: String?, auth: String?,
                         node: NodeConfiguration, scanner: MessageScanner) async throws -> Report {
        let chosen = listener.flatMap { name in node.listeners.first { $0.name == name } } ?? node.listeners.first!
        if let listener, chosen.name != listener {
            printError("--listener: no listener named \(listener) in the configuration\n")
            throw ExitCode(2)
        }
        let clock = ScanContext.localClock(at: Int64(time(nil)))
        let context = ScanContext(
            sender: from, recipients: to, listener: chosen.name, listenerRole: chosen.role, internalDomains: node.internalDomains,
            clientAddress: client.flatMap(IPAddress.init(parsing:)), authenticatedUser: auth, hour: clock.hour, weekday: clock.weekday)
        let facts = await scanner.scan(raw, context: context)
        let decision = PolicyEvaluator(policy: node.policy).evaluate(facts)
        let reply: String
        switch decision.sessionReply {
        case .accept: reply = "250 accepted"
        case .reject(let r): reply = r.singleLineText
        case .tempfail(let r): reply = r.singleLineText
        }
        let virus: String
        switch facts.virus {
        case .notScanned: virus = "not scanned"
        case .clean: virus = "clean"
        case .infected(let names): virus = "infected: " + names.joined(separator: ", ")
        case .failed(let why): virus = "scan failed: \(why)"
        }
        return Report(
            reply: reply,
            verdicts: decision.verdicts.map {
                Report.Verdict(recipient: $0.recipient, verdict: Check.label($0.disposition), rules: $0.rulesFired,
                               actions: $0.actions.map { "\($0)" })
            },
            spamScore: facts.spamScore, virus: virus, trace: decision.trace.map(\.description))
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            printError("cannot read \(path)\n")
            throw ExitCode(2)
        }
        return [UInt8](data)
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the verdict and decision trace for a message.")
        @Argument(help: "The message (.eml).") var message: String
        @Option(name: .long, help: "Envelope sender.") var from: String = ""
        @Option(name: .long, help: "Envelope recipient (repeat for more).") var to: [String]
        @Option(name: .long, help: "Client address.") var client: String?
        @Option(name: .long, help: "Listener name (default: the first listener).") var listener: String?
        @Option(name: .long, help: "Authenticated user.") var auth: String?
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var engines: EngineOptions

        func run() async throws {
            let (node, scanner) = try engines.load()
            let report = try await PolicyCommand.evaluate(try PolicyCommand.read(message), from: from, to: to, listener: listener,
                                                          client: client, auth: auth, node: node, scanner: scanner)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            print("reply:      \(report.reply)")
            print("spam score: \(report.spamScore.map { String($0) } ?? "-")")
            print("virus:      \(report.virus)")
            for v in report.verdicts {
                print("verdict:    <\(v.recipient)> \(v.verdict)" + (v.rules.isEmpty ? "" : " by " + v.rules.joined(separator: ", ")))
                for a in v.actions { print("            + \(a)") }
            }
            print("trace:")
            for line in report.trace { print("  " + line) }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a folder of fixtures: each NAME.eml with NAME.expect (from:, to:, listener:, client:, auth:, expect:).")
        @Argument(help: "The folder.") var folder: String
        @OptionGroup var engines: EngineOptions

        static func label(_ d: Disposition) -> String {
            switch d {
            case .deliver: return "deliver"
            case .delete: return "delete"
            case .quarantine(let folder): return "quarantine:\(folder)"
            case .tempfail: return "tempfail"
            case .reject: return "reject"
            }
        }

        func run() async throws {
            let (node, scanner) = try engines.load()
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder))?.filter { $0.hasSuffix(".eml") }.sorted() ?? []
            guard !names.isEmpty else {
                printError("\(folder): no .eml fixtures\n")
                throw ExitCode(2)
            }
            var failed = 0
            for name in names {
                let base = folder + "/" + String(name.dropLast(4))
                let expectation: Expectation
                do { expectation = try Expectation(parsing: String(decoding: try PolicyCommand.read(base + ".expect"), as: UTF8.self)) } catch {
                    print("FAIL \(name): \(base).expect: \(error)")
                    failed += 1
                    continue
                }
                let report = try await PolicyCommand.evaluate(try PolicyCommand.read(base + ".eml"), from: expectation.from, to: expectation.to,
                                                              listener: expectation.listener, client: expectation.client, auth: expectation.auth,
                                                              node: node, scanner: scanner)
                var problems: [String] = []
                for v in report.verdicts {
                    let want = expectation.expected[v.recipient.lowercased()] ?? expectation.expected["*"] ?? "deliver"
                    if want != v.verdict { problems.append("<\(v.recipient)> expected \(want), got \(v.verdict)") }
                }
                if problems.isEmpty {
                    print("ok   \(name)")
                } else {
                    failed += 1
                    print("FAIL \(name): " + problems.joined(separator: "; "))
                    for line in report.trace { print("       " + line) }
                }
            }
            print("\(names.count) fixtures, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }

    /// `NAME.expect`: `key: value` lines; `expect: VERDICT` for every recipient or
    /// `expect ADDRESS: VERDICT` for one; `to:` may repeat.
    struct Expectation {
        var from = ""
        var to: [String] = []
        var listener: String?
        var client: String?
        var auth: String?
        var expected: [String: String] = [:]

        struct Problem: Error, CustomStringConvertible {
            var description: String
        }

        init(parsing text: String) throws {
            for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let colon = line.firstIndex(of: ":") else { throw Problem(description: "line \(n + 1): want key: value") }
                let key = line[..<colon].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                switch key {
                case "from": from = value
                case "to": to += value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                case "listener": listener = value
                case "client": client = value
                case "auth": auth = value
                case "expect": expected["*"] = value
                default:
                    guard key.hasPrefix("expect ") else { throw Problem(description: "line \(n + 1): unknown key \(key)") }
                    expected[key.dropFirst(7).trimmingCharacters(in: .whitespaces).lowercased()] = value
                }
            }
            guard !to.isEmpty else { throw Problem(description: "to: is required") }
        }
    }
}
