// QuarantineCommand.swift — `gatehouse quarantine list|show|release|forward|delete|sweep`: the
// node's quarantine store from the command line. A release or forward is queued in the spool's
// incoming directory; the running gateway delivers it within a second.

import ArgumentParser
import Foundation
import MIME
import Quarantine
import SpamBayes
import Spool

struct QuarantineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine", abstract: "List, inspect, release, forward and delete quarantined messages.",
        subcommands: [List.self, Show.self, Release.self, Forward.self, Delete.self, Sweep.self])

    static func store(_ options: DataOptions) throws -> QuarantineStore {
        do { return try QuarantineStore(directory: options.data + "/quarantine") } catch { fail("quarantine: \(error)") }
    }

    static func fail(_ text: String) -> Never {
        FileHandle.standardError.write(Data((text + "\n").utf8))
        Foundation.exit(1)
    }

    static func printJSON(_ value: some Encodable) throws {
        print(String(decoding: try QueueCommand.jsonEncoder().encode(value), as: UTF8.self))
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List quarantined messages, oldest first.")
        @Option(name: .long, help: "Only this folder (spam, virus, …).") var folder: String?
        @Option(name: .long, help: "Only messages for this recipient.") var recipient: String?
        @Flag(name: .long, help: "Print a JSON array of records.") var json = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            var records = try QuarantineCommand.store(dataOptions).list()
            if let folder { records = records.filter { $0.folder == folder } }
            if let recipient {
                records = records.filter { $0.recipients.contains { $0.address.lowercased() == recipient.lowercased() } }
            }
            if json {
                try QuarantineCommand.printJSON(records)
                return
            }
            if records.isEmpty {
                print("Quarantine is empty")
                return
            }
            print("-Id-------------- -Folder- --Size-- -----Arrival------ -Sender / Recipients / Subject-")
            for r in records {
                let date = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(r.arrival)))
                print("\(r.id) \(r.folder.padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(r.size).leftPad(8)) \(date.prefix(19)) \(r.sender.isEmpty ? "<>" : r.sender)")
                for recipient in r.recipients {
                    print(String(repeating: " ", count: 55) + recipient.address + (recipient.releasedAs.map { " (released as \($0))" } ?? ""))
                }
                print(String(repeating: " ", count: 55) + "Subject: " + r.subject.prefix(60))
            }
            print("-- \(records.count) message\(records.count == 1 ? "" : "s")")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one quarantined message: record and decision trace.")
        @Argument(help: "Quarantine id.") var id: String
        @Flag(name: .long, help: "Print the message itself, as received.") var raw = false
        @Flag(name: .long, help: "Print the record as JSON.") var json = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            let store = try QuarantineCommand.store(dataOptions)
            do {
                if raw {
                    FileHandle.standardOutput.write(Data(try store.content(id)))
                    return
                }
                let r = try store.record(id)
                if json {
                    try QuarantineCommand.printJSON(r)
                    return
                }
                print("id:         \(r.id) (queue id \(r.queueID))")
                print("folder:     \(r.folder)")
                print("arrival:    \(Date(timeIntervalSince1970: TimeInterval(r.arrival)))")
                print("expires:    \(Date(timeIntervalSince1970: TimeInterval(r.expires)))")
                print("sender:     <\(r.sender)>")
                for recipient in r.recipients {
                    print("recipient:  <\(recipient.address)>" + (recipient.releasedAs.map { " released as \($0)" } ?? " held"))
                }
                print("from:       \(r.from)")
                print("subject:    \(r.subject)")
                print("size:       \(r.size)")
                print("client:     \(r.clientAddress) listener=\(r.listener)")
                print("rules:      \(r.rulesFired.joined(separator: ", "))")
                if let score = r.spamScore { print("spam score: \(score)") }
                if !r.viruses.isEmpty { print("viruses:    \(r.viruses.joined(separator: ", "))") }
                print("trace:")
                for line in r.trace { print("  \(line)") }
            } catch {
                QuarantineCommand.fail("quarantine show: \(error)")
            }
        }
    }

    /// What release and forward print.
    struct Dispatched: Codable {
        var id: String
        var queueId: String
        var recipients: [String]
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver a quarantined message to its recipients (all still held, or those given), once.")
        @Argument(help: "Quarantine id.") var id: String
        @Option(name: .long, help: "Release to this recipient only (repeat for more).") var to: [String] = []
        @Flag(name: .long, help: "It was not spam: teach the Bayesian classifier this message is ham.") var notSpam = false
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            let store = try QuarantineCommand.store(dataOptions)
            let spool = try Spool(directory: dataOptions.data + "/queue")
            do {
                let done = try store.release(id, to: to.isEmpty ? nil : to, spool: spool, hostname: systemHostname())
                if notSpam { try QuarantineCommand.learn(id, as: .ham, store: store, data: dataOptions.data) }
                if json { return try QuarantineCommand.printJSON(Dispatched(id: id, queueId: done.queueID, recipients: done.recipients)) }
                print("\(id): released to \(done.recipients.map { "<\($0)>" }.joined(separator: ", ")) as \(done.queueID)")
            } catch {
                QuarantineCommand.fail("quarantine release: \(error)")
            }
        }
    }

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a copy of a quarantined message to other addresses; it stays held.")
        @Argument(help: "Quarantine id.") var id: String
        @Option(name: .long, help: "Address to send it to (repeat for more).") var to: [String]
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var dataOptions: DataOptions

        func validate() throws {
            guard !to.isEmpty else { throw ValidationError("give --to") }
            for address in to where !address.contains("@") { throw ValidationError("not an address: \(address)") }
        }

        func run() throws {
            let store = try QuarantineCommand.store(dataOptions)
            let spool = try Spool(directory: dataOptions.data + "/queue")
            do {
                let done = try store.forward(id, to: to, spool: spool, hostname: systemHostname())
                if json { return try QuarantineCommand.printJSON(Dispatched(id: id, queueId: done.queueID, recipients: done.recipients)) }
                print("\(id): forwarded to \(done.recipients.map { "<\($0)>" }.joined(separator: ", ")) as \(done.queueID)")
            } catch {
                QuarantineCommand.fail("quarantine forward: \(error)")
            }
        }
    }

    /// Administrators' feedback to the Bayesian classifier of this node (DATA/bayes/tokens.db).
    static func learn(_ id: String, as kind: BayesClass, store: QuarantineStore, data: String) throws {
        let raw = try store.content(id)
        let bayes = BayesStore(path: BayesStore.path(inDataDirectory: data))
        do {
            try bayes.learn(MIMEParser().parse(raw), raw: raw, as: kind)
        } catch {
            fail("quarantine: learning \(id) as \(kind): \(error)")
        }
        print("\(id): learned as \(kind) (the gateway picks the change up within a minute)")
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove quarantined messages for good.")
        @Argument(help: "Quarantine ids.") var ids: [String]
        @Flag(name: .long, help: "They were spam: teach the Bayesian classifier before deleting.") var spam = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            let store = try QuarantineCommand.store(dataOptions)
            var failed = false
            for id in ids {
                do {
                    if spam { try QuarantineCommand.learn(id, as: .spam, store: store, data: dataOptions.data) }
                    try store.delete(id)
                    print("\(id): deleted")
                } catch {
                    FileHandle.standardError.write(Data("quarantine delete: \(error)\n".utf8))
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove expired entries now (the gateway does this every 10 minutes).")
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            do {
                let removed = try QuarantineCommand.store(dataOptions).sweep()
                print("\(removed.count) expired entr\(removed.count == 1 ? "y" : "ies") removed")
            } catch {
                QuarantineCommand.fail("quarantine sweep: \(error)")
            }
        }
    }
}
