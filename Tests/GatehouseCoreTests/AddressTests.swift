// AddressTests.swift — Path.parse, MailDomain, Mailbox quoting and routing domains
// (Sources/GatehouseCore/Address.swift), as fixtures: input → success or the exact error.

import Testing
import PropertyBased
@testable import GatehouseCore

/// One parse fixture: the text after `MAIL FROM:` / `RCPT TO:`, the options, and the expected outcome.
struct PathFixture: CustomTestStringConvertible, Sendable {
    var input: String
    var allowUTF8 = false
    var allowNull = false
    var allowPostmaster = false
    var expected: Result<Path, AddressError>

    var testDescription: String { input.debugDescription }

    func run() {
        let result = Result(catching: { () throws(AddressError) -> Path in
            try Path.parse(Substring(input), allowUTF8: allowUTF8, allowNull: allowNull, allowPostmaster: allowPostmaster)
        })
        #expect(result == expected, "input \(input.debugDescription)")
    }
}

private func mailbox(_ local: String, _ domain: MailDomain, route: [String] = []) -> Result<Path, AddressError> {
    .success(.mailbox(Mailbox(localPart: local, domain: domain), sourceRoute: route))
}

@Suite("Path.parse")
struct PathParseTests {
    static let successes: [PathFixture] = [
        // Plain addresses.
        PathFixture(input: "<user@example.com>", expected: mailbox("user", .name("example.com"))),
        PathFixture(input: "<first.last+tag@sub.example.com>", expected: mailbox("first.last+tag", .name("sub.example.com"))),
        PathFixture(input: "<!#$%&'*+-/=?^_`{|}~@example.com>", expected: mailbox("!#$%&'*+-/=?^_`{|}~", .name("example.com"))),
        // Domain case and one trailing dot are normalised; the local part is kept as sent.
        PathFixture(input: "<User@Example.COM>", expected: mailbox("User", .name("example.com"))),
        PathFixture(input: "<User@Example.COM.>", expected: mailbox("User", .name("example.com"))),
        // Null path and postmaster.
        PathFixture(input: "<>", allowNull: true, expected: .success(.null)),
        PathFixture(input: "<postmaster>", allowPostmaster: true, expected: .success(.postmaster)),
        PathFixture(input: "<PostMaster>", allowPostmaster: true, expected: .success(.postmaster)),
        PathFixture(input: "postmaster", allowPostmaster: true, expected: .success(.postmaster)),
        // postmaster@domain is an ordinary mailbox.
        PathFixture(input: "<postmaster@example.com>", allowPostmaster: true, expected: mailbox("postmaster", .name("example.com"))),
        // Source routes are parsed, kept for logging, and the mailbox is what counts.
        PathFixture(input: "<@relay.example:user@example.com>", expected: mailbox("user", .name("example.com"), route: ["relay.example"])),
        PathFixture(input: "<@A.example,@B.Example.:user@example.com>",
                    expected: mailbox("user", .name("example.com"), route: ["a.example", "b.example"])),
        // Quoted local parts, with escapes decoded.
        PathFixture(input: "<\"john doe\"@example.com>", expected: mailbox("john doe", .name("example.com"))),
        PathFixture(input: #"<"a\"b\\c"@example.com>"#, expected: mailbox(#"a"b\c"#, .name("example.com"))),
        PathFixture(input: #"<"\x"@example.com>"#, expected: mailbox("x", .name("example.com"))),
        PathFixture(input: "<\"u@foreign.example\"@example.com>", expected: mailbox("u@foreign.example", .name("example.com"))),
        PathFixture(input: "<\"\"@example.com>", expected: mailbox("", .name("example.com"))),
        // Address literals.
        PathFixture(input: "<user@[192.0.2.1]>", expected: mailbox("user", .literal("192.0.2.1"))),
        PathFixture(input: "<user@[IPv6:2001:DB8::1]>", expected: mailbox("user", .literal("IPv6:2001:db8::1"))),
        PathFixture(input: "<user@[ipv6:::1]>", expected: mailbox("user", .literal("IPv6:::1"))),
        // IPv6v4-comp (RFC 5321 §4.1.3), also when it is an IPv4-mapped address.
        PathFixture(input: "<user@[IPv6:::ffff:192.0.2.1]>", expected: mailbox("user", .literal("IPv6:::ffff:192.0.2.1"))),
        PathFixture(input: "<user@[IPv6:2001:db8::192.0.2.1]>", expected: mailbox("user", .literal("IPv6:2001:db8::192.0.2.1"))),
        // Missing angle brackets are tolerated (Postfix strict_rfc821_envelopes=no).
        PathFixture(input: "user@example.com", expected: mailbox("user", .name("example.com"))),
        PathFixture(input: "user@Example.com.", expected: mailbox("user", .name("example.com"))),
        // UTF-8 with SMTPUTF8 (RFC 6531).
        PathFixture(input: "<josé@example.com>", allowUTF8: true, expected: mailbox("josé", .name("example.com"))),
        PathFixture(input: "<user@Bücher.example>", allowUTF8: true, expected: mailbox("user", .name("bücher.example"))),
        PathFixture(input: "<\"jo sé\"@example.com>", allowUTF8: true, expected: mailbox("jo sé", .name("example.com"))),
        // Hyphens inside labels, digits-only labels.
        PathFixture(input: "<u@a-b.123.example>", expected: mailbox("u", .name("a-b.123.example"))),
    ]

    static let failures: [PathFixture] = [
        // Null and postmaster only where allowed.
        PathFixture(input: "<>", expected: .failure(.empty)),
        PathFixture(input: "", expected: .failure(.empty)),
        PathFixture(input: "<postmaster>", expected: .failure(.missingDomain)),
        PathFixture(input: "<user>", allowPostmaster: true, expected: .failure(.missingDomain)),
        PathFixture(input: "<@relay.example:postmaster>", allowPostmaster: true, expected: .failure(.missingDomain)),
        // Brackets must balance.
        PathFixture(input: "<user@example.com", expected: .failure(.missingAngleBrackets)),
        PathFixture(input: "user@example.com>", expected: .failure(.missingAngleBrackets)),
        PathFixture(input: "<", expected: .failure(.missingAngleBrackets)),
        // Without brackets a space is not a path.
        PathFixture(input: "user name@example.com", expected: .failure(.badLocalPart)),
        // Source routes.
        PathFixture(input: "<@relay.example>", expected: .failure(.badSourceRoute)),
        PathFixture(input: "<@:user@example.com>", expected: .failure(.badSourceRoute)),
        PathFixture(input: "<@a.example,b.example:user@example.com>", expected: .failure(.badSourceRoute)),
        PathFixture(input: "<@a..example:user@example.com>", expected: .failure(.badSourceRoute)),
        // Local parts.
        PathFixture(input: "<.user@example.com>", expected: .failure(.badLocalPart)),
        PathFixture(input: "<user.@example.com>", expected: .failure(.badLocalPart)),
        PathFixture(input: "<us..er@example.com>", expected: .failure(.badLocalPart)),
        PathFixture(input: "<@example.com>", expected: .failure(.badSourceRoute)),
        PathFixture(input: "<us(er@example.com>", expected: .failure(.badLocalPart)),
        PathFixture(input: "<us\ter@example.com>", expected: .failure(.badLocalPart)),
        PathFixture(input: "<\"unclosed@example.com>", expected: .failure(.badLocalPart)),
        PathFixture(input: "<\"quoted\"x@example.com>", expected: .failure(.badLocalPart)),
        PathFixture(input: "<\"bad\tcontrol\"@example.com>", expected: .failure(.badLocalPart)),
        PathFixture(input: "<\"bad\\\u{7}escape\"@example.com>", expected: .failure(.badLocalPart)),
        PathFixture(input: "<\"trailing\\", expected: .failure(.missingAngleBrackets)),
        PathFixture(input: "\"trailing\\", expected: .failure(.badLocalPart)),
        // Domains.
        PathFixture(input: "<user@>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@.>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@example..com>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@.example.com>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@example.com..>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@-example.com>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@example-.com>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@exa_mple.com>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@exa mple.com>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@" + String(repeating: "a", count: 64) + ".example>", expected: .failure(.badDomain)),
        // Address literals: only IPv4 or tagged IPv6.
        PathFixture(input: "<user@[300.0.2.1]>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@[2001:db8::1]>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@[IPv6:192.0.2.1]>", expected: .failure(.badDomain)),
        // An untagged IPv4-mapped IPv6 address or a zone is not an IPv4 literal.
        PathFixture(input: "<user@[::ffff:192.0.2.1]>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@[192.0.2.1%eth0]>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@[]>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@[192.0.2.1>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@[x:[1]]>", expected: .failure(.badDomain)),
        PathFixture(input: "<user@[192.0.2.1 ]>", expected: .failure(.badDomain)),
        // UTF-8 without SMTPUTF8.
        PathFixture(input: "<josé@example.com>", expected: .failure(.needsSMTPUTF8)),
        PathFixture(input: "<user@bücher.example>", expected: .failure(.needsSMTPUTF8)),
        PathFixture(input: "<\"jo sé\"@example.com>", expected: .failure(.needsSMTPUTF8)),
        // Non-ASCII punctuation is never atext, even with SMTPUTF8: a control stays refused.
        PathFixture(input: "<us\u{7F}er@example.com>", allowUTF8: true, expected: .failure(.badLocalPart)),
        PathFixture(input: "<user@exa\u{7F}mple.com>", allowUTF8: true, expected: .failure(.badDomain)),
    ]

    @Test(arguments: successes) func parses(_ fixture: PathFixture) { fixture.run() }
    @Test(arguments: failures) func refuses(_ fixture: PathFixture) { fixture.run() }

    @Test func overLongPathIsRefused() throws {
        // 256 octets of path plus the brackets is the limit (RFC 5321 §4.5.3.1.3).
        let domain = "example.com"
        let fitting = String(repeating: "a", count: 256 - 1 - domain.count) + "@" + domain
        #expect(fitting.utf8.count == 256)
        let parsed = try Path.parse(Substring("<\(fitting)>"), allowUTF8: false, allowNull: false, allowPostmaster: false)
        #expect(parsed.mailbox?.domain == .name(domain))

        let tooLong = "a" + fitting
        #expect(throws: AddressError.tooLong) {
            try Path.parse(Substring("<\(tooLong)>"), allowUTF8: false, allowNull: false, allowPostmaster: false)
        }
        // Without brackets the same 2 octets of slack apply; the limit counts octets, not characters.
        #expect(throws: AddressError.tooLong) {
            try Path.parse(Substring(String(repeating: "é", count: 130) + "@x.example"), allowUTF8: true, allowNull: false, allowPostmaster: false)
        }
    }

    @Test func overLongDomainIsRefused() {
        // Labels of 63 are fine; the whole name may not pass 255 octets.
        let label = String(repeating: "a", count: 63)
        let ok = [label, label, label].joined(separator: ".")
        #expect(MailDomain(parsing: Substring(ok), allowUTF8: false) == .name(ok))
        let long = [label, label, label, label].joined(separator: ".")  // 255 octets: still fine
        #expect(long.utf8.count == 255)
        #expect(MailDomain(parsing: Substring(long), allowUTF8: false) == .name(long))
        #expect(MailDomain(parsing: Substring(long + "a"), allowUTF8: false) == nil)
        // The trailing dot does not count.
        #expect(MailDomain(parsing: Substring(long + "."), allowUTF8: false) == .name(long))
    }

    @Test func descriptions() throws {
        #expect(Path.null.description == "<>")
        #expect(Path.postmaster.description == "<postmaster>")
        let path = try Path.parse("<@relay.example:\"a b\"@Example.COM.>", allowUTF8: false, allowNull: false, allowPostmaster: false)
        #expect(path.description == "<\"a b\"@example.com>")
        #expect(Path.null.mailbox == nil)
        #expect(Path.postmaster.mailbox == nil)
    }
}

@Suite("Mailbox")
struct MailboxTests {
    private func parse(_ text: String) throws -> Mailbox {
        let path = try Path.parse(Substring(text), allowUTF8: true, allowNull: false, allowPostmaster: false)
        return try #require(path.mailbox)
    }

    @Test(arguments: [
        ("<u%foreign.example@internal.example>", ["foreign.example"]),
        ("<foreign.example!u@internal.example>", ["foreign.example"]),
        ("<\"u@foreign.example\"@internal.example>", ["foreign.example"]),
        ("<a%b%c@x.example>", ["c", "b"]),
        ("<a!b!u@x.example>", ["a", "b"]),
        ("<\"u%Foreign.Example.\"@internal.example>", ["foreign.example"]),
        ("<\"u@FOREIGN.example.\"@internal.example>", ["foreign.example"]),
        ("<\"u%a@b\"@internal.example>", ["b", "a"]),
        ("<\"h!u%a@b\"@internal.example>", ["b", "a", "h"]),
        ("<plain.user@internal.example>", []),
        ("<\"quoted plain\"@internal.example>", []),
    ] as [(String, [String])])
    func routingDomains(_ input: String, _ expected: [String]) throws {
        #expect(try parse(input).routingDomains == expected)
    }

    @Test(arguments: [
        ("<u%b.example@a.example>", "u@b.example"),
        ("<b.example!u@a.example>", "u@b.example"),
        ("<\"u@b.example\"@a.example>", "u@b.example"),
        ("<a%b%c@x.example>", "a@b"),
        ("<h1!h2!u@x.example>", "u@h2"),
        ("<\"u@B.Example.\"@a.example>", "u@b.example"),
        ("<User@A.Example>", "User@a.example"),
        ("<\"first last\"@a.example>", "\"first last\"@a.example"),
    ] as [(String, String)])
    func finalMailbox(_ input: String, _ expected: String) throws {
        // Where routing really delivers: what recipient validation must judge.
        #expect(try parse(input).finalMailbox.description == expected)
    }

    @Test func descriptionQuotesOnlyWhenNeeded() {
        #expect(Mailbox(localPart: "user", domain: .name("example.com")).description == "user@example.com")
        #expect(Mailbox(localPart: "a.b", domain: .name("example.com")).description == "a.b@example.com")
        #expect(Mailbox(localPart: "a b", domain: .name("example.com")).description == "\"a b\"@example.com")
        #expect(Mailbox(localPart: "a..b", domain: .name("example.com")).description == "\"a..b\"@example.com")
        #expect(Mailbox(localPart: #"a"b\c"#, domain: .name("example.com")).description == #""a\"b\\c"@example.com"#)
        #expect(Mailbox(localPart: "", domain: .name("example.com")).description == "\"\"@example.com")
        #expect(Mailbox(localPart: "u", domain: .literal("192.0.2.1")).description == "u@[192.0.2.1]")
        #expect(Mailbox(localPart: "u", domain: .literal("IPv6:::1")).description == "u@[IPv6:::1]")
    }

    @Test(arguments: ["<\"a b\"@example.com>", #"<"a\"b\\c"@example.com>"#, "<\"u@foreign\"@example.com>", "<\"\"@example.com>",
                      "<user@[192.0.2.1]>", "<user@[IPv6:2001:db8::1]>", "<josé@bücher.example>"])
    func descriptionReparses(_ input: String) throws {
        let first = try parse(input)
        #expect(try parse("<\(first.description)>") == first)
    }

    @Test func needsSMTPUTF8() {
        #expect(!Mailbox(localPart: "user", domain: .name("example.com")).needsSMTPUTF8)
        #expect(Mailbox(localPart: "josé", domain: .name("example.com")).needsSMTPUTF8)
        #expect(Mailbox(localPart: "user", domain: .name("bücher.example")).needsSMTPUTF8)
        #expect(!Mailbox(localPart: "user", domain: .literal("192.0.2.1")).needsSMTPUTF8)
    }

    @Test func domainHelpers() {
        let domain = MailDomain.name("mail.example.com")
        #expect(domain.isWithin("example.com"))
        #expect(domain.isWithin("mail.example.com"))
        #expect(!domain.isWithin("ample.com"))
        #expect(!MailDomain.literal("192.0.2.1").isWithin("192.0.2.1"))
        #expect(MailDomain.literal("192.0.2.1").name == nil)
        #expect(domain.name == "mail.example.com")
    }

    // MARK: Properties

    static let atext: [Character] = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
    static let atom = Gen<Character?>.element(of: atext).map { $0! }.string(of: 1...8)
    static let label = Gen.letterOrNumber.string(of: 1...10)

    @Test func dotAtomAddressesRoundTrip() async {
        await propertyCheck(input: Self.atom.array(of: 1...4), Self.label.array(of: 1...4)) { atoms, labels in
            let local = atoms.joined(separator: ".")
            let domain = labels.joined(separator: ".")
            let text = "<\(local)@\(domain)>"
            guard let path = try? Path.parse(Substring(text), allowUTF8: false, allowNull: false, allowPostmaster: false),
                  let parsed = path.mailbox else {
                Issue.record("\(text) did not parse")
                return
            }
            #expect(parsed.localPart == local)
            #expect(parsed.domain == .name(domain.lowercased()))
            #expect(path == .mailbox(parsed, sourceRoute: []))
            let again = try? Path.parse(Substring("<\(parsed.description)>"), allowUTF8: false, allowNull: false, allowPostmaster: false)
            #expect(again?.mailbox == parsed, "\(parsed.description) re-parsed differently")
        }
    }

    /// Any printable ASCII local part survives quoting: description always re-parses to the same mailbox.
    @Test func quotedLocalPartsRoundTrip() async {
        let printable = Gen<Character?>.element(of: (32...126).map { Character(Unicode.Scalar(UInt8($0))) }).map { $0! }
        await propertyCheck(input: printable.string(of: 0...30)) { local in
            let mailbox = Mailbox(localPart: local, domain: .name("example.com"))
            let again = try? Path.parse(Substring("<\(mailbox.description)>"), allowUTF8: false, allowNull: false, allowPostmaster: false)
            #expect(again?.mailbox == mailbox, "\(mailbox.description)")
        }
    }
}
