// QueueCommand.swift — `gatehouse queue list|show|flush|retry|hold|release|delete|check`.

import ArgumentParser
import Foundation
import Delivery
import Spool

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Inspect and manage the mail queue.",
        subcommands: [List.self, Show.self, Flush.self, Retry.self, Hold.self, Release.self, Delete.self, Check.self])

    struct Entry: Codable {
        var id: String
        var state: String
        var sender: String
        var recipients: [String]
        var size: Int
        var arrival: Int64
        /// Why delivery is waiting, for a deferred message (the first pending recipient's reason).
        var reason: String?
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List queued messages (like mailq).")
        @Flag(name: .long, help: "Print a JSON array.") var json = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            let spool = try Spool(directory: dataOptions.data + "/queue")
            var entries: [Entry] = []
            var damaged = 0
            let listing = try spool.listing()
            for (state, id) in listing.messages {
                guard let parsed = try? QueueFile.parse(spool.read(state, id, in: listing)) else {
                    damaged += 1
                    continue
                }
                let pending = parsed.envelope.recipients.enumerated().filter { $0.element.status == .pending }
                let status = state == .deferred ? DeliveryStatus.load(spool.statusPath(id)) : DeliveryStatus()
                entries.append(Entry(id: id, state: state.rawValue, sender: parsed.envelope.sender,
                                     recipients: pending.map(\.element.address), size: parsed.contentSize,
                                     arrival: parsed.envelope.arrival,
                                     reason: pending.lazy.compactMap { status.recipients[$0.offset]?.diagnostic }.first))
            }
            if json {
                let encoder = QueueCommand.jsonEncoder()
                print(String(decoding: try encoder.encode(entries), as: UTF8.self))
                return
            }
            if entries.isEmpty {
                print("Mail queue is empty")
            } else {
                print("-Queue ID-------- --Size-- ----Arrival Time---- -Sender/Recipient-------")
                for e in entries {
                    let date = Date(timeIntervalSince1970: TimeInterval(e.arrival))
                    let id = e.id + (e.state == "hold" ? "!" : e.state == "active" ? "*" : "")
                    print("\(id.padding(toLength: 17, withPad: " ", startingAt: 0)) \(String(e.size).leftPad(8)) \(date) \(e.sender.isEmpty ? "MAILER-DAEMON" : e.sender)")
                    if let reason = e.reason { print("(\(reason))") }
                    for r in e.recipients { print(String(repeating: " ", count: 48) + r) }
                    print("")
                }
                let total = entries.reduce(0) { $0 + $1.size }
                print("-- \(total / 1024) Kbytes in \(entries.count) Request\(entries.count == 1 ? "" : "s").")
            }
            if damaged > 0 { print("warning: \(damaged) damaged queue file(s); run `gatehouse queue check --repair`") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one message: envelope, recipients and why they wait.")
        @Argument(help: "Queue id.") var id: String
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            let spool = try Spool(directory: dataOptions.data + "/queue")
            let report: QueueControl.MessageReport
            do { report = try QueueControl.report(id, spool: spool) } catch {
                FileHandle.standardError.write(Data("queue show: \(error)\n".utf8))
                throw ExitCode(1)
            }
            if json {
                let encoder = QueueCommand.jsonEncoder()
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            print("id:        \(report.id) (\(report.state))")
            print("arrival:   \(Date(timeIntervalSince1970: TimeInterval(report.arrival)))")
            print("sender:    <\(report.sender)>")
            print("size:      \(report.size)")
            print("client:    \(report.client) helo=\(report.helo) listener=\(report.listener)")
            print("attempts:  \(report.attempts)")
            if let next = report.nextAttempt { print("next try:  \(Date(timeIntervalSince1970: TimeInterval(next)))") }
            for r in report.recipients {
                print("recipient: <\(r.address)> \(r.status)" + (r.reason.map { " (\(r.dsn ?? "")) \($0)" } ?? ""))
            }
            for line in report.trace { print("trace:     \(line)") }
        }
    }

    /// JSON as every `queue` subcommand prints it: snake_case keys, sorted.
    static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }

    /// hold / release / delete / retry: one code path, four verbs.
    struct Operation {
        struct Result: Codable {
            var id: String
            var done: Bool
            var result: String
        }

        static func run(_ operation: QueueControl.Operation, ids: [String], data: String, json: Bool) throws {
            let spool = try Spool(directory: data + "/queue")
            let results = try QueueControl.perform(operation, ids: ids, spool: spool)
            if json {
                let rows = results.map { Result(id: $0.id, done: $0.done, result: $0.text) }
                print(String(decoding: try QueueCommand.jsonEncoder().encode(rows), as: UTF8.self))
            } else {
                for result in results { print("\(result.id): \(result.text)") }
            }
            if results.contains(where: { !$0.done }) { throw ExitCode(1) }
        }
    }

    struct Flush: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Try every deferred message now.")
        @Flag(name: .long, help: "Print a JSON array of {id, done, result}.") var json = false
        @OptionGroup var dataOptions: DataOptions
        func run() throws { try Operation.run(.retry, ids: ["ALL"], data: dataOptions.data, json: json) }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Try deferred messages now.")
        @Argument(help: "Queue ids.") var ids: [String]
        @Flag(name: .long, help: "Print a JSON array of {id, done, result}.") var json = false
        @OptionGroup var dataOptions: DataOptions
        func run() throws { try Operation.run(.retry, ids: ids, data: dataOptions.data, json: json) }
    }

    struct Hold: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put messages on hold (no delivery until released); ALL for every message.")
        @Argument(help: "Queue ids, or ALL.") var ids: [String]
        @Flag(name: .long, help: "Print a JSON array of {id, done, result}.") var json = false
        @OptionGroup var dataOptions: DataOptions
        func run() throws { try Operation.run(.hold, ids: ids, data: dataOptions.data, json: json) }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release held messages for delivery; ALL for every held message.")
        @Argument(help: "Queue ids, or ALL.") var ids: [String]
        @Flag(name: .long, help: "Print a JSON array of {id, done, result}.") var json = false
        @OptionGroup var dataOptions: DataOptions
        func run() throws { try Operation.run(.release, ids: ids, data: dataOptions.data, json: json) }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete messages from the queue without notice; ALL for every message.")
        @Argument(help: "Queue ids, or ALL.") var ids: [String]
        @Flag(name: .long, help: "Print a JSON array of {id, done, result}.") var json = false
        @OptionGroup var dataOptions: DataOptions
        func run() throws { try Operation.run(.delete, ids: ids, data: dataOptions.data, json: json) }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify every queue file; with --repair move damaged ones to corrupt.")
        @Flag(name: .long, help: "Move damaged files to the corrupt queue.") var repair = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            let spool = try Spool(directory: dataOptions.data + "/queue")
            let results = try spool.check(repair: repair)
            var bad = 0
            for r in results {
                if let error = r.error {
                    bad += 1
                    print("\(r.id): \(r.state.rawValue): DAMAGED: \(error)\(repair ? " (moved to corrupt)" : "")")
                }
            }
            print("\(results.count) queue files checked, \(bad) damaged")
            if bad > 0 { throw ExitCode(1) }
        }
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
