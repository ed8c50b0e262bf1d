// MailAuthFuzz.swift — the fuzz entry point over the pure parsers of sender authentication: SPF
// records and macro strings (parse and expand), DKIM-Signature fields and key records, ARC header
// fields, DMARC records, Authentication-Results authserv-ids, message splitting, canonicalization
// and header selection, the Public Suffix List.
//
// Called by Fuzz/MailAuthFuzzer (libFuzzer) and by the property tests. Any crash, hang or failed
// precondition here is a bug: parsers must refuse bad input with a typed error.

import DNS

/// The fuzz entry point of the MailAuth module.
public enum MailAuthFuzz {
    /// Runs `bytes` through every pure parser of the module.
    public static func fuzz(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)

        // SPF: the record, and each macro string expanded in a fixed context.
        if let record = try? SPFRecord(parsing: text) {
            precondition(record.directives.count <= text.utf8.count)
        }
        _ = try? SPFRecord.select(from: [text, "v=spf1 -all"])
        let context = SPFMacroContext(sender: "strong-bad@email.example.com", domain: "email.example.com",
                                      ip: ClientIP("2001:db8::cb01")!, helo: "mx.example.org", validatedDomain: "mx.example.org")
        for explanation in [false, true] {
            if let macro = try? SPFMacroString(parsing: text, explanation: explanation), let expanded = try? macro.expand(in: context) {
                precondition(expanded.utf8.count <= MailAuthDefaults.spfMaximumExpansionLength + 255)
            }
        }

        // DKIM: the signature field, the key record, canonicalization of the same octets.
        if let signature = try? DKIMSignature(parsing: bytes) {
            precondition(signature.signedHeaders.contains("from"))
            precondition(signature.identityDomain == signature.domain || signature.identityDomain.hasSuffix("." + signature.domain))
        }
        _ = try? DKIMKeyRecord(parsing: text)
        _ = try? ARCSeal(parsing: bytes)
        _ = try? ARCMessageSignature(parsing: bytes)
        _ = try? arcAuthenticationResultsInstance(bytes)
        _ = try? TagList(parsing: bytes)
        let message = RawMessage(bytes)
        var previousEnd = 0
        for field in message.fields {
            precondition(field.range.lowerBound >= previousEnd && field.range.upperBound <= bytes.count)
            precondition(field.valueRange.lowerBound >= field.range.lowerBound && field.valueRange.upperBound <= field.range.upperBound)
            previousEnd = field.range.upperBound
            for c in [DKIMCanonicalization.simple, .relaxed] {
                let canonical = DKIMCanonicalizer.header(message.octets(of: field), c)
                precondition(canonical.suffix(2) == [13, 10])
            }
        }
        precondition(message.bodyStart <= bytes.count)
        for c in [DKIMCanonicalization.simple, .relaxed] {
            let whole = DKIMCanonicalizer.canonicalBody(message.body, c)
            let limited = DKIMCanonicalizer.canonicalBody(message.body, c, limit: 7)
            precondition(limited == Array(whole.prefix(7)), "l= must cut the canonical body")
            // Canonicalization is idempotent.
            precondition(DKIMCanonicalizer.canonicalBody(whole[...], c) == (whole.isEmpty && c == .simple ? [13, 10] : whole))
        }
        _ = DKIMCanonicalizer.selectHeaders(["from", "to", "from", "subject"], from: message.fields)

        // DMARC and Authentication-Results.
        if let record = try? DMARCRecord(parsing: text) {
            precondition((0...100).contains(record.percentage))
        }
        _ = AuthenticationResults.authservID(of: bytes)
        _ = AuthenticationResults.forgedFieldRanges(in: message, authservID: "mx.example.org")
        _ = AuthorDomains(message)

        // The Public Suffix List parser and lookups on the same text.
        let list = PublicSuffixList(parsing: text)
        _ = list.organizationalDomain(of: "a.b.example.co.uk")
        if let name = try? DNSName(text) {
            _ = list.organizationalDomain(of: name.description)
        }
    }
}
