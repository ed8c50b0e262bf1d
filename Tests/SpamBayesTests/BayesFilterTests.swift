import Glibc
import Testing
import MIME
@testable import SpamBayes

@Suite struct BayesFilterTests {
    /// Parameters that accept the fixtures' 6 spam and 6 ham.
    static let small = SpamEngineTests.small

    /// A database trained on the eval fixtures.
    static func trained() -> TokenDatabase {
        let train = SpamCorpus(spam: fixtureMessages("eval/train/spam"), ham: fixtureMessages("eval/train/ham"))
        return SpamEvaluation.train(train, tokenizer: BayesTokenizer(), day: 1)
    }

    @Test func missingFileIsNil() throws {
        let dir = temporaryDirectory()
        #expect(try BayesFilter.load(path: dir + "/bayes/tokens.db") == nil)
        rmdir(dir)
    }

    @Test func scoresWithBucketToAdd() throws {
        let dir = temporaryDirectory()
        let path = BayesStore.path(inDataDirectory: dir)
        #expect(path == dir + "/bayes/tokens.db")
        try BayesStore(path: path).save(Self.trained())
        let filter = try #require(try BayesFilter.load(path: path, parameters: Self.small))
        #expect(filter.isReady)

        let spam = fixtureMessages("eval/test/spam")[0]
        let score = try #require(filter.score(MIMEParser().parse(spam)))
        #expect(score.probability > 0.9)
        #expect(score.bucket == SpamScoring.default.bucket(for: score.probability))
        #expect(score.bucket.name.hasPrefix("BAYES_9") && score.bucket.score > 0)

        let ham = fixtureMessages("eval/test/ham")[0]
        let hamScore = try #require(filter.score(MIMEParser().parse(ham)))
        #expect(hamScore.probability < 0.1 && hamScore.bucket.score <= 0)

        // The full engine adds the same bucket to the rule score.
        let engine = try SpamEngine(classifier: BayesClassifier(parameters: Self.small))
        let verdict = engine.evaluate(MIMEParser().parse(spam), raw: spam, database: filter.database)
        #expect(verdict.bucket == score.bucket && verdict.bayes?.probability == score.probability)

        // With the product's minimum of 200 spam and 200 ham, 6 of each score nothing.
        #expect(try BayesFilter.load(path: path)?.score(MIMEParser().parse(spam)) == nil)
        unlink(path)
        rmdir(dir + "/bayes")
        rmdir(dir)
    }

    @Test func damagedOrForeignFilesAreTypedErrors() throws {
        let dir = temporaryDirectory()
        let path = dir + "/tokens.db"
        var bytes = Self.trained().encoded()
        func write(_ data: [UInt8]) {
            let f = fopen(path, "wb")!
            fwrite(data, 1, data.count, f)
            fclose(f)
        }
        // Truncated.
        write(Array(bytes.prefix(bytes.count / 2)))
        #expect(throws: BayesStoreError.self) { try BayesFilter.load(path: path) }
        // Empty.
        write([])
        #expect(throws: BayesStoreError.damaged(reason: "not a Gatehouse Bayes store")) { try BayesFilter.load(path: path) }
        // Another tokenizer version (re-sealed, so only the version differs).
        bytes.removeLast(8)
        bytes[12] = 99
        bytes.appendLE(fnv1a64(bytes[...]))
        write(bytes)
        #expect(throws: BayesStoreError.tokenizerVersion(stored: 99, current: BayesTokenizer.version)) { try BayesFilter.load(path: path) }
        // A folder where the file should be.
        unlink(path)
        mkdir(path, 0o700)
        #expect(throws: BayesStoreError.self) { try BayesFilter.load(path: path) }
        rmdir(path)
        rmdir(dir)
    }
}
