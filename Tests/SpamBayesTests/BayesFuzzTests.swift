// BayesFuzzTests.swift — property tests over the fuzz entry point: random octets and random
// mutations and cuts of a real database never crash the reader or the tokenizer, and what decodes
// encodes back to itself (TokenDatabase.fuzz checks with preconditions).

import Testing
import PropertyBased
@testable import SpamBayes

@Suite struct BayesFuzzTests {
    @Test func randomOctetsNeverCrashTheReader() async {
        await propertyCheck(count: 1_000, input: Gen<UInt8>.value(in: 0...255).array(of: 0...400)) { bytes in
            TokenDatabase.fuzz(bytes)
            TokenDatabase.fuzz(Array("GHBAYES\n".utf8) + bytes)
        }
    }

    @Test func mutationsAndCutsOfARealDatabaseNeverCrashTheReader() async {
        var database = TokenDatabase()
        database.learn(BayesTokens(["money", "free", "subject:wïn", "日本語"]), as: .spam, id: "sha-1", day: 19_000)
        database.learn(BayesTokens(["meeting", "free"]), as: .ham, id: "sha-2", day: 19_001)
        // Without its checksum: the fuzz entry point seals every input itself.
        let body = Array(database.encoded().dropLast(8))
        let positions = Gen.int(in: 0...(body.count - 1)).array(of: 1...6)
        let values = Gen<UInt8>.value(in: 0...255).array(of: 6)
        await propertyCheck(count: 2_000, input: positions, values, Gen.int(in: 0...body.count)) { positions, values, cut in
            var bytes = body
            for (index, position) in positions.enumerated() { bytes[position] = values[index] }
            TokenDatabase.fuzz(Array(bytes.prefix(cut)))
            TokenDatabase.fuzz(bytes)
        }
    }
}
