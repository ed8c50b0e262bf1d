// QueueCommand.swift — `gatehouse queue list|check`: look into the spool.

import ArgumentParser
import Foundation
import Spool

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Inspect the mail queue.", subcommands: [List.self, Check.self])

    struct Entry: Codable {
        var id: String
        var state: String
        var sender: String
        var recipients: [String]
        var size: Int
        var arrival: Int64
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List queued messages (like mailq).")
        @Flag(name: .long, help: "Print a JSON array.") var json = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            let spool = try Spool(directory: dataOptions.data + "/queue")
            var entries: [Entry] = []
            var damaged = 0
            for (state, id) in try spool.messages() {
                guard let parsed = try? QueueFile.parse(spool.read(state, id)) else {
                    damaged += 1
                    continue
                }
                entries.append(Entry(id: id, state: state.rawValue, sender: parsed.envelope.sender,
                                     recipients: parsed.envelope.recipients.map(\.address), size: parsed.contentSize,
                                     arrival: parsed.envelope.arrival))
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
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
                    for r in e.recipients { print(String(repeating: " ", count: 48) + r) }
                    print("")
                }
                let total = entries.reduce(0) { $0 + $1.size }
                print("-- \(total / 1024) Kbytes in \(entries.count) Request\(entries.count == 1 ? "" : "s").")
            }
            if damaged > 0 { print("warning: \(damaged) damaged queue file(s); run `gatehouse queue check --repair`") }
        }
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
