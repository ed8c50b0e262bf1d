import DNS
import GatehouseCore
import Testing
@testable import Node

@Suite("DNS lists")
struct DNSListsTests {
    @Test func queryNamesFollowRFC5782() {
        #expect(DNSLists.reversedName(IPAddress(parsing: "192.0.2.99")!) == "99.2.0.192")
        let v6 = DNSLists.reversedName(IPAddress(parsing: "2001:db8:1:2:3:4:567:89ab")!)
        #expect(v6 == "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2")
    }

    @Test func errorCodesAreNotListings() {
        #expect(DNSLists.isListing(IPv4Address("127.0.0.2")!))
        #expect(DNSLists.isListing(IPv4Address("127.0.0.10")!))
        #expect(!DNSLists.isListing(IPv4Address("127.0.0.1")!), "URI lists answer 127.0.0.1 when they refuse")
        #expect(!DNSLists.isListing(IPv4Address("127.255.255.254")!), "Spamhaus: query through a public resolver")
        #expect(!DNSLists.isListing(IPv4Address("127.255.255.252")!))
        #expect(!DNSLists.isListing(IPv4Address("192.0.2.1")!))
    }

    @Test func senderRatesCountPerHourAndSurviveAFloodOfSenders() {
        let rates = SenderRates()
        #expect(rates.record("a@x.test", at: 3_600) == 1)
        #expect(rates.record("A@x.test", at: 3_601) == 2)
        // Next hour, at its start: the previous hour still counts almost fully.
        #expect(rates.record("a@x.test", at: 7_200) == 3)
        // Half way through the hour half of it does.
        #expect(rates.record("a@x.test", at: 9_000) == 3)
        for i in 0..<SenderRates.maximumSenders { _ = rates.record("flood\(i)@x.test", at: 9_001) }
        #expect(rates.record("a@x.test", at: 9_002) == 3, "this hour's count is kept when the table is full")
    }

    @Test(arguments: [
        ("http://www.Example.com/path?q=1", "www.example.com"), ("https://user:pw@shop.example.net:8443/x", "shop.example.net"),
        ("ftp://files.example.org.", "files.example.org"), ("mailto:a@example.com", nil), ("http://192.0.2.1/", nil),
        ("http://localhost/", nil), ("javascript:alert(1)", nil), ("http://bad_host!.example/", nil),
    ])
    func linkHosts(url: String, host: String?) {
        #expect(DNSLists.host(of: url) == host)
    }
}
