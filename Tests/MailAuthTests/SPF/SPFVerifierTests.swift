// SPFVerifierTests.swift — check_host() against an in-memory zone (RFC 7208 §4, §5, §6): every
// mechanism, include and redirect semantics, the limits of §4.6.4, DNS failures, explanations and
// the MAIL FROM / HELO identities.

import Testing
import DNS
@testable import MailAuth

@Suite struct SPFVerifierTests {
    func check(_ dns: FakeDNS, ip: ClientIP = "192.0.2.10", domain: String = "example.com",
               sender: String = "user@example.com", helo: String = "mx.example.org") async -> SPFResult {
        await SPFVerifier(dns: dns, receivingDomain: "mx.example.net", now: fixedNow)
            .checkHost(ip: ip, domain: domain, sender: sender, helo: helo)
    }

    func zone(_ record: String, _ more: (inout FakeDNS) -> Void = { _ in }) -> FakeDNS {
        var dns = FakeDNS()
        dns.txt["example.com"] = [record, "some-other=txt"]
        more(&dns)
        return dns
    }

    // MARK: Results and qualifiers

    @Test func qualifiersGiveTheirResults() async {
        #expect(await check(zone("v=spf1 ip4:192.0.2.0/24 -all")).code == .pass)
        #expect(await check(zone("v=spf1 ip4:198.51.100.0/24 -all")).code == .fail)
        #expect(await check(zone("v=spf1 ip4:198.51.100.0/24 ~all")).code == .softfail)
        #expect(await check(zone("v=spf1 ip4:198.51.100.0/24 ?all")).code == .neutral)
        #expect(await check(zone("v=spf1 ip4:198.51.100.0/24")).code == .neutral)
        #expect(await check(zone("v=spf1 -ip4:192.0.2.10 +all")).code == .fail)
        let result = await check(zone("v=spf1 ip4:192.0.2.0/24 -all"))
        #expect(result.reason.contains("ip4:192.0.2.0/24"))
        #expect(result.domain == "example.com")
    }

    @Test func noneForMissingRecordsAndBadDomains() async {
        var dns = FakeDNS()
        dns.a["example.com"] = ["192.0.2.1"]
        #expect(await check(dns).code == .none)                              // NODATA for TXT
        #expect(await check(FakeDNS()).code == .none)                        // NXDOMAIN
        #expect(await check(zone("not spf")).code == .none)
        #expect(await check(FakeDNS(), domain: "localhost").code == .none)  // single label
        #expect(await check(FakeDNS(), domain: "a..example").code == .none)
        #expect(await check(FakeDNS(), domain: "[192.0.2.1]").code == .none)
    }

    @Test func temperrorForTemporaryFailures() async {
        var dns = FakeDNS()
        dns.failing = ["example.com"]
        #expect(await check(dns).code == .temperror)
        let a = zone("v=spf1 a:broken.example.com -all") { $0.failing = ["broken.example.com"] }
        #expect(await check(a).code == .temperror)
        let mx = zone("v=spf1 mx -all") { $0.failing = ["example.com"]; $0.txt["example.com"] = nil }
        #expect(await check(mx).code == .temperror)
    }

    @Test func permerrorForBadOrMultipleRecords() async {
        #expect(await check(zone("v=spf1 moo -all")).code == .permerror)
        var dns = FakeDNS()
        dns.txt["example.com"] = ["v=spf1 -all", "v=spf1 +all"]
        #expect(await check(dns).code == .permerror)
    }

    // MARK: Mechanisms

    @Test func aAndMXWithPrefixes() async {
        let dns = zone("v=spf1 a/24 mx:mail.example.com//64 -all") {
            $0.a["example.com"] = ["192.0.2.200"]
            $0.mx["mail.example.com"] = ["mx1.example.com", "mx2.example.com"]
            $0.aaaa["mx2.example.com"] = ["2001:db8:1:2::1"]
            $0.a["mx1.example.com"] = ["198.51.100.1"]
        }
        #expect(await check(dns, ip: "192.0.2.10").code == .pass)            // a/24
        #expect(await check(dns, ip: "198.51.100.1").code == .pass)          // mx, exact
        #expect(await check(dns, ip: "198.51.100.2").code == .fail)
        #expect(await check(dns, ip: "2001:db8:1:2::99").code == .pass)      // mx//64
        #expect(await check(dns, ip: "2001:db8:1:3::1").code == .fail)
    }

    @Test func mxWithMoreThanTenRecordsIsPermerror() async {
        let dns = zone("v=spf1 mx -all") {
            $0.mx["example.com"] = (1...11).map { "mx\($0).example.com" }
        }
        let result = await check(dns)
        #expect(result.code == .permerror)
        #expect(result.reason.contains("MX"))
    }

    @Test func ptrMatchesValidatedNamesOnly() async {
        let dns = zone("v=spf1 ptr -all") {
            $0.ptr["192.0.2.10"] = ["mail.example.com", "forged.example.com", "other.example.net"]
            $0.a["mail.example.com"] = ["192.0.2.10"]
            $0.a["forged.example.com"] = ["203.0.113.1"]
            $0.a["other.example.net"] = ["192.0.2.10"]
        }
        #expect(await check(dns).code == .pass)
        var unvalidated = dns
        unvalidated.a["mail.example.com"] = ["203.0.113.9"]
        #expect(await check(unvalidated).code == .fail)
        // A failing PTR lookup does not match (§5.5) and is no temperror.
        var failing = dns
        failing.failing = ["192.0.2.10"]
        #expect(await check(failing).code == .fail)
    }

    @Test func existsWithMacros() async {
        let dns = zone("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all") {
            $0.a["10.2.0.192.user._spf.example.com"] = ["127.0.0.2"]
        }
        #expect(await check(dns).code == .pass)
        #expect(await check(dns, ip: "192.0.2.11").code == .fail)
        // exists always asks for A, whatever the client's family.
        #expect(await check(dns, ip: "2001:db8::1").code == .fail)
        #expect(!dns.log.entries.contains { $0.hasPrefix("AAAA ") })
    }

    @Test func ip6AndMappedAddresses() async {
        let dns = zone("v=spf1 ip6:2001:db8::/32 ip4:192.0.2.10 -all")
        #expect(await check(dns, ip: "2001:db8:ffff::1").code == .pass)
        #expect(await check(dns, ip: "2001:db9::1").code == .fail)
        // §5.6: an IPv4-mapped IPv6 client is an IPv4 client.
        #expect(await check(dns, ip: "::ffff:192.0.2.10").code == .pass)
    }

    // MARK: include and redirect

    @Test func includeSemantics() async {
        var dns = FakeDNS()
        dns.txt["example.com"] = ["v=spf1 include:pass.example include:fail.example -all"]
        dns.txt["pass.example"] = ["v=spf1 ip4:192.0.2.10 -all"]
        dns.txt["fail.example"] = ["v=spf1 -all"]
        #expect(await check(dns).code == .pass)
        // A fail inside an include is only "no match".
        #expect(await check(dns, ip: "203.0.113.1").code == .fail)

        var missing = FakeDNS()
        missing.txt["example.com"] = ["v=spf1 include:none.example -all"]
        missing.a["none.example"] = ["192.0.2.1"]
        let none = await check(missing)
        #expect(none.code == .permerror)
        #expect(none.reason.contains("none.example"))

        var broken = FakeDNS()
        broken.txt["example.com"] = ["v=spf1 include:temp.example -all"]
        broken.failing = ["temp.example"]
        #expect(await check(broken).code == .temperror)
    }

    @Test func redirectSemantics() async {
        var dns = FakeDNS()
        dns.txt["example.com"] = ["v=spf1 ip4:203.0.113.0/24 redirect=_spf.example.net exp=ours.example.com"]
        dns.txt["_spf.example.net"] = ["v=spf1 ip4:192.0.2.0/24 -all"]
        #expect(await check(dns).code == .pass)
        #expect(await check(dns, ip: "203.0.113.5").code == .pass)
        let fail = await check(dns, ip: "198.51.100.1")
        #expect(fail.code == .fail)
        #expect(fail.explanation == nil)  // the original domain's exp= is not used (§6.2)

        var missing = FakeDNS()
        missing.txt["example.com"] = ["v=spf1 redirect=nothing.example"]
        #expect(await check(missing).code == .permerror)

        // redirect is not followed when a mechanism (all) matched.
        var ignored = FakeDNS()
        ignored.txt["example.com"] = ["v=spf1 -all redirect=nothing.example"]
        #expect(await check(ignored).code == .fail)
    }

    // MARK: Limits (§4.6.4)

    @Test func tenDNSMechanismsPassElevenArePermerror() async {
        func chain(_ length: Int) -> FakeDNS {
            var dns = FakeDNS()
            dns.txt["example.com"] = ["v=spf1 include:l1.example -all"]
            for i in 1..<length {
                dns.txt["l\(i).example"] = ["v=spf1 include:l\(i + 1).example -all"]
            }
            dns.txt["l\(length).example"] = ["v=spf1 ip4:192.0.2.10 -all"]
            return dns
        }
        let ten = await check(chain(10))
        #expect(ten.code == .pass)
        #expect(ten.dnsMechanisms == 10)
        let eleven = await check(chain(11))
        #expect(eleven.code == .permerror)
        #expect(eleven.reason.contains("more than 10"))

        // Mechanisms without DNS do not count; a and mx do.
        let flat = zone("v=spf1 " + String(repeating: "ip4:203.0.113.1 ", count: 30) + "a mx a mx a mx a mx a mx a -all") {
            $0.a["example.com"] = ["203.0.113.9"]
            $0.mx["example.com"] = ["mx.example.com"]
            $0.a["mx.example.com"] = ["203.0.113.8"]
        }
        #expect(await check(flat).code == .permerror)
    }

    @Test func voidLookupLimit() async {
        let two = zone("v=spf1 a:void1.example.com a:void2.example.com ip4:192.0.2.10 -all")
        #expect(await check(two).code == .pass)
        let three = zone("v=spf1 a:void1.example.com a:void2.example.com exists:void3.example.com ip4:192.0.2.10 -all")
        let result = await check(three)
        #expect(result.code == .permerror)
        #expect(result.voidLookups == 3)
        // NODATA counts like NXDOMAIN.
        let nodata = zone("v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com -all") {
            for name in ["n1", "n2", "n3"] { $0.txt["\(name).example.com"] = ["x"] }
        }
        #expect(await check(nodata).code == .permerror)
    }

    @Test func overlongExpansionIsTruncatedOnTheLeft() async throws {
        let long = String(repeating: "a", count: 60)
        let dns = zone("v=spf1 exists:%{l}.%{l}.%{l}.%{l}.%{l}.example.com -all")
        let sender = long + "@example.com"
        _ = await check(dns, sender: sender)
        let asked = try #require(dns.log.entries.first { $0.hasPrefix("A ") })
        #expect(asked.dropFirst(2).utf8.count <= 253)
        #expect(asked.hasSuffix(".example.com"))
    }

    // MARK: Explanations (§6.2)

    @Test func explanationOnFail() async {
        let dns = zone("v=spf1 ip4:198.51.100.0/24 -all exp=explain._spf.%{d}") {
            $0.txt["explain._spf.example.com"] = ["%{i} is not one of %{d}'s designated mail servers (%{c} via %{r})."]
        }
        let result = await check(dns)
        #expect(result.code == .fail)
        #expect(result.explanation == "192.0.2.10 is not one of example.com's designated mail servers (192.0.2.10 via mx.example.net).")
        // The exp= lookup does not count towards the limit.
        #expect(result.dnsMechanisms == 0)
        // No explanation for other results, nor when the exp record is missing or broken.
        #expect(await check(dns, ip: "198.51.100.1").explanation == nil)
        let broken = zone("v=spf1 -all exp=explain.example.com") { $0.txt["explain.example.com"] = ["%{q}"] }
        #expect(await check(broken).explanation == nil)
    }

    // MARK: Identities

    @Test func mailFromAndHELO() async {
        var dns = FakeDNS()
        dns.txt["example.com"] = ["v=spf1 ip4:192.0.2.10 -all"]
        dns.txt["mx.example.org"] = ["v=spf1 a -all"]
        dns.a["mx.example.org"] = ["192.0.2.10"]
        let verifier = SPFVerifier(dns: dns, now: fixedNow)
        let mailFrom = await verifier.checkMailFrom(ip: "192.0.2.10", mailFrom: "user@example.com", helo: "mx.example.org")
        #expect(mailFrom.code == .pass)
        #expect(mailFrom.identity == .mailFrom)
        #expect(mailFrom.sender == "user@example.com")
        // Null reverse-path: postmaster@helo (§2.4).
        let bounce = await verifier.checkMailFrom(ip: "192.0.2.10", mailFrom: "", helo: "mx.example.org")
        #expect(bounce.code == .pass)
        #expect(bounce.domain == "mx.example.org")
        #expect(bounce.sender == "postmaster@mx.example.org")
        let helo = await verifier.checkHELO(ip: "203.0.113.1", helo: "mx.example.org")
        #expect(helo.code == .fail)
        #expect(helo.identity == .helo)
        #expect(await verifier.checkHELO(ip: "192.0.2.10", helo: "[192.0.2.10]").code == .none)
    }

    @Test func percentPMacroValidatesTheClient() async {
        let dns = zone("v=spf1 exists:%{p}.allowed.example.com -all") {
            $0.ptr["192.0.2.10"] = ["mail.example.com"]
            $0.a["mail.example.com"] = ["192.0.2.10"]
            $0.a["mail.example.com.allowed.example.com"] = ["127.0.0.2"]
        }
        #expect(await check(dns).code == .pass)
        var unvalidated = dns
        unvalidated.a["mail.example.com"] = ["203.0.113.1"]
        let result = await check(unvalidated)
        #expect(result.code == .fail)
        #expect(unvalidated.log.entries.contains("A unknown.allowed.example.com"))
    }
}
