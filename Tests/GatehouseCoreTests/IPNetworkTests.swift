// IPNetworkTests.swift — IPAddress text forms and IPNetwork CIDR containment
// (Sources/GatehouseCore/IPNetwork.swift). `ip` and `net` are shared with ConnectionACLTests.

import Testing
import PropertyBased
@testable import GatehouseCore

func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(parsing: text) else {
        Issue.record("\(text) should parse")
        return .v4(0)
    }
    return address
}

func net(_ text: String) -> IPNetwork? { IPNetwork(parsing: text) }

@Suite("IPAddress")
struct IPAddressTests {
    @Test(arguments: [
        ("192.0.2.1", IPAddress.v4(0xC000_0201)),
        ("0.0.0.0", .v4(0)),
        ("255.255.255.255", .v4(0xFFFF_FFFF)),
        ("::", .v6(0, 0)),
        ("::1", .v6(0, 1)),
        ("2001:db8::1", .v6(0x2001_0DB8_0000_0000, 1)),
        ("2001:DB8:0:0:0:0:0:1", .v6(0x2001_0DB8_0000_0000, 1)),
        ("fe80::1%eth0", .v6(0xFE80_0000_0000_0000, 1)),
        // IPv4-mapped IPv6 folds to IPv4, so IPv4 rules match dual-stack clients.
        ("::ffff:192.0.2.1", .v4(0xC000_0201)),
        ("::FFFF:c000:0201", .v4(0xC000_0201)),
        // IPv4-compatible (deprecated) is not mapped: it stays IPv6.
        ("::192.0.2.1", .v6(0, 0xC000_0201)),
    ] as [(String, IPAddress)])
    func parses(_ text: String, _ expected: IPAddress) {
        #expect(IPAddress(parsing: text) == expected)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01.2.3.4", "0x1.2.3.4", "1.2.3.4 ", " 1.2.3.4",
                      "a.b.c.d", "1:2:3:4:5:6:7:8:9", "2001:db8:::1", "2001:db8::1::2", "gggg::1", "localhost", "::ffff:300.1.1.1",
                      "1.2.3.4/24", "%eth0", String(repeating: "0", count: 62) + "::1"])
    func refuses(_ text: String) {
        #expect(IPAddress(parsing: text) == nil)
    }

    @Test(arguments: [
        ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),     // RFC 5952 §4.2.3: first of equal runs
        ("2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0"),       // longest run wins
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), // §4.2.2: one 0 group is not compressed
        ("0:0:0:0:0:0:0:0", "::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("1:0:0:0:0:0:0:0", "1::"),
        ("2001:0db8:00AB:0000:0000:0000:0000:0001", "2001:db8:ab::1"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
    ])
    func canonicalText(_ input: String, _ expected: String) {
        #expect(IPAddress(parsing: input)?.description == expected)
    }

    @Test func bytes() {
        #expect(IPAddress(bytes4: [192, 0, 2, 1]) == .v4(0xC000_0201))
        #expect(IPAddress(bytes16: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 1]) == .v4(0xC000_0201))
        #expect(IPAddress(bytes16: [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]) == ip("2001:db8::1"))
        // Not mapped: ::fffe:… and a non-zero high half stay IPv6.
        #expect(IPAddress(bytes16: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFE, 192, 0, 2, 1]) == .v6(0, 0xFFFE_C000_0201))
        #expect(IPAddress(bytes16: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xFF, 0xFF, 192, 0, 2, 1]) == .v6(1, 0xFFFF_C000_0201))
    }

    @Test func loopback() {
        #expect(ip("127.0.0.1").isLoopback)
        #expect(ip("127.255.0.9").isLoopback)
        #expect(ip("::1").isLoopback)
        #expect(ip("::ffff:127.0.0.1").isLoopback)
        #expect(!ip("128.0.0.1").isLoopback)
        #expect(!ip("::2").isLoopback)
        #expect(!ip("1::1").isLoopback)
    }

    @Test func ipv4TextRoundTrips() async {
        await propertyCheck(input: Gen<UInt8>.value().array(of: 4)) { octets in
            let text = octets.map(String.init).joined(separator: ".")
            let address = IPAddress(parsing: text)
            #expect(address == IPAddress(bytes4: octets))
            #expect(address?.description == text)
        }
    }

    @Test func ipv6TextRoundTrips() async {
        // Canonical text re-parses to the same address, whatever the groups (zero runs are likely).
        let group = Gen<UInt16>.value(in: 0...3)
        await propertyCheck(input: group.array(of: 8), Gen<UInt16>.value().array(of: 8), Gen.bool) { small, big, useSmall in
            let groups = useSmall ? small : big
            let text = groups.map { String($0, radix: 16) }.joined(separator: ":")
            guard let address = IPAddress(parsing: text) else {
                Issue.record("\(text) did not parse")
                return
            }
            #expect(IPAddress(parsing: address.description) == address, "\(text) → \(address.description)")
        }
    }
}

@Suite("IPNetwork")
struct IPNetworkTests {
    @Test func ipv4Containment() throws {
        let network = try #require(net("192.0.2.0/24"))
        #expect(network.contains(ip("192.0.2.0")))
        #expect(network.contains(ip("192.0.2.255")))
        #expect(!network.contains(ip("192.0.3.0")))
        #expect(!network.contains(ip("192.0.1.255")))
        // A client reported as IPv4-mapped IPv6 is matched by the IPv4 rule.
        #expect(network.contains(ip("::ffff:192.0.2.7")))
        // Families never match each other.
        #expect(!network.contains(ip("2001:db8::1")))
    }

    @Test func ipv6Containment() throws {
        let network = try #require(net("2001:db8::/32"))
        #expect(network.contains(ip("2001:db8::1")))
        #expect(network.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")))
        #expect(!network.contains(ip("2001:db9::")))
        #expect(!network.contains(ip("192.0.2.1")))
        // Prefixes beyond 64 bits mask the low half.
        let slash72 = try #require(net("2001:db8:1:2:ab00::/72"))
        #expect(slash72.contains(ip("2001:db8:1:2:abff:ffff:ffff:ffff")))
        #expect(!slash72.contains(ip("2001:db8:1:2:ac00::")))
        let slash64 = try #require(net("2001:db8:1:2::/64"))
        #expect(slash64.contains(ip("2001:db8:1:2:ffff::1")))
        #expect(!slash64.contains(ip("2001:db8:1:3::")))
        let host = try #require(net("2001:db8::1/128"))
        #expect(host.contains(ip("2001:db8::1")))
        #expect(!host.contains(ip("2001:db8::2")))
    }

    @Test func prefixBounds() throws {
        let all4 = try #require(net("0.0.0.0/0"))
        #expect(all4.contains(ip("255.255.255.255")))
        #expect(all4.contains(ip("0.0.0.0")))
        #expect(!all4.contains(ip("::1")))
        let all6 = try #require(net("::/0"))
        #expect(all6.contains(ip("ffff::1")))
        #expect(!all6.contains(ip("10.0.0.1")))
        let host4 = try #require(net("10.0.0.1/32"))
        #expect(host4.contains(ip("10.0.0.1")))
        #expect(!host4.contains(ip("10.0.0.0")))
        #expect(net("10.0.0.0/33") == nil)
        #expect(net("::/129") == nil)
        #expect(net("10.0.0.0/-1") == nil)
    }

    @Test func bareAddressIsAHostNetwork() throws {
        let v4 = try #require(net("192.0.2.9"))
        #expect(v4.prefixLength == 32)
        #expect(v4.contains(ip("192.0.2.9")))
        #expect(!v4.contains(ip("192.0.2.8")))
        let v6 = try #require(net("2001:db8::9"))
        #expect(v6.prefixLength == 128)
        #expect(v6.description == "2001:db8::9/128")
    }

    @Test func networkIsMasked() throws {
        #expect(net("192.0.2.77/24")?.description == "192.0.2.0/24")
        #expect(net("192.0.2.77/24") == net("192.0.2.0/24"))
        #expect(net("10.255.255.255/8")?.description == "10.0.0.0/8")
        #expect(net("10.1.2.3/0")?.description == "0.0.0.0/0")
        #expect(net("2001:db8:abcd:1234::1/48")?.description == "2001:db8:abcd::/48")
        #expect(net("2001:db8::ffff:1/96")?.description == "2001:db8::/96")
        #expect(net("2001:db8::ffff:1/100")?.description == "2001:db8::f000:0/100")
    }

    @Test func mappedPrefixFoldsToIPv4() throws {
        let mapped = try #require(net("::ffff:10.0.0.0/104"))
        #expect(mapped == net("10.0.0.0/8"))
        #expect(mapped.contains(ip("10.200.0.1")))
        #expect(net("::ffff:10.0.0.1/128") == net("10.0.0.1/32"))
        #expect(net("::ffff:10.0.0.1") == net("10.0.0.1/32"))
        #expect(net("::ffff:0.0.0.0/95") == nil)
        #expect(net("::ffff:10.0.0.0/129") == nil)
    }

    @Test(arguments: ["", "/24", "10.0.0.0/", "10.0.0.0/abc", "10.0.0.0/8/8", "10.0.0/8", "example.com/8", "10.0.0.0 /8",
                      "2001:db8::/3 2", "10.0.0.0/999999999999999999999"])
    func refuses(_ text: String) {
        #expect(IPNetwork(parsing: text) == nil)
    }

    @Test func listContainment() {
        let list = ["10.0.0.0/8", "2001:db8::/32"].compactMap { IPNetwork(parsing: $0) }
        #expect(list.count == 2)
        #expect(list.containsAddress(ip("10.9.9.9")))
        #expect(list.containsAddress(ip("2001:db8::5")))
        #expect(!list.containsAddress(ip("11.0.0.1")))
        #expect(![IPNetwork]().containsAddress(ip("10.0.0.1")))
    }
}
