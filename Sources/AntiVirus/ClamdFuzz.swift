// ClamdFuzz.swift — the fuzz entry point over the pure core: reply framing and every reply parser.
//
// Called by the property tests (and by a libFuzzer target, should one be added like the main
// package's Fuzz/ targets). Any crash, hang or failed precondition here is a bug: a reply from the
// network must be refused with a typed error, framing must not depend on how the octets arrive,
// and nothing but the exact `stream: OK` may ever read as clean.

/// Fuzzing entry points of the anti-virus core.
public enum ClamdFuzz {
    /// Runs `bytes` through the reply decoder (whole, and split at `cut`) and through every parser,
    /// checking the invariants with preconditions.
    public static func fuzz(_ bytes: [UInt8], cut: Int = 0) {
        let cut = min(max(cut, 0), bytes.count)
        let whole = frame([bytes[...]])
        let split = frame([bytes[..<cut], bytes[cut...]])
        precondition(whole == split, "reply framing depends on how the octets arrive")
        let framed = (try? whole.get()) ?? nil
        for text in [framed ?? [], bytes] {
            if let result = try? ClamdScanResult.parse(text) {
                switch result {
                case .clean:
                    precondition(text == Array("stream: OK".utf8), "read as clean: \(text)")
                case .infected(let signatures):
                    precondition(signatures.count == 1 && !signatures[0].isEmpty, "empty signature")
                    precondition(text.starts(with: Array("stream: ".utf8)) && text.suffix(6).elementsEqual(" FOUND".utf8))
                case .error:
                    precondition(text.suffix(6).elementsEqual(" ERROR".utf8), "error without ERROR")
                }
            }
            if (try? ClamdPong.parse(text)) != nil { precondition(text == Array("PONG".utf8)) }
            if let version = try? ClamdVersion.parse(text) { precondition(!version.engine.isEmpty) }
        }
    }

    /// The framing of `pieces` fed one after the other, then the end of the connection.
    static func frame(_ pieces: [ArraySlice<UInt8>]) -> Result<[UInt8]?, ClamdReplyError> {
        var decoder = ClamdReplyDecoder(maximumLength: 64)
        do {
            for piece in pieces {
                if let reply = try decoder.feed(piece) { return .success(reply) }
            }
            return .success(try decoder.finish())
        } catch {
            return .failure(error)
        }
    }
}
