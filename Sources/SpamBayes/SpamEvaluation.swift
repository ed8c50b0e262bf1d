// SpamEvaluation.swift — train a fresh classifier on one corpus, judge another: `gatehouse spam eval`.
//
// What it does: the pure part of the eval command — messages in, counts out. The command reads
// the folders; this trains a new `TokenDatabase` on the training corpus and runs the full engine
// (`SpamEngine`: rules + Bayes, no network checks) on every test message.
//
// Diagnostics: the caller sees every verdict through `onVerdict` (misses, score dumps).
//
// Security notes: no I/O; messages are parsed with the MIME engine's default limits.
public import MIME

/// Messages by class, as raw bytes.
public struct SpamCorpus: Sendable {
    public var spam: [[UInt8]]
    public var ham: [[UInt8]]

    public init(spam: [[UInt8]], ham: [[UInt8]]) {
        self.spam = spam
        self.ham = ham
    }

    public subscript(kind: BayesClass) -> [[UInt8]] { kind == .spam ? spam : ham }
}

/// The figures of one evaluation.
public struct SpamEvaluationResult: Sendable, Hashable, CustomStringConvertible {
    public var spamCaught = 0
    public var spamTotal = 0
    public var hamMisjudged = 0
    public var hamTotal = 0

    public init() {}

    /// The eval command's JSON line: {"spamCaught":N,"spamTotal":N,"hamMisjudged":N,"hamTotal":N}.
    public var json: String {
        "{\"spamCaught\":\(spamCaught),\"spamTotal\":\(spamTotal),\"hamMisjudged\":\(hamMisjudged),\"hamTotal\":\(hamTotal)}"
    }

    public var description: String { json }
}

public enum SpamEvaluation {
    /// A database trained on every message of `corpus` (spam first), each counted once.
    public static func train(_ corpus: SpamCorpus, tokenizer: BayesTokenizer, parser: MIMEParser = MIMEParser(),
                             day: UInt32) -> TokenDatabase {
        var database = TokenDatabase(limits: tokenizer.limits)
        for kind in [BayesClass.spam, .ham] {
            for raw in corpus[kind] { database.learn(tokenizer.tokens(of: parser.parse(raw)), as: kind, day: day) }
        }
        return database
    }

    /// Judges every message of `test` against `database` with `engine`; `onVerdict` gets the
    /// class, the index in `test[class]` and the verdict of each.
    public static func judge(_ test: SpamCorpus, engine: SpamEngine, database: TokenDatabase, parser: MIMEParser = MIMEParser(),
                             onVerdict: (BayesClass, Int, SpamVerdict) -> Void = { _, _, _ in }) -> SpamEvaluationResult {
        var result = SpamEvaluationResult()
        for kind in [BayesClass.spam, .ham] {
            for (index, raw) in test[kind].enumerated() {
                let verdict = engine.evaluate(parser.parse(raw), raw: raw, database: database)
                switch kind {
                case .spam:
                    result.spamTotal += 1
                    if verdict.isSpam { result.spamCaught += 1 }
                case .ham:
                    result.hamTotal += 1
                    if verdict.isSpam { result.hamMisjudged += 1 }
                }
                onVerdict(kind, index, verdict)
            }
        }
        return result
    }

    /// `train` then `judge`.
    public static func run(train: SpamCorpus, test: SpamCorpus, engine: SpamEngine, day: UInt32,
                           onVerdict: (BayesClass, Int, SpamVerdict) -> Void = { _, _, _ in }) -> SpamEvaluationResult {
        judge(test, engine: engine, database: self.train(train, tokenizer: engine.tokenizer, day: day), onVerdict: onVerdict)
    }
}
