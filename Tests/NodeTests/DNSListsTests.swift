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

    @Test(arguments: [
        ("http://www.Example.com/path?q=1", "www.example.com"), ("https://user:pw@shop.example.net:8443/x", "shop.example.net"),
        ("ftp://files.example.org.", "files.example.org"), ("mailto:a@example.com", nil), ("http://192.0.2.1/", nil),
        ("http://localhost/", nil), ("javascript:alert(1)", nil), ("http://bad_host!.example/", nil),
    ])
    func linkHosts(url: String, host: String?) {
        #expect(DNSLists.host(of: url) == host)
    }
}
