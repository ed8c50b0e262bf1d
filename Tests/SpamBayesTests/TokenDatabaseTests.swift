import Testing
@testable import SpamBayes

@Suite struct TokenDatabaseTests {
    let a = BayesTokens(["money", "free", "subject:win"])
    let b = BayesTokens(["meeting", "free", "from:domain:example.org"])

    @Test func trainingCountsEachTokenOncePerMessage() {
        var db = TokenDatabase()
        db.learn(a, as: .spam, day: 10)
        db.learn(a, as: .spam, day: 11)
        db.learn(b, as: .ham, day: 12)
        #expect(db.spamMessages == 2)
        #expect(db.hamMessages == 1)
        #expect(db["money"] == TokenCounts(spam: 2, ham: 0, lastUsed: 11))
        #expect(db["free"] == TokenCounts(spam: 2, ham: 1, lastUsed: 12))
        #expect(db["meeting"] == TokenCounts(spam: 0, ham: 1, lastUsed: 12))
        #expect(db["never"] == TokenCounts())
        #expect(db.tokens.count == 5)
    }

    @Test func untrainingReversesTraining() {
        var db = TokenDatabase()
        db.learn(b, as: .ham, day: 1)
        let before = db
        db.learn(a, as: .spam, day: 1)
        db.untrain(a.tokens, as: .spam)
        #expect(db == before)
        // Never below zero: untraining what was never trained clamps and removes empty tokens.
        db.untrain(a.tokens, as: .spam)
        db.untrain(b.tokens, as: .ham)
        db.untrain(b.tokens, as: .ham)
        #expect(db.spamMessages == 0 && db.hamMessages == 0)
        #expect(db.tokens.isEmpty)
    }

    @Test func feedbackMovesAMessageBetweenClasses() {
        var db = TokenDatabase()
        #expect(db.learn(a, as: .spam, id: "m1", day: 1) == .learned)
        #expect(db.learn(a, as: .spam, id: "m1", day: 2) == .alreadyLearned)
        #expect(db.spamMessages == 1)
        #expect(db["money"].spam == 1)
        // "Release" / "not spam": the message becomes ham.
        #expect(db.learn(a, as: .ham, id: "m1", day: 3) == .relearned(from: .spam))
        #expect(db.spamMessages == 0 && db.hamMessages == 1)
        #expect(db["money"] == TokenCounts(spam: 0, ham: 1, lastUsed: 3))
        #expect(db.learned["m1"]?.learnedAs == .ham)
        // Forgetting untrains it.
        let forgotten = db.forget(a, id: "m1")
        let again = db.forget(a, id: "m1")
        #expect(forgotten)
        #expect(!again)
        #expect(db.hamMessages == 0 && db.tokens.isEmpty && db.learned.isEmpty)
    }

    @Test func learnedMessagesAreBounded() {
        var limits = BayesLimits.default
        limits.maxLearnedMessages = 20
        var db = TokenDatabase(limits: limits)
        for k in 0..<50 { db.learn(BayesTokens(["t"]), as: .ham, id: "id\(k)", day: UInt32(k)) }
        #expect(db.learned.count <= 20)
        #expect(db.learned["id49"] != nil)
        #expect(db.learned["id0"] == nil)
        #expect(db.hamMessages == 50)
    }

    @Test func pruningDropsRareOldTokensFirstAndBoundsTheSize() {
        var db = TokenDatabase()
        db.train(["old-rare"], as: .spam, day: 1)
        db.train(["old-common", "new-rare"], as: .spam, day: 1)
        db.train(["old-common"], as: .ham, day: 1)
        db.train(["new-rare"], as: .ham, day: 100)  // new-rare: seen twice, used on day 100
        db.train(["fresh"], as: .ham, day: 100)
        #expect(db.prune(olderThan: 50) == 1)
        #expect(db.tokens["old-rare"] == nil)
        #expect(Set(db.tokens.keys) == ["old-common", "new-rare", "fresh"])
        // Over the bound: least recently used go first, then the rarest.
        #expect(db.prune(olderThan: 0, maxTokens: 2) == 1)
        #expect(Set(db.tokens.keys) == ["new-rare", "fresh"])
        #expect(db.prune(olderThan: 0, maxTokens: 1) == 1)
        #expect(Set(db.tokens.keys) == ["new-rare"])  // same day: "fresh" (1 message) before "new-rare" (2)
        // Touching keeps tokens alive.
        db.touch(["new-rare"], day: 200)
        #expect(db["new-rare"].lastUsed == 200)
    }
}
