// BayesFilter.swift — the classifier as the node uses it: a trained database loaded once, and
// the score it adds to the rule score.
//
// What it does: `BayesFilter.load(path:)` reads the token database a node was trained with
// (`gatehouse spam train` writes it to `<data dir>/bayes/tokens.db`, `BayesStore.path(inDataDirectory:)`),
// and `score(_:)` turns a parsed message into the classifier's spam probability and the bucket
// whose score is added to the rule score (`SpamScoring`, SpamAssassin's BAYES_00 … BAYES_999).
//
// Diagnostics: a missing file is `nil` (the node runs on rules alone); a damaged, truncated,
// oversized, newer-format or wrong-tokenizer file is a `BayesStoreError` naming why. A database
// not yet trained on `BayesParameters.minimumSpamMessages` spam and `minimumHamMessages` ham
// scores nothing (`score` returns nil).
//
// Security notes: the filter is an immutable value: one instance serves every session without a
// lock. Reading is bounded by `BayesLimits.maxStoreBytes` and every count in the file is checked
// against the bytes present (BayesStore.swift). Evidence tokens are words of the message: keep
// them out of logs (the bucket name and probability are enough for a decision trace).
public import MIME

/// What the classifier says about one message.
public struct BayesScore: Sendable, Hashable {
    /// The combined indicator I in [0, 1] (near 1: spam), Robinson–Fisher.
    public var probability: Double
    /// The bucket `probability` falls in: its `name` ("BAYES_99") and the `score` to add to the rule score.
    public var bucket: BayesBucket
    /// The tokens combined, strongest first (words of the message: not for logs).
    public var evidence: [BayesEvidence]
}

/// A trained classifier, loaded once and shared by every scan. Immutable and `Sendable`.
///
/// ```swift
/// let path = BayesStore.path(inDataDirectory: dataDirectory)     // <data>/bayes/tokens.db
/// let filter = try BayesFilter.load(path: path)                  // nil: not trained yet
/// if let score = filter?.score(message) {                        // nil: too few messages trained
///     ruleScore += score.bucket.score                            // e.g. BAYES_99 adds 5.0
/// }
/// ```
///
/// The classifier is Gary Robinson's f(w) with Fisher's combining ("A Statistical Approach to the
/// Spam Problem", Linux Journal 107, 2003; SpamBayes' `chi2_spamprob`); the buckets are
/// SpamAssassin's ranges (Mail::SpamAssassin 23_bayes.cf) with scores chosen for Gatehouse's rule
/// pack (docs/spam.md).
public struct BayesFilter: Sendable {
    public let database: TokenDatabase
    public let tokenizer: BayesTokenizer
    public let classifier: BayesClassifier
    public let scoring: SpamScoring

    public init(database: TokenDatabase, tokenizer: BayesTokenizer = BayesTokenizer(), classifier: BayesClassifier = BayesClassifier(),
                scoring: SpamScoring = .default) {
        self.database = database
        self.tokenizer = tokenizer
        self.classifier = classifier
        self.scoring = scoring
    }

    /// Loads the database at `path`.
    ///
    /// - Returns: nil if there is no file (not trained yet).
    /// - Throws: `BayesStoreError` if the file cannot be read, is larger than
    ///   `limits.maxStoreBytes`, is damaged or cut short (`.damaged(reason:)`), was written by a
    ///   newer format, or was trained with another tokenizer version (`.tokenizerVersion`: retrain).
    public static func load(path: String, limits: BayesLimits = .default, parameters: BayesParameters = .default,
                            scoring: SpamScoring = .default) throws(BayesStoreError) -> BayesFilter? {
        guard let database = try BayesStore(path: path, limits: limits).load() else { return nil }
        guard database.tokenizerVersion == BayesTokenizer.version else {
            throw .tokenizerVersion(stored: database.tokenizerVersion, current: BayesTokenizer.version)
        }
        return BayesFilter(database: database, tokenizer: BayesTokenizer(limits: limits), classifier: BayesClassifier(parameters: parameters),
                           scoring: scoring)
    }

    /// Whether the database holds enough spam and ham to give scores.
    public var isReady: Bool { classifier.isReady(database) }

    /// The spam probability of `message` and its bucket; nil while the database is not trained enough.
    public func score(_ message: MIMEMessage) -> BayesScore? {
        score(tokenizer.tokens(of: message))
    }

    /// The same, for tokens already made by `tokenizer`.
    public func score(_ tokens: BayesTokens) -> BayesScore? {
        guard let result = classifier.classify(tokens, database: database), let bucket = scoring.bucket(for: result.probability) else {
            return nil
        }
        return BayesScore(probability: result.probability, bucket: bucket, evidence: result.evidence)
    }
}
