// ScanningConfigurationTests.swift — the `scanning:` section (YAMLConfigurationReader.readScanning,
// ScanningConfiguration.swift) and the policy's `route` next hops (RouteConfiguration(nextHop:)).

import Testing
import GatehouseCore
@testable import Configuration

private func scanning(_ body: String) throws(ConfigurationError) -> ScanningConfiguration {
    var yaml = "listeners:\n  - {name: mx, role: inbound, address: \"127.0.0.1:2525\"}\nscanning:\n"
    for line in body.split(separator: "\n") { yaml += "  \(line)\n" }
    return try YAMLConfigurationReader.read(yaml: yaml, hostname: "node.test").scanning
}

private func refusal(_ body: String) -> String {
    do {
        _ = try scanning(body)
        return "accepted"
    } catch {
        return error.description
    }
}

@Suite("Scanning configuration")
struct ScanningConfigurationTests {
    @Test func defaults() throws {
        let s = try scanning("spam: {}")
        #expect(s.spamThreshold == 5 && s.spamHeaders && s.ruleFiles.isEmpty && s.clamd == nil && !s.authentication)
        #expect(s.retention(of: "spam") == Defaults.Quarantine.retention)
    }

    @Test func everyKey() throws {
        let s = try scanning("""
            spam: {threshold: 6.5, headers: false, rules: [/dev/null]}
            antivirus: {clamd: "127.0.0.1:3310", timeout: 20s}
            authentication: {enabled: true}
            quarantine: {retention: {default: 10d, spam: 14d, virus: 2h}}
            notifications: {templates: /tmp, admin: postmaster@example.org}
            """)
        #expect(s.spamThreshold == 6.5 && !s.spamHeaders && s.ruleFiles == ["/dev/null"])
        #expect(s.clamd == "127.0.0.1:3310" && s.clamdTimeout == 20 && s.authentication)
        #expect(s.retention(of: "spam") == 14 * 86_400 && s.retention(of: "virus") == 7_200 && s.retention(of: "other") == 10 * 86_400)
        #expect(s.templates == "/tmp" && s.administrator == "postmaster@example.org")
        #expect(try scanning("antivirus: {clamd: /run/clamav/clamd.ctl}").clamd == "/run/clamav/clamd.ctl")
        let lists = try scanning("dnsbl: {zones: [Zen.Spamhaus.org]}\nuribl: {zones: [multi.uribl.com]}\ndkim: {keys: [{domain: Example.org, selector: s1, key_file: /dev/null}]}")
        #expect(lists.dnsblZones == ["zen.spamhaus.org"] && lists.uriblZones == ["multi.uribl.com"])
        #expect(lists.dkimKeys == [DKIMKeyConfiguration(domain: "example.org", selector: "s1", keyFile: "/dev/null")])
    }

    /// `scanning.memory_limit`: the default is raised to hold the largest message a listener
    /// accepts; a configured value below that is refused.
    @Test func memoryLimit() throws {
        func node(_ listenerLimits: String, _ scanning: String) throws(ConfigurationError) -> NodeConfiguration {
            try YAMLConfigurationReader.read(yaml: """
                listeners:
                  - {name: mx, role: inbound, address: "127.0.0.1:2525"\(listenerLimits)}
                scanning: {\(scanning)}
                """, hostname: "node.test")
        }
        #expect(try node("", "").scanMemoryLimit == Defaults.Scanning.memoryLimit)
        #expect(try node("", "memory_limit: 512MB").scanMemoryLimit == 512 << 20)
        let big = try node(", limits: {message_size: 400MB}", "")
        #expect(big.scanMemoryLimit == (400 << 20) + (1 << 20))
        #expect(try node(", limits: {message_size: 1MB}", "memory_limit: 2MB").scanMemoryLimit == 2 << 20)
        do {
            _ = try node(", limits: {message_size: 1MB}", "memory_limit: 1MB")
            Issue.record("a memory limit below one message was accepted")
        } catch {
            #expect(error.description.contains("scanning.memory_limit"))
        }
        #expect(refusal("memory_limit: lots").contains("scanning.memory_limit"))
    }

    @Test func refusalsNameTheKey() {
        #expect(refusal("spam: {threshold: -1}").contains("scanning.spam.threshold"))
        #expect(refusal("spam: {rules: [/nonexistent/file.cf]}").contains("scanning.spam.rules[0]"))
        #expect(refusal("antivirus: {clamd: nonsense}").contains("scanning.antivirus.clamd"))
        #expect(refusal("quarantine: {retention: {spam: soon}}").contains("scanning.quarantine.retention.spam"))
        #expect(refusal("notifications: {templates: /nonexistent-dir}").contains("scanning.notifications.templates"))
        #expect(refusal("bayes: {}").contains("scanning"))
        #expect(refusal("dnsbl: {zones: [\"not a zone\"]}").contains("scanning.dnsbl.zones[0]"))
        #expect(refusal("dkim: {keys: [{domain: example.org, selector: s1, key_file: /nonexistent.pem}]}").contains("scanning.dkim.keys[0].key_file"))
        #expect(refusal("dkim: {keys: [{domain: example.org, key_file: /dev/null}]}").contains("scanning.dkim.keys[0].selector"))
    }

    @Test(arguments: [
        ("10.0.0.5", "10.0.0.5", 25), ("10.0.0.5:2525", "10.0.0.5", 2525), ("relay.example.org:587", "relay.example.org", 587),
        ("[relay.example.org]:25", "[relay.example.org]", 25), ("[2001:db8::1]:2525", "2001:db8::1", 2525),
    ])
    func policyNextHops(text: String, host: String, port: Int) throws {
        let route = try #require(RouteConfiguration(nextHop: text))
        #expect(route.kind == .hosts && route.hosts == [NextHopConfiguration(host: host, port: port, priority: 0)])
    }

    @Test(arguments: ["", "host:0", "host:99999", "bad host", "a;b:25", "host:x"])
    func badNextHopsAreRefused(text: String) {
        #expect(RouteConfiguration(nextHop: text) == nil)
    }
}
