// ARCHeadersTests.swift — parsing the fields of an ARC Set (RFC 8617 §4.1) and the structural
// checks of chain validation (§5.2 step 3) without any DNS (they fail before a key is needed).

import Testing
@testable import MailAuth

@Suite struct ARCHeadersTests {
    @Test func parsesSealsAndSignatures() throws {
        let seal = try ARCSeal(parsing: Array("i=2; cv=pass; a=rsa-sha256; d=Hop2.Test; s=arc; t=1700000000; b=dGVzdA==".utf8))
        #expect(seal.instance == 2)
        #expect(seal.chainValidation == .pass)
        #expect(seal.domain == "hop2.test")
        #expect(seal.timestamp == 1_700_000_000)
        let ams = try ARCMessageSignature(parsing: Array("i=1; a=rsa-sha256; c=relaxed/relaxed; d=hop1.test; s=arc; h=to:subject; bh=AAEC; b=dGVzdA==".utf8))
        #expect(ams.instance == 1)
        #expect(ams.signature.identity == "@hop1.test")
        #expect(ams.signature.signedHeaders == ["to", "subject"])  // From is not required in an AMS
        #expect(try arcAuthenticationResultsInstance(Array(" i=12; hop.test; spf=pass".utf8)) == 12)
    }

    @Test func refusesBadFields() {
        #expect(throws: ARCHeaderError.sealWithHeaders) {
            try ARCSeal(parsing: Array("i=1; cv=none; a=rsa-sha256; d=h.test; s=arc; h=from; b=dGVzdA==".utf8))
        }
        #expect(throws: ARCHeaderError.badChainValidation("maybe")) {
            try ARCSeal(parsing: Array("i=1; cv=maybe; a=rsa-sha256; d=h.test; s=arc; b=dGVzdA==".utf8))
        }
        #expect(throws: ARCHeaderError.badInstance("51")) {
            try ARCSeal(parsing: Array("i=51; cv=pass; a=rsa-sha256; d=h.test; s=arc; b=dGVzdA==".utf8))
        }
        #expect(throws: ARCHeaderError.badInstance("0")) {
            try ARCSeal(parsing: Array("i=0; cv=none; a=rsa-sha256; d=h.test; s=arc; b=dGVzdA==".utf8))
        }
        #expect(throws: ARCHeaderError.messageSignature(.signsARCSeal)) {
            try ARCMessageSignature(parsing: Array("i=1; a=rsa-sha256; d=h.test; s=arc; h=from:arc-seal; bh=AAEC; b=dGVzdA==".utf8))
        }
        #expect(throws: ARCHeaderError.missingTag("i")) {
            try ARCMessageSignature(parsing: Array("a=rsa-sha256; d=h.test; s=arc; h=from; bh=AAEC; b=dGVzdA==".utf8))
        }
        #expect(throws: ARCHeaderError.badAuthenticationResults) { try arcAuthenticationResultsInstance(Array("hop.test; none".utf8)) }
    }

    func verify(_ text: String) async -> ARCResult {
        await ARCVerifier(dns: FakeDNS(), now: fixedNow).verify(RawMessage(crlf(text)))
    }

    @Test func structure() async {
        #expect(await verify("From: a@b.test\n\nx\n").code == .none)
        let aar = "ARC-Authentication-Results: i=1; hop.test; spf=pass\n"
        let ams = "ARC-Message-Signature: i=1; a=rsa-sha256; d=hop.test; s=arc; h=from; bh=AAEC; b=dGVzdA==\n"
        let seal = "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=hop.test; s=arc; b=dGVzdA==\n"
        let incomplete = await verify(aar + ams + "From: a@b.test\n\nx\n")
        #expect(incomplete.code == .fail)
        #expect(incomplete.reason.contains("incomplete"))
        let gap = await verify(aar.replacingOccurrences(of: "i=1", with: "i=2") + ams + seal + "From: a@b.test\n\nx\n")
        #expect(gap.code == .fail)
        let wrongCV = await verify(aar + ams + seal.replacingOccurrences(of: "cv=none", with: "cv=pass") + "From: a@b.test\n\nx\n")
        #expect(wrongCV.code == .fail)
        #expect(wrongCV.reason.contains("cv=pass"))
        // Structurally sound, but the key is missing: the AMS cannot verify.
        let noKey = await verify(aar + ams + seal + "From: a@b.test\n\nx\n")
        #expect(noKey.code == .fail)
        #expect(noKey.instances == 1)
        #expect(noKey.reason.contains("no key"))
    }

    @Test func rendersInAuthenticationResults() {
        let result = ARCResult(code: .pass, instances: 2, oldestPass: 0, sealers: ["a.test", "b.test"], reason: "2 ARC sets, sealed by b.test")
        #expect(AuthenticationResults(authservID: "mx.test", dkimChecked: false, arc: result).statements
            == ["arc=pass (2 ARC sets, sealed by b.test) header.oldest-pass=0"])
    }
}
