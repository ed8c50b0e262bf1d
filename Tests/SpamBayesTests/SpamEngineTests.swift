import Testing
import MIME
import SpamRules
@testable import SpamBayes

@Suite struct SpamEngineTests {
    /// Parameters for a handful of training messages (the product waits for 200 of each).
    static let small: BayesParameters = {
        var p = BayesParameters()
        p.minimumSpamMessages = 2
        p.minimumHamMessages = 2
        return p
    }()

    @Test func bucketsCoverZeroToOne() {
        let scoring = SpamScoring.default
        #expect(scoring.threshold == 5.0)
        #expect(scoring.bucket(for: 0)?.name == "BAYES_00")
        #expect(scoring.bucket(for: 0.0099)?.name == "BAYES_00")
        #expect(scoring.bucket(for: 0.01)?.name == "BAYES_05")
        #expect(scoring.bucket(for: 0.5)?.name == "BAYES_50")
        #expect(scoring.bucket(for: 0.995)?.name == "BAYES_99")
        #expect(scoring.bucket(for: 1)?.name == "BAYES_999")
        // Ascending bounds and scores that never fall as the probability rises.
        let buckets = scoring.buckets
        #expect(buckets.first?.lowerBound == 0)
        for (a, b) in zip(buckets, buckets.dropFirst()) {
            #expect(a.lowerBound < b.lowerBound)
            #expect(a.score <= b.score)
        }
        // Certain spam is spam on Bayes alone; certain ham takes points off.
        #expect(scoring.bucket(for: 0.9999)!.score >= scoring.threshold)
        #expect(scoring.bucket(for: 0.001)!.score < 0)
    }

    @Test func verdictAddsRulesAndBayes() throws {
        let train = SpamCorpus(spam: fixtureMessages("eval/train/spam"), ham: fixtureMessages("eval/train/ham"))
        #expect(train.spam.count == 6 && train.ham.count == 6)
        let engine = try SpamEngine(classifier: BayesClassifier(parameters: Self.small))
        let database = SpamEvaluation.train(train, tokenizer: engine.tokenizer, day: 1)
        #expect(database.spamMessages == 6 && database.hamMessages == 6)

        let spam = fixtureMessages("eval/test/spam")[0]
        let verdict = engine.evaluate(MIMEParser().parse(spam), raw: spam, database: database)
        let bayes = try #require(verdict.bayes)
        #expect(bayes.probability > 0.9)
        #expect(bayes.evidence.contains { $0.token == "prize" })
        #expect(verdict.bucket == engine.scoring.bucket(for: bayes.probability))
        #expect(verdict.score == verdict.rules.score + verdict.bucket!.score)

        let ham = fixtureMessages("eval/test/ham")[0]
        let hamVerdict = engine.evaluate(MIMEParser().parse(ham), raw: ham, database: database)
        #expect(try #require(hamVerdict.bayes).probability < 0.1)
        #expect(!hamVerdict.isSpam)

        // Without a trained database the rules decide alone.
        let untrained = engine.evaluate(MIMEParser().parse(spam), raw: spam, database: TokenDatabase())
        #expect(untrained.bayes == nil && untrained.bucket == nil)
        #expect(untrained.score == untrained.rules.score)
        #expect(engine.evaluate(MIMEParser().parse(spam), raw: spam, database: nil).score == untrained.score)
    }

    @Test func gtubeIsSpamWhateverBayesSays() throws {
        let engine = try SpamEngine()
        let gtube = message("Subject: test\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n")
        let verdict = engine.evaluate(MIMEParser().parse(gtube), raw: gtube, database: nil)
        #expect(verdict.isSpam)
        #expect(verdict.rules.hit("GTUBE"))
    }

    /// The eval command's core on the fixture corpus: 6 + 6 messages to train, 2 + 2 to judge.
    @Test func smallEvaluation() throws {
        let train = SpamCorpus(spam: fixtureMessages("eval/train/spam"), ham: fixtureMessages("eval/train/ham"))
        let test = SpamCorpus(spam: fixtureMessages("eval/test/spam"), ham: fixtureMessages("eval/test/ham"))
        var scoring = SpamScoring()
        scoring.threshold = 3.5  // six messages of each cannot make the classifier certain (f ≤ 7/8 per token)
        let engine = try SpamEngine(classifier: BayesClassifier(parameters: Self.small), scoring: scoring)
        var seen: [(BayesClass, Int)] = []
        let result = SpamEvaluation.run(train: train, test: test, engine: engine, day: 1) { kind, index, _ in seen.append((kind, index)) }
        #expect(result.spamTotal == 2 && result.hamTotal == 2)
        #expect(result.spamCaught == 2)
        #expect(result.hamMisjudged == 0)
        #expect(result.json == #"{"spamCaught":2,"spamTotal":2,"hamMisjudged":0,"hamTotal":2}"#)
        #expect(seen.map(\.0) == [.spam, .spam, .ham, .ham])
        #expect(seen.map(\.1) == [0, 1, 0, 1])
    }

    /// Feedback: a message learned as spam and released becomes ham evidence.
    @Test func releaseMovesTheMessage() throws {
        let tokenizer = BayesTokenizer()
        let train = SpamCorpus(spam: fixtureMessages("eval/train/spam"), ham: fixtureMessages("eval/train/ham"))
        var database = SpamEvaluation.train(train, tokenizer: tokenizer, day: 1)
        let newsletter = message("From: news@shop.example\nSubject: weekly newsletter\n\nour weekly newsletter with prices\n")
        let tokens = tokenizer.tokens(of: MIMEParser().parse(newsletter))
        let id = MIMEDigest.sha256(newsletter).hex
        #expect(database.learn(tokens, as: .spam, id: id, day: 2) == .learned)
        #expect(database["newsletter"].spam == 1)
        #expect(database.learn(tokens, as: .ham, id: id, day: 3) == .relearned(from: .spam))
        #expect(database["newsletter"] == TokenCounts(spam: 0, ham: 1, lastUsed: 3))
        #expect(database.spamMessages == 6 && database.hamMessages == 7)
    }
}
