// DKIMSignatureTests.swift — DKIM-Signature parsing (RFC 6376 §3.5, §6.1.1) and key records
// (§3.6.1).

import Testing
@testable import MailAuth

@Suite struct DKIMSignatureTests {
    static let good = "v=1; a=rsa-sha256; c=relaxed/simple; d=Example.COM; s=sel-1;\r\n t=1700000000; x=1700086400; l=42;"
        + " i=joe@mail.example.com; q=dns/txt;\r\n h=From : To:subject:from; bh=AAEC;\r\n b=dGVz\r\n dA=="

    func parse(_ text: String) throws(DKIMSignatureError) -> DKIMSignature {
        try DKIMSignature(parsing: Array(text.utf8))
    }

    @Test func parsesEveryTag() throws {
        let s = try parse(Self.good)
        #expect(s.algorithm == .rsaSHA256)
        #expect(s.headerCanonicalization == .relaxed)
        #expect(s.bodyCanonicalization == .simple)
        #expect(s.domain == "example.com")
        #expect(s.selector == "sel-1")
        #expect(s.timestamp == 1_700_000_000)
        #expect(s.expiration == 1_700_086_400)
        #expect(s.bodyLength == 42)
        #expect(s.identity == "joe@mail.example.com")
        #expect(s.identityDomain == "mail.example.com")
        #expect(s.signedHeaders == ["from", "to", "subject", "from"])
        #expect(s.bodyHash == [0, 1, 2])
        #expect(s.signature == Array("test".utf8))
        #expect(s.signatureText == "dGVzdA==")
    }

    @Test func defaults() throws {
        let s = try parse("v=1; a=ed25519-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==")
        #expect(s.algorithm == .ed25519SHA256)
        #expect(s.headerCanonicalization == .simple && s.bodyCanonicalization == .simple)
        #expect(s.identity == "@example.com")
        #expect(s.bodyLength == nil && s.timestamp == nil && s.expiration == nil)
        #expect(try parse("v=1; a=rsa-sha256; c=relaxed; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==").bodyCanonicalization == .simple)
    }

    @Test(arguments: [
        ("a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==", DKIMSignatureError.missingTag("v")),
        ("v=2; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==", .unsupportedVersion("2")),
        ("v=1; a=rsa-md5; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==", .unknownAlgorithm("rsa-md5")),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=to:subject; bh=AAEC; b=dGVzdA==", .fromNotSigned),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVz!A==", .badBase64(tag: "b")),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=; b=dGVzdA==", .badBase64(tag: "bh")),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==; i=joe@example.net",
         .identityNotInDomain(identity: "joe@example.net", domain: "example.com")),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==; i=joe@badexample.com",
         .identityNotInDomain(identity: "joe@badexample.com", domain: "example.com")),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==; c=fancy/simple", .badCanonicalization("fancy/simple")),
        ("v=1; a=rsa-sha256; d=exa mple.com; s=s; h=from; bh=AAEC; b=dGVzdA==", .badDomain("exa mple.com")),
        ("v=1; a=rsa-sha256; d=example.com; s=a/b; h=from; bh=AAEC; b=dGVzdA==", .badSelector("a/b")),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==; l=-1", .badNumber(tag: "l")),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==; t=1234567890123", .badNumber(tag: "t")),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==; t=200; x=100", .expiresBeforeTimestamp),
        ("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==; q=https", .unsupportedQueryMethod("https")),
        ("v=1; v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==", .tagList(.duplicateTag("v"))),
    ])
    func refuses(text: String, error: DKIMSignatureError) {
        #expect(throws: error) { try parse(text) }
    }

    @Test func hugeLengthSaturates() throws {
        let s = try parse("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==; l=" + String(repeating: "9", count: 70))
        #expect(s.bodyLength == Int.max)
    }

    @Test func unknownTagsAreIgnoredAndEmptyTagSpecsTolerated() throws {
        #expect(throws: Never.self) { try parse("v=1;; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAEC; b=dGVzdA==; zz=whatever;") }
    }

    @Test func base64() {
        #expect(decodeBase64("") == [])
        #expect(decodeBase64("Zg==") == Array("f".utf8))
        #expect(decodeBase64("Zm8=") == Array("fo".utf8))
        #expect(decodeBase64("Zm9v") == Array("foo".utf8))
        #expect(decodeBase64("Zm9") == Array("fo".utf8))  // unpadded
        #expect(decodeBase64("Z") == nil)
        #expect(decodeBase64("Zg=a") == nil)
        #expect(decodeBase64("Zg===") == nil)
    }

    // MARK: Key records

    @Test func keyRecords() throws {
        let key = try DKIMKeyRecord(parsing: "v=DKIM1; k=ed25519; h=sha256; t=y:s; s=email; n=notes; p=AAEC")
        #expect(key.keyType == "ed25519")
        #expect(key.hashAlgorithms == ["sha256"])
        #expect(key.isTesting && key.isStrict && key.allowsEmail)
        #expect(key.publicKey == [0, 1, 2])
        let defaults = try DKIMKeyRecord(parsing: "p=AAEC")
        #expect(defaults.keyType == "rsa" && defaults.hashAlgorithms == nil && defaults.allowsEmail && !defaults.isTesting)
        #expect(try DKIMKeyRecord(parsing: "v=DKIM1; p=").isRevoked)
        #expect(try !DKIMKeyRecord(parsing: "p=AAEC; s=tlsrpt").allowsEmail)
        #expect(throws: DKIMKeyError.missingPublicKey) { try DKIMKeyRecord(parsing: "v=DKIM1; k=rsa") }
        #expect(throws: DKIMKeyError.badVersion("DKIM2")) { try DKIMKeyRecord(parsing: "v=DKIM2; p=AAEC") }
        #expect(throws: DKIMKeyError.badVersion("DKIM1")) { try DKIMKeyRecord(parsing: "k=rsa; v=DKIM1; p=AAEC") }
        #expect(throws: DKIMKeyError.badBase64) { try DKIMKeyRecord(parsing: "p=%%%") }
        // Folded p= (TXT strings joined with spaces by some tools).
        #expect(try DKIMKeyRecord(parsing: "p=AA EC").publicKey == [0, 1, 2])
    }

    @Test func tagListGrammar() throws {
        let list = try TagList(parsing: Array(" a = 1 2 ;\r\n\tb_2=;c=x".utf8))
        #expect(list.tags.map(\.name) == ["a", "b_2", "c"])
        #expect(list["a"] == "1 2")
        #expect(list["b_2"] == "")
        #expect(throws: TagListError.badTagName(offset: 0)) { try TagList(parsing: Array("1a=2".utf8)) }
        #expect(throws: TagListError.missingEquals(offset: 2)) { try TagList(parsing: Array("a b=2".utf8)) }
        #expect(throws: TagListError.badValueCharacter(offset: 2)) { try TagList(parsing: Array("a=\u{1}".utf8)) }
    }
}
