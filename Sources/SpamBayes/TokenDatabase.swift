// TokenDatabase.swift — what training has seen: per token, in how many spam and ham messages.
//
// What it does: counts each token once per message (Graham's and Robinson's scheme), keeps the
// number of spam and ham messages trained, and remembers which message was learned as what, so
// that learning the same message twice is a no-op and feedback ("release", "not spam") moves a
// message from spam to ham by untraining it and training it again. `prune` keeps the database
// within `BayesLimits.maxTokens`, dropping rare old tokens first (SpamAssassin's token expiry,
// Mail::SpamAssassin::BayesStore, without its atime estimation).
//
// Diagnostics: untraining never takes a count below zero (a count that would go negative means
// the message was trained under another tokenizer version; it is clamped, not thrown).
//
// Security notes: a value type with no I/O; the store (BayesStore.swift) writes it. Time is
// passed in as a day number, so tests and tools decide what "now" is.

/// Spam or ham.
public enum BayesClass: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case ham = 0
    case spam = 1

    public var description: String { self == .spam ? "spam" : "ham" }
}

/// The counts of one token.
public struct TokenCounts: Sendable, Hashable {
    /// Spam messages trained that had the token.
    public var spam: UInt32
    /// Ham messages trained that had the token.
    public var ham: UInt32
    /// The day (days since 1970-01-01) the token was last trained or used in a verdict.
    public var lastUsed: UInt32

    public init(spam: UInt32 = 0, ham: UInt32 = 0, lastUsed: UInt32 = 0) {
        self.spam = spam
        self.ham = ham
        self.lastUsed = lastUsed
    }

    public var total: UInt64 { UInt64(spam) + UInt64(ham) }
}

/// What `TokenDatabase.learn` did.
public enum BayesLearnOutcome: Sendable, Hashable {
    /// The message was trained.
    case learned
    /// The message had already been learned as this class: nothing changed.
    case alreadyLearned
    /// The message had been learned as the other class: it was untrained and trained again.
    case relearned(from: BayesClass)
}

/// The token database: counts, message totals, and the messages learned. A value; thread-safe to read.
public struct TokenDatabase: Sendable, Hashable {
    /// Token counts.
    public internal(set) var tokens: [String: TokenCounts] = [:]
    /// Spam messages trained.
    public internal(set) var spamMessages: UInt32 = 0
    /// Ham messages trained.
    public internal(set) var hamMessages: UInt32 = 0
    /// Identifier of each message learned (e.g. a SHA-256 of the message), with its class and day.
    public internal(set) var learned: [String: LearnedMessage] = [:]
    /// The tokenizer version the counts were made with (`BayesTokenizer.version`).
    public internal(set) var tokenizerVersion: UInt32

    public let limits: BayesLimits

    /// A message that was learned.
    public struct LearnedMessage: Sendable, Hashable {
        public var learnedAs: BayesClass
        public var day: UInt32
    }

    public init(limits: BayesLimits = .default, tokenizerVersion: UInt32 = BayesTokenizer.version) {
        self.limits = limits
        self.tokenizerVersion = tokenizerVersion
    }

    /// Messages trained as `kind`.
    public func messages(_ kind: BayesClass) -> UInt32 { kind == .spam ? spamMessages : hamMessages }

    /// The counts of `token` (zero if never seen).
    public subscript(token: String) -> TokenCounts { tokens[token] ?? TokenCounts() }

    // MARK: Training

    /// Trains `tokens` (distinct) as one message of class `kind`. Without an `id`, the message
    /// is always counted; with one, a message already learned as `kind` is not counted again and
    /// one learned as the other class is moved.
    @discardableResult
    public mutating func learn(_ tokens: BayesTokens, as kind: BayesClass, id: String? = nil, day: UInt32) -> BayesLearnOutcome {
        var outcome = BayesLearnOutcome.learned
        if let id, let previous = learned[id] {
            if previous.learnedAs == kind { return .alreadyLearned }
            untrain(tokens.tokens, as: previous.learnedAs)
            outcome = .relearned(from: previous.learnedAs)
        }
        train(tokens.tokens, as: kind, day: day)
        if let id {
            if learned[id] == nil && learned.count >= limits.maxLearnedMessages { forgetOldestLearned() }
            learned[id] = LearnedMessage(learnedAs: kind, day: day)
        }
        return outcome
    }

    /// Untrains a message learned under `id` (with the same tokens). False if `id` is unknown.
    @discardableResult
    public mutating func forget(_ tokens: BayesTokens, id: String) -> Bool {
        guard let previous = learned.removeValue(forKey: id) else { return false }
        untrain(tokens.tokens, as: previous.learnedAs)
        return true
    }

    /// Counts `tokens` as one more message of class `kind`.
    public mutating func train(_ tokens: [String], as kind: BayesClass, day: UInt32) {
        switch kind {
        case .spam: spamMessages &+= 1
        case .ham: hamMessages &+= 1
        }
        for token in tokens {
            var counts = self.tokens[token] ?? TokenCounts()
            switch kind {
            case .spam: counts.spam = counts.spam &+ 1
            case .ham: counts.ham = counts.ham &+ 1
            }
            counts.lastUsed = max(counts.lastUsed, day)
            self.tokens[token] = counts
        }
    }

    /// Removes one message of class `kind` with `tokens`; counts never go below zero, and a
    /// token left with no count is removed.
    public mutating func untrain(_ tokens: [String], as kind: BayesClass) {
        switch kind {
        case .spam: spamMessages = spamMessages > 0 ? spamMessages - 1 : 0
        case .ham: hamMessages = hamMessages > 0 ? hamMessages - 1 : 0
        }
        for token in tokens {
            guard var counts = self.tokens[token] else { continue }
            switch kind {
            case .spam: counts.spam = counts.spam > 0 ? counts.spam - 1 : 0
            case .ham: counts.ham = counts.ham > 0 ? counts.ham - 1 : 0
            }
            self.tokens[token] = counts.total == 0 ? nil : counts
        }
    }

    /// Marks `tokens` as used on `day` (a verdict used them), so that pruning keeps them.
    /// Returns how many tokens of the database it moved to `day`.
    @discardableResult
    public mutating func touch(_ tokens: [String], day: UInt32) -> Int {
        var moved = 0
        for token in tokens {
            guard var counts = self.tokens[token], counts.lastUsed < day else { continue }
            counts.lastUsed = day
            self.tokens[token] = counts
            moved += 1
        }
        return moved
    }

    private mutating func forgetOldestLearned() {
        // Rare (only at the bound): drop the oldest tenth in one pass.
        let drop = max(1, learned.count / 10)
        let oldest = learned.sorted { ($0.value.day, $0.key) < ($1.value.day, $1.key) }.prefix(drop)
        for (key, _) in oldest { learned[key] = nil }
    }

    // MARK: Pruning

    /// Drops rare old tokens: first every token seen in at most `rareCount` messages and not
    /// used since `olderThan` (a day number), then, while more than `maxTokens` remain, the
    /// least recently used (fewest messages first among equals). Returns how many were dropped.
    @discardableResult
    public mutating func prune(olderThan day: UInt32, rareCount: UInt64 = 1, maxTokens: Int? = nil) -> Int {
        let bound = maxTokens ?? limits.maxTokens
        let before = tokens.count
        tokens = tokens.filter { !($0.value.total <= rareCount && $0.value.lastUsed < day) }
        if tokens.count > bound {
            let ordered = tokens.sorted { a, b in
                (a.value.lastUsed, a.value.total, a.key) < (b.value.lastUsed, b.value.total, b.key)
            }
            for (token, _) in ordered.prefix(tokens.count - bound) { tokens[token] = nil }
        }
        return before - tokens.count
    }
}
