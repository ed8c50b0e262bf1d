// SpamCommand.swift — `gatehouse spam train|eval|learn|score|tokens`: the content engine from the command line.
//
//   train --spam DIR --ham DIR [--database FILE | --data DIR]
//         learns the .eml files of both folders into the node's token database
//         (`<data dir>/bayes/tokens.db`, where the node reads it; created if missing)
//   eval  --train DIR --test DIR [--json]   each DIR holds spam/ and ham/ folders of .eml files:
//         trains a fresh classifier on the first, scores the second with the full engine (default
//         rules + Bayes, no network checks) and prints spam caught and ham misjudged; with --json
//         the last line is {"spamCaught":N,"spamTotal":N,"hamMisjudged":N,"hamTotal":N}
//   learn --as spam|ham [--database FILE | --data DIR] FILE…   administrators' feedback
//         ("release" / "not spam" is `--as ham`: a message learned as spam is moved to ham)
//   score [--database FILE | --data DIR] FILE…   prints the verdict on each message
//   tokens FILE|DIR…                        prints the tokens of each message (a diagnostic)
//
// Hidden options for measurements (docs/spam.md): --strength, --unknown-probability,
// --minimum-strength, --max-significant (classifier constants), --with / --without (token kinds).
//
// Diagnostics: unreadable or oversized files and folders are a `SpamFileError` on standard error
// with exit code 1; a damaged database is reported as such (`BayesStoreError`) and left untouched.
//
// Security notes: message content is printed only by `score --evidence` and `tokens` (tokens are
// words of the message); the other commands print counts and file names. Files are read up to
// `BayesLimits.maxMessageFileBytes`, folders up to `maxFolderMessages` messages.
import ArgumentParser
import Foundation
import MIME
import SpamBayes

struct SpamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spam", abstract: "Train, evaluate and try the spam classifier.",
        subcommands: [Train.self, Eval.self, Learn.self, Score.self, Tokens.self, Stats.self])

    /// Where the token database is: `--database FILE`, or the node's `<data dir>/bayes/tokens.db`.
    struct DatabaseOptions: ParsableArguments {
        @Option(name: .long, help: "The token database file (default: <data dir>/bayes/tokens.db, where the node reads it).")
        var database: String?
        @OptionGroup var dataOptions: DataOptions

        var path: String { database ?? BayesStore.path(inDataDirectory: dataOptions.data) }

        /// The store, its folder created (with the data directory) if missing.
        func store() throws -> BayesStore {
            let store = BayesStore(path: path)
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            return store
        }
    }

    /// Classifier constants, for measurements (hidden from help: the defaults are the product).
    struct Tuning: ParsableArguments {
        @Option(name: .long, help: .hidden) var strength: Double?
        @Option(name: .long, help: .hidden) var unknownProbability: Double?
        @Option(name: .long, help: .hidden) var minimumStrength: Double?
        @Option(name: .long, help: .hidden) var maxSignificant: Int?
        @Option(name: .long, help: .hidden) var without: String?
        @Option(name: .long, help: .hidden) var with: String?
        @Option(name: .long, help: "Score at or above which a message is spam.") var threshold: Double = SpamScoring.default.threshold

        func features() throws -> BayesTokenizer.Features {
            var features = BayesTokenizer.Features.default
            func parse(_ list: String?) throws -> BayesTokenizer.Features {
                var set: BayesTokenizer.Features = []
                for name in (list ?? "").split(separator: ",") {
                    guard let f = BayesTokenizer.Features.names.first(where: { $0.0 == name })?.1 else {
                        throw ValidationError("unknown token kind \(name)")
                    }
                    set.insert(f)
                }
                return set
            }
            features.subtract(try parse(without))
            features.formUnion(try parse(with))
            return features
        }

        func engine() throws -> SpamEngine {
            var parameters = BayesParameters.default
            if let strength { parameters.strength = strength }
            if let unknownProbability { parameters.unknownProbability = unknownProbability }
            if let minimumStrength { parameters.minimumStrength = minimumStrength }
            if let maxSignificant { parameters.maxSignificantTokens = maxSignificant }
            var scoring = SpamScoring.default
            scoring.threshold = threshold
            return try SpamEngine(tokenizer: BayesTokenizer(features: features()), classifier: BayesClassifier(parameters: parameters),
                                  scoring: scoring)
        }
    }

    // MARK: train

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the node's token database on folders of .eml files.",
            discussion: "Each message is remembered by its SHA-256: training twice counts nothing twice.")
        @Option(name: .long, help: "Folder of spam (.eml files).") var spam: String
        @Option(name: .long, help: "Folder of ham (.eml files).") var ham: String
        @OptionGroup var databaseOptions: DatabaseOptions
        @Option(name: .long, help: "Prune tokens seen once and unused for this many days (0: no pruning).") var pruneDays = 0

        func validate() throws {
            guard pruneDays >= 0 else { throw ValidationError("--prune-days must be 0 or more") }
        }

        func run() throws {
            let folders = [(BayesClass.spam, try SpamCommand.messages(in: spam)), (.ham, try SpamCommand.messages(in: ham))]
            let tokenizer = BayesTokenizer()
            let parser = MIMEParser()
            let today = BayesStore.today
            var counts: [BayesClass: (learned: Int, already: Int, moved: Int)] = [.spam: (0, 0, 0), .ham: (0, 0, 0)]
            let store = try databaseOptions.store()
            let database = try store.update { database in
                for (kind, files) in folders {
                    for file in files {
                        let outcome = database.learn(tokenizer.tokens(of: parser.parse(file.bytes)), as: kind,
                                                     id: MIMEDigest.sha256(file.bytes).hex, day: today)
                        switch outcome {
                        case .learned: counts[kind]!.learned += 1
                        case .alreadyLearned: counts[kind]!.already += 1
                        case .relearned: counts[kind]!.moved += 1
                        }
                    }
                }
                if pruneDays > 0 { database.prune(olderThan: today - min(today, UInt32(clamping: pruneDays))) }
                return database
            }
            for kind in [BayesClass.spam, .ham] {
                let c = counts[kind]!
                print("\(kind): \(c.learned) learned, \(c.already) already learned, \(c.moved) moved from the other class")
            }
            print("\(store.path): \(database.spamMessages) spam, \(database.hamMessages) ham, \(database.tokens.count) tokens")
        }
    }

    // MARK: eval

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a fresh classifier on one corpus and score another with the full engine.",
            discussion: "Each directory holds spam/ and ham/ folders of .eml files. Network checks are off.")

        @Option(name: .long, help: "Training corpus (spam/ and ham/ folders).") var train: String
        @Option(name: .long, help: "Test corpus (spam/ and ham/ folders).") var test: String
        @Flag(name: .long, help: "End with one JSON line: spamCaught, spamTotal, hamMisjudged, hamTotal.") var json = false
        @Flag(name: .long, help: "List every misjudged message with its score.") var misses = false
        @Option(name: .long, help: "Write one tab-separated line per test message (class, file, rules, bayes, total, hits).")
        var scores: String?
        @OptionGroup var tuning: Tuning

        func run() throws {
            let started = Date()
            let engine = try tuning.engine()
            let trainFiles = try SpamCommand.corpus(train)
            let testFiles = try SpamCommand.corpus(test)
            let database = SpamEvaluation.train(trainFiles.corpus, tokenizer: engine.tokenizer, day: BayesStore.today)
            let trained = Date()
            var lines: [String] = []
            var missed: [String] = []
            let result = SpamEvaluation.judge(testFiles.corpus, engine: engine, database: database) { kind, index, verdict in
                let name = testFiles.names[kind]![index]
                let probability = verdict.bayes.map { String(format: "%.6f", $0.probability) } ?? "-"
                if verdict.isSpam != (kind == .spam) {
                    missed.append("\(kind == .spam ? "missed spam" : "ham as spam") \(name): score \(String(format: "%.2f", verdict.score)) "
                                  + "(rules \(String(format: "%.2f", verdict.rules.score)), bayes \(probability))")
                }
                if scores != nil {
                    let hits = verdict.rules.hits.map(\.name).joined(separator: ",")
                    lines.append([kind.description, name, String(verdict.rules.score), probability, String(verdict.score), hits]
                        .joined(separator: "\t"))
                }
            }
            if let scores {
                try (lines.joined(separator: "\n") + "\n").write(toFile: scores, atomically: true, encoding: .utf8)
            }
            let finished = Date()
            func percent(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(format: "%.2f%%", 100 * Double(a) / Double(b)) }
            print("trained on \(database.spamMessages) spam and \(database.hamMessages) ham (\(database.tokens.count) tokens) in "
                  + String(format: "%.1f s", trained.timeIntervalSince(started)))
            print("scored \(result.spamTotal + result.hamTotal) messages in " + String(format: "%.1f s", finished.timeIntervalSince(trained))
                  + " (threshold \(engine.scoring.threshold))")
            if misses { missed.forEach { print($0) } }
            print("spam caught: \(result.spamCaught) of \(result.spamTotal) (\(percent(result.spamCaught, result.spamTotal)))")
            print("ham misjudged: \(result.hamMisjudged) of \(result.hamTotal) (\(percent(result.hamMisjudged, result.hamTotal)))")
            if json { print(result.json) }
        }
    }

    // MARK: learn

    struct Learn: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn messages as spam or ham (administrators' feedback: release / not spam is --as ham).")
        @Option(name: .customLong("as"), help: "spam or ham.") var kind: String
        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "Message files.") var files: [String]

        func validate() throws {
            guard kind == "spam" || kind == "ham" else { throw ValidationError("--as must be spam or ham") }
        }

        func run() throws {
            let target: BayesClass = kind == "spam" ? .spam : .ham
            let messages = try files.map { ($0, try SpamCommand.read($0)) }
            let tokenizer = BayesTokenizer()
            let today = BayesStore.today
            let outcomes = try databaseOptions.store().update { database in
                messages.map { database.learn(tokenizer.tokens(of: MIMEParser().parse($0.1)), as: target, id: MIMEDigest.sha256($0.1).hex, day: today) }
            }
            for ((path, _), outcome) in zip(messages, outcomes) {
                switch outcome {
                case .learned: print("\(path): learned as \(target)")
                case .alreadyLearned: print("\(path): already learned as \(target)")
                case .relearned(let from): print("\(path): moved from \(from) to \(target)")
                }
            }
        }
    }

    // MARK: score

    struct Score: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the full engine's verdict on messages.")
        @OptionGroup var databaseOptions: DatabaseOptions
        @Flag(name: .long, help: "Also print the tokens used as evidence (words of the message).") var evidence = false
        @Argument(help: "Message files.") var files: [String]
        @OptionGroup var tuning: Tuning

        func run() throws {
            let filter = try BayesFilter.load(path: databaseOptions.path)
            if filter == nil { print("no token database at \(databaseOptions.path): rules alone") }
            let engine = try tuning.engine()
            for path in files {
                let bytes = try SpamCommand.read(path)
                let verdict = engine.evaluate(MIMEParser().parse(bytes), raw: bytes, database: filter?.database)
                let bayes = verdict.bayes.map { String(format: "%.4f", $0.probability) } ?? "not trained"
                print("\(path): \(verdict.isSpam ? "spam" : "ham") score \(String(format: "%.2f", verdict.score)) "
                      + "(rules \(String(format: "%.2f", verdict.rules.score)): \(verdict.rules.hits.map(\.description).joined(separator: ", ")); "
                      + "bayes \(bayes)\(verdict.bucket.map { " \($0)" } ?? ""))")
                if evidence, let result = verdict.bayes {
                    for e in result.evidence.prefix(30) { print("  \(e)") }
                }
            }
        }
    }

    // MARK: tokens

    struct Tokens: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the tokens of messages (words of the message: a diagnostic).")
        @Argument(help: "Message files, or folders of .eml files.") var paths: [String]
        @OptionGroup var tuning: Tuning

        func run() throws {
            let tokenizer = BayesTokenizer(features: try tuning.features())
            for path in paths {
                var isFolder: ObjCBool = false
                let files = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
                    ? try SpamCommand.messages(in: path).map { (path + "/" + $0.name, $0.bytes) }
                    : [(path, try SpamCommand.read(path))]
                for (name, bytes) in files {
                    let tokens = tokenizer.tokens(of: MIMEParser().parse(bytes)).tokens
                    print(name + "\t" + tokens.map { $0.replacingOccurrences(of: "\t", with: " ") }.joined(separator: "\t"))
                }
            }
        }
    }

    // MARK: stats

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what the token database holds: size, messages trained, and how recently its tokens were used.")
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var databaseOptions: DatabaseOptions

        func run() throws {
            guard let database = try BayesStore(path: databaseOptions.path).load() else {
                FileHandle.standardError.write(Data("spam stats: no database at \(databaseOptions.path) (train one with gatehouse spam train)\n".utf8))
                throw ExitCode(1)
            }
            let summary = BayesDatabaseSummary(database)
            if json {
                print(String(decoding: try QueueCommand.jsonEncoder().encode(summary), as: UTF8.self))
                return
            }
            print("database:  \(databaseOptions.path)")
            print("trained:   \(summary.spamMessages) spam, \(summary.hamMessages) ham (\(summary.learnedMessages) messages remembered)")
            print("tokens:    \(summary.tokens), of which \(summary.rareTokens) seen in one message only")
            print("last used: today \(summary.usedToday), 1-7 days \(summary.usedWithin7Days), 8-30 days \(summary.usedWithin30Days), "
                  + "31-90 days \(summary.usedWithin90Days), longer ago \(summary.usedLongerAgo)")
        }
    }

    // MARK: Files

    struct MessageFile {
        var name: String
        var bytes: [UInt8]
    }

    /// The spam/ and ham/ folders of `directory` as a corpus, with the file names.
    static func corpus(_ directory: String) throws -> (corpus: SpamCorpus, names: [BayesClass: [String]]) {
        let spam = try messages(in: directory + "/spam"), ham = try messages(in: directory + "/ham")
        return (SpamCorpus(spam: spam.map(\.bytes), ham: ham.map(\.bytes)), [.spam: spam.map(\.name), .ham: ham.map(\.name)])
    }

    /// The .eml files of `folder`, sorted by name.
    static func messages(in folder: String, limits: BayesLimits = .default) throws(SpamFileError) -> [MessageFile] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw .unreadable(path: folder, reason: error.localizedDescription)
        }
        let messages = names.filter { $0.hasSuffix(".eml") }.sorted()
        guard messages.count <= limits.maxFolderMessages else {
            throw .tooManyFiles(path: folder, count: messages.count, limit: limits.maxFolderMessages)
        }
        var out: [MessageFile] = []
        out.reserveCapacity(messages.count)
        for name in messages { out.append(MessageFile(name: name, bytes: try read(folder + "/" + name, limits: limits))) }
        return out
    }

    /// The bytes of the file at `path`, at most `limits.maxMessageFileBytes`.
    static func read(_ path: String, limits: BayesLimits = .default) throws(SpamFileError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(path: path, reason: "cannot open") }
        defer { try? handle.close() }
        let data: Data?
        do { data = try handle.read(upToCount: limits.maxMessageFileBytes + 1) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        let bytes = [UInt8](data ?? Data())
        guard bytes.count <= limits.maxMessageFileBytes else { throw .tooLarge(path: path, limit: limits.maxMessageFileBytes) }
        return bytes
    }
}

/// A message file or folder that `gatehouse spam` cannot use (exit code 1, no usage text).
enum SpamFileError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    /// Larger than `BayesLimits.maxMessageFileBytes`.
    case tooLarge(path: String, limit: Int)
    /// More .eml files than `BayesLimits.maxFolderMessages`.
    case tooManyFiles(path: String, count: Int, limit: Int)

    var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .tooLarge(let path, let limit): "\(path) is larger than \(limit) bytes"
        case .tooManyFiles(let path, let count, let limit): "\(path) holds \(count) messages, more than \(limit)"
        }
    }
}
