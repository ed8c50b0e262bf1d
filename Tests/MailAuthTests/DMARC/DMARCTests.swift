// DMARCTests.swift — DMARC records (RFC 7489 §6.3, §6.4) and evaluation (§6.6) against an in-memory
// zone: discovery at the author and Organizational Domain, alignment, p=/sp=, pct= with an
// injected sample, several and missing From fields.

import Testing
@testable import MailAuth

@Suite struct DMARCRecordTests {
    @Test func parsesTags() throws {
        let r = try DMARCRecord(parsing: "v=DMARC1; p=Reject; sp=quarantine; pct=25; adkim=s; aspf=r; rua=mailto:a@example.com, mailto:b@example.com!10m; ruf=mailto:f@example.com; fo=1")
        #expect(r.policy == .reject)
        #expect(r.subdomainPolicy == .quarantine)
        #expect(r.percentage == 25)
        #expect(r.dkimAlignment == .strict && r.spfAlignment == .relaxed)
        #expect(r.aggregateReportURIs == ["mailto:a@example.com", "mailto:b@example.com!10m"])
        #expect(r.failureReportURIs == ["mailto:f@example.com"])
        #expect(r.failureOptions == "1")
        #expect(!r.policyFallback)
    }

    @Test func defaultsAndDiscardedErrors() throws {
        let r = try DMARCRecord(parsing: "v=DMARC1;p=none")
        #expect(r.percentage == 100 && r.dkimAlignment == .relaxed && r.spfAlignment == .relaxed && r.subdomainPolicy == nil)
        let bad = try DMARCRecord(parsing: "v=DMARC1; p=quarantine; pct=250; adkim=x; aspf=")
        #expect(bad.percentage == 100 && bad.dkimAlignment == .relaxed)
    }

    @Test func invalidPolicyFallsBackToNoneOnlyWithRua() throws {
        let fallback = try DMARCRecord(parsing: "v=DMARC1; p=bogus; rua=mailto:r@example.com")
        #expect(fallback.policy == .none && fallback.policyFallback)
        #expect(throws: DMARCRecordError.self) { try DMARCRecord(parsing: "v=DMARC1; p=bogus") }
        #expect(throws: DMARCRecordError.self) { try DMARCRecord(parsing: "v=DMARC1; rua=nothing") }
        #expect(throws: DMARCRecordError.self) { try DMARCRecord(parsing: "v=DMARC1; p=reject; sp=bogus") }
    }

    @Test func versionMustComeFirst() {
        #expect(DMARCRecord.isDMARC("v=DMARC1; p=none"))
        #expect(DMARCRecord.isDMARC("v = DMARC1;p=none"))
        #expect(DMARCRecord.isDMARC("v=DMARC1"))
        #expect(!DMARCRecord.isDMARC("p=none; v=DMARC1"))
        #expect(!DMARCRecord.isDMARC("v=dmarc1; p=none"))
        #expect(!DMARCRecord.isDMARC("v=DMARC10; p=none"))
        #expect(throws: DMARCRecordError.notDMARC) { try DMARCRecord(parsing: "v=spf1 -all") }
    }
}

@Suite struct DMARCVerifierTests {
    static let psl = PublicSuffixList(parsing: "com\nnet\nuk\nco.uk\n")

    func zone() -> FakeDNS {
        var dns = FakeDNS()
        dns.txt["_dmarc.example.com"] = ["v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com"]
        dns.txt["_dmarc.strict.co.uk"] = ["v=DMARC1; p=quarantine; adkim=s; aspf=s"]
        dns.txt["_dmarc.sampled.com"] = ["v=DMARC1; p=reject; pct=30"]
        dns.txt["_dmarc.twice.com"] = ["v=DMARC1; p=reject", "v=DMARC1; p=none"]
        dns.txt["_dmarc.own.example.com"] = ["v=DMARC1; p=none"]
        dns.txt["_dmarc.unusable.com"] = ["v=DMARC1; p=whatever"]
        dns.txt["_dmarc.other.com"] = ["not dmarc"]
        dns.failing = ["_dmarc.broken.com"]
        return dns
    }

    func verifier(_ sample: Int = 0) -> DMARCVerifier {
        DMARCVerifier(dns: zone(), publicSuffixes: Self.psl, sample: { sample })
    }

    func spf(_ code: SPFResultCode, _ domain: String) -> SPFResult {
        SPFResult(code: code, identity: .mailFrom, domain: domain, sender: "x@" + domain, reason: "")
    }

    func dkim(_ code: DKIMResultCode, _ domain: String) -> DKIMSignatureResult {
        DKIMSignatureResult(code: code, failure: nil, signature: nil, domain: domain, selector: "s",
                            field: RawHeaderField(name: "DKIM-Signature", range: 0..<0, valueRange: 0..<0))
    }

    func evaluate(_ from: String, spf: SPFResult? = nil, dkim: [DKIMSignatureResult] = [], sample: Int = 0) async -> DMARCResult {
        await verifier(sample).evaluate(RawMessage(crlf("From: \(from)\nSubject: x\n\nbody\n")), spf: spf, dkim: dkim)
    }

    @Test func passThroughSPFOrDKIMAlignment() async {
        let viaSPF = await evaluate("a@example.com", spf: spf(.pass, "bounce.example.com"))
        #expect(viaSPF.code == .pass)
        #expect(viaSPF.domains.first?.spfAligned == true)
        #expect(viaSPF.disposition == .none)
        let viaDKIM = await evaluate("a@example.com", spf: spf(.fail, "example.com"), dkim: [dkim(.fail, "example.com"), dkim(.pass, "mail.example.com")])
        #expect(viaDKIM.code == .pass)
        #expect(viaDKIM.domains.first?.dkimAligned == true)
        #expect(viaDKIM.domains.first?.spfAligned == false)
    }

    @Test func failAppliesThePolicy() async {
        let result = await evaluate("a@example.com", spf: spf(.pass, "example.net"), dkim: [dkim(.pass, "example.net")])
        #expect(result.code == .fail)
        #expect(result.disposition == .reject)
        #expect(result.requestedPolicy == .reject)
        #expect(result.fromDomain == "example.com")
        // A HELO result is not the SPF identifier DMARC uses.
        let helo = SPFResult(code: .pass, identity: .helo, domain: "example.com", sender: "postmaster@example.com", reason: "")
        #expect(await evaluate("a@example.com", spf: helo).code == .fail)
    }

    @Test func subdomainUsesTheOrganizationalRecordAndSp() async {
        let result = await evaluate("a@news.example.com")
        #expect(result.code == .fail)
        #expect(result.domains.first?.recordDomain == "example.com")
        #expect(result.domains.first?.organizationalDomain == "example.com")
        #expect(result.disposition == .quarantine)
        // A record at the subdomain itself wins, with its p=.
        let own = await evaluate("a@own.example.com")
        #expect(own.domains.first?.recordDomain == "own.example.com")
        #expect(own.disposition == .none)
        #expect(own.code == .fail)
    }

    @Test func strictAlignment() async {
        #expect(await evaluate("a@strict.co.uk", dkim: [dkim(.pass, "mail.strict.co.uk")]).code == .fail)
        #expect(await evaluate("a@strict.co.uk", dkim: [dkim(.pass, "STRICT.co.uk")]).code == .pass)
        #expect(await evaluate("a@strict.co.uk", spf: spf(.pass, "bounce.strict.co.uk")).code == .fail)
        // Relaxed alignment needs the same Organizational Domain, not a shared public suffix.
        #expect(await evaluate("a@example.com", dkim: [dkim(.pass, "other.com")]).code == .fail)
    }

    @Test func percentageUsesTheInjectedSample() async {
        let inSample = await evaluate("a@sampled.com", sample: 29)
        #expect(inSample.disposition == .reject)
        #expect(inSample.domains.first?.sampledOut == false)
        let outOfSample = await evaluate("a@sampled.com", sample: 30)
        #expect(outOfSample.disposition == .quarantine)
        #expect(outOfSample.domains.first?.sampledOut == true)
        #expect(outOfSample.code == .fail)
    }

    @Test func noPolicy() async {
        #expect(await evaluate("a@nowhere.com").code == .none)
        #expect(await evaluate("a@twice.com").code == .none)       // several records: no policy
        #expect(await evaluate("a@unusable.com").code == .none)    // invalid p= without rua=
        #expect(await evaluate("a@other.com").code == .none)
    }

    @Test func temporaryFailure() async {
        let result = await evaluate("a@broken.com")
        #expect(result.code == .temperror)
        #expect(result.disposition == .none)
    }

    @Test func fromFieldProblems() async {
        let none = await verifier().evaluate(RawMessage(crlf("Subject: x\n\nbody\n")), spf: nil, dkim: [])
        #expect(none.code == .permerror)
        #expect(none.reason == "no From field")
        let noDomain = await evaluate("undisclosed-recipients:;")
        #expect(noDomain.code == .permerror)
        // Several author domains: the strictest failing policy applies (§6.6.1).
        let several = await verifier().evaluate(RawMessage(crlf("From: a@own.example.com, b@example.com\n\nx\n")),
                                                spf: nil, dkim: [dkim(.pass, "example.com")])
        #expect(several.domains.map(\.fromDomain) == ["own.example.com", "example.com"])
        #expect(several.code == .pass)  // own.example.com aligns relaxed through example.com
        let fields = await verifier().evaluate(RawMessage(crlf("From: a@example.com\nFrom: b@nowhere.com\n\nx\n")), spf: nil, dkim: [])
        #expect(fields.multipleFromFields)
        #expect(fields.code == .fail)
        #expect(fields.disposition == .reject)
        // Addresses inside display names are not authors.
        let display = AuthorDomains(RawMessage(crlf("From: \"ceo@example.com\" <x@evil.example>\n\n")))
        #expect(display.domains == ["evil.example"])
    }
}
