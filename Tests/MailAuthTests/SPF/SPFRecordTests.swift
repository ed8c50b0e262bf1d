// SPFRecordTests.swift — record selection and parsing (RFC 7208 §4.5, §4.6, §5, §6).

import Testing
import DNS
@testable import MailAuth

@Suite struct SPFRecordTests {
    @Test func parsesEveryMechanismAndModifier() throws {
        let record = try SPFRecord(parsing:
            "v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com/24//64 mx/28 mx:mx.example.com//48 ptr ptr:example.org "
            + "ip4:192.0.2.0/24 ip4:192.0.2.1 ip6:2001:db8::/32 ip6:2001:db8::1 exists:%{i}.bl.example redirect=_spf.example.net "
            + "exp=explain.%{d} moo=bar")
        let m = record.directives.map(\.mechanism)
        #expect(m[0] == .all)
        #expect(record.directives[0].qualifier == .pass)
        #expect(record.directives[1].qualifier == .fail)
        #expect(m[1] == .include(try SPFMacroString(parsing: "_spf.example.com")))
        #expect(record.directives[2].qualifier == .softfail)
        #expect(m[2] == .a(nil, ipv4Prefix: 32, ipv6Prefix: 128))
        #expect(record.directives[3].qualifier == .neutral)
        #expect(m[3] == .a(try SPFMacroString(parsing: "mail.example.com"), ipv4Prefix: 24, ipv6Prefix: 64))
        #expect(m[4] == .mx(nil, ipv4Prefix: 28, ipv6Prefix: 128))
        #expect(m[5] == .mx(try SPFMacroString(parsing: "mx.example.com"), ipv4Prefix: 32, ipv6Prefix: 48))
        #expect(m[6] == .ptr(nil))
        #expect(m[7] == .ptr(try SPFMacroString(parsing: "example.org")))
        #expect(m[8] == .ip4(IPv4Address("192.0.2.0")!, prefix: 24))
        #expect(m[9] == .ip4(IPv4Address("192.0.2.1")!, prefix: 32))
        #expect(m[10] == .ip6(IPv6Address("2001:db8::")!, prefix: 32))
        #expect(m[11] == .ip6(IPv6Address("2001:db8::1")!, prefix: 128))
        #expect(m[12] == .exists(try SPFMacroString(parsing: "%{i}.bl.example")))
        #expect(record.redirect?.source == "_spf.example.net")
        #expect(record.explanation?.source == "explain.%{d}")
        #expect(record.unknownModifiers.map(\.name) == ["moo"])
    }

    @Test func namesAreCaseInsensitive() throws {
        let record = try SPFRecord(parsing: "V=SPF1 IP4:192.0.2.1 Include:example.com REDIRECT=example.net")
        #expect(record.directives.count == 2)
        #expect(record.redirect != nil)
    }

    @Test func selection() throws {
        #expect(try SPFRecord.select(from: ["google-site-verification=x", "v=spf1 -all"]) == "v=spf1 -all")
        #expect(try SPFRecord.select(from: ["v=spf10 -all", "spf1"]) == nil)
        #expect(try SPFRecord.select(from: ["v=spf1"]) == "v=spf1")
        #expect(throws: SPFRecordError.multipleRecords) { try SPFRecord.select(from: ["v=spf1 -all", "v=spf1 +all"]) }
    }

    @Test func tabsSeparateTermsToo() throws {
        // Deliberate deviation: HTAB accepted as a separator.
        #expect(try SPFRecord(parsing: "v=spf1\tip4:192.0.2.1\t-all").directives.count == 2)
    }

    @Test(arguments: [
        "v=spf1 foo",                     // unknown mechanism
        "v=spf1 all:x",                   // all takes nothing
        "v=spf1 include",                 // include needs a domain
        "v=spf1 include:localhost",       // not a domain-spec
        "v=spf1 a:192.0.2.1",             // an address is not a domain-spec
        "v=spf1 ip4:192.0.2.1/33",        // prefix out of range
        "v=spf1 ip4:192.0.2.1/024",       // leading zero
        "v=spf1 ip4:192.0.2",             // short form
        "v=spf1 ip4:2001:db8::1",         // wrong family
        "v=spf1 ip6:2001:db8::/129",
        "v=spf1 ip6:192.0.2.1",
        "v=spf1 a/33",
        "v=spf1 mx//129",
        "v=spf1 redirect=a.example redirect=b.example",
        "v=spf1 exp=a.example exp=b.example",
        "v=spf1 exists:%{x}.example",     // bad macro
        "v=spf1 moo=%",                   // bad macro in an unknown modifier
        "v=spf1 -",                       // qualifier without mechanism
    ])
    func refusesBadRecords(record: String) {
        #expect(throws: SPFRecordError.self) { try SPFRecord(parsing: record) }
    }

    @Test func refusesNonSPFAndHugeRecords() {
        #expect(throws: SPFRecordError.notSPF) { try SPFRecord(parsing: "v=spf2 -all") }
        let huge = "v=spf1 " + String(repeating: "ip4:192.0.2.1 ", count: 400)
        #expect(throws: SPFRecordError.tooLong(huge.utf8.count)) { try SPFRecord(parsing: huge) }
    }

    @Test func countsDNSMechanisms() {
        #expect(SPFMechanism.include(try! SPFMacroString(parsing: "a.example")).countsTowardsLookupLimit)
        #expect(!SPFMechanism.ip4(IPv4Address("192.0.2.1")!, prefix: 32).countsTowardsLookupLimit)
        #expect(!SPFMechanism.all.countsTowardsLookupLimit)
    }
}
