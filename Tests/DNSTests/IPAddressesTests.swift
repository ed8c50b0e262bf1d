// IPAddressesTests.swift — address text forms and reverse-lookup names.

import Testing
import PropertyBased
@testable import DNS

@Suite struct IPAddressesTests {
    @Test func parsesAndPrintsIPv4() {
        #expect(IPv4Address("192.0.2.1")?.value == 0xC000_0201)
        #expect(IPv4Address("192.0.2.1")?.bytes == [192, 0, 2, 1])
        #expect(IPv4Address(bytes: [192, 0, 2, 1]) == IPv4Address("192.0.2.1"))
        #expect(IPv4Address(0xC000_0201).description == "192.0.2.1")
        for bad in ["", "192.0.2", "192.0.2.256", "01.2.3.4x", "::1", "1.2.3.4.5"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
        #expect(IPv4Address(bytes: [1, 2, 3]) == nil)
    }

    @Test func parsesAndPrintsIPv6() {
        #expect(IPv6Address("2001:DB8:0:0:0:0:0:1")?.description == "2001:db8::1")
        #expect(IPv6Address("::")?.description == "::")
        #expect(IPv6Address("::1")?.description == "::1")
        #expect(IPv6Address("2001:db8:0:1:0:0:0:1")?.description == "2001:db8:0:1::1")
        #expect(IPv6Address("2001:db8:1:1:1:1:1:1")?.description == "2001:db8:1:1:1:1:1:1")
        #expect(IPv6Address("::ffff:192.0.2.1")?.bytes.suffix(4) == [192, 0, 2, 1])
        for bad in ["", "2001:db8::1::1", "192.0.2.1", "fe80::1%eth0", "12345::"] {
            #expect(IPv6Address(bad) == nil, "\(bad)")
        }
    }

    @Test func ipv6TextRoundTrips() async {
        await propertyCheck(input: Gen<UInt8>.value(in: 0...3).array(of: 16)) { bytes in
            let address = IPv6Address(bytes: bytes)!
            #expect(IPv6Address(address.description) == address)
        }
    }

    @Test func buildsReverseNames() throws {
        #expect(DNSName.reverse(IPv4Address("192.0.2.1")!).description == "1.2.0.192.in-addr.arpa")
        #expect(DNSName.reverse(IPv6Address("2001:db8::1")!).description
            == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
        // DNS blocklists (RFC 5782 §2.1).
        #expect(try DNSName.reverse(IPv4Address("127.0.0.2")!, zone: "zen.example").description == "2.0.0.127.zen.example")
        #expect(try DNSName.reverse(IPv6Address("::1")!, zone: "bl.example").labels.count == 34)
        let long = try DNSName([String](repeating: String(repeating: "z", count: 62), count: 4).joined(separator: "."))
        #expect(throws: DNSNameError.self) { try DNSName.reverse(IPv4Address(1), zone: long) }
    }
}
