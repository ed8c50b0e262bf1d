// DKIMVerifierTests.swift — verification logic against an in-memory zone, with messages signed in
// the test by swift-crypto keys (the independent reference, dkimpy, is in the integration tests):
// key checks (§6.1.2), x=, rsa-sha1 and small keys (RFC 8301), l=, several signatures, DNS
// failures.

import Crypto
import _CryptoExtras
import Foundation
import Testing
@testable import MailAuth

/// Signs test messages the way a DKIM signer does, using the module's own canonicalization.
enum TestSigner {
    enum Key {
        case rsa(_RSA.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)

        var publicKeyBase64: String {
            switch self {
            case .rsa(let key): return key.publicKey.derRepresentation.base64EncodedString()
            case .ed25519(let key): return key.publicKey.rawRepresentation.base64EncodedString()
            }
        }
    }

    static let rsa = Key.rsa(try! _RSA.Signing.PrivateKey(keySize: .bits2048))
    static let ed25519 = Key.ed25519(Curve25519.Signing.PrivateKey())

    /// `message` with a DKIM-Signature field prepended.
    static func sign(_ message: [UInt8], key: Key = rsa, algorithm: String? = nil, domain: String = "example.com",
                     selector: String = "sel", canonicalization: String = "relaxed/relaxed",
                     headers: String = "from:to:subject", extra: String = "") -> [UInt8] {
        let alg = algorithm ?? { if case .rsa = key { return "rsa-sha256" } else { return "ed25519-sha256" } }()
        let c = canonicalization.split(separator: "/").map { DKIMCanonicalization(rawValue: String($0))! }
        let split = RawMessage(message)
        var hasher = SHA256()
        let length = extra.range(of: "l=").map { Int(extra[$0.upperBound...].prefix { $0.isNumber })! }
        DKIMCanonicalizer.body(split.body, c.count > 1 ? c[1] : .simple, limit: length) { piece in
            piece.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        let bh = Data(hasher.finalize()).base64EncodedString()
        let placeholder = "AAAA"
        let field = "DKIM-Signature: v=1; a=\(alg); c=\(canonicalization); d=\(domain); s=\(selector);\r\n"
            + " \(extra)h=\(headers); bh=\(bh);\r\n b=\(placeholder)\r\n"
        let signedMessage = RawMessage(Array(field.utf8) + message)
        let signature = try! DKIMSignature(parsing: signedMessage.value(of: signedMessage.fields[0]))
        let data = DKIMVerifier.headerData(signature, field: signedMessage.fields[0], in: signedMessage)
        let b: String
        switch key {
        case .rsa(let key):
            let digest = SHA256.hash(data: data)
            b = try! key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation.base64EncodedString()
        case .ed25519(let key):
            b = try! key.signature(for: Data(SHA256.hash(data: data))).base64EncodedString()
        }
        return Array(field.replacingOccurrences(of: "b=\(placeholder)", with: "b=\(b)").utf8) + message
    }
}

@Suite struct DKIMVerifierTests {
    static let message = crlf("""
        From: Joe <joe@example.com>
        To: Suzie <suzie@example.net>
        Subject: Is dinner ready?
        Date: Fri, 11 Jul 2003 21:00:37 -0700

        Hi.

        We lost the game.  Are you hungry yet?

        Joe.

        """)

    func zone(_ key: String = TestSigner.rsa.publicKeyBase64, extra: String = "") -> FakeDNS {
        var dns = FakeDNS()
        dns.txt["sel._domainkey.example.com"] = ["v=DKIM1; \(extra)p=\(key)"]
        dns.txt["ed._domainkey.example.com"] = ["v=DKIM1; k=ed25519; p=\(TestSigner.ed25519.publicKeyBase64)"]
        return dns
    }

    func verify(_ message: [UInt8], dns: FakeDNS? = nil, now: @escaping @Sendable () -> Int64 = fixedNow) async -> [DKIMSignatureResult] {
        await DKIMVerifier(dns: dns ?? zone(), now: now).verify(message)
    }

    @Test func rsaAndEd25519Pass() async {
        for c in ["relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"] {
            let results = await verify(TestSigner.sign(Self.message, canonicalization: c))
            #expect(results.count == 1)
            #expect(results.first?.code == .pass, "\(c): \(results.first?.reason ?? "")")
            #expect(results.first?.domain == "example.com")
            #expect(results.first?.selector == "sel")
        }
        let ed = await verify(TestSigner.sign(Self.message, key: TestSigner.ed25519, selector: "ed"))
        #expect(ed.first?.code == .pass, "\(ed.first?.reason ?? "")")
    }

    @Test func unsignedMessageHasNoResults() async {
        #expect(await verify(Self.message).isEmpty)
    }

    @Test func tamperingFails() async {
        let signed = TestSigner.sign(Self.message)
        let body = Array(String(decoding: signed, as: UTF8.self).replacingOccurrences(of: "hungry", with: "angry!").utf8)
        #expect(await verify(body).first?.failure == .bodyHashMismatch)
        let header = Array(String(decoding: signed, as: UTF8.self).replacingOccurrences(of: "dinner", with: "lunch!").utf8)
        #expect(await verify(header).first?.failure == .signatureMismatch)
        #expect(await verify(header).first?.code == .fail)
        // A second From added above the signed one: From is selected bottom-up, so the signed one
        // is still the one hashed unless h= over-signs it.
        let added = crlf("From: evil@example.org\n") + signed
        #expect(await verify(added).first?.code == .pass)
        let overSigned = TestSigner.sign(Self.message, headers: "from:from:to:subject")
        #expect(await verify(overSigned).first?.code == .pass)
        #expect(await verify(crlf("From: evil@example.org\n") + overSigned).first?.failure == .signatureMismatch)
    }

    @Test func expiry() async {
        let signed = TestSigner.sign(Self.message, extra: "t=1699990000; x=1699990100; ")
        // Now is 1700000000: long past x= (and the 300 s leeway).
        #expect(await verify(signed).first?.failure == .expired(1_699_990_100))
        #expect(await verify(signed, now: { 1_699_990_300 }).first?.code == .pass)  // within leeway
    }

    @Test func rsaSHA1IsRejected() async {
        // The field claims rsa-sha1: refused before any key lookup (RFC 8301 §3.1).
        let signed = TestSigner.sign(Self.message, algorithm: "rsa-sha1")
        let dns = zone()
        let result = await verify(signed, dns: dns).first
        #expect(result?.code == .fail)
        #expect(result?.failure == .sha1Rejected)
        #expect(dns.log.count == 0)
    }

    @Test func keyProblems() async {
        let signed = TestSigner.sign(Self.message)
        #expect(await verify(signed, dns: FakeDNS()).first?.failure == .keyNotFound("sel._domainkey.example.com"))
        #expect(await verify(signed, dns: FakeDNS()).first?.code == .permerror)
        var failing = FakeDNS()
        failing.failing = ["sel._domainkey.example.com"]
        #expect(await verify(signed, dns: failing).first?.code == .temperror)
        #expect(await verify(signed, dns: zone("")).first?.failure == .keyRevoked)
        #expect(await verify(signed, dns: zone(extra: "k=ed25519; ")).first?.failure == .keyTypeMismatch(keyType: "ed25519"))
        #expect(await verify(signed, dns: zone(extra: "h=sha1; ")).first?.failure == .hashNotAllowed)
        #expect(await verify(signed, dns: zone(extra: "s=tlsrpt; ")).first?.failure == .serviceNotAllowed)
        #expect(await verify(signed, dns: zone("AAAA")).first?.failure == .badPublicKey)
        #expect(await verify(signed, dns: zone(extra: "t=y; ")).first?.keyTesting == true)
        var garbage = FakeDNS()
        garbage.txt["sel._domainkey.example.com"] = ["v=DKIM1; k"]
        #expect(await verify(signed, dns: garbage).first?.code == .permerror)
        // The other key: a valid key, but not the one that signed.
        #expect(await verify(signed, dns: zone(TestSigner.ed25519.publicKeyBase64, extra: "k=ed25519; ")).first?.code == .permerror)
    }

    @Test func strictKeyFlagNeedsExactIdentityDomain() async {
        let sub = TestSigner.sign(Self.message, extra: "i=joe@sub.example.com; ")
        #expect(await verify(sub, dns: zone(extra: "t=s; ")).first?.failure == .strictIdentity)
        #expect(await verify(sub).first?.code == .pass)
    }

    @Test func smallRSAKeysFail() async throws {
        // A 1024-bit key passes (RFC 8301 allows it); the smallest key swift-crypto makes is 2048, so a
        // smaller one is checked through the DER reader directly.
        let small = try #require(Data(base64Encoded:
            "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANYfpxOgBjI9yLIru3kNTgE6WmjDH607HQnJyeIyv6dk2OOj9RecrrPg5cQHlLBtPaa8R70t+BqXyuJQtJJxoxMCAwEAAQ=="))
        #expect(DKIMPublicKey.rsaModulusBits(Array(small)) == 512)
        #expect(throws: DKIMFailure.keyTooSmall(bits: 512)) { try DKIMPublicKey(Array(small), algorithm: .rsaSHA256, limits: .default) }
        let signed = TestSigner.sign(Self.message)
        let result = await verify(signed, dns: zone(small.base64EncodedString())).first
        #expect(result?.failure == .keyTooSmall(bits: 512))
        #expect(result?.code == .fail)
        if case .rsa(let key) = TestSigner.rsa {
            #expect(DKIMPublicKey.rsaModulusBits(Array(key.publicKey.derRepresentation)) == 2048)
            #expect(DKIMPublicKey.rsaModulusBits(Array(key.publicKey.pkcs1DERRepresentation)) == 2048)
        }
    }

    @Test func bareRSAPublicKeyIsAccepted() async {
        guard case .rsa(let key) = TestSigner.rsa else { return }
        let pkcs1 = key.publicKey.pkcs1DERRepresentation.base64EncodedString()
        #expect(await verify(TestSigner.sign(Self.message), dns: zone(pkcs1)).first?.code == .pass)
    }

    @Test func bodyLength() async {
        let signed = TestSigner.sign(Self.message, extra: "l=20; ")
        let appended = signed + crlf("Unsigned advertisement.\n")
        let result = await verify(appended).first
        #expect(result?.code == .pass)
        #expect(result?.bodyPartiallySigned == true)
        #expect(result?.reason.contains("l=") == true)
        let long = TestSigner.sign(crlf("From: a@example.com\n\nshort\n"), extra: "l=999; ")
        #expect(await verify(long).first?.failure == .bodyShorterThanLength)
    }

    @Test func severalSignaturesEachWithAResult() async {
        let first = TestSigner.sign(Self.message)
        let both = TestSigner.sign(first, key: TestSigner.ed25519, selector: "ed", headers: "from:dkim-signature")
        var broken = crlf("DKIM-Signature: v=1; a=rsa-sha256; d=bad.example; s=x; h=to; bh=AAEC; b=AAEC\n") + both
        var results = await verify(broken)
        #expect(results.map(\.code) == [.neutral, .pass, .pass])
        #expect(results[0].domain == "bad.example")
        #expect(results[0].failure == .signature(.fromNotSigned))
        // Beyond the limit, signatures are not verified.
        broken = Array(repeating: crlf("DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=x; h=from; bh=AAEC; b=AAEC\n"), count: 9).flatMap { $0 } + Self.message
        results = await verify(broken)
        #expect(results.count == 9)
        #expect(results.last?.failure == .notVerified)
    }

    @Test func headerLimitsMakeAPermerror() async {
        let signed = TestSigner.sign(Self.message)
        let message = RawMessage(signed, maximumHeaderFields: 3)
        #expect(message.limitExceeded)
        #expect(await DKIMVerifier(dns: zone(), now: fixedNow).verify(message).first?.failure == .headerTooLarge)
    }

    @Test func lfOnlyMessagesVerify() async {
        let signed = TestSigner.sign(Self.message)
        let lf = Array(String(decoding: signed, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").utf8)
        #expect(await verify(lf).first?.code == .pass)
    }
}
