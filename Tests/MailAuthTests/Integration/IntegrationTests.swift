// IntegrationTests.swift — SPF, DKIM and DMARC end to end: messages signed by dkimpy, keys and
// policies served by a real DNS server on 127.0.0.1, queried through DNSResolver.

import Foundation
import Testing
import DNS
@testable import MailAuth

@Suite(.serialized) struct IntegrationTests {
    func fixture() async throws -> IntegrationFixture { try await IntegrationFixture.get() }

    func dkim(_ name: String, edit: (String) -> String = { $0 }) async throws -> [DKIMSignatureResult] {
        let f = try await fixture()
        let text = edit(String(decoding: try #require(f.signed[name]), as: UTF8.self))
        return await DKIMVerifier(dns: f.dns).verify(Array(text.utf8))
    }

    // MARK: DKIM

    @Test func dkimpySignaturesPass() async throws {
        for name in ["rsa-relaxed", "rsa-simple", "ed25519", "not-expired", "oversigned", "third-party"] {
            let results = try await dkim(name)
            #expect(results.count == 1, "\(name)")
            #expect(results.first?.code == .pass, "\(name): \(results.first?.reason ?? "no result")")
        }
        let ed = try await dkim("ed25519")
        #expect(ed.first?.signature?.algorithm == .ed25519SHA256)
        #expect(ed.first?.selector == "ed")
    }

    /// Differential: random messages full of white space, folding and empty lines, signed by dkimpy
    /// with every canonicalization pair and both key types, all verify; with From changed, none do.
    @Test func randomDkimpySignaturesVerify() async throws {
        let f = try await fixture()
        let verifier = DKIMVerifier(dns: f.dns)
        for index in 0..<randomMessageCount {
            let name = "random-\(index)"
            let message = try #require(f.signed[name])
            let result = await verifier.verify(message).first
            #expect(result?.code == .pass, "\(name) \(signingJobs[name]!.canonicalize): \(result?.reason ?? "no result")\n\(String(decoding: message, as: UTF8.self))")
            let tampered = String(decoding: message, as: UTF8.self).replacingOccurrences(of: "From: Joe", with: "From: Jim")
            #expect(await verifier.verify(Array(tampered.utf8)).first?.failure == .signatureMismatch, "\(name)")
        }
    }

    @Test func modifiedBodyOrHeaderFails() async throws {
        for name in ["rsa-relaxed", "rsa-simple", "ed25519"] {
            let body = try await dkim(name) { $0.replacingOccurrences(of: "hungry", with: "thirsty") }
            #expect(body.first?.code == .fail, "\(name)")
            #expect(body.first?.failure == .bodyHashMismatch, "\(name)")
            let header = try await dkim(name) { $0.replacingOccurrences(of: "Subject: Is dinner ready?", with: "Subject: Is lunch ready?") }
            #expect(header.first?.failure == .signatureMismatch, "\(name)")
            let from = try await dkim(name) { $0.replacingOccurrences(of: "From: Joe SixPack", with: "From: Joe Sixpack") }
            #expect(from.first?.code == .fail, "\(name)")
        }
    }

    @Test func relaxedSurvivesWhitespaceChangesSimpleDoesNot() async throws {
        func rewhitespace(_ text: String) -> String {
            text.replacingOccurrences(of: "Subject: Is dinner ready?", with: "SUBJECT:   Is dinner\r\n\tready?  ")
                .replacingOccurrences(of: "We lost the game.", with: "We  lost the\tgame.   ")
                + "\r\n\r\n"
        }
        #expect(try await dkim("rsa-relaxed", edit: rewhitespace).first?.code == .pass)
        let simple = try await dkim("rsa-simple", edit: rewhitespace).first
        #expect(simple?.code == .fail)
        // Trailing empty lines alone are ignored by both.
        #expect(try await dkim("rsa-simple") { $0 + "\r\n\r\n" }.first?.code == .pass)
    }

    @Test func overSignedFromRefusesAnAddedFrom() async throws {
        let added = { (text: String) in "From: attacker@evil.test\r\n" + text }
        #expect(try await dkim("oversigned", edit: added).first?.failure == .signatureMismatch)
        // dkimpy over-signs From by default too ("h=from : to : subject : from" here).
        #expect(try await dkim("rsa-relaxed", edit: added).first?.failure == .signatureMismatch)
    }

    @Test func expiredSmallKeyAndSHA1Fail() async throws {
        let expired = try await dkim("expired").first
        #expect(expired?.code == .fail)
        if case .expired = expired?.failure {} else { Issue.record("expected expired, got \(String(describing: expired?.failure))") }
        let small = try await dkim("small-key").first
        #expect(small?.code == .fail)
        #expect(small?.failure == .keyTooSmall(bits: 512))
        let sha1 = try await dkim("sha1").first
        #expect(sha1?.code == .fail)
        #expect(sha1?.failure == .sha1Rejected)
    }

    @Test func keyLookupOutcomes() async throws {
        let missing = try await dkim("missing-key").first
        #expect(missing?.code == .permerror)
        #expect(missing?.failure == .keyNotFound("missing._domainkey.example.test"))
        let temporary = try await dkim("temp-key").first
        #expect(temporary?.code == .temperror, "\(temporary?.reason ?? "")")
        let revoked = try await dkim("revoked-key").first
        #expect(revoked?.failure == .keyRevoked)
    }

    @Test func lengthTagIsHonouredAndFlagged() async throws {
        let clean = try await dkim("length").first
        #expect(clean?.code == .pass)
        #expect(clean?.bodyPartiallySigned == false)
        let appended = try await dkim("length") { $0 + "Unsigned text appended later.\r\n" }.first
        #expect(appended?.code == .pass)
        #expect(appended?.bodyPartiallySigned == true)
    }

    @Test func twoSignaturesTwoResults() async throws {
        let f = try await fixture()
        // dkimpy's ed25519 signature on top of its RSA one, each over the same message.
        let rsa = String(decoding: try #require(f.signed["rsa-relaxed"]), as: UTF8.self)
        let ed = String(decoding: try #require(f.signed["ed25519"]), as: UTF8.self)
        let edField = String(ed[..<ed.range(of: "From: ")!.lowerBound])
        let both = Array((edField + rsa).utf8)
        let results = await DKIMVerifier(dns: f.dns).verify(both)
        #expect(results.map(\.code) == [.pass, .pass])
        #expect(results.map { $0.selector ?? "" } == ["ed", "rsa"])
        let broken = Array((edField + rsa.replacingOccurrences(of: "hungry", with: "HUNGRY")).utf8)
        #expect(await DKIMVerifier(dns: f.dns).verify(broken).map(\.code) == [.fail, .fail])
    }

    // MARK: ARC

    func arc(_ name: String, edit: (String) -> String = { $0 }) async throws -> ARCResult {
        let f = try await fixture()
        let text = edit(String(decoding: try #require(f.signed[name]), as: UTF8.self))
        return await ARCVerifier(dns: f.dns).verify(RawMessage(Array(text.utf8)))
    }

    @Test func dkimpyARCChainsPass() async throws {
        let two = try await arc("arc-2")
        #expect(two.code == .pass, "\(two.reason)")
        #expect(two.instances == 2)
        #expect(two.oldestPass == 0)
        #expect(two.sealers == ["hop1.test", "hop2.test"])
        let one = try await arc("arc-1")
        #expect(one.code == .pass, "\(one.reason)")
        #expect(one.instances == 1)
        // A later hop's Authentication-Results is not covered by the seals.
        #expect(try await arc("arc-2") { "Authentication-Results: hop3.test; spf=fail\r\n" + $0 }.code == .pass)
        #expect(try await arc("rsa-relaxed").code == .none)
    }

    @Test func brokenARCChainsFail() async throws {
        // The body or a signed field changed after the last hop: the newest AMS fails.
        let body = try await arc("arc-2") { $0.replacingOccurrences(of: "hungry", with: "thirsty") }
        #expect(body.code == .fail)
        #expect(body.reason.contains("ARC-Message-Signature i=2"))
        // An earlier hop's results rewritten: covered by both seals.
        let results = try await arc("arc-2") {
            $0.replacingOccurrences(of: "ARC-Authentication-Results: i=1; hop1.test; spf=pass", with: "ARC-Authentication-Results: i=1; hop1.test; spf=fail")
        }
        #expect(results.code == .fail)
        #expect(results.reason.contains("ARC-Seal i=2"))
        // The newest seal claims cv=fail; a set removed; a set duplicated.
        #expect(try await arc("arc-2") { $0.replacingOccurrences(of: "ARC-Seal: i=2; cv=pass", with: "ARC-Seal: i=2; cv=fail") }.code == .fail)
        let removed = try await arc("arc-2") { text in
            let start = text.range(of: "ARC-Seal: i=1;")!
            let end = text.range(of: "ARC-Message-Signature: i=1;")!
            return String(text[..<start.lowerBound]) + String(text[end.lowerBound...])
        }
        #expect(removed.code == .fail)
        #expect(removed.reason.contains("incomplete"))
        #expect(try await arc("arc-2") { "ARC-Authentication-Results: i=2; evil.test; spf=pass\r\n" + $0 }.code == .fail)
        #expect(try await arc("arc-2") { "ARC-Authentication-Results: i=4; evil.test; spf=pass\r\n" + $0 }.code == .fail)
    }

    // MARK: SPF

    @Test func spfAgainstTheZone() async throws {
        let f = try await fixture()
        let spf = SPFVerifier(dns: f.dns)
        #expect(await spf.checkMailFrom(ip: "192.0.2.77", mailFrom: "joe@example.test", helo: "x").code == .pass)
        #expect(await spf.checkMailFrom(ip: "198.51.100.7", mailFrom: "joe@example.test", helo: "x").code == .pass)  // include
        #expect(await spf.checkMailFrom(ip: "2001:db8:25::9", mailFrom: "joe@example.test", helo: "x").code == .pass)
        #expect(await spf.checkMailFrom(ip: "203.0.113.1", mailFrom: "joe@example.test", helo: "x").code == .fail)
        #expect(await spf.checkMailFrom(ip: "192.0.2.25", mailFrom: "b@bounce.example.test", helo: "x").code == .pass)
        #expect(await spf.checkMailFrom(ip: "2001:db8::25", mailFrom: "b@bounce.example.test", helo: "x").code == .pass)
        #expect(await spf.checkMailFrom(ip: "192.0.2.26", mailFrom: "b@bounce.example.test", helo: "x").code == .softfail)
        #expect(await spf.checkMailFrom(ip: "203.0.113.25", mailFrom: "a@other.test", helo: "x").code == .pass)   // mx
        #expect(await spf.checkMailFrom(ip: "192.0.2.1", mailFrom: "a@news.example.test", helo: "x").code == .pass) // redirect
        #expect(await spf.checkMailFrom(ip: "192.0.2.1", mailFrom: "a@nothing.test", helo: "x").code == .none)     // NXDOMAIN
        #expect(await spf.checkMailFrom(ip: "192.0.2.1", mailFrom: "a@tempfail.test", helo: "x").code == .temperror) // SERVFAIL
        #expect(await spf.checkHELO(ip: "192.0.2.80", helo: "example.test").code == .pass)
    }

    // MARK: DMARC

    func dmarc(_ message: [UInt8], ip: ClientIP, mailFrom: String) async throws -> (SPFResult, [DKIMSignatureResult], DMARCResult) {
        let f = try await fixture()
        let spf = await SPFVerifier(dns: f.dns).checkMailFrom(ip: ip, mailFrom: mailFrom, helo: "client.example")
        let dkim = await DKIMVerifier(dns: f.dns).verify(message)
        let dmarc = await DMARCVerifier(dns: f.dns, publicSuffixes: f.publicSuffixes, sample: { 0 })
            .evaluate(RawMessage(message), spf: spf, dkim: dkim)
        return (spf, dkim, dmarc)
    }

    @Test func dmarcPassThroughSPFAlignment() async throws {
        let unsigned = crlf(baseMessage)
        let (spf, dkim, dmarc) = try await dmarc(unsigned, ip: "192.0.2.25", mailFrom: "bounces@bounce.example.test")
        #expect(spf.code == .pass)
        #expect(dkim.isEmpty)
        #expect(dmarc.code == .pass)
        #expect(dmarc.domains.first?.spfAligned == true)
        #expect(dmarc.domains.first?.recordDomain == "example.test")
    }

    @Test func dmarcPassThroughDKIMAlignment() async throws {
        let f = try await fixture()
        let (spf, dkim, dmarc) = try await dmarc(try #require(f.signed["rsa-relaxed"]), ip: "203.0.113.9", mailFrom: "x@other.test")
        #expect(spf.code == .fail)
        #expect(dkim.first?.code == .pass)
        #expect(dmarc.code == .pass)
        #expect(dmarc.domains.first?.dkimAligned == true)
        #expect(dmarc.disposition == .none)
    }

    @Test func dmarcFailRejects() async throws {
        let f = try await fixture()
        // Signed by other.test (passes, not aligned), sent from an address example.test does not list.
        let (_, dkim, dmarc) = try await dmarc(try #require(f.signed["third-party"]), ip: "203.0.113.9", mailFrom: "x@example.test")
        #expect(dkim.first?.code == .pass)
        #expect(dmarc.code == .fail)
        #expect(dmarc.requestedPolicy == .reject)
        #expect(dmarc.disposition == .reject)
    }

    @Test func dmarcSubdomainUsesOrganizationalRecordAndSp() async throws {
        let f = try await fixture()
        let unsigned = crlf(baseMessage.replacingOccurrences(of: "joe@example.test", with: "joe@news.example.test"))
        let (_, _, failing) = try await dmarc(unsigned, ip: "203.0.113.9", mailFrom: "x@news.example.test")
        #expect(failing.code == .fail)
        #expect(failing.domains.first?.fromDomain == "news.example.test")
        #expect(failing.domains.first?.organizationalDomain == "example.test")
        #expect(failing.domains.first?.recordDomain == "example.test")
        #expect(failing.disposition == .quarantine)  // sp=, not p=
        // Signed by d=example.test for From news.example.test: relaxed alignment passes.
        let (_, _, passing) = try await dmarc(try #require(f.signed["news"]), ip: "203.0.113.9", mailFrom: "x@news.example.test")
        #expect(passing.code == .pass)
    }

    @Test func dmarcStrictAlignment() async throws {
        let f = try await fixture()
        // d=mail.strict.test passes DKIM but adkim=s wants strict.test exactly.
        let (_, dkim, strict) = try await dmarc(try #require(f.signed["strict"]), ip: "192.0.2.1", mailFrom: "x@mail.strict.test")
        #expect(dkim.first?.code == .pass)
        #expect(strict.code == .fail)
        let (spf, _, viaSPF) = try await dmarc(try #require(f.signed["strict"]), ip: "203.0.113.5", mailFrom: "x@strict.test")
        #expect(spf.code == .pass)
        #expect(viaSPF.code == .pass)
    }

    @Test func dmarcNoneAndTemperror() async throws {
        let none = crlf(baseMessage.replacingOccurrences(of: "joe@example.test", with: "joe@nodmarc.test"))
        #expect(try await dmarc(none, ip: "192.0.2.1", mailFrom: "x@nodmarc.test").2.code == .none)
        let temp = crlf(baseMessage.replacingOccurrences(of: "joe@example.test", with: "joe@tempfail.test"))
        #expect(try await dmarc(temp, ip: "192.0.2.1", mailFrom: "x@nodmarc.test").2.code == .temperror)
    }

    // MARK: All together

    @Test func authenticationResultsForARealMessage() async throws {
        let f = try await fixture()
        let forged = "Authentication-Results: mx.gatehouse.test; dkim=pass header.d=bank.example\r\n"
        let message = Array(forged.utf8) + (try #require(f.signed["rsa-relaxed"]))
        let raw = RawMessage(message)
        let ranges = AuthenticationResults.forgedFieldRanges(in: raw, authservID: "MX.gatehouse.test")
        #expect(ranges == [0..<forged.utf8.count])
        let (spf, dkim, verdict) = try await dmarc(message, ip: "192.0.2.25", mailFrom: "joe@example.test")
        let field = AuthenticationResults(authservID: "mx.gatehouse.test", spf: spf, dkim: dkim, dmarc: verdict).field
        #expect(field.contains("spf=pass"))
        #expect(field.contains("smtp.mailfrom=joe@example.test"))
        #expect(field.contains("dkim=pass (signature verified) header.d=example.test header.s=rsa"))
        #expect(field.contains("dmarc=pass (p=reject; sp=quarantine; dis=none; SPF aligned, DKIM aligned) header.from=example.test"))
        let stamped = Array(field.utf8) + AuthenticationResults.removing(ranges, from: message)
        // Our field does not break the signature (it is not signed), and is the only one of ours.
        #expect(await DKIMVerifier(dns: f.dns).verify(stamped).first?.code == .pass)
        #expect(AuthenticationResults.forgedFieldRanges(in: RawMessage(stamped), authservID: "mx.gatehouse.test").count == 1)
    }

    @Test func authenticatorStampsOneField() async throws {
        let f = try await fixture()
        let forged = "Authentication-Results: MX.Gatehouse.Test; dmarc=pass header.from=example.test\r\n"
        let message = Array(forged.utf8) + (try #require(f.signed["arc-2"]))
        let authenticator = MailAuthenticator(authservID: "mx.gatehouse.test", dns: f.dns, publicSuffixes: f.publicSuffixes)
        let report = await authenticator.authenticate(message, client: "192.0.2.25", helo: "mail.example.test",
                                                      mailFrom: "joe@example.test")
        #expect(report.spf.code == .pass)
        #expect(report.helo?.code == SPFResultCode.none)  // mail.example.test publishes no SPF record
        #expect(report.dkim.isEmpty)
        #expect(report.arc?.code == .pass)
        #expect(report.dmarc.code == .pass)
        #expect(report.forgedFieldRanges == [0..<forged.utf8.count])
        let stamped = String(decoding: report.stamped(message), as: UTF8.self)
        #expect(stamped.hasPrefix("Authentication-Results: mx.gatehouse.test;\r\n\tspf=pass"))
        #expect(stamped.contains(";\r\n\tdkim=none;\r\n\tdmarc=pass"))
        #expect(stamped.contains("arc=pass (2 ARC sets, sealed by hop2.test) header.oldest-pass=0\r\n"))
        #expect(stamped.components(separatedBy: "mx.gatehouse.test").count == 2)
        #expect(!stamped.contains("MX.Gatehouse.Test"))
        // The ARC chain still validates on the stamped message.
        #expect(await ARCVerifier(dns: f.dns).verify(RawMessage(report.stamped(message))).code == .pass)
    }
}
