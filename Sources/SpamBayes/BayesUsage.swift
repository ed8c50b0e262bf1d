// BayesUsage.swift — which tokens the node's verdicts used, and the periodic upkeep of the token
// database: marking those tokens as used (`TokenDatabase.touch`) and pruning rare tokens nobody
// used for a long time (`TokenDatabase.prune`), as SpamAssassin's token expiry does from its
// atime records (Mail::SpamAssassin::BayesStore, `bayes_expiry_*`).
//
// Scanning must not write the database for every message: the tokens a verdict combined are noted
// in memory (bounded by `BayesLimits.maxTokens`; beyond that further tokens are not noted, which
// can only make pruning drop a rare token a little earlier) and `BayesStore.maintain` applies them
// in one locked update now and then.
import Glibc
import Synchronization

/// The tokens that verdicts combined since the last `take()`. Thread-safe; shared by every scan.
public final class BayesUsage: Sendable {
    private let noted = Mutex<Set<String>>([])
    /// Most distinct tokens remembered between two maintenance runs.
    public let limit: Int

    public init(limit: Int = BayesLimits.default.maxTokens) {
        self.limit = limit
    }

    /// Notes the tokens a verdict combined (`BayesScore.evidence`).
    public func note(_ evidence: [BayesEvidence]) {
        add(evidence.map(\.token))
    }

    /// Notes tokens again (an upkeep that could not run gives back what it took).
    public func add(_ tokens: [String]) {
        noted.withLock { set in
            for token in tokens where set.count < limit { set.insert(token) }
        }
    }

    /// The tokens noted so far, which are forgotten here.
    public func take() -> [String] {
        noted.withLock { set in
            let tokens = Array(set)
            set = []
            return tokens
        }
    }

    /// How many distinct tokens are noted now.
    public var count: Int { noted.withLock { $0.count } }
}

/// What one maintenance run did.
public struct BayesMaintenance: Sendable, Hashable {
    /// Tokens whose last-used day moved to today.
    public var touched: Int
    /// Tokens dropped by pruning.
    public var pruned: Int
    /// Tokens in the database afterwards.
    public var remaining: Int
}

extension BayesStore {
    /// Marks `used` as used on `today`, then prunes tokens seen in at most one message and unused for
    /// `pruneDays` days (0: no pruning by age) and, beyond `BayesLimits.maxTokens`, the least
    /// recently used. One locked read-modify-write, saved only if something changed (so readers
    /// do not reload an unchanged file). Returns nil, writing nothing, when there is no database
    /// yet; throws `.busy` rather than wait while another writer (training) holds the lock.
    public func maintain(used: [String], today: UInt32 = BayesStore.today, pruneDays: Int) throws(BayesStoreError) -> BayesMaintenance? {
        guard access(path, F_OK) == 0 else { return nil }
        return try locked(wait: false) { database in
            let touched = database.touch(used, day: today)
            let oldest = pruneDays > 0 && UInt32(pruneDays) < today ? today - UInt32(pruneDays) : 0
            let pruned = database.prune(olderThan: oldest)
            return (BayesMaintenance(touched: touched, pruned: pruned, remaining: database.tokens.count), touched > 0 || pruned > 0)
        }
    }
}

/// What is in a token database, for administrators (`gatehouse spam stats`): its size, what it was
/// trained on, and how recently its tokens were used — what the upkeep's pruning works on.
public struct BayesDatabaseSummary: Sendable, Hashable, Codable {
    public var tokens: Int
    public var spamMessages: Int
    public var hamMessages: Int
    /// Messages remembered as learned (what makes learning a message again a no-op).
    public var learnedMessages: Int
    /// Tokens seen in one message only: the ones pruning drops once unused for long.
    public var rareTokens: Int
    /// Tokens by the age of their last use (training or a verdict), in days before `today`.
    public var usedToday: Int
    public var usedWithin7Days: Int
    public var usedWithin30Days: Int
    public var usedWithin90Days: Int
    public var usedLongerAgo: Int
    public var tokenizerVersion: Int

    public init(_ database: TokenDatabase, today: UInt32 = BayesStore.today) {
        tokens = database.tokens.count
        spamMessages = Int(database.spamMessages)
        hamMessages = Int(database.hamMessages)
        learnedMessages = database.learned.count
        tokenizerVersion = Int(database.tokenizerVersion)
        var rare = 0, day0 = 0, day7 = 0, day30 = 0, day90 = 0, older = 0
        for counts in database.tokens.values {
            if counts.total <= 1 { rare += 1 }
            let age = counts.lastUsed >= today ? 0 : today - counts.lastUsed
            switch age {
            case 0: day0 += 1
            case 1...7: day7 += 1
            case 8...30: day30 += 1
            case 31...90: day90 += 1
            default: older += 1
            }
        }
        (rareTokens, usedToday, usedWithin7Days, usedWithin30Days, usedWithin90Days, usedLongerAgo) = (rare, day0, day7, day30, day90, older)
    }
}
