// BayesUsageTests.swift — the tokens verdicts used, and the database's upkeep
// (Sources/SpamBayes/BayesUsage.swift).

import Glibc
import Testing
@testable import SpamBayes

@Suite("Bayes upkeep: tokens used by verdicts, touch and prune")
struct BayesUsageTests {
    static func evidence(_ tokens: [String]) -> [BayesEvidence] {
        tokens.map { BayesEvidence(token: $0, probability: 0.9, spamCount: 1, hamCount: 0) }
    }

    @Test func noteRemembersDistinctTokensUntilTaken() {
        let usage = BayesUsage()
        usage.note(Self.evidence(["a", "b"]))
        usage.note(Self.evidence(["b", "c"]))
        #expect(usage.count == 3)
        #expect(Set(usage.take()) == ["a", "b", "c"])
        #expect(usage.count == 0)
        #expect(usage.take().isEmpty)
    }

    @Test func noteIsBounded() {
        let usage = BayesUsage(limit: 10)
        usage.note(Self.evidence((0..<100).map { "t\($0)" }))
        #expect(usage.count == 10)
    }

    /// A database with tokens of known age: day 100 is long ago, day 195 recent, today is 200.
    static func database() -> TokenDatabase {
        var db = TokenDatabase()
        db.train(["old-rare", "old-rare-used"], as: .spam, day: 100)
        for _ in 0..<3 { db.train(["old-common"], as: .ham, day: 100) }
        db.train(["fresh"], as: .ham, day: 195)
        return db
    }

    @Test func maintenanceMarksUsedTokensAndPrunesRareOldOnes() throws {
        let store = BayesStore(path: temporaryDirectory() + "/tokens.db")
        try store.save(Self.database())
        let done = try #require(try store.maintain(used: ["old-rare-used", "not-in-the-database"], today: 200, pruneDays: 60))
        #expect(done == BayesMaintenance(touched: 1, pruned: 1, remaining: 3))
        let after = try #require(try store.load())
        #expect(after.tokens["old-rare"] == nil)                       // seen once, unused for 100 days
        #expect(after.tokens["old-rare-used"]?.lastUsed == 200)        // a verdict used it: kept
        #expect(after.tokens["old-common"] != nil)                     // seen in three messages: kept
        #expect(after.tokens["fresh"] != nil)                          // seen 5 days ago: kept
        // A second run the same day changes nothing more.
        #expect(try store.maintain(used: ["old-rare-used"], today: 200, pruneDays: 60) == BayesMaintenance(touched: 0, pruned: 0, remaining: 3))
    }

    @Test func zeroPruneDaysKeepsOldTokens() throws {
        let store = BayesStore(path: temporaryDirectory() + "/tokens.db")
        try store.save(Self.database())
        #expect(try store.maintain(used: [], today: 200, pruneDays: 0) == BayesMaintenance(touched: 0, pruned: 0, remaining: 4))
    }

    @Test func withoutADatabaseNothingIsWritten() throws {
        let dir = temporaryDirectory()
        let store = BayesStore(path: dir + "/tokens.db")
        #expect(try store.maintain(used: ["a"], today: 200, pruneDays: 60) == nil)
        #expect(access(dir + "/tokens.db", F_OK) != 0)
    }

    @Test func theSummaryCountsTokensByAgeOfLastUse() {
        var db = Self.database()
        db.train(["today"], as: .spam, day: 200)
        let summary = BayesDatabaseSummary(db, today: 200)
        #expect(summary.tokens == 5)
        #expect(summary.rareTokens == 4)                    // all but old-common
        #expect(summary.usedToday == 1)
        #expect(summary.usedWithin7Days == 1)               // fresh, day 195
        #expect(summary.usedLongerAgo == 3)                 // day 100
        #expect(summary.usedWithin30Days == 0 && summary.usedWithin90Days == 0)
    }

    @Test func upkeepDoesNotWaitForATrainerAndDoesNotRewriteAnUnchangedFile() throws {
        let path = temporaryDirectory() + "/tokens.db"
        let store = BayesStore(path: path)
        try store.save(Self.database())
        var before = stat()
        #expect(stat(path, &before) == 0)
        // Nothing to touch or prune: the file (and so the node's loaded copy) stays as it is.
        #expect(try store.maintain(used: ["fresh"], today: 196, pruneDays: 0) == BayesMaintenance(touched: 1, pruned: 0, remaining: 4))
        var touched = stat()
        #expect(stat(path, &touched) == 0)
        #expect(try store.maintain(used: [], today: 196, pruneDays: 0) == BayesMaintenance(touched: 0, pruned: 0, remaining: 4))
        var after = stat()
        #expect(stat(path, &after) == 0)
        #expect(after.st_ino == touched.st_ino && after.st_mtim.tv_nsec == touched.st_mtim.tv_nsec)
        #expect(touched.st_ino != before.st_ino)             // the first run did save (a new file)
        // A trainer holds the lock: the upkeep says so at once instead of waiting.
        let lock = open(path + ".lock", O_RDWR | O_CREAT, 0o600)
        defer { close(lock) }
        #expect(flock(lock, LOCK_EX) == 0)
        #expect(throws: BayesStoreError.busy(path: path)) { try store.maintain(used: ["old-rare"], today: 200, pruneDays: 60) }
        #expect(flock(lock, LOCK_UN) == 0)
        #expect(try store.maintain(used: ["old-rare"], today: 200, pruneDays: 60) != nil)
    }

    @Test func tokensGivenBackAreNotedAgain() {
        let usage = BayesUsage(limit: 3)
        usage.add(["a", "b"])
        usage.add(["b", "c", "d"])
        #expect(Set(usage.take()) == ["a", "b", "c"])
    }
}
