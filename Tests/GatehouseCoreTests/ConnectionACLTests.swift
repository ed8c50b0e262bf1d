// ConnectionACLTests.swift — allow, deny and exempt lists (Sources/GatehouseCore/ConnectionACL.swift).

import Testing
@testable import GatehouseCore

@Suite("ConnectionACL")
struct ConnectionACLTests {
    private func nets(_ list: [String]) -> [IPNetwork] { list.compactMap { IPNetwork(parsing: $0) } }

    @Test func emptyAllowListAllowsEverybody() {
        let acl = ConnectionACL()
        #expect(acl.decide(ip("192.0.2.1")) == .allow)
        #expect(acl.decide(ip("2001:db8::1")) == .allow)
    }

    @Test func allowListRestricts() {
        let acl = ConnectionACL(allow: nets(["192.0.2.0/24"]))
        #expect(acl.decide(ip("192.0.2.1")) == .allow)
        #expect(acl.decide(ip("::ffff:192.0.2.1")) == .allow)
        #expect(acl.decide(ip("198.51.100.1")) == .deny)
        #expect(acl.decide(ip("2001:db8::1")) == .deny)
    }

    @Test func denyWinsOverAllow() {
        let acl = ConnectionACL(allow: nets(["192.0.2.0/24"]), deny: nets(["192.0.2.128/25"]))
        #expect(acl.decide(ip("192.0.2.1")) == .allow)
        #expect(acl.decide(ip("192.0.2.200")) == .deny)
        // Deny without allow: everyone else admitted.
        let denyOnly = ConnectionACL(deny: nets(["203.0.113.0/24", "2001:db8:bad::/48"]))
        #expect(denyOnly.decide(ip("203.0.113.5")) == .deny)
        #expect(denyOnly.decide(ip("::ffff:203.0.113.5")) == .deny)
        #expect(denyOnly.decide(ip("2001:db8:bad::1")) == .deny)
        #expect(denyOnly.decide(ip("2001:db8:600d::1")) == .allow)
    }

    @Test func exemptBypassesDenyAndAllow() {
        let acl = ConnectionACL(allow: nets(["10.0.0.0/8"]), deny: nets(["192.0.2.0/24"]), exempt: nets(["192.0.2.10"]))
        #expect(acl.decide(ip("192.0.2.10")) == .exempt)
        #expect(acl.decide(ip("192.0.2.11")) == .deny)
        #expect(acl.decide(ip("10.1.1.1")) == .allow)
        #expect(acl.decide(ip("172.16.0.1")) == .deny)
    }
}
