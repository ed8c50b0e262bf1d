// NextHopsTests.swift — where a route sends mail (Sources/Delivery/NextHops.swift), with scripted
// DNS: MX preference order and shuffling (RFC 5321 §5.1), implicit MX, null MX (RFC 7505),
// NXDOMAIN and DNS failures, the address limit, host lists by priority and weight (RFC 2782
// selection, with an injected random source), and smarthosts looked up by MX or, bracketed, not.

import Testing
import NIOCore
import GatehouseCore
import PropertyBased
@testable import Configuration
@testable import Delivery

private let mxRoute = RouteConfiguration(domains: ["*"], kind: .mx)

private func hop(_ name: String, _ address: String, _ port: Int = 25) -> NextHop {
    NextHop(name: name, address: address, port: port)
}

private func hops(_ plan: NextHopPlan) -> [NextHop] {
    if case .hops(let list) = plan { return list }
    Issue.record("expected hops, got \(plan)")
    return []
}

private func host(_ host: String, port: Int = 25, priority: Int = 0, weight: Int = 1) -> NextHopConfiguration {
    NextHopConfiguration(host: host, port: port, priority: priority, weight: weight)
}

/// A deterministic random source for `NextHopPlanner.order` (xorshift64*).
private struct SeededRandom {
    var state: UInt64
    mutating func callAsFunction(_ upperBound: Int) -> Int {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return Int((state &* 2_685_821_657_736_338_717) % UInt64(upperBound))
    }
}

@Suite("NextHopPlanner: MX routes")
struct NextHopMXTests {
    @Test func exchangersInPreferenceOrder() async {
        let resolver = ScriptedResolver(
            mx: ["example.net": .exchangers([(20, "mx2.example.net"), (10, "mx1.example.net"), (30, "mx3.example.net")])],
            hosts: ["mx1.example.net": .addresses(["192.0.2.1"]), "mx2.example.net": .addresses(["192.0.2.2", "2001:db8::2"]),
                    "mx3.example.net": .addresses(["192.0.2.3"])])
        let plan = await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net")
        #expect(plan == .hops([hop("mx1.example.net", "192.0.2.1"), hop("mx2.example.net", "192.0.2.2"),
                               hop("mx2.example.net", "2001:db8::2"), hop("mx3.example.net", "192.0.2.3")]))
    }

    @Test func theRoutePortIsUsed() async {
        var route = mxRoute
        route.port = 2525
        let resolver = ScriptedResolver(mx: ["example.net": .exchangers([(10, "mx.example.net")])],
                                        hosts: ["mx.example.net": .addresses(["192.0.2.1"])])
        #expect(await NextHopPlanner(resolver: resolver).plan(route: route, domain: "example.net") == .hops([hop("mx.example.net", "192.0.2.1", 2525)]))
    }

    @Test func equalPreferencesAreShuffledButStayAheadOfHigherOnes() async {
        let resolver = ScriptedResolver(
            mx: ["example.net": .exchangers([(10, "a.example.net"), (20, "z.example.net"), (10, "b.example.net"), (10, "c.example.net")])],
            hosts: ["a.example.net": .addresses(["192.0.2.1"]), "b.example.net": .addresses(["192.0.2.2"]),
                    "c.example.net": .addresses(["192.0.2.3"]), "z.example.net": .addresses(["192.0.2.26"])])
        let planner = NextHopPlanner(resolver: resolver)
        var firsts = Set<String>()
        for _ in 0..<200 {
            let names = hops(await planner.plan(route: mxRoute, domain: "example.net")).map(\.name)
            #expect(Set(names.prefix(3)) == ["a.example.net", "b.example.net", "c.example.net"])
            #expect(names.last == "z.example.net")
            firsts.insert(names[0])
        }
        // Load is shared between equal preferences (RFC 5321 §5.1): each comes first sometimes.
        #expect(firsts == ["a.example.net", "b.example.net", "c.example.net"])
    }

    @Test func exchangerNamesAreLowerCased() async {
        let resolver = ScriptedResolver(mx: ["example.net": .exchangers([(10, "MX.Example.NET")])],
                                        hosts: ["mx.example.net": .addresses(["192.0.2.1"])])
        #expect(await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net") == .hops([hop("mx.example.net", "192.0.2.1")]))
    }

    @Test func anExchangerGivenAsAnAddressIsUsedWithoutALookup() async {
        let resolver = ScriptedResolver(mx: ["example.net": .exchangers([(10, "192.0.2.9")])])
        #expect(await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net") == .hops([hop("192.0.2.9", "192.0.2.9")]))
        #expect(resolver.questions == ["MX example.net"])
    }

    @Test func implicitMXWhenTheDomainHasNoMXRecords() async {
        // RFC 5321 §5.1: no MX, the domain's own address records are the exchanger.
        let resolver = ScriptedResolver(mx: ["example.net": MXLookup.none], hosts: ["example.net": .addresses(["192.0.2.80", "2001:db8::80"])])
        let plan = await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net")
        #expect(plan == .hops([hop("example.net", "192.0.2.80"), hop("example.net", "2001:db8::80")]))
    }

    @Test func nullMXIsPermanent() async {
        // RFC 7505 §3: 550 5.1.10 with no attempt to deliver.
        for answer in [MXLookup.nullMX, .exchangers([(0, ".")]), .exchangers([(0, "")])] {
            let resolver = ScriptedResolver(mx: ["example.net": answer], hosts: ["example.net": .addresses(["192.0.2.1"])])
            let plan = await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net")
            guard case .permanent(let outcome) = plan else {
                Issue.record("\(answer): \(plan)")
                continue
            }
            #expect(outcome.kind == .failed)
            #expect(outcome.status == EnhancedStatusCode(5, 1, 10))
            #expect(outcome.diagnostic.contains("example.net"))
            // Its own addresses are not tried.
            #expect(!resolver.questions.contains("A example.net"))
        }
    }

    @Test func aNullMXBesideRealExchangersIsIgnored() async {
        let resolver = ScriptedResolver(mx: ["example.net": .exchangers([(0, "."), (10, "mx.example.net")])],
                                        hosts: ["mx.example.net": .addresses(["192.0.2.1"])])
        #expect(await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net") == .hops([hop("mx.example.net", "192.0.2.1")]))
    }

    @Test func noSuchDomainIsPermanent() async {
        let resolver = ScriptedResolver(mx: ["nowhere.example": .nameNotFound])
        let plan = await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "nowhere.example")
        guard case .permanent(let outcome) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(outcome.kind == .failed)
        #expect(outcome.status == EnhancedStatusCode(5, 1, 2))
        #expect(outcome.diagnostic.contains("nowhere.example"))
    }

    @Test func aDomainWithNeitherMXNorAddressIsPermanent() async {
        // No MX records, and the implicit MX's own name does not exist.
        let resolver = ScriptedResolver(mx: ["gone.example": MXLookup.none], hosts: ["gone.example": .nameNotFound])
        let plan = await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "gone.example")
        guard case .permanent(let outcome) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(outcome.status == EnhancedStatusCode(5, 1, 2))
    }

    @Test func aDNSFailureIsTemporary() async {
        let resolver = ScriptedResolver(mx: ["example.net": .temporary("SERVFAIL")])
        let plan = await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net")
        guard case .temporary(let outcome) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(outcome.kind == .deferred)
        #expect(outcome.status == EnhancedStatusCode(4, 4, 3))
        #expect(outcome.diagnostic.contains("SERVFAIL"))
    }

    @Test func anAddressLookupFailureOfTheImplicitMXIsTemporary() async {
        let resolver = ScriptedResolver(mx: ["example.net": MXLookup.none], hosts: ["example.net": .temporary("timeout")])
        let plan = await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net")
        guard case .temporary(let outcome) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(outcome.kind == .deferred)
        #expect(outcome.status == EnhancedStatusCode(4, 4, 3))
    }

    @Test func exchangersWithoutAddressesAreSkipped() async {
        let resolver = ScriptedResolver(
            mx: ["example.net": .exchangers([(10, "broken.example.net"), (20, "empty.example.net"), (30, "good.example.net")])],
            hosts: ["empty.example.net": .addresses([]), "good.example.net": .addresses(["192.0.2.7"])])
        #expect(await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net") == .hops([hop("good.example.net", "192.0.2.7")]))
    }

    @Test func noExchangerWithAnAddressIsTemporary() async {
        // The domain exists (it has MX records): the exchangers' names may come back.
        let resolver = ScriptedResolver(mx: ["example.net": .exchangers([(10, "a.example.net"), (20, "b.example.net")])],
                                        hosts: ["b.example.net": .temporary("timeout")])
        let plan = await NextHopPlanner(resolver: resolver).plan(route: mxRoute, domain: "example.net")
        guard case .temporary(let outcome) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(outcome.kind == .deferred)
        #expect(outcome.status.klass == 4)
        #expect(outcome.diagnostic.contains("b.example.net"))
    }

    @Test func theAddressLimitCountsAddressesNotHosts() async {
        let resolver = ScriptedResolver(
            mx: ["example.net": .exchangers([(10, "a.example.net"), (20, "b.example.net"), (30, "c.example.net")])],
            hosts: ["a.example.net": .addresses(["192.0.2.1", "192.0.2.2", "192.0.2.3"]),
                    "b.example.net": .addresses(["192.0.2.4", "192.0.2.5", "192.0.2.6"]),
                    "c.example.net": .addresses(["192.0.2.7"])])
        let list = hops(await NextHopPlanner(resolver: resolver, addressLimit: 5).plan(route: mxRoute, domain: "example.net"))
        #expect(list.map(\.address) == ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"])
        // Once the limit is reached no more questions are asked.
        #expect(!resolver.questions.contains("A c.example.net"))
        #expect(NextHopPlanner(resolver: resolver).addressLimit == Defaults.Delivery.addressesPerAttempt)
    }

    @Test func aLocalRouteHasNoNextHops() async {
        let plan = await NextHopPlanner(resolver: ScriptedResolver()).plan(route: RouteConfiguration(domains: ["example.org"], kind: .local),
                                                                           domain: "example.org")
        guard case .permanent(let outcome) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(outcome.kind == .failed)
    }
}

@Suite("NextHopPlanner: host lists and smarthosts")
struct NextHopHostsTests {
    @Test func hostsInPriorityOrderWithoutMXLookups() async {
        let route = RouteConfiguration(domains: ["example.org"], kind: .hosts, hosts: [
            host("backup.example", port: 2526, priority: 20), host("[primary.example]", port: 2525, priority: 10), host("192.0.2.30", priority: 30),
        ])
        let resolver = ScriptedResolver(hosts: ["primary.example": .addresses(["10.0.0.1"]), "backup.example": .addresses(["10.0.0.2"])])
        let plan = await NextHopPlanner(resolver: resolver).plan(route: route, domain: "example.org")
        #expect(plan == .hops([hop("primary.example", "10.0.0.1", 2525), hop("backup.example", "10.0.0.2", 2526), hop("192.0.2.30", "192.0.2.30")]))
        #expect(resolver.questions == ["A primary.example", "A backup.example"])
    }

    @Test func ipv6Hosts() async {
        let route = RouteConfiguration(domains: ["*"], kind: .hosts, hosts: [host("2001:db8::25", port: 26), host("[2001:db8::26]", priority: 1)])
        let plan = await NextHopPlanner(resolver: ScriptedResolver()).plan(route: route, domain: "example.org")
        #expect(plan == .hops([hop("2001:db8::25", "2001:db8::25", 26), hop("2001:db8::26", "2001:db8::26")]))
    }

    @Test func aHostThatDoesNotResolveIsSkippedAndLastOnesProblemReported() async {
        let route = RouteConfiguration(domains: ["*"], kind: .hosts, hosts: [host("gone.example", priority: 0), host("ok.example", priority: 1)])
        let resolver = ScriptedResolver(hosts: ["ok.example": .addresses(["192.0.2.5"])])
        #expect(await NextHopPlanner(resolver: resolver).plan(route: route, domain: "example.org") == .hops([hop("ok.example", "192.0.2.5")]))

        let none = RouteConfiguration(domains: ["*"], kind: .hosts, hosts: [host("gone.example")])
        let plan = await NextHopPlanner(resolver: ScriptedResolver()).plan(route: none, domain: "example.org")
        guard case .temporary(let outcome) = plan else {
            Issue.record("\(plan)")
            return
        }
        // A configured host that does not resolve is a configuration problem: defer, never bounce.
        #expect(outcome.kind == .deferred)
        #expect(outcome.diagnostic.contains("gone.example"))
    }

    @Test func aSmarthostNameIsLookedUpByMXFirst() async {
        let route = RouteConfiguration(domains: ["*"], kind: .smarthost, hosts: [host("relay.example", port: 587)])
        let resolver = ScriptedResolver(mx: ["relay.example": .exchangers([(10, "in.relay.example")])],
                                        hosts: ["in.relay.example": .addresses(["192.0.2.25"])])
        #expect(await NextHopPlanner(resolver: resolver).plan(route: route, domain: "example.com") == .hops([hop("in.relay.example", "192.0.2.25", 587)]))
        #expect(resolver.questions == ["MX relay.example", "A in.relay.example"])
    }

    @Test func aSmarthostWithoutMXRecordsIsUsedByItsAddress() async {
        let route = RouteConfiguration(domains: ["*"], kind: .smarthost, hosts: [host("relay.example")])
        let resolver = ScriptedResolver(mx: ["relay.example": MXLookup.none], hosts: ["relay.example": .addresses(["192.0.2.25"])])
        #expect(await NextHopPlanner(resolver: resolver).plan(route: route, domain: "example.com") == .hops([hop("relay.example", "192.0.2.25")]))
    }

    @Test func aBracketedSmarthostOrAnAddressIsNotLookedUpByMX() async {
        let route = RouteConfiguration(domains: ["*"], kind: .smarthost, hosts: [host("[relay.example]", priority: 0), host("192.0.2.99", priority: 1)])
        let resolver = ScriptedResolver(mx: ["relay.example": .exchangers([(10, "wrong.example")])], hosts: ["relay.example": .addresses(["192.0.2.25"])])
        #expect(await NextHopPlanner(resolver: resolver).plan(route: route, domain: "example.com")
                == .hops([hop("relay.example", "192.0.2.25"), hop("192.0.2.99", "192.0.2.99")]))
        #expect(resolver.questions == ["A relay.example"])
    }

    @Test func aSmarthostDNSFailureDefers() async {
        let route = RouteConfiguration(domains: ["*"], kind: .smarthost, hosts: [host("relay.example")])
        let plan = await NextHopPlanner(resolver: ScriptedResolver(mx: ["relay.example": .temporary("SERVFAIL")])).plan(route: route, domain: "example.com")
        guard case .temporary(let outcome) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(outcome.kind == .deferred)
    }

    @Test(arguments: [MXLookup.nameNotFound, .nullMX])
    func aSmarthostThatDoesNotExistDefersRatherThanBounces(_ answer: MXLookup) async {
        // A mistyped or vanished relay host is the administrator's problem, not the recipient's:
        // the plan is "temporary" and the mail must wait (as Postfix turns such errors into 4.3.5),
        // never bounce. The outcome inside a temporary plan is what SMTPDelivery gives every recipient.
        let route = RouteConfiguration(domains: ["*"], kind: .smarthost, hosts: [host("relay.example")])
        let plan = await NextHopPlanner(resolver: ScriptedResolver(mx: ["relay.example": answer])).plan(route: route, domain: "example.com")
        guard case .temporary(let outcome) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(outcome.kind == .deferred)
        #expect(outcome.status.klass == 4)
    }

    // MARK: Priority and weight

    @Test func orderWithAFixedRandomSource() {
        let a = host("a", priority: 0, weight: 1), b = host("b", priority: 0, weight: 3), c = host("c", priority: 1, weight: 5)
        let d = host("d", priority: 0, weight: 6)
        var totals: [Int] = []
        var picks = [4, 3, 0, 2]
        let ordered = NextHopPlanner.order([a, b, c, d]) { total in
            totals.append(total)
            return picks.removeFirst()
        }
        // Group 0 is [a 1, b 3, d 6]: 4 falls in d's range (4..<10), then 3 in b's (1..<4) of [a, b], then a; group 1 is c.
        #expect(ordered == [d, b, a, c])
        #expect(totals == [10, 4, 1, 5])
    }

    @Test func lowestPickKeepsTheConfiguredOrderInsideAGroup() {
        let list = [host("a", priority: 5), host("b", priority: 1), host("c", priority: 5), host("d", priority: 1)]
        #expect(NextHopPlanner.order(list) { _ in 0 }.map(\.host) == ["b", "d", "a", "c"])
        #expect(NextHopPlanner.order(list) { $0 - 1 }.map(\.host) == ["d", "b", "c", "a"])
        #expect(NextHopPlanner.order([]) { _ in 0 }.isEmpty)
    }

    @Test func weightsShareTheLoad() {
        // RFC 2782: weight 3 against weight 1 comes first about three times in four.
        let heavy = host("heavy", weight: 3), light = host("light", weight: 1)
        var random = SeededRandom(state: 0x9E37_79B9_7F4A_7C15)
        var heavyFirst = 0
        for _ in 0..<10_000 where NextHopPlanner.order([light, heavy], random: { random($0) }).first == heavy { heavyFirst += 1 }
        #expect((7_200...7_800).contains(heavyFirst), "\(heavyFirst)")
        // And with the real random source both orders happen.
        let firsts = Set((0..<200).map { _ in NextHopPlanner.order([light, heavy]).first!.host })
        #expect(firsts == ["heavy", "light"])
    }

    @Test func orderIsAPermutationByPriority() async {
        let entry = Gen.int(in: 0...3).array(of: 0...8)
        await propertyCheck(input: entry, Gen.int(in: 1...10).array(of: 8), Gen.int(in: 0...1_000_000).array(of: 8)) { priorities, weights, picks in
            let list = priorities.enumerated().map { host("h\($0.offset)", priority: $0.element, weight: weights[$0.offset]) }
            var calls = 0
            var chosenFirst: [Int: String] = [:]
            let ordered = NextHopPlanner.order(list) { total in
                defer { calls += 1 }
                return picks[calls % picks.count] % total
            }
            #expect(ordered.count == list.count)
            #expect(Set(ordered.map(\.host)) == Set(list.map(\.host)))
            #expect(ordered.map(\.priority) == ordered.map(\.priority).sorted())
            // One random draw per host placed.
            #expect(calls == list.count)
            // The first host of each priority group is the one whose weight range holds the draw.
            var draw = 0
            for priority in Set(priorities).sorted() {
                let group = list.filter { $0.priority == priority }
                let total = group.reduce(0) { $0 + $1.weight }
                let pick = picks[draw % picks.count] % total
                var start = 0
                for h in group {
                    if pick < start + h.weight { chosenFirst[priority] = h.host; break }
                    start += h.weight
                }
                draw += group.count
                #expect(ordered.first { $0.priority == priority }?.host == chosenFirst[priority])
            }
        }
    }

    @Test func hopDescriptions() throws {
        #expect(hop("mx.example.net", "192.0.2.1").description == "mx.example.net[192.0.2.1]:25")
        #expect(hop("mx.example.net", "2001:db8::1", 587).description == "mx.example.net[2001:db8::1]:587")
        #expect(try hop("mx", "192.0.2.1", 2525).socketAddress().port == 2525)
        #expect(throws: (any Error).self) { try hop("mx", "not an address").socketAddress() }
    }
}
