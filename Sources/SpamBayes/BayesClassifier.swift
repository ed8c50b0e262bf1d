// BayesClassifier.swift — the spam probability of a message from its tokens.
//
// What it does, for each token w of the message (Robinson 2003, §"Dealing with rare words"):
//
//   p(w) = (spam(w) / nspam) / (spam(w) / nspam + ham(w) / nham)    (Graham's per-class ratios)
//   f(w) = (s·x + n·p(w)) / (s + n),   n = spam(w) + ham(w)          (Robinson's degree of belief)
//
// keeps the tokens with |f(w) − 0.5| ≥ `minimumStrength`, at most `maxSignificantTokens` of the
// strongest, and combines them with Fisher's method (Robinson, "Handling Redundancy in Email
// Token Probabilities" and SpamBayes' chi2_spamprob):
//
//   S = 1 − C⁻¹(−2 Σ ln(1 − f(w)), 2n)     H = 1 − C⁻¹(−2 Σ ln f(w), 2n)     I = (1 + S − H) / 2
//
// where C⁻¹(χ², ν) is the chi-square survival function with ν (even) degrees of freedom. I is in
// [0, 1]: near 1 spam, near 0 ham, near 0.5 either no evidence or strong evidence both ways.
//
// Diagnostics: `classify` returns nil until `minimumSpamMessages` spam and `minimumHamMessages`
// ham have been trained (the probabilities mean nothing before); the result lists the tokens used.
//
// Security notes: pure arithmetic on bounded input; sums in log space, so thousands of strong
// tokens cannot underflow a product to 0 (the reason Robinson works with logarithms).
import Glibc

/// One token used as evidence.
public struct BayesEvidence: Sendable, Hashable, CustomStringConvertible {
    public var token: String
    /// Robinson's f(w).
    public var probability: Double
    public var spamCount: UInt32
    public var hamCount: UInt32

    public var description: String {
        "\(token) \((probability * 1000).rounded() / 1000) (\(spamCount)s/\(hamCount)h)"
    }
}

/// The classifier's answer for one message.
public struct BayesResult: Sendable, Hashable {
    /// The combined indicator I in [0, 1].
    public var probability: Double
    /// Fisher's spamminess S and hamminess H.
    public var spamminess: Double
    public var hamminess: Double
    /// The tokens combined, strongest first.
    public var evidence: [BayesEvidence]
}

/// Robinson–Fisher classification against a token database. Pure.
public struct BayesClassifier: Sendable {
    public var parameters: BayesParameters

    public init(parameters: BayesParameters = .default) { self.parameters = parameters }

    /// Whether `database` has been trained enough to classify.
    public func isReady(_ database: TokenDatabase) -> Bool {
        Int(database.spamMessages) >= parameters.minimumSpamMessages && Int(database.hamMessages) >= parameters.minimumHamMessages
    }

    /// Robinson's f(w) for a token seen in `spam` of `nspam` spam and `ham` of `nham` ham messages.
    public func tokenProbability(spam: UInt32, ham: UInt32, nspam: UInt32, nham: UInt32) -> Double {
        let s = parameters.strength, x = parameters.unknownProbability
        let n = Double(spam) + Double(ham)
        guard n > 0 else { return x }
        let spamRatio = nspam > 0 ? min(1, Double(spam) / Double(nspam)) : 0
        let hamRatio = nham > 0 ? min(1, Double(ham) / Double(nham)) : 0
        guard spamRatio + hamRatio > 0 else { return x }
        let p = spamRatio / (spamRatio + hamRatio)
        return (s * x + n * p) / (s + n)
    }

    /// The probability that the message with `tokens` is spam; nil if the database is not ready.
    public func classify(_ tokens: BayesTokens, database: TokenDatabase) -> BayesResult? {
        guard isReady(database) else { return nil }
        var candidates: [BayesEvidence] = []
        for token in tokens.tokens {
            guard let counts = database.tokens[token] else { continue }
            let f = tokenProbability(spam: counts.spam, ham: counts.ham, nspam: database.spamMessages, nham: database.hamMessages)
            if abs(f - 0.5) >= parameters.minimumStrength {
                candidates.append(BayesEvidence(token: token, probability: f, spamCount: counts.spam, hamCount: counts.ham))
            }
        }
        // Strongest first; ties broken by token, so the result does not depend on hash order.
        candidates.sort { a, b in
            let da = abs(a.probability - 0.5), db = abs(b.probability - 0.5)
            return da != db ? da > db : a.token < b.token
        }
        let used = Array(candidates.prefix(parameters.maxSignificantTokens))
        let (i, s, h) = BayesClassifier.fisher(used.map(\.probability))
        return BayesResult(probability: i, spamminess: s, hamminess: h, evidence: used)
    }

    /// Fisher's combining of the probabilities `f` (each in (0, 1)): (I, S, H). No probabilities: 0.5.
    public static func fisher(_ f: [Double]) -> (indicator: Double, spamminess: Double, hamminess: Double) {
        guard !f.isEmpty else { return (0.5, 0, 0) }
        var lnHam = 0.0, lnSpam = 0.0
        for p in f {
            let q = min(max(p, 1e-300), 1 - 1e-16)
            lnHam += log(q)
            lnSpam += log(1 - q)
        }
        let n = f.count
        let s = 1 - chiSquareSurvival(-2 * lnSpam, degreesOfFreedom: 2 * n)
        let h = 1 - chiSquareSurvival(-2 * lnHam, degreesOfFreedom: 2 * n)
        let i = min(1, max(0, (1 + s - h) / 2))
        return (i, s, h)
    }

    /// P(χ² ≥ x) for an even number of degrees of freedom ν: e^(−m) Σ_{k<ν/2} m^k / k!, m = x/2
    /// (the closed form SpamBayes' `chi2Q` uses), summed term by term so it cannot overflow.
    public static func chiSquareSurvival(_ x: Double, degreesOfFreedom v: Int) -> Double {
        precondition(v > 0 && v % 2 == 0, "even degrees of freedom")
        let m = x / 2
        var term = exp(-m)
        var sum = term
        if term == 0 {
            // exp underflowed: work in logs (x is huge: the answer is tiny or the sum dominates).
            var logTerm = -m
            var logSum = -m
            for k in 1..<(v / 2) {
                logTerm += log(m) - log(Double(k))
                logSum = max(logSum, logTerm) + log1p(exp(-abs(logSum - logTerm)))
            }
            return min(1, exp(logSum))
        }
        for k in 1..<(v / 2) {
            term *= m / Double(k)
            sum += term
        }
        return min(1, sum)
    }
}
