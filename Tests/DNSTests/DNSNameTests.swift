// DNSNameTests.swift — names: text form, limits, case-insensitive identity, escapes.

import Testing
import PropertyBased
@testable import DNS

@Suite struct DNSNameTests {
    @Test func parsesAndPrints() throws {
        let name = try parse("Mail.Example.COM")
        #expect(name.labels == [Array("Mail".utf8), Array("Example".utf8), Array("COM".utf8)])
        #expect(name.description == "Mail.Example.COM")
        #expect(try parse("mail.example.com.") == name)
        #expect(try parse(".") == DNSName.root)
        #expect(DNSName.root.description == ".")
        #expect(DNSName.root.wireLength == 1)
        #expect(name.wireLength == 18)
        #expect(name.lowercased.description == "mail.example.com")
        #expect(name.parent.description == "Example.COM")
    }

    @Test func comparesCaseInsensitively() throws {
        let a = try parse("WWW.Example.Com")
        let b = try parse("www.example.com")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b]).count == 1)
        #expect(try parse("www.example.org") != b)
        #expect(try parse("www.example") != b)
        #expect(b.isSubdomain(of: try parse("EXAMPLE.com")))
        #expect(b.isSubdomain(of: b))
        #expect(b.isSubdomain(of: .root))
        #expect(!b.isSubdomain(of: try parse("ample.com")))
        #expect(!(try parse("com")).isSubdomain(of: b))
    }

    @Test func refusesBadText() {
        #expect(throws: DNSNameError.empty) { try parse("") }
        #expect(throws: DNSNameError.emptyLabel) { try parse("a..b") }
        #expect(throws: DNSNameError.emptyLabel) { try parse(".a") }
        #expect(throws: DNSNameError.emptyLabel) { try parse("a.b..") }
        #expect(throws: DNSNameError.invalidCharacter(0x20)) { try parse("a b.example") }
        #expect(throws: DNSNameError.invalidCharacter(0xC3)) { try parse("bücher.example") }
        #expect(throws: DNSNameError.badEscape) { try parse("a\\") }
        #expect(throws: DNSNameError.badEscape) { try parse("a\\25") }
        #expect(throws: DNSNameError.badEscape) { try parse("a\\256") }
    }

    @Test func enforcesLengthLimits() throws {
        let label63 = String(repeating: "a", count: 63)
        #expect(try parse("\(label63).example").labels[0].count == 63)
        #expect(throws: DNSNameError.labelTooLong(length: 64)) { try DNSName(String(repeating: "a", count: 64) + ".example") }
        // 4 labels of 63 = 4 * 64 + 1 = 257 octets: too long. 3 of 63 and one of 61 = 255: fits.
        #expect(throws: DNSNameError.nameTooLong(length: 257)) { try DNSName([label63, label63, label63, label63].joined(separator: ".")) }
        let longest = try DNSName([label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: "."))
        #expect(longest.wireLength == 255)
        #expect(throws: DNSNameError.nameTooLong(length: 258)) { try DNSName("ab", under: longest) }
        #expect(throws: DNSNameError.emptyLabel) { try DNSName(labels: [[]]) }
    }

    @Test func escapesRoundTrip() throws {
        let name = try parse("a\\.b.c\\\\d.\\000\\255x.example")
        #expect(name.labels[0] == Array("a.b".utf8))
        #expect(name.labels[1] == Array("c\\d".utf8))
        #expect(name.labels[2] == [0, 255, UInt8(ascii: "x")])
        #expect(name.description == "a\\.b.c\\\\d.\\000\\255x.example")
        #expect(try DNSName(name.description) == name)
    }

    @Test func buildsNamesUnderAParent() throws {
        let domain = try parse("example.com")
        #expect(try DNSName("sel._domainkey", under: domain).description == "sel._domainkey.example.com")
        #expect(try DNSName("_dmarc", under: domain).description == "_dmarc.example.com")
    }

    @Test func anyLabelsRoundTripThroughText() async {
        let label = Gen<UInt8>.value(in: 0...255).array(of: 1...63)
        await propertyCheck(input: label.array(of: 1...3)) { labels in
            let name = try #require(try? DNSName(labels: labels))
            #expect(try DNSName(name.description) == name)
            #expect(try DNSName(name.description).labels == labels)
        }
    }
}
