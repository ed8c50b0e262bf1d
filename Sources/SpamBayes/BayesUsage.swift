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
        noted.withLock { set in
            for item in evidence where set.count < limit { set.insert(item.token) }
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
    /// recently used. One locked read-modify-write (`update`). Returns nil, writing nothing, when
    /// there is no database yet.
    public func maintain(used: [String], today: UInt32 = BayesStore.today, pruneDays: Int) throws(BayesStoreError) -> BayesMaintenance? {
        guard access(path, F_OK) == 0 else { return nil }
        return try update { database in
            let touched = database.touch(used, day: today)
            let oldest = pruneDays > 0 && UInt32(pruneDays) < today ? today - UInt32(pruneDays) : 0
            let pruned = database.prune(olderThan: oldest)
            return BayesMaintenance(touched: touched, pruned: pruned, remaining: database.tokens.count)
        }
    }
}
