// AuthenticationResultsTests.swift — rendering one field (RFC 8601) and finding forged fields that
// carry our authserv-id (§5).

import Testing
@testable import MailAuth

@Suite struct AuthenticationResultsTests {
    @Test func rendersEveryMethod() throws {
        let signed = TestSigner.sign(DKIMVerifierTests.message)
        let field = RawMessage(signed).fields[0]
        let signature = try DKIMSignature(parsing: RawMessage(signed).value(of: field))
        let results = AuthenticationResults(
            authservID: "mx.example.net",
            spf: SPFResult(code: .pass, identity: .mailFrom, domain: "example.com", sender: "joe@example.com", reason: "matched ip4:192.0.2.0/24"),
            dkim: [DKIMSignatureResult(code: .pass, failure: nil, signature: signature, domain: "example.com", selector: "sel", field: field)],
            dmarc: DMARCResult(code: .pass, domains: [DMARCDomainResult(
                code: .pass, fromDomain: "example.com", organizationalDomain: "example.com",
                record: try DMARCRecord(parsing: "v=DMARC1; p=reject"), recordDomain: "example.com", spfAligned: true,
                dkimAligned: true, requestedPolicy: .reject, disposition: .none, sampledOut: false, reason: "SPF aligned, DKIM aligned")],
                disposition: .none, multipleFromFields: false, reason: "SPF aligned, DKIM aligned"))
        let text = results.field
        #expect(text.hasPrefix("Authentication-Results: mx.example.net;\r\n\tspf=pass (matched ip4:192.0.2.0/24) smtp.mailfrom=joe@example.com;\r\n\tdkim=pass"))
        #expect(text.contains("header.d=example.com header.s=sel header.a=rsa-sha256 header.b="))
        #expect(text.contains(";\r\n\tdmarc=pass (p=reject; dis=none; SPF aligned, DKIM aligned) header.from=example.com\r\n"))
        #expect(text.hasSuffix("\r\n"))
        // header.b holds the first 8 characters of b= (quoted when they hold "/" or "+" or "=").
        let prefix = String(signature.signatureText.prefix(8))
        #expect(text.contains("header.b=\(AuthenticationResults.value(prefix))"))
        // The field parses as a header field and names our authserv-id.
        let parsed = RawMessage(Array((text + "\r\n").utf8))
        #expect(parsed.fields.count == 1)
        #expect(AuthenticationResults.authservID(of: parsed.value(of: parsed.fields[0])) == "mx.example.net")
    }

    @Test func noResultsAndNone() {
        #expect(AuthenticationResults(authservID: "mx.example.net", dkimChecked: false).field == "Authentication-Results: mx.example.net; none\r\n")
        #expect(AuthenticationResults(authservID: "mx.example.net").statements == ["dkim=none"])
    }

    @Test func outsideTextCannotBreakTheField() {
        let spf = SPFResult(code: .fail, identity: .helo, domain: "evil.example", sender: "postmaster@evil.example",
                            reason: "x) spf=pass (\r\nX-Injected: yes\\")
        let text = AuthenticationResults(authservID: "mx.example.net", spf: spf, dkimChecked: false).field
        #expect(text == "Authentication-Results: mx.example.net;\r\n\tspf=fail (x\\) spf=pass \\(  X-Injected: yes\\\\) smtp.helo=evil.example\r\n")
        #expect(AuthenticationResults.value("a b;c") == "\"a b;c\"")
        #expect(AuthenticationResults.value("plain.example") == "plain.example")
        #expect(AuthenticationResults.addressValue("\"odd local\"@example.com", domain: "example.com") == "example.com")
    }

    @Test func authservIDs() {
        func id(_ text: String) -> String? { AuthenticationResults.authservID(of: Array(text.utf8)) }
        #expect(id(" mx.example.net; spf=pass") == "mx.example.net")
        #expect(id(" (comment (nested)) MX.Example.NET 1; none") == "MX.Example.NET")
        #expect(id(" \"mx.example.net\"; none") == "mx.example.net")
        #expect(id("\r\n\tmx.example.net;") == "mx.example.net")
        #expect(id("  ; spf=pass") == nil)
        #expect(id("") == nil)
    }

    @Test func findsForgedFieldsWithOurID() {
        let text = "Authentication-Results: mx.example.net; spf=pass\r\n"
            + "Received: from x\r\n"
            + "authentication-results: (forged) MX.EXAMPLE.NET.;\r\n dkim=pass header.d=bank.example\r\n"
            + "Authentication-Results: other.example; spf=fail\r\n"
            + "Authentication-Results: \"mx.example.net\"; none\r\n"
            + "Subject: hi\r\n\r\nbody\r\n"
        let bytes = Array(text.utf8)
        let ranges = AuthenticationResults.forgedFieldRanges(in: RawMessage(bytes), authservID: "mx.example.net")
        #expect(ranges.count == 3)
        let cleaned = String(decoding: AuthenticationResults.removing(ranges, from: bytes), as: UTF8.self)
        #expect(cleaned == "Received: from x\r\nAuthentication-Results: other.example; spf=fail\r\nSubject: hi\r\n\r\nbody\r\n")
        // Look-alikes are not ours.
        #expect(AuthenticationResults.forgedFieldRanges(in: RawMessage(bytes), authservID: "example.net").isEmpty)
    }
}
