// DeliveryConfigurationTests.swift — the `delivery:` section (Sources/Configuration/
// YAMLConfigurationReader.swift readDelivery/readRoute/parseNextHop, DeliveryConfiguration.swift)
// and route choice (NodeConfiguration.route(for:)): defaults, every key, next-hop forms, the
// documented example, and every refusal naming its key.

import Testing
import Foundation
import GatehouseCore
@testable import Configuration

private let listener = "listeners:\n  - name: mx\n    role: inbound\n    address: \"127.0.0.1:2525\"\n"

/// A document with one listener and `delivery` (indented under `delivery:`).
private func document(_ delivery: String, domains: String = "") -> String {
    var yaml = listener + domains + "delivery:\n"
    for line in delivery.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
        yaml += "  \(line)\n"
    }
    return yaml
}

private func delivery(_ yaml: String) throws(ConfigurationError) -> DeliveryConfiguration {
    try YAMLConfigurationReader.read(yaml: document(yaml), hostname: "node.test").delivery
}

/// The one route of a `routes:` list with a single item given by its lines.
private func route(_ lines: String) throws(ConfigurationError) -> RouteConfiguration {
    var yaml = "routes:\n"
    var first = true
    for line in lines.split(separator: "\n") {
        yaml += (first ? "  - " : "    ") + line + "\n"
        first = false
    }
    let routes = try delivery(yaml).routes
    guard routes.count == 1 else { throw ConfigurationError(key: "test", "expected one route, got \(routes.count)") }
    return routes[0]
}

private func nextHop(_ host: String, _ port: Int, priority: Int, weight: Int = 1) -> NextHopConfiguration {
    NextHopConfiguration(host: host, port: port, priority: priority, weight: weight)
}

@Suite("Delivery configuration: values")
struct DeliveryConfigurationValueTests {
    @Test func defaultsWithoutTheSection() throws {
        let config = try YAMLConfigurationReader.read(yaml: listener, hostname: "node.test")
        #expect(config.delivery == DeliveryConfiguration())
        #expect(try delivery("paused: false") == DeliveryConfiguration())
        let d = DeliveryConfiguration()
        #expect(!d.paused)
        #expect(d.concurrency == Defaults.Delivery.concurrency)
        #expect(d.destinationConcurrency == Defaults.Delivery.destinationConcurrency)
        #expect(d.minimumBackoff == 300)
        #expect(d.maximumBackoff == 3_600)
        #expect(d.queueLifetime == 5 * 86_400)
        #expect(d.delayWarning == 0)
        #expect(d.timeouts == DeliveryTimeouts())
        #expect(d.timeouts.connect == Defaults.Delivery.connectTimeout)
        #expect(d.dns.nameservers.isEmpty)
        #expect(d.routes.isEmpty)
    }

    @Test func everyKey() throws {
        let d = try delivery("""
            paused: true
            concurrency: 50
            destination_concurrency: 5
            connection_cache: 0
            active_limit: 2000
            minimum_backoff: 1m
            maximum_backoff: 2h
            queue_lifetime: 5d
            delay_warning: 4h
            timeouts:
              connect: 10s
              greeting: 1m
              helo: 2m
              mail: 3m
              rcpt: 4m
              data: 5m
              data_block: 6m
              data_done: 7m
            dns:
              nameservers: [192.0.2.53, "192.0.2.54:5353", "[2001:db8::53]:53", "2001:db8::54"]
              timeout: 2s
              attempts: 3
            """)
        #expect(d.paused)
        #expect(d.concurrency == 50)
        #expect(d.destinationConcurrency == 5)
        #expect(d.connectionCache == 0)
        #expect(d.activeLimit == 2_000)
        #expect(d.minimumBackoff == 60)
        #expect(d.maximumBackoff == 7_200)
        #expect(d.queueLifetime == 432_000)
        #expect(d.delayWarning == 14_400)
        #expect([d.timeouts.connect, d.timeouts.greeting, d.timeouts.helo, d.timeouts.mail, d.timeouts.rcpt, d.timeouts.data,
                 d.timeouts.dataBlock, d.timeouts.dataDone] == [10, 60, 120, 180, 240, 300, 360, 420])
        #expect(d.dns.nameservers == ["192.0.2.53", "192.0.2.54:5353", "[2001:db8::53]:53", "2001:db8::54"])
        #expect(d.dns.timeout == 2)
        #expect(d.dns.attempts == 3)
    }

    @Test(arguments: [("5d", 432_000.0), ("1d", 86_400), ("1.5d", 129_600), ("5D", 432_000), ("2 d", 172_800), ("0d", 0)] as [(String, Double)])
    func durationsInDays(_ text: String, _ seconds: Double) throws {
        #expect(Mapping.parseDuration(text) == seconds)
        #expect(try delivery("queue_lifetime: \"\(text)\"").queueLifetime == seconds)
    }

    @Test func partialTimeoutsKeepTheOtherDefaults() throws {
        let d = try delivery("timeouts:\n  rcpt: 30s")
        var expected = DeliveryTimeouts()
        expected.rcpt = 30
        #expect(d.timeouts == expected)
    }

    @Test func theDocumentedExample() throws {
        // docs/configuration.md's complete example ends with a delivery section; it must parse to this.
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/configuration.md")
        guard let text = try? String(contentsOf: docs, encoding: .utf8) else { return }  // docs not shipped with the sources
        guard let start = text.range(of: "```yaml\n"), let end = text.range(of: "```", range: start.upperBound..<text.endIndex) else {
            Issue.record("no YAML example in docs/configuration.md")
            return
        }
        let recipients = try TemporaryFile("carol@example.org\n")
        let example = String(text[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "/etc/gatehouse/recipients", with: recipients.path)
        let config = try YAMLConfigurationReader.read(yaml: example, hostname: "node.test")
        #expect(config.delivery.routes == [
            RouteConfiguration(domains: ["example.org", "example.net"], kind: .hosts, hosts: [
                nextHop("10.0.0.20", 25, priority: 10, weight: 3), nextHop("10.0.0.21", 25, priority: 10, weight: 1),
                nextHop("10.0.0.30", 25, priority: 20),
            ], tls: .required),
            RouteConfiguration(domains: ["*"], kind: .mx),
        ])
        // The internal domains go to the hosts route, everything else by MX.
        #expect(config.route(for: "example.org").kind == .hosts)
        #expect(config.route(for: "gmail.com").kind == .mx)
    }

    // MARK: Routes

    @Test func routeDomainsAreNormalised() throws {
        let r = try route("domains: [Example.ORG., .Sub.Example.NET, \"*\", bücher.example]\ntype: mx")
        #expect(r.domains == ["example.org", ".sub.example.net", "*", "bücher.example"])
        #expect(r.kind == .mx)
        #expect(r.port == 25)
        #expect(r.tls == .opportunistic)
        #expect(r.hosts.isEmpty)
        #expect(r.caFile == nil)
        #expect(r.credentials == nil)
    }

    @Test func routeWithEveryKey() throws {
        let password = try TemporaryFile("s3cret\r\n")
        let r = try route("""
            domains: ["*"]
            type: smarthost
            port: 587
            tls: verify
            ca_file: /etc/gatehouse/relay-ca.pem
            hosts: ["[relay.example]", "backup.example:2525"]
            auth: {username: gatehouse, password_file: \(password.path)}
            """)
        #expect(r.kind == .smarthost)
        #expect(r.port == 587)
        #expect(r.tls == .verify)
        #expect(r.caFile == "/etc/gatehouse/relay-ca.pem")
        // Hosts without a port take the route's; list order is priority order.
        #expect(r.hosts == [nextHop("[relay.example]", 587, priority: 0), nextHop("backup.example", 2525, priority: 1)])
        // The password file's line end is not part of the password.
        #expect(r.credentials == RouteCredentials(username: "gatehouse", password: "s3cret"))
    }

    @Test func hostsAsStringsAndMappings() throws {
        let r = try route("""
            domains: [example.org]
            type: hosts
            hosts:
              - "mail1.example.org:2525"
              - {address: "10.0.0.2", priority: 0, weight: 7}
              - {address: "[mail3.example.org]:26"}
            """)
        #expect(r.hosts == [nextHop("mail1.example.org", 2525, priority: 0), nextHop("10.0.0.2", 25, priority: 0, weight: 7),
                            nextHop("[mail3.example.org]", 26, priority: 2)])
    }

    @Test(arguments: [
        ("relay.example", "relay.example", 25),
        ("Relay.Example", "relay.example", 25),
        ("relay.example:2525", "relay.example", 2525),
        ("[relay.example]", "[relay.example]", 25),
        ("[Relay.Example]:587", "[relay.example]", 587),
        ("192.0.2.1", "192.0.2.1", 25),
        ("192.0.2.1:26", "192.0.2.1", 26),
        // An address in brackets is just the address.
        ("[192.0.2.1]:26", "192.0.2.1", 26),
        ("2001:db8::1", "2001:db8::1", 25),
        ("[2001:db8::1]:2525", "2001:db8::1", 2525),
        ("[2001:DB8::1]", "2001:db8::1", 25),
    ] as [(String, String, Int)])
    func nextHopForms(_ text: String, _ host: String, _ port: Int) throws {
        let parsed = try YAMLConfigurationReader.parseNextHop(text, key: "k", priority: 3, weight: 2, defaultPort: 25)
        #expect(parsed == nextHop(host, port, priority: 3, weight: 2))
    }

    @Test(arguments: ["", "relay:0", "relay:65536", "relay:x", "relay:", "relay.example:-1", "[relay.example", "[relay.example]x",
                      "[relay.example]:", "[relay.example]:0", "[]", "[]:25", "bad_host", "two words", "[bad_host]", "-relay.example",
                      "relay..example", "ex@mple.org", "bücher.example"])
    func badNextHops(_ text: String) {
        #expect(throws: ConfigurationError.self, "\(text.debugDescription)") {
            try YAMLConfigurationReader.parseNextHop(text, key: "delivery.routes[0].hosts[0]", priority: 0, weight: 1, defaultPort: 25)
        }
        do {
            _ = try YAMLConfigurationReader.parseNextHop(text, key: "delivery.routes[0].hosts[0]", priority: 0, weight: 1, defaultPort: 25)
        } catch {
            #expect(error.key == "delivery.routes[0].hosts[0]")
        }
    }

    @Test func aPasswordFileWithAUnixLineEnd() throws {
        // Files written on Linux end in a bare LF; it is not part of the password either. (In Swift
        // "\r\n" is one Character, so `trimmed(of: "\r\n")` trims a final CRLF but not a final LF.)
        let password = try TemporaryFile("s3cret\n")
        let r = try route("domains: [\"*\"]\ntype: smarthost\nhosts: [relay.example]\nauth: {username: u, password_file: \(password.path)}")
        #expect(r.credentials?.password == "s3cret")
        let crlf = try TemporaryFile("s3cret\r\n\r\n")
        #expect(try route("domains: [\"*\"]\ntype: smarthost\nhosts: [relay.example]\nauth: {username: u, password_file: \(crlf.path)}")
            .credentials?.password == "s3cret")
    }

    @Test func authWithAPassword() throws {
        let r = try route("domains: [\"*\"]\ntype: smarthost\nhosts: [relay.example]\nauth: {username: u, password: \"p w\"}")
        #expect(r.credentials == RouteCredentials(username: "u", password: "p w"))
    }
}

@Suite("Delivery configuration: route choice")
struct RouteChoiceTests {
    private func node(internal domains: Set<String>, routes: [RouteConfiguration]) -> NodeConfiguration {
        var config = NodeConfiguration.embeddedDefault(hostname: "node.test")
        config.internalDomains = domains
        config.delivery.routes = routes
        return config
    }

    @Test func withoutRoutesInternalDomainsAreLocalAndOthersMX() {
        let config = node(internal: ["example.org", "example.net"], routes: [])
        #expect(config.route(for: "example.org") == RouteConfiguration(domains: ["example.org"], kind: .local))
        #expect(config.route(for: "example.net").kind == .local)
        // Subdomains of internal domains are not internal.
        #expect(config.route(for: "sub.example.org") == RouteConfiguration(domains: ["*"], kind: .mx))
        #expect(config.route(for: "gmail.com") == RouteConfiguration(domains: ["*"], kind: .mx))
        #expect(config.route(for: "gmail.com").port == 25)
        // The embedded default: example.test goes to local mailboxes.
        #expect(NodeConfiguration.embeddedDefault(hostname: "h").route(for: "example.test").kind == .local)
    }

    @Test func theFirstMatchingRouteWins() {
        let smarthost = RouteConfiguration(domains: ["partner.example"], kind: .smarthost, hosts: [nextHop("[relay.example]", 25, priority: 0)])
        let everything = RouteConfiguration(domains: ["*"], kind: .mx, port: 2525)
        let config = node(internal: ["example.org"], routes: [smarthost, everything])
        #expect(config.route(for: "partner.example") == smarthost)
        #expect(config.route(for: "other.example") == everything)
        // A catch-all route also takes internal domains: the administrator's order rules.
        #expect(config.route(for: "example.org") == everything)
        // Reversed, the catch-all takes everything.
        #expect(node(internal: [], routes: [everything, smarthost]).route(for: "partner.example") == everything)
    }

    @Test func anInternalDomainWithItsOwnRoute() {
        let exchange = RouteConfiguration(domains: ["example.org"], kind: .hosts, hosts: [nextHop("10.0.0.20", 25, priority: 0)])
        let config = node(internal: ["example.org", "example.net"], routes: [exchange])
        #expect(config.route(for: "example.org") == exchange)
        #expect(config.route(for: "example.net").kind == .local)
    }

    @Test(arguments: [
        // pattern, domain, matches
        (".example.org", "mail.example.org", true),
        (".example.org", "a.b.example.org", true),
        (".example.org", "example.org", false),
        (".example.org", "badexample.org", false),
        (".example.org", "example.org.evil.test", false),
        ("example.org", "example.org", true),
        ("example.org", "sub.example.org", false),
        ("example.org", "example.org.evil.test", false),
        ("example.org", "xexample.org", false),
        ("*", "anything.example", true),
        ("*", "localhost", true),
    ] as [(String, String, Bool)])
    func domainPatterns(_ pattern: String, _ domain: String, _ matches: Bool) {
        #expect(RouteConfiguration(domains: [pattern], kind: .mx).matches(domain) == matches)
    }

    @Test func aRouteWithSeveralPatterns() {
        let r = RouteConfiguration(domains: ["example.org", ".example.org"], kind: .mx)
        #expect(r.matches("example.org"))
        #expect(r.matches("mail.example.org"))
        #expect(!r.matches("example.net"))
    }

    @Test func routesFromADocument() throws {
        let config = try YAMLConfigurationReader.read(yaml: document("""
            routes:
              - domains: [.example.org]
                type: hosts
                hosts: ["10.0.0.20:25"]
              - domains: [example.org]
                type: local
            """, domains: "domains:\n  internal: [example.org, example.net]\n"), hostname: "node.test")
        #expect(config.route(for: "mail.example.org").kind == .hosts)
        #expect(config.route(for: "example.org").kind == .local)
        #expect(config.route(for: "example.net").kind == .local)
        #expect(config.route(for: "example.com").kind == .mx)
    }
}

@Suite("Delivery configuration: errors name the key")
struct DeliveryConfigurationErrorTests {
    static let refused: [RefusedDocument] = [
        RefusedDocument(yaml: document("bogus: 1"), key: "delivery.bogus", problemContains: "unknown key"),
        RefusedDocument(yaml: listener + "delivery: [a]\n", key: "delivery", problemContains: "mapping"),
        RefusedDocument(yaml: document("paused: sometimes"), key: "delivery.paused"),
        RefusedDocument(yaml: document("concurrency: 0"), key: "delivery.concurrency", problemContains: "between"),
        RefusedDocument(yaml: document("destination_concurrency: 10001"), key: "delivery.destination_concurrency"),
        RefusedDocument(yaml: document("active_limit: lots"), key: "delivery.active_limit", problemContains: "whole number"),
        RefusedDocument(yaml: document("connection_cache: soon"), key: "delivery.connection_cache", problemContains: "duration"),
        RefusedDocument(yaml: document("queue_lifetime: 5days"), key: "delivery.queue_lifetime", problemContains: "duration"),
        RefusedDocument(yaml: document("queue_lifetime: -1d"), key: "delivery.queue_lifetime"),
        RefusedDocument(yaml: document("delay_warning: 1w"), key: "delivery.delay_warning"),
        RefusedDocument(yaml: document("minimum_backoff: 0"), key: "delivery.minimum_backoff", problemContains: "at least 1s"),
        RefusedDocument(yaml: document("minimum_backoff: 500ms"), key: "delivery.minimum_backoff"),
        RefusedDocument(yaml: document("minimum_backoff: 2h\nmaximum_backoff: 1h"), key: "delivery.maximum_backoff", problemContains: "minimum_backoff"),
        RefusedDocument(yaml: document("maximum_backoff: 1m"), key: "delivery.maximum_backoff"),
        // Timeouts.
        RefusedDocument(yaml: document("timeouts:\n  quit: 5s"), key: "delivery.timeouts.quit", problemContains: "unknown key"),
        RefusedDocument(yaml: document("timeouts:\n  connect: 0"), key: "delivery.timeouts.connect", problemContains: "more than 0"),
        RefusedDocument(yaml: document("timeouts:\n  data_done: 0s"), key: "delivery.timeouts.data_done"),
        RefusedDocument(yaml: document("timeouts:\n  rcpt: forever"), key: "delivery.timeouts.rcpt"),
        RefusedDocument(yaml: document("timeouts: 5m"), key: "delivery.timeouts", problemContains: "mapping"),
        // DNS.
        RefusedDocument(yaml: document("dns:\n  servers: [192.0.2.53]"), key: "delivery.dns.servers"),
        RefusedDocument(yaml: document("dns:\n  nameservers: [192.0.2.53, ns.example]"), key: "delivery.dns.nameservers[1]", problemContains: "IP address"),
        RefusedDocument(yaml: document("dns:\n  nameservers: [\"[2001:db8::53]\", 192.0.2.1]"), key: "delivery.dns.nameservers[0]"),
        RefusedDocument(yaml: document("dns:\n  nameservers: [\"192.0.2.53:0\"]"), key: "delivery.dns.nameservers[0]"),
        RefusedDocument(yaml: document("dns:\n  nameservers: 192.0.2.53"), key: "delivery.dns.nameservers", problemContains: "list"),
        RefusedDocument(yaml: document("dns:\n  attempts: 0"), key: "delivery.dns.attempts"),
        RefusedDocument(yaml: document("dns:\n  timeout: never"), key: "delivery.dns.timeout"),
        // Routes: shape.
        RefusedDocument(yaml: document("routes: {domains: [a.example]}"), key: "delivery.routes", problemContains: "list"),
        RefusedDocument(yaml: document("routes:\n  - mx"), key: "delivery.routes[0]", problemContains: "mapping"),
        RefusedDocument(yaml: document("routes:\n  - {type: mx}"), key: "delivery.routes[0].domains", problemContains: "required"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [], type: mx}"), key: "delivery.routes[0].domains", problemContains: "required"),
        RefusedDocument(yaml: document("routes:\n  - {domains: example.org, type: mx}"), key: "delivery.routes[0].domains", problemContains: "list"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [example.org, \"bad..domain\"], type: mx}"), key: "delivery.routes[0].domains[1]",
                        problemContains: "bad..domain"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [\"*.example.org\"], type: mx}"), key: "delivery.routes[0].domains[0]"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [\".\"], type: mx}"), key: "delivery.routes[0].domains[0]"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [\"[192.0.2.1]\"], type: mx}"), key: "delivery.routes[0].domains[0]"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example]}"), key: "delivery.routes[0].type", problemContains: "required"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: relay}"), key: "delivery.routes[0].type",
                        problemContains: "hosts, mx, smarthost, local"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: mx, colour: blue}"), key: "delivery.routes[0].colour",
                        problemContains: "unknown key"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: mx, port: 0}"), key: "delivery.routes[0].port"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: mx, port: 65536}"), key: "delivery.routes[0].port"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: mx, tls: maybe}"), key: "delivery.routes[0].tls",
                        problemContains: "none, opportunistic, required, verify"),
        // Routes: hosts.
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts}"), key: "delivery.routes[0].hosts", problemContains: "required"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: smarthost, hosts: []}"), key: "delivery.routes[0].hosts"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: mx, hosts: [relay.example]}"), key: "delivery.routes[0].hosts",
                        problemContains: "not used"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: local, hosts: [relay.example]}"), key: "delivery.routes[0].hosts"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: relay.example}"), key: "delivery.routes[0].hosts",
                        problemContains: "list"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: [ok.example, \"bad host\"]}"),
                        key: "delivery.routes[0].hosts[1]", problemContains: "bad host"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: [\"ok.example:99999\"]}"), key: "delivery.routes[0].hosts[0]",
                        problemContains: "port"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: [[a, b]]}"), key: "delivery.routes[0].hosts[0]"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: [{priority: 1}]}"),
                        key: "delivery.routes[0].hosts[0].address", problemContains: "required"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: [{address: \"bad_host\"}]}"),
                        key: "delivery.routes[0].hosts[0].address"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: [{address: h.example, port: 25}]}"),
                        key: "delivery.routes[0].hosts[0].port", problemContains: "unknown key"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: [{address: h.example, priority: -1}]}"),
                        key: "delivery.routes[0].hosts[0].priority"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: [{address: h.example, weight: 0}]}"),
                        key: "delivery.routes[0].hosts[0].weight"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: hosts, hosts: [{address: h.example, weight: 1001}]}"),
                        key: "delivery.routes[0].hosts[0].weight"),
        // Routes: credentials.
        RefusedDocument(yaml: document("routes:\n  - {domains: [\"*\"], type: smarthost, hosts: [r.example], auth: {password: p}}"),
                        key: "delivery.routes[0].auth.username", problemContains: "required"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [\"*\"], type: smarthost, hosts: [r.example], auth: {username: \"\", password: p}}"),
                        key: "delivery.routes[0].auth.username"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [\"*\"], type: smarthost, hosts: [r.example], auth: {username: u}}"),
                        key: "delivery.routes[0].auth.password", problemContains: "required"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [\"*\"], type: smarthost, hosts: [r.example], auth: {username: u, password: p, password_file: /x}}"),
                        key: "delivery.routes[0].auth.password_file", problemContains: "not both"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [\"*\"], type: smarthost, hosts: [r.example], auth: {username: u, password_file: /nonexistent/pw}}"),
                        key: "delivery.routes[0].auth.password_file", problemContains: "/nonexistent/pw"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [\"*\"], type: smarthost, hosts: [r.example], auth: {username: u, pass: p}}"),
                        key: "delivery.routes[0].auth.pass", problemContains: "unknown key"),
        RefusedDocument(yaml: document("routes:\n  - {domains: [\"*\"], type: smarthost, hosts: [r.example], tls: none, auth: {username: u, password: p}}"),
                        key: "delivery.routes[0].auth", problemContains: "TLS"),
        // The index of a later route.
        RefusedDocument(yaml: document("routes:\n  - {domains: [a.example], type: mx}\n  - {domains: [b.example], type: hosts, hosts: [ok.example, \"x:0\"]}"),
                        key: "delivery.routes[1].hosts[1]"),
    ]

    @Test(arguments: refused)
    func refusedWithItsKey(_ document: RefusedDocument) {
        do {
            let config = try YAMLConfigurationReader.read(yaml: document.yaml, hostname: "node.test")
            Issue.record("accepted: \(config.delivery)")
        } catch {
            #expect(error.key == document.key, "\(error)")
            if !document.problemContains.isEmpty {
                #expect(error.problem.contains(document.problemContains), "\(error)")
            }
            #expect(error.description.contains(": \(document.key): "))
        }
    }

    @Test func aZeroDNSTimeoutIsRefused() {
        // Like every SMTP timeout, the DNS timeout must be more than 0: with 0 every lookup times out
        // at once and nothing can ever be delivered.
        #expect(throws: ConfigurationError.self) { try delivery("dns:\n  timeout: 0") }
    }
}
