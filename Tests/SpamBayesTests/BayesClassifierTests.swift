import Glibc
import Testing
@testable import SpamBayes

@Suite struct BayesClassifierTests {
    @Test func robinsonTokenProbability() {
        let c = BayesClassifier()
        // Seen in 3 of 10 spam and 1 of 20 ham: p = 0.3 / (0.3 + 0.05) = 6/7, n = 4,
        // f = (1 · 0.5 + 4 · 6/7) / (1 + 4) = 0.785714…
        #expect(abs(c.tokenProbability(spam: 3, ham: 1, nspam: 10, nham: 20) - 0.7857142857142857) < 1e-12)
        // Never seen: x.
        #expect(c.tokenProbability(spam: 0, ham: 0, nspam: 10, nham: 20) == 0.5)
        // Seen once in spam only: (0.5 + 1) / 2.
        #expect(c.tokenProbability(spam: 1, ham: 0, nspam: 10, nham: 20) == 0.75)
        #expect(c.tokenProbability(spam: 0, ham: 1, nspam: 10, nham: 20) == 0.25)
        // s and x are parameters.
        var p = BayesParameters()
        p.strength = 0.5
        p.unknownProbability = 0.4
        #expect(abs(BayesClassifier(parameters: p).tokenProbability(spam: 1, ham: 0, nspam: 10, nham: 20) - (0.5 * 0.4 + 1) / 1.5) < 1e-12)
    }

    @Test func chiSquareSurvivalMatchesClosedForms() {
        // ν = 2: e^(−x/2).
        #expect(abs(BayesClassifier.chiSquareSurvival(3, degreesOfFreedom: 2) - 0.22313016014842982) < 1e-12)
        // ν = 4: e^(−m)(1 + m), m = x/2.
        #expect(abs(BayesClassifier.chiSquareSurvival(4, degreesOfFreedom: 4) - 0.40600584970983811) < 1e-12)
        #expect(BayesClassifier.chiSquareSurvival(0, degreesOfFreedom: 10) == 1)
        // Huge statistic (exp underflows): tiny, not NaN.
        let tiny = BayesClassifier.chiSquareSurvival(3_000, degreesOfFreedom: 300)
        #expect(tiny >= 0 && tiny < 1e-100)
    }

    /// Hand-computed: f = (0.9, 0.8), n = 2, ν = 4.
    ///   Σ ln(1 − f) = ln 0.02 → m = −ln 0.02, C⁻¹ = 0.02 (1 + m) = 0.0982405 → S = 0.9017595
    ///   Σ ln f = ln 0.72     → m = −ln 0.72, C⁻¹ = 0.72 (1 + m) = 0.9565230 → H = 0.0434770
    ///   I = (1 + S − H) / 2 = 0.9291413
    @Test func fisherCombiningHandComputed() {
        let (i, s, h) = BayesClassifier.fisher([0.9, 0.8])
        let expectedS = 1 - 0.02 * (1 - log(0.02))
        let expectedH = 1 - 0.72 * (1 - log(0.72))
        #expect(abs(s - expectedS) < 1e-12)
        #expect(abs(h - expectedH) < 1e-12)
        #expect(abs(i - (1 + expectedS - expectedH) / 2) < 1e-12)
        #expect(abs(i - 0.9291413) < 1e-6)
        // Symmetric: the mirror image is ham to the same degree.
        #expect(abs(BayesClassifier.fisher([0.1, 0.2]).indicator - (1 - i)) < 1e-12)
        // No evidence, and evidence both ways.
        #expect(BayesClassifier.fisher([]).indicator == 0.5)
        #expect(abs(BayesClassifier.fisher([0.99, 0.01]).indicator - 0.5) < 1e-12)
        // Thousands of strong tokens do not underflow.
        #expect(BayesClassifier.fisher(Array(repeating: 0.999, count: 3_000)).indicator > 0.999)
        #expect(BayesClassifier.fisher(Array(repeating: 0.001, count: 3_000)).indicator < 0.001)
    }

    @Test func classifyUsesTheMostSignificantTokens() {
        var p = BayesParameters()
        p.minimumSpamMessages = 2
        p.minimumHamMessages = 2
        p.maxSignificantTokens = 3
        let classifier = BayesClassifier(parameters: p)
        var db = TokenDatabase()
        #expect(classifier.classify(BayesTokens(["x"]), database: db) == nil)  // not trained
        db.train(["viagra", "free", "common", "click"], as: .spam, day: 1)
        db.train(["viagra", "free", "common"], as: .spam, day: 1)
        db.train(["meeting", "common"], as: .ham, day: 1)
        db.train(["meeting", "agenda", "common"], as: .ham, day: 1)
        let result = classifier.classify(BayesTokens(["viagra", "free", "click", "common", "unknown"]), database: db)!
        // "common" (f = 0.5) and "unknown" are not evidence; of the rest the 3 strongest are used.
        #expect(result.evidence.map(\.token) == ["free", "viagra", "click"])
        #expect(result.evidence[0].spamCount == 2 && result.evidence[0].hamCount == 0)
        #expect(abs(result.evidence[0].probability - (0.5 + 2 * 1) / 3) < 1e-12)
        #expect(result.probability > 0.9)
        let ham = classifier.classify(BayesTokens(["meeting", "agenda"]), database: db)!
        #expect(ham.probability < 0.2)
        // The result is the Fisher combination of the evidence.
        #expect(result.probability == BayesClassifier.fisher(result.evidence.map(\.probability)).indicator)
    }
}
