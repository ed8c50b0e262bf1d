import Crypto
import Foundation
import Testing
import _CryptoExtras
@testable import MailAuth

@Suite("DKIM signer")
struct DKIMSignerTests {
    static let message = Array(("From: Alice <alice@example.org>\r\nTo: bob@partner.test\r\nSubject: Hello\r\n"
        + "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHi Bob,  \r\nsee you.\r\n\r\n\r\n").utf8)

    func verify(_ signed: [UInt8], record: String) async -> [DKIMSignatureResult] {
        let dns = FakeDNS(txt: ["out._domainkey.example.org": [record]])
        return await DKIMVerifier(dns: dns).verify(signed)
    }

    @Test func rsaSignaturesVerify() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let signer = try DKIMSigner(domain: "Example.org", selector: "out", pem: key.pemRepresentation)
        let field = try signer.signatureField(for: Self.message, time: 1_795_000_000)
        let text = String(decoding: field, as: UTF8.self)
        #expect(text.hasPrefix("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=out;"))
        #expect(text.contains("h=from:to:subject:date:message-id:from;"), "From is over-signed")
        let public64 = key.publicKey.derRepresentation.base64EncodedString()
        let results = await verify(field + Self.message, record: "v=DKIM1; k=rsa; p=\(public64)")
        #expect(results.map(\.code) == [.pass], "\(results)")
        // A changed subject or an added From breaks it.
        let tampered = Array(String(decoding: field + Self.message, as: UTF8.self).replacingOccurrences(of: "Subject: Hello", with: "Subject: Hullo").utf8)
        #expect(await verify(tampered, record: "v=DKIM1; k=rsa; p=\(public64)").map(\.code) == [.fail])
        let extraFrom = field + Array("From: mallory@evil.test\r\n".utf8) + Self.message
        #expect(await verify(extraFrom, record: "v=DKIM1; k=rsa; p=\(public64)").map(\.code) == [.fail])
    }

    @Test func ed25519SignaturesVerify() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let signer = try DKIMSigner(domain: "example.org", selector: "out", pem: key.pemRepresentation)
        let field = try signer.signatureField(for: Self.message, time: 1)
        #expect(String(decoding: field, as: UTF8.self).contains("a=ed25519-sha256;"))
        let results = await verify(field + Self.message, record: "v=DKIM1; k=ed25519; p=\(key.publicKey.rawRepresentation.base64EncodedString())")
        #expect(results.map(\.code) == [.pass], "\(results)")
    }

    @Test func badKeysAreRefused() throws {
        #expect(throws: DKIMSignerError.self) { try DKIMSigner(domain: "example.org", selector: "s", pem: "not a key") }
        let publicKey = try _RSA.Signing.PrivateKey(keySize: .bits2048).publicKey.pemRepresentation
        #expect(throws: DKIMSignerError.self) { try DKIMSigner(domain: "example.org", selector: "s", pem: publicKey) }
    }
}
