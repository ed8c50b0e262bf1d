// PublicSuffixListTests.swift — the Public Suffix List algorithm (publicsuffix.org) on a small list
// and on Debian's copy, Organizational Domains (RFC 7489 §3.2), Punycode (RFC 3492 §7.1).

import Testing
@testable import MailAuth

@Suite struct PublicSuffixListTests {
    static let small = PublicSuffixList(parsing: """
        // comment
        com
        uk
        co.uk
        *.ck
        !www.ck
        公司.cn
        cn

        // ===BEGIN PRIVATE DOMAINS===
        blogspot.com
        """)

    @Test func rulesWildcardsAndExceptions() {
        let list = Self.small
        #expect(list.publicSuffix(of: "example.com") == "com")
        #expect(list.publicSuffix(of: "a.b.example.co.uk") == "co.uk")
        #expect(list.organizationalDomain(of: "a.b.example.co.uk") == "example.co.uk")
        #expect(list.organizationalDomain(of: "Mail.Example.COM.") == "example.com")
        #expect(list.publicSuffix(of: "a.b.ck") == "b.ck")                 // *.ck
        #expect(list.organizationalDomain(of: "x.a.b.ck") == "a.b.ck")
        #expect(list.publicSuffix(of: "www.ck") == "ck")                   // !www.ck
        #expect(list.organizationalDomain(of: "mail.www.ck") == "www.ck")
        #expect(list.publicSuffix(of: "example.unknowntld") == "unknowntld") // default rule "*"
        #expect(list.organizationalDomain(of: "a.example.unknowntld") == "example.unknowntld")
        #expect(list.organizationalDomain(of: "co.uk") == "co.uk")        // itself a public suffix
        #expect(list.organizationalDomain(of: "x.example.blogspot.com") == "example.blogspot.com")
        #expect(PublicSuffixList(parsing: "com\n// ===BEGIN PRIVATE DOMAINS===\nblogspot.com", includePrivate: false)
            .organizationalDomain(of: "x.example.blogspot.com") == "blogspot.com")
    }

    @Test func idnRulesMatchALabels() {
        #expect(Punycode.aLabel("公司") == "xn--55qx5d")
        #expect(Punycode.aLabel("bücher") == "xn--bcher-kva")
        #expect(Punycode.aLabel("MÜNCHEN") == "xn--mnchen-3ya")
        #expect(Self.small.organizationalDomain(of: "mail.example.xn--55qx5d.cn") == "example.xn--55qx5d.cn")
        #expect(Self.small.organizationalDomain(of: "mail.example.公司.cn") == "example.xn--55qx5d.cn")
    }

    @Test func rfc3492Samples() {
        // RFC 3492 §7.1 (A) Arabic (Egyptian) and (L) "3<nen>B<gumi><kinpachi><sensei>".
        #expect(Punycode.encode("\u{0644}\u{064A}\u{0647}\u{0645}\u{0627}\u{0628}\u{062A}\u{0643}\u{0644}\u{0645}\u{0648}\u{0634}\u{0639}\u{0631}\u{0628}\u{064A}\u{061F}") == "egbpdaj6bu4bxfgehfvwxn")
        #expect(Punycode.encode("3\u{5E74}b\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}") == "3b-ww4c5e180e575a65lsy2b")
    }

    @Test func debiansList() throws {
        let list = try PublicSuffixList.load()
        #expect(list.count > 5_000)
        #expect(list.organizationalDomain(of: "mail.example.co.uk") == "example.co.uk")
        #expect(list.organizationalDomain(of: "a.b.example.com") == "example.com")
        #expect(list.organizationalDomain(of: "www.ck") == "www.ck")
        #expect(list.organizationalDomain(of: "x.y.example.ck") == "y.example.ck")
        #expect(list.organizationalDomain(of: "foo.bar.example.test") == "example.test")
        #expect(throws: PublicSuffixListError.unreadable(path: "/nonexistent/psl.dat")) {
            try PublicSuffixList.load(path: "/nonexistent/psl.dat")
        }
    }
}
