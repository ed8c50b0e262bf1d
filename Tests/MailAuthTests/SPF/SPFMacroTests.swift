// SPFMacroTests.swift — macro parsing and expansion, with every example of RFC 7208 §7.4.

import Testing
@testable import MailAuth

@Suite struct SPFMacroTests {
    /// RFC 7208 §7.4: sender strong-bad@email.example.com, IPv4 192.0.2.3, IPv6 2001:db8::cb01,
    /// PTR name mx.example.org.
    static func context(_ ip: ClientIP = "192.0.2.3") -> SPFMacroContext {
        SPFMacroContext(sender: "strong-bad@email.example.com", domain: "email.example.com", ip: ip,
                        helo: "mx.example.org", validatedDomain: "mx.example.org", receivingDomain: "mx.example.net",
                        timestamp: 1_700_000_000)
    }

    func expand(_ text: String, _ ip: ClientIP = "192.0.2.3", explanation: Bool = false) throws -> String {
        try SPFMacroString(parsing: text, explanation: explanation).expand(in: Self.context(ip))
    }

    @Test(arguments: [
        ("%{s}", "strong-bad@email.example.com"),
        ("%{o}", "email.example.com"),
        ("%{d}", "email.example.com"),
        ("%{d4}", "email.example.com"),
        ("%{d3}", "email.example.com"),
        ("%{d2}", "example.com"),
        ("%{d1}", "com"),
        ("%{dr}", "com.example.email"),
        ("%{d2r}", "example.email"),
        ("%{l}", "strong-bad"),
        ("%{l-}", "strong.bad"),
        ("%{lr}", "strong-bad"),
        ("%{lr-}", "bad.strong"),
        ("%{l1r-}", "strong"),
    ])
    func rfc7208Section74Macros(macro: String, expansion: String) throws {
        #expect(try expand(macro) == expansion)
    }

    @Test(arguments: [
        ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
        ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
        ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
        ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
        ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
    ])
    func rfc7208Section74MacroStrings(macro: String, expansion: String) throws {
        #expect(try expand(macro) == expansion)
    }

    @Test func rfc7208Section74IPv6() throws {
        #expect(try expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01")
            == "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com")
    }

    @Test func otherLettersAndEscapes() throws {
        #expect(try expand("%{h}") == "mx.example.org")
        #expect(try expand("%{p}") == "mx.example.org")
        #expect(try expand("%{v}", "2001:db8::1") == "ip6")
        #expect(try expand("%%%_%-") == "% %20")
        #expect(try expand("%{c} %{r} %{t}", "2001:db8::cb01", explanation: true) == "2001:db8::cb01 mx.example.net 1700000000")
        // Upper case letters URL-escape (§7.3): "@" becomes %40.
        #expect(try expand("%{S}") == "strong-bad%40email.example.com")
        #expect(try expand("%{L}") == "strong-bad")
        // Digits beyond the number of parts keep them all.
        #expect(try expand("%{d99}") == "email.example.com")
        // Several delimiters.
        #expect(try SPFMacroString(parsing: "%{lr-+}").expand(in: SPFMacroContext(
            sender: "a-b+c@x.example", domain: "x.example", ip: "192.0.2.1", helo: "h.example")) == "c.b.a")
    }

    @Test func emptyLocalPartIsPostmaster() throws {
        let context = SPFMacroContext(sender: "@example.com", domain: "example.com", ip: "192.0.2.1", helo: "h")
        #expect(try SPFMacroString(parsing: "%{l}").expand(in: context) == "postmaster")
        #expect(try SPFMacroString(parsing: "%{s}").expand(in: context) == "postmaster@example.com")
    }

    @Test func syntaxErrors() {
        #expect(throws: SPFMacroError.badPercent(offset: 1)) { try SPFMacroString(parsing: "a%b") }
        #expect(throws: SPFMacroError.badPercent(offset: 0)) { try SPFMacroString(parsing: "%") }
        #expect(throws: SPFMacroError.badMacro(offset: 0)) { try SPFMacroString(parsing: "%{x}") }
        #expect(throws: SPFMacroError.badMacro(offset: 0)) { try SPFMacroString(parsing: "%{d") }
        #expect(throws: SPFMacroError.badMacro(offset: 0)) { try SPFMacroString(parsing: "%{d2x}") }
        #expect(throws: SPFMacroError.zeroDigits) { try SPFMacroString(parsing: "%{d0}") }
        #expect(throws: SPFMacroError.explanationOnlyMacro("c")) { try SPFMacroString(parsing: "%{c}") }
        #expect(throws: SPFMacroError.badCharacter(offset: 1)) { try SPFMacroString(parsing: "a b") }
        #expect(throws: Never.self) { try SPFMacroString(parsing: "a b", explanation: true) }
    }

    @Test func domainSpecs() throws {
        for good in ["example.com", "example.com.", "%{d}", "_spf.%{d}", "%{ir}.bl.example", "%{l}.x-y.example"] {
            #expect(try SPFMacroString(parsing: good).isDomainSpec, "\(good)")
        }
        for bad in ["192.0.2.1", "localhost", "%{d}x", "example.123", "example.-com", ""] {
            #expect(try !SPFMacroString(parsing: bad).isDomainSpec, "\(bad)")
        }
    }

    @Test func hugeDigitTransformerDoesNotOverflow() throws {
        #expect(try expand("%{d99999999999999999999999}") == "email.example.com")
    }

    @Test func expansionIsBounded() throws {
        let text = String(repeating: "%{s}", count: 2_000)
        #expect(throws: SPFMacroError.self) { try expand(text) }
    }
}
