import Glibc
import MIME
import Testing
@testable import SpamBayes

@Suite struct BayesStoreTests {
    func sample() -> TokenDatabase {
        var db = TokenDatabase()
        db.learn(BayesTokens(["money", "free", "subject:wïn", "日本語"]), as: .spam, id: "sha-1", day: 19_000)
        db.learn(BayesTokens(["meeting", "free"]), as: .ham, id: "sha-2", day: 19_001)
        db.learn(BayesTokens(["agenda"]), as: .ham, day: 19_002)
        return db
    }

    @Test func encodingRoundTrip() throws {
        let db = sample()
        let bytes = db.encoded()
        #expect(Array(bytes.prefix(8)) == Array("GHBAYES\n".utf8))
        let back = try TokenDatabase(decoding: bytes)
        #expect(back == db)
        #expect(back.learned["sha-1"] == TokenDatabase.LearnedMessage(learnedAs: .spam, day: 19_000))
        // Deterministic: the same database gives the same bytes.
        #expect(back.encoded() == bytes)
        // Empty database.
        #expect(try TokenDatabase(decoding: TokenDatabase().encoded()) == TokenDatabase())
    }

    @Test func fileRoundTripIsAtomic() throws {
        let dir = temporaryDirectory()
        let store = BayesStore(path: dir + "/bayes.db")
        #expect(try store.load() == nil)  // no file yet
        let db = sample()
        try store.save(db)
        #expect(try store.load() == db)
        var more = db
        more.learn(BayesTokens(["again"]), as: .spam, day: 19_003)
        try store.save(more)
        #expect(try store.load() == more)
        // No temporary file is left behind; the file is private.
        #expect(listDirectory(dir) == [dir + "/bayes.db"])
        var info = stat()
        #expect(stat(dir + "/bayes.db", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        unlink(dir + "/bayes.db")
        rmdir(dir)
    }

    @Test func damagedFilesAreTypedErrors() throws {
        let bytes = sample().encoded()
        func error(_ data: [UInt8], limits: BayesLimits = .default) -> BayesStoreError? {
            do { _ = try TokenDatabase(decoding: data, limits: limits); return nil } catch { return error }
        }
        // Every single flipped byte is caught.
        for offset in stride(from: 0, to: bytes.count, by: 7) {
            var damaged = bytes
            damaged[offset] ^= 0x5A
            #expect(error(damaged) != nil, "flip at \(offset)")
        }
        // Every cut is caught.
        for length in stride(from: 0, to: bytes.count, by: 5) {
            #expect(error(Array(bytes.prefix(length))) != nil, "cut at \(length)")
        }
        #expect(error(Array("not a store at all, just some text here, long enough".utf8)) == .damaged(reason: "not a Gatehouse Bayes store"))
        // A newer format version.
        var newer = bytes
        newer[8] = 2
        #expect(error(newer) == .unsupportedVersion(2))
        // Size limit.
        var limits = BayesLimits.default
        limits.maxStoreBytes = 50
        #expect(error(bytes, limits: limits) == .tooLarge(size: bytes.count, limit: 50))
    }

    @Test func hostileCountsDoNotAllocate() {
        // A well-formed checksum over a header that claims 2³² − 1 tokens.
        var data = Array("GHBAYES\n".utf8)
        for v: UInt32 in [1, BayesTokenizer.version, 0, 0, .max, 0] { data.appendLE(v) }
        data.appendLE(fnv1a64(data[...]))
        #expect(throws: BayesStoreError.damaged(reason: "record counts larger than the file")) { try TokenDatabase(decoding: data) }
    }

    @Test func damagedFileOnDiskIsReportedAndKept() throws {
        let dir = temporaryDirectory()
        let path = dir + "/bayes.db"
        var bytes = sample().encoded()
        bytes[bytes.count / 2] ^= 1
        let f = fopen(path, "wb")!
        fwrite(bytes, 1, bytes.count, f)
        fclose(f)
        #expect(throws: BayesStoreError.damaged(reason: "checksum mismatch")) { try BayesStore(path: path).load() }
        #expect(readFile(path) == bytes)  // left as it was, for the administrator
        unlink(path)
        rmdir(dir)
    }
}

@Suite struct BayesStoreWriterTests {
    func message(_ n: Int) -> [UInt8] {
        Array("From: a\(n)@example.net\r\nSubject: note \(n)\r\n\r\nword\(n) common text\r\n".utf8)
    }

    @Test func learnIsIdempotentAndMovesOnFeedback() throws {
        let dir = temporaryDirectory()
        let store = BayesStore(path: dir + "/bayes/tokens.db")  // folder created on first write
        let raw = message(1)
        #expect(try store.learn(MIMEParser().parse(raw), raw: raw, as: .spam, day: 5) == .learned)
        #expect(try store.learn(MIMEParser().parse(raw), raw: raw, as: .spam, day: 5) == .alreadyLearned)
        // "Release" / "not spam": the message moves to ham.
        #expect(try store.learn(MIMEParser().parse(raw), raw: raw, as: .ham, day: 6) == .relearned(from: .spam))
        let db = try #require(try store.load())
        #expect(db.spamMessages == 0 && db.hamMessages == 1)
        #expect(db["word1"] == TokenCounts(spam: 0, ham: 1, lastUsed: 6))
        unlink(store.path)
        unlink(store.path + ".lock")
        rmdir(dir + "/bayes")
        rmdir(dir)
    }

    @Test func writersRefuseAnotherTokenizersCounts() throws {
        let dir = temporaryDirectory()
        let store = BayesStore(path: dir + "/tokens.db")
        try store.save(TokenDatabase(tokenizerVersion: BayesTokenizer.version + 1))
        let before = readFile(store.path)
        let raw = message(1)
        #expect(throws: BayesStoreError.tokenizerVersion(stored: BayesTokenizer.version + 1, current: BayesTokenizer.version)) {
            try store.learn(MIMEParser().parse(raw), raw: raw, as: .spam)
        }
        #expect(readFile(store.path) == before)
        unlink(store.path)
        unlink(store.path + ".lock")
        rmdir(dir)
    }

    @Test func concurrentWritersLoseNothing() async throws {
        let dir = temporaryDirectory()
        let store = BayesStore(path: dir + "/tokens.db")
        let writers = 8, each = 5
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for k in 0..<each {
                        let raw = self.message(w * each + k)
                        try store.learn(MIMEParser().parse(raw), raw: raw, as: w % 2 == 0 ? .spam : .ham, day: 1)
                    }
                }
            }
            try await group.waitForAll()
        }
        // Threads of one process take separate flock(2) locks (one open file each), as processes do.
        let db = try #require(try store.load())
        #expect(Int(db.spamMessages) + Int(db.hamMessages) == writers * each)
        #expect(db.learned.count == writers * each)
        #expect(db["common"].total == UInt64(writers * each))
        unlink(store.path)
        unlink(store.path + ".lock")
        rmdir(dir)
    }
}
