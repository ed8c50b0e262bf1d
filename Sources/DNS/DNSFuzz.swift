// DNSFuzz.swift — the fuzz entry point over the pure core: message decoding and re-encoding, the
// response validator and interpreter, the cache, name text and resolv.conf parsing.
//
// Called by Fuzz/DNSMessageFuzzer (libFuzzer) and by the property tests. Any crash, hang or
// failed precondition here is a bug: decoding must refuse bad input with a typed error, and what
// decodes must encode and decode back to the same message.

extension DNSMessage {
    /// Runs `bytes` through every pure parser of the module, checking round trips.
    public static func fuzz(_ bytes: [UInt8]) {
        if let message = try? DNSMessage(decoding: bytes) {
            // Round trip: names come back uncompressed, so the octets may differ, the message not.
            if let encoded = try? message.encoded() {
                let again: DNSMessage
                do {
                    again = try DNSMessage(decoding: encoded)
                } catch {
                    preconditionFailure("re-encoded message does not decode: \(error)")
                }
                precondition(again == message, "round trip changed the message")
                precondition((try? again.encoded()) == encoded, "encoding is not deterministic")
            }
            // As the answer to a query with its id and question.
            if let question = message.questions.first {
                let query = DNSQuery(id: message.header.id, question: question)
                if case .accepted(let response) = query.validate(bytes) {
                    let start = ContinuousClock.now
                    var cache = DNSCache(capacity: 4)
                    switch DNSResolution.interpret(response, for: question) {
                    case .answer(let answer):
                        cache.store(answer, now: start)
                        _ = cache.lookup(question, now: start + .seconds(1))
                    case .nameNotFound(let ttl):
                        cache.storeNameNotFound(question, negativeTTL: ttl, now: start)
                        _ = cache.lookup(question, now: start + .seconds(1))
                    case .failure:
                        break
                    }
                }
            }
            for record in message.answers + message.authority + message.additional { _ = record.description }
        }

        // The same octets as text.
        let text = String(decoding: bytes, as: UTF8.self)
        if let name = try? DNSName(text) {
            precondition((try? DNSName(name.description)) == name, "name text round trip failed")
            precondition(name.wireLength <= DNSDefaults.maximumNameLength)
        }
        _ = ResolvConf(parsing: text)
    }
}
