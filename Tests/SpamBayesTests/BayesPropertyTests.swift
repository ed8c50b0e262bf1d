import Testing
import PropertyBased
import MIME
@testable import SpamBayes

@Suite struct BayesPropertyTests {
    static let pieces = ["free", "FREE", "money", " ", "\n", "\r\n", "\n\n", "!", "$", "1", "9.99", ".", ",", "-", "'", "é", "日本", "\u{0}",
                         "<b>", "</b>", "<a href=\"http://x.example/\">", "http://a.b.example/p", "=?utf-8?b?w6k=?=", "\u{FFFD}",
                         "Subject: ", "From: ", "Content-Type: text/html\n", "Content-Transfer-Encoding: base64\n", "--", "aaaaaaaaaaaaaaaaaaaaaaaaa"]

    static let database: TokenDatabase = {
        var db = TokenDatabase()
        for k in 0..<3 {
            db.train(["free", "money", "subject:free", "skip:a 20", "$", "html:only", "t\(k)"], as: .spam, day: 1)
            db.train(["meeting", "subject:re", "from:noname", "u\(k)"], as: .ham, day: 1)
        }
        return db
    }()

    @Test func randomMessagesTokenizeAndScoreInRange() async {
        var p = BayesParameters()
        p.minimumSpamMessages = 1
        p.minimumHamMessages = 1
        let classifier = BayesClassifier(parameters: p)
        var limits = BayesLimits.default
        limits.maxTokensPerMessage = 50
        limits.maxTokenBytes = 24
        let tokenizer = BayesTokenizer(limits: limits)
        let gen = Gen.int(in: 0...(Self.pieces.count - 1)).array(of: 0...200)
        await propertyCheck(count: 500, input: gen) { indices in
            let text = indices.map { Self.pieces[$0] }.joined()
            let t = tokenizer.tokens(of: MIMEParser().parse(Array(text.utf8)))
            #expect(t.tokens.count <= 50)
            #expect(Set(t.tokens).count == t.tokens.count)
            for token in t.tokens { #expect(!token.isEmpty && token.utf8.count <= 24) }
            let result = classifier.classify(t, database: Self.database)!
            #expect(result.probability >= 0 && result.probability <= 1)
            #expect(!result.probability.isNaN)
        }
    }

    @Test func randomBytesNeverCrash() async {
        let tokenizer = BayesTokenizer()
        await propertyCheck(count: 300, input: Gen<UInt8>.value(in: 0...255).array(of: 0...600)) { bytes in
            let t = tokenizer.tokens(of: MIMEParser().parse(bytes))
            #expect(Set(t.tokens).count == t.tokens.count)
        }
    }

    @Test func fisherStaysInRange() async {
        await propertyCheck(count: 1_000, input: Gen<Double>.value(in: 0...1).array(of: 0...300)) { f in
            let (i, s, h) = BayesClassifier.fisher(f)
            for v in [i, s, h] { #expect(v >= 0 && v <= 1 && !v.isNaN, "\(f)") }
        }
    }

    @Test func untrainUndoesTrainAndStoreRoundTrips() async {
        let words = ["a1", "b2", "c3", "d4", "e5", "f6", "日本", "é"]
        let gen = Gen.int(in: 0...(words.count - 1)).array(of: 0...6).array(of: 1...8)
        await propertyCheck(count: 200, input: gen, Gen.int(in: 0...1)) { messages, kind in
            var db = TokenDatabase()
            let lists = messages.map { BayesTokens(Array(Set($0.map { words[$0] })).sorted()) }
            for (k, tokens) in lists.enumerated() { db.learn(tokens, as: k % 2 == 0 ? .spam : .ham, id: "m\(k)", day: UInt32(k)) }
            #expect((try? TokenDatabase(decoding: db.encoded())) == db)
            let before = db
            let extra = lists[0]
            let c: BayesClass = kind == 0 ? .spam : .ham
            db.train(extra.tokens, as: c, day: 0)
            db.untrain(extra.tokens, as: c)
            #expect(db.tokens == before.tokens)
            #expect(db.spamMessages == before.spamMessages && db.hamMessages == before.hamMessages)
        }
    }
}
