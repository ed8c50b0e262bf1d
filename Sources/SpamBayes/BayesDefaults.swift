// BayesDefaults.swift — every limit and tuning constant of the Bayesian classifier, in one place.
//
// What it does: `BayesLimits` bounds tokenizing, the token database and its store file;
// `BayesParameters` holds the constants of Robinson's f(w) and Fisher's combining. Nothing else
// in the target hard-codes a limit or a constant.
//
// Diagnostics: a limit reached while tokenizing cuts the token list (`BayesTokens.truncated`);
// a limit reached while loading a store is a `BayesStoreError`; the database never grows past
// `maxTokens` after `prune`.
//
// Security notes: messages come from anyone and the store file from disk. Every limit names the
// attack it stops. The constants follow Gary Robinson, "A Statistical Approach to the Spam
// Problem", Linux Journal 107 (2003), and SpamBayes' `chi2_spamprob` (spambayes/classifier.py);
// values differing from theirs were measured on the shared corpus (docs/spam.md).

/// The bounds of tokenizing, training and storing. Use `BayesLimits.default` unless a policy says otherwise.
public struct BayesLimits: Sendable, Hashable {
    // MARK: Tokenizing (per message)

    /// Most distinct tokens taken from one message (header tokens first, then body, URLs, HTML).
    ///
    /// Stops: memory and time exhaustion, and database bloat, by a message of a million distinct
    /// words; later tokens are dropped and `BayesTokens.truncated` is set.
    public var maxTokensPerMessage: Int = 3_000

    /// Most bytes of visible body text tokenized per message (all parts together).
    ///
    /// Stops: time exhaustion by a huge body; the first bytes carry the signal.
    public var maxBodyBytes: Int = 200_000

    /// Shortest body or subject word kept, in Unicode scalars (shorter ones carry no signal:
    /// "a", "of", "to").
    public var minWordLength: Int = 3

    /// Longest word kept as itself, in Unicode scalars; longer ones become one
    /// `skip:<first letter> <length rounded down to 10>` token (SpamBayes' `skip_max_word_size`).
    ///
    /// Stops: database bloat by random strings (hashes, base64 left in text), each of which would
    /// otherwise be a token seen once.
    public var maxWordLength: Int = 20

    /// Most URLs of one message tokenized.
    ///
    /// Stops: a body of nothing but links filling the token budget with URL tokens.
    public var maxURLs: Int = 100

    /// Most Received fields tokenized (the top ones: the hops nearest to us).
    public var maxReceivedFields: Int = 12

    /// Most distinct header names turned into `header:NAME` tokens.
    ///
    /// Stops: a header of thousands of invented field names filling the token budget.
    public var maxHeaderNames: Int = 100

    /// Most distinct HTML tag names turned into `html:tag:NAME` tokens.
    public var maxHTMLTags: Int = 60

    /// Most bytes of HTML source scanned for tag names (per message).
    public var maxHTMLBytes: Int = 500_000

    /// Longest token stored, in bytes; longer tokens (long host names, header values) are cut
    /// at a UTF-8 character boundary.
    ///
    /// Stops: store bloat by tokens of kilobytes.
    public var maxTokenBytes: Int = 96

    // MARK: Database and store

    /// Most tokens kept in the database after `TokenDatabase.prune`.
    ///
    /// Stops: unbounded growth of the database (and of the store file) over months of training.
    /// SpamAssassin's `bayes_expiry_max_db_size` is 150,000; tokens are small here.
    public var maxTokens: Int = 500_000

    /// Most learned-message identifiers remembered (what makes training idempotent and lets
    /// feedback move a message from spam to ham); the oldest are forgotten first.
    public var maxLearnedMessages: Int = 200_000

    /// Largest message file read by `gatehouse spam train|eval|learn|score` (what the node accepts,
    /// GatehouseCore's `Defaults.messageSize`, is 50 MiB).
    ///
    /// Stops: memory exhaustion by a huge or endless file (a device, a growing log) in a training folder.
    public var maxMessageFileBytes: Int = 50 * 1024 * 1024

    /// Most messages read from one folder by `gatehouse spam train|eval` (eval holds both corpora in memory).
    ///
    /// Stops: memory exhaustion by a folder of millions of files given by mistake.
    public var maxFolderMessages: Int = 200_000

    /// Largest store file read, in bytes.
    ///
    /// Stops: memory exhaustion by a damaged or hostile store file claiming billions of tokens.
    public var maxStoreBytes: Int = 256 * 1024 * 1024

    public init() {}

    /// The defaults.
    public static let `default` = BayesLimits()
}

/// The constants of the classifier.
public struct BayesParameters: Sendable, Hashable {
    /// Robinson's s: the strength of the prior `x` against the evidence of a token's counts
    /// (the number of messages it is "worth"). Robinson suggests 1.
    public var strength: Double = 1.0

    /// Robinson's x: the probability assumed for a token never seen (0.5: no evidence).
    public var unknownProbability: Double = 0.5

    /// Tokens whose |f(w) − 0.5| is below this are left out of the combining (they carry almost
    /// no evidence and only dilute it). SpamBayes' `minimum_prob_strength` is 0.1.
    public var minimumStrength: Double = 0.1

    /// Most tokens combined: the most significant ones (largest |f(w) − 0.5|). SpamBayes and
    /// SpamAssassin use 150.
    public var maxSignificantTokens: Int = 150

    /// Fewest spam and fewest ham messages trained before the classifier gives a result
    /// (SpamAssassin's `bayes_min_spam_num` and `bayes_min_ham_num` are 200).
    public var minimumSpamMessages: Int = 200
    public var minimumHamMessages: Int = 200

    public init() {}

    /// The defaults.
    public static let `default` = BayesParameters()
}
