// BayesFuzz.swift — the fuzz entry point over the classifier's readers: the token database file
// and the tokenizer.
//
// Called by Fuzz/BayesFuzzer (libFuzzer) and by the property tests. Any crash, hang or failed
// precondition here is a bug: the database reader must refuse bad bytes with a `BayesStoreError`,
// what decodes must encode and decode back to the same database, and the tokenizer must keep its
// bounds (`BayesLimits`) on any message.
//
// Random bytes almost never carry a valid checksum, which would stop the reader at its first
// check; so the input is also read with a checksum appended, to reach the record parsing.
import MIME

extension TokenDatabase {
    /// Runs `bytes` through the database reader (as is, and with a valid checksum appended) and
    /// through the tokenizer as a message, checking round trips and bounds.
    public static func fuzz(_ bytes: [UInt8]) {
        var limits = BayesLimits.default
        limits.maxStoreBytes = 1 << 20
        limits.maxTokensPerMessage = 500
        var sealed = bytes
        sealed.appendLE(fnv1a64(bytes[...]))
        for input in [bytes, sealed] {
            guard let database = try? TokenDatabase(decoding: input, limits: limits) else { continue }
            let again = try? TokenDatabase(decoding: database.encoded(), limits: limits)
            precondition(again == database, "a decoded database encodes back to itself")
            var parameters = BayesParameters.default
            parameters.minimumSpamMessages = 0
            parameters.minimumHamMessages = 0
            let result = BayesClassifier(parameters: parameters).classify(BayesTokens(Array(database.tokens.keys.prefix(200))), database: database)
            precondition(result.map { $0.probability >= 0 && $0.probability <= 1 } ?? false, "a probability in [0, 1]")
        }
        let tokens = BayesTokenizer(limits: limits, features: .all).tokens(of: MIMEParser().parse(bytes))
        precondition(tokens.tokens.count <= limits.maxTokensPerMessage)
        precondition(Set(tokens.tokens).count == tokens.tokens.count, "distinct tokens")
        for token in tokens.tokens {
            precondition(token.utf8.count <= limits.maxTokenBytes && !token.utf8.contains { $0 < 32 || $0 == 127 })
        }
    }
}
