// SpamEngine.swift — the full content engine: rule score plus the Bayes contribution, against a threshold.
//
// What it does: scans a parsed message with a `RuleMatcher` (SpamRules), tokenizes it and asks the
// classifier, turns the classifier's probability into a score through buckets (as SpamAssassin's
// BAYES_00 … BAYES_999 rules do, Mail::SpamAssassin 50_scores.cf), adds it to the rule score and
// compares the sum with the threshold (5.0 by default, SpamAssassin's `required_score`).
//
// The bucket scores (`SpamScoring.defaultBuckets`) were chosen on the shared corpus, where our
// default rule pack alone scores spam at 1.5 on average (docs/performance.md), by a grid search
// over monotone bucket scores with 5-fold cross-validation (docs/spam.md; chosen on the same folds
// they are measured on, so the figures there are optimistic): a message the classifier is sure of
// (≥ 0.99) is spam on Bayes alone, one at 0.95–0.99 needs half a point from the rules, 0.8–0.95
// one and a half, and a message it is sure is ham (< 0.01) takes 1.5 points off, so that one rule
// misfiring on ham does not make it spam. SpamAssassin caps Bayes at 3.5–3.7 because its hundreds
// of rules carry the rest; our pack is small, so Bayes carries more here.
//
// Diagnostics: `SpamVerdict` keeps the rule hits, the Bayes result with its evidence tokens and the
// bucket; a database not trained enough gives no Bayes contribution (`bayes == nil`).
//
// Security notes: pure; `RuleMatcher` is immutable and Sendable, and the database is a value
// snapshot, so one engine serves every session.
public import MIME
public import SpamRules
internal import GatehouseCore

/// One range of the classifier's probability and the score it adds.
public struct BayesBucket: Sendable, Hashable, CustomStringConvertible {
    /// A SpamAssassin-style name ("BAYES_99").
    public var name: String
    /// Smallest probability in the bucket (the bucket ends where the next one starts).
    public var lowerBound: Double
    public var score: Double

    public init(name: String, lowerBound: Double, score: Double) {
        self.name = name
        self.lowerBound = lowerBound
        self.score = score
    }

    public var description: String { "\(name) (\(score))" }
}

/// How the rule score and the classifier's probability make a verdict.
public struct SpamScoring: Sendable, Hashable {
    /// Score at or above which a message is spam (SpamAssassin's `required_score`).
    public var threshold: Double = 5.0
    /// Buckets by ascending lower bound; the first starts at 0.
    public var buckets: [BayesBucket] = SpamScoring.defaultBuckets

    public init() {}

    /// The default buckets (SpamAssassin's ranges, our scores: see the file comment).
    public static let defaultBuckets: [BayesBucket] = [
        BayesBucket(name: "BAYES_00", lowerBound: 0.00, score: -1.5),
        BayesBucket(name: "BAYES_05", lowerBound: 0.01, score: -0.5),
        BayesBucket(name: "BAYES_20", lowerBound: 0.05, score: 0),
        BayesBucket(name: "BAYES_40", lowerBound: 0.20, score: 0),
        BayesBucket(name: "BAYES_50", lowerBound: 0.40, score: 0.8),
        BayesBucket(name: "BAYES_60", lowerBound: 0.60, score: 2.0),
        BayesBucket(name: "BAYES_80", lowerBound: 0.80, score: 3.5),
        BayesBucket(name: "BAYES_95", lowerBound: 0.95, score: 4.5),
        BayesBucket(name: "BAYES_99", lowerBound: 0.99, score: 5.0),
        BayesBucket(name: "BAYES_999", lowerBound: 0.999, score: 5.0),
    ]

    public static let `default` = SpamScoring()

    /// The bucket `probability` falls in.
    public func bucket(for probability: Double) -> BayesBucket? {
        buckets.last { probability >= $0.lowerBound }
    }
}

/// The verdict on one message.
public struct SpamVerdict: Sendable {
    /// Rule score plus the Bayes bucket's score.
    public var score: Double
    public var threshold: Double
    /// What the rules found.
    public var rules: RuleScanResult
    /// What the classifier found (nil: database not trained enough, or none given).
    public var bayes: BayesResult?
    /// The bucket of `bayes.probability`.
    public var bucket: BayesBucket?
    /// The message's tokens (what feedback trains with).
    public var tokens: BayesTokens

    /// Whether the message is spam.
    public var isSpam: Bool { score >= threshold }
}

/// Rules and Bayes together. Immutable and thread-safe.
public struct SpamEngine: Sendable {
    public let matcher: RuleMatcher
    public var tokenizer: BayesTokenizer
    public var classifier: BayesClassifier
    public var scoring: SpamScoring

    public init(matcher: RuleMatcher, tokenizer: BayesTokenizer = BayesTokenizer(), classifier: BayesClassifier = BayesClassifier(),
                scoring: SpamScoring = .default) {
        self.matcher = matcher
        self.tokenizer = tokenizer
        self.classifier = classifier
        self.scoring = scoring
    }

    /// With Gatehouse's default rule pack.
    public init(tokenizer: BayesTokenizer = BayesTokenizer(), classifier: BayesClassifier = BayesClassifier(),
                scoring: SpamScoring = .default) throws(RulePackError) {
        self.init(matcher: try DefaultRules.matcher(), tokenizer: tokenizer, classifier: classifier, scoring: scoring)
    }

    /// The verdict on `message` (parsed from `raw`) against `database`.
    public func evaluate(_ message: MIMEMessage, raw: [UInt8], database: TokenDatabase?) -> SpamVerdict {
        let rules = matcher.scan(message, raw: raw)
        let tokens = tokenizer.tokens(of: message)
        let bayes = database.flatMap { classifier.classify(tokens, database: $0) }
        let bucket = bayes.flatMap { scoring.bucket(for: $0.probability) }
        return SpamVerdict(score: RuleScore.sum(rules.score + (bucket?.score ?? 0)), threshold: scoring.threshold, rules: rules, bayes: bayes,
                           bucket: bucket, tokens: tokens)
    }
}
