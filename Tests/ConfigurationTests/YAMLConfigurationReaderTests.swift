// YAMLConfigurationReaderTests.swift — the YAML configuration document (Sources/Configuration/
// YAMLConfigurationReader.swift, NodeConfiguration.swift): the complete example of
// docs/configuration.md, defaults, sizes and durations, and every refusal naming its key.

import Testing
import Foundation
import GatehouseCore
import Policy
@testable import Configuration

private func read(_ yaml: String, hostname: String = "node.test") throws(ConfigurationError) -> NodeConfiguration {
    try YAMLConfigurationReader.read(yaml: yaml, hostname: hostname)
}

private func net(_ text: String) -> IPNetwork { IPNetwork(parsing: text)! }

/// A file in a fresh temporary directory, removed with the value.
final class TemporaryFile {
    let path: String
    init(_ contents: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-configtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("file")
        try contents.write(to: url, atomically: true, encoding: .utf8)
        path = url.path
    }
    deinit { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
}

/// The complete example of docs/configuration.md, with the recipients file pointing at `recipientsFile`.
private func completeExampleYAML(recipientsFile: String) -> String {
    """
    version: 3                      # document version; a reload never goes back to a lower one
    node:
      hostname: mx1.example.org     # greeting, Received: headers, self-signed certificate
    domains:
      internal: [example.org, example.net]
    recipients:                     # optional recipient validation for internal domains
      addresses: [alice@example.org, bob@example.org]
      file: \(recipientsFile)   # one address per line, '#' comments
    tls:                            # optional; default: a self-signed certificate in DATA/tls/
      certificate: /etc/gatehouse/tls/fullchain.pem
      key: /etc/gatehouse/tls/key.pem
    spool:
      minimum_free_space: 500MB     # below this, MAIL gets 452 4.3.1
    log:
      file: /var/log/gatehouse.log  # default: standard error
    listeners:
      - name: mx
        role: inbound
        address: 0.0.0.0:25
        tls: starttls
        greet_delay: 1s             # pre-greet test: clients that talk first are dropped
        deny: [192.0.2.0/24]
        exempt: [198.51.100.7/32]   # monitoring: bypasses deny and rate limits
        limits:
          message_size: 50MB
          sessions_per_client: 10
      - name: from-exchange
        role: outbound
        address: 10.0.0.5:25
        tls: starttls
        allow: [10.0.0.0/24]
        relay_networks: [10.0.0.10/32, 10.0.0.11/32]
      - name: submission
        role: submission
        address: 0.0.0.0:587
        tls: starttls_required
        auth: required
      - name: submissions
        role: submission
        address: 0.0.0.0:465
        tls: implicit
        auth: required
      - name: balanced
        role: inbound
        address: 10.0.0.5:2525
        proxy_protocol: true
        balancers: [10.0.0.2/32]
    """
}

/// One listener with the given extra lines (indented under the list item).
private func oneListener(_ extra: String = "", name: String = "mx", role: String = "inbound", address: String = "127.0.0.1:2525") -> String {
    var yaml = "listeners:\n  - name: \(name)\n    role: \(role)\n    address: \"\(address)\"\n"
    for line in extra.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
        yaml += "    \(line)\n"
    }
    return yaml
}

@Suite("YAMLConfigurationReader: documents")
struct YAMLDocumentTests {
    @Test func completeExample() throws {
        let recipients = try TemporaryFile("# staff\ncarol@example.org\n\n  Dave@Example.ORG  \r\n#bob@example.org\n")
        let config = try read(completeExampleYAML(recipientsFile: recipients.path))

        #expect(config.version == 3)
        #expect(config.hostname == "mx1.example.org")
        #expect(config.internalDomains == ["example.org", "example.net"])
        #expect(config.validRecipients == ["alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org"])
        #expect(config.certificatePath == "/etc/gatehouse/tls/fullchain.pem")
        #expect(config.keyPath == "/etc/gatehouse/tls/key.pem")
        #expect(config.minimumFreeSpace == 500 * 1024 * 1024)
        #expect(config.logFile == "/var/log/gatehouse.log")
        #expect(config.listeners.map(\.name) == ["mx", "from-exchange", "submission", "submissions", "balanced"])

        let mx = config.listeners[0]
        #expect(mx.role == .inbound)
        #expect(mx.host == "0.0.0.0")
        #expect(mx.port == 25)
        #expect(mx.tls == .starttls)
        #expect(mx.auth == .off)
        #expect(mx.greetDelay == 1)
        #expect(mx.acl == ConnectionACL(allow: [], deny: [net("192.0.2.0/24")], exempt: [net("198.51.100.7/32")]))
        #expect(mx.relayNetworks.isEmpty)
        #expect(!mx.relayForeignSenders)
        #expect(!mx.proxyProtocol)
        #expect(mx.banner == "ESMTP Gatehouse")
        var mxLimits = ListenerLimits()
        mxLimits.messageSize = 50 * 1024 * 1024
        mxLimits.sessionsPerClient = 10
        #expect(mx.limits == mxLimits)

        let outbound = config.listeners[1]
        #expect(outbound.role == .outbound)
        #expect(outbound.host == "10.0.0.5")
        #expect(outbound.acl.allow == [net("10.0.0.0/24")])
        #expect(outbound.relayNetworks == [net("10.0.0.10/32"), net("10.0.0.11/32")])
        #expect(outbound.limits == ListenerLimits())

        let submission = config.listeners[2]
        #expect(submission.role == .submission)
        #expect(submission.port == 587)
        #expect(submission.tls == .starttlsRequired)
        #expect(submission.auth == .required)

        let submissions = config.listeners[3]
        #expect(submissions.port == 465)
        #expect(submissions.tls == .implicit)
        #expect(submissions.auth == .required)

        let balanced = config.listeners[4]
        #expect(balanced.proxyProtocol)
        #expect(balanced.balancers == [net("10.0.0.2/32")])
        #expect(balanced.port == 2525)
        #expect(balanced.tls == .starttls)
    }

    @Test func theDocumentedExampleInDocsIsTheOneTested() throws {
        // Keep this test's copy honest: the example in docs/configuration.md must parse the same way
        // once its recipients file is replaced.
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/configuration.md")
        guard let text = try? String(contentsOf: docs, encoding: .utf8) else { return }  // docs not shipped with the sources
        guard let start = text.range(of: "```yaml\n"), let end = text.range(of: "```", range: start.upperBound..<text.endIndex) else {
            Issue.record("no YAML example in docs/configuration.md")
            return
        }
        let recipients = try TemporaryFile("carol@example.org\n")
        let example = String(text[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "/etc/gatehouse/recipients", with: recipients.path)
        let fromDocs = try read(example)
        #expect(fromDocs.listeners == (try read(completeExampleYAML(recipientsFile: recipients.path))).listeners)
        #expect(fromDocs.version == 3)
    }

    @Test func defaultsWhenKeysAreMissing() throws {
        let config = try read(oneListener())
        var expected = NodeConfiguration.embeddedDefault(hostname: "node.test")
        expected.policy = Policy()  // a file without policy: decides nothing
        expected.listeners = [ListenerConfiguration(
            name: "mx", role: .inbound, host: "127.0.0.1", port: 2525, tls: .starttls, auth: .off, proxyProtocol: false,
            balancers: [], acl: ConnectionACL(), relayNetworks: [], relayForeignSenders: false, banner: "ESMTP Gatehouse",
            greetDelay: 0, limits: ListenerLimits())]
        #expect(config == expected)
        #expect(config.version == 1)
        #expect(config.hostname == "node.test")
        #expect(config.internalDomains == ["example.test"])
        #expect(config.validRecipients == nil)
        #expect(config.certificatePath == nil && config.keyPath == nil)
        #expect(config.minimumFreeSpace == Defaults.minimumFreeSpace)
        #expect(config.logFile == nil)
    }

    @Test func listenerLimitDefaultsComeFromDefaults() {
        let limits = ListenerLimits()
        #expect(limits.sessions == Defaults.sessionsPerListener)
        #expect(limits.sessionsPerClient == Defaults.sessionsPerClient)
        #expect(limits.connectionsPerMinutePerClient == Defaults.connectionsPerMinutePerClient)
        #expect(limits.messagesPerMinutePerClient == Defaults.messagesPerMinutePerClient)
        #expect(limits.messageSize == Defaults.messageSize)
        #expect(limits.recipients == Defaults.recipientsPerMessage)
        #expect(limits.commandTimeout == 300)
        #expect(limits.dataTimeout == 600)
        #expect(limits.errors == Defaults.errorsBeforeDisconnect)
        #expect(limits.lineLength == 1000)
        #expect(limits.commandLineLength == 512)
    }

    @Test(arguments: [
        ("inbound", TLSMode.starttls, AuthMode.off),
        ("outbound", .starttls, .off),
        ("application", .starttls, .off),
        ("submission", .starttlsRequired, .required),
    ])
    func roleDefaults(_ role: String, _ tls: TLSMode, _ auth: AuthMode) throws {
        let listener = try read(oneListener(role: role)).listeners[0]
        #expect(listener.role.rawValue == role)
        #expect(listener.tls == tls)
        #expect(listener.auth == auth)
    }

    @Test func everyListenerKey() throws {
        let config = try read(oneListener("""
            tls: none
            auth: "off"
            proxy_protocol: true
            balancers: [192.0.2.1, "2001:db8::/32"]
            allow: [0.0.0.0/0]
            deny: ["::ffff:203.0.113.0/120"]
            exempt: [127.0.0.1]
            relay_networks: [10.0.0.0/8]
            relay_foreign_senders: true
            banner: Welcome to the gate
            greet_delay: 250ms
            limits:
              sessions: 5
              sessions_per_client: 2
              connections_per_minute_per_client: 30
              messages_per_minute_per_client: 40
              message_size: 10KiB
              recipients: 7
              command_timeout: 5m
              data_timeout: 1h
              errors: 3
              line_length: 2000
              command_line_length: 1024
            """, role: "application", address: "[::1]:2526"))
        let l = config.listeners[0]
        #expect(l.role == .application)
        #expect(l.host == "::1")
        #expect(l.port == 2526)
        #expect(l.tls == TLSMode.none)
        #expect(l.auth == .off)
        #expect(l.proxyProtocol)
        #expect(l.balancers == [net("192.0.2.1/32"), net("2001:db8::/32")])
        #expect(l.acl == ConnectionACL(allow: [net("0.0.0.0/0")], deny: [net("203.0.113.0/24")], exempt: [net("127.0.0.1")]))
        #expect(l.relayNetworks == [net("10.0.0.0/8")])
        #expect(l.relayForeignSenders)
        #expect(l.banner == "Welcome to the gate")
        #expect(l.greetDelay == 0.25)
        var limits = ListenerLimits()
        limits.sessions = 5
        limits.sessionsPerClient = 2
        limits.connectionsPerMinutePerClient = 30
        limits.messagesPerMinutePerClient = 40
        limits.messageSize = 10 * 1024
        limits.recipients = 7
        limits.commandTimeout = 300
        limits.dataTimeout = 3600
        limits.errors = 3
        limits.lineLength = 2000
        limits.commandLineLength = 1024
        #expect(l.limits == limits)
    }

    @Test func emptyDocumentIsTheEmbeddedDefaultWithoutItsPolicy() throws {
        var expected = NodeConfiguration.embeddedDefault(hostname: "node.test")
        #expect(!expected.policy.groups.isEmpty, "gatehouse serve without a file quarantines spam")
        expected.policy = Policy()
        #expect(try read("") == expected)
        #expect(try read("# only a comment\n") == expected)
        #expect(try read("version: 7").listeners == NodeConfiguration.embeddedDefault(hostname: "x").listeners)
    }

    @Test func embeddedDefault() {
        let config = NodeConfiguration.embeddedDefault(hostname: "gw.example")
        #expect(config.version == 1)
        #expect(config.hostname == "gw.example")
        #expect(config.internalDomains == ["example.test"])
        #expect(config.listeners.count == 2)
        let inbound = config.listeners[0]
        #expect(inbound.role == .inbound)
        #expect(inbound.host == "127.0.0.1")
        #expect(inbound.port == 2525)
        #expect(inbound.tls == .starttls)
        #expect(inbound.auth == .off)
        let submission = config.listeners[1]
        #expect(submission.role == .submission)
        #expect(submission.host == "127.0.0.1")
        #expect(submission.port == 2587)
        #expect(submission.tls == .starttlsRequired)
        #expect(submission.auth == .required)
        #expect(config.listeners.allSatisfy { $0.host == "127.0.0.1" }, "loopback only")
    }

    @Test func listenerAddresses() {
        #expect(YAMLConfigurationReader.parseHostPort("127.0.0.1:25")! == ("127.0.0.1", 25))
        #expect(YAMLConfigurationReader.parseHostPort("[::1]:587")! == ("::1", 587))
        #expect(YAMLConfigurationReader.parseHostPort("[::]:25")! == ("::", 25))
        #expect(YAMLConfigurationReader.parseHostPort("*:2525")! == ("0.0.0.0", 2525))
        #expect(YAMLConfigurationReader.parseHostPort("0.0.0.0:65535")! == ("0.0.0.0", 65535))
        for bad in ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "localhost:25", ":25", "[::1]", "::1:25x",
                    "127.0.0.1:2 5", "[127.0.0.1:25", ""] {
            #expect(YAMLConfigurationReader.parseHostPort(bad) == nil, "\(bad)")
        }
    }

    static let kib = 1024
    static let mib = 1024 * 1024
    static let gib = 1024 * 1024 * 1024
    static let sizeFixtures: [(String, Int)] = [
        ("50MB", 50 * mib), ("10KiB", 10 * kib), ("10KB", 10 * kib), ("10kb", 10 * kib), ("1 MB", mib), ("2GiB", 2 * gib),
        ("1GB", gib), ("3MiB", 3 * mib), ("2K", 2 * kib), ("2M", 2 * mib), ("1G", gib), ("512B", 512), ("52428800", 52_428_800),
        ("0", 0),
    ]

    @Test(arguments: sizeFixtures)
    func sizes(_ text: String, _ bytes: Int) throws {
        #expect(Mapping.parseSize(text) == bytes)
        // And through a document (message_size must be 1KB … 4GB).
        if bytes >= 1024 && bytes <= 4 * Self.gib {
            #expect(try read(oneListener("limits:\n  message_size: \"\(text)\"")).listeners[0].limits.messageSize == bytes)
        }
    }

    @Test(arguments: ["", "MB", "1.5MB", "-1MB", "-5", "10 TB", "ten", "5MBB", "0x10", "99999999999GB"])
    func badSizes(_ text: String) {
        #expect(Mapping.parseSize(text) == nil, "\(text)")
    }

    @Test(arguments: [("300s", 300.0), ("5m", 300), ("1h", 3600), ("250ms", 0.25), ("1.5s", 1.5), ("10", 10), ("0", 0), ("2 m", 120),
                      ("1S", 1), ("1H", 3600)] as [(String, Double)])
    func durations(_ text: String, _ seconds: Double) throws {
        #expect(Mapping.parseDuration(text) == seconds)
        #expect(try read(oneListener("limits:\n  command_timeout: \"\(text)\"")).listeners[0].limits.commandTimeout == seconds)
    }

    @Test(arguments: ["", "s", "-5s", "5x", "5min", "soon", "1e8", "inf", "nan", "1w", "1dd"])
    func badDurations(_ text: String) {
        #expect(Mapping.parseDuration(text) == nil, "\(text)")
    }

    @Test func yamlNumbersAreTakenAsBytesAndSeconds() throws {
        let l = try read(oneListener("greet_delay: 2\nlimits:\n  message_size: 2048\n  data_timeout: 30")).listeners[0]
        #expect(l.greetDelay == 2)
        #expect(l.limits.messageSize == 2048)
        #expect(l.limits.dataTimeout == 30)
    }

    @Test func recipientsAreNormalised() throws {
        let config = try read("recipients:\n  addresses: [Alice@Example.ORG, \"\\\"Bob Smith\\\"@example.org\", carol@example.org.]\n"
                              + oneListener())
        #expect(config.validRecipients == ["alice@example.org", "\"bob smith\"@example.org", "carol@example.org"])
        // An empty section validates against an empty list: nobody is valid.
        #expect(try read("recipients: {}\n" + oneListener()).validRecipients == [])
    }

    @Test func internalDomainsAreNormalised() throws {
        let config = try read("domains:\n  internal: [Example.ORG., bücher.example]\n" + oneListener())
        #expect(config.internalDomains == ["example.org", "bücher.example"])
    }

    @Test func documentSources() throws {
        let file = try TemporaryFile("version: 4\n" + oneListener())
        let loaded = try YAMLFileSource(path: file.path, hostname: "h.test").load()
        #expect(loaded.version == 4)
        #expect(loaded.hostname == "h.test")
        #expect(try EmbeddedDefaultSource(hostname: "h.test").load() == .embeddedDefault(hostname: "h.test"))
        #expect(throws: ConfigurationError(key: "", "cannot read /nonexistent/gatehouse.yaml")) {
            try YAMLFileSource(path: "/nonexistent/gatehouse.yaml", hostname: "h").load()
        }
    }
}

/// A document that must be refused, and the key the error must name.
struct RefusedDocument: Sendable, CustomTestStringConvertible {
    var yaml: String
    var key: String
    var problemContains: String = ""
    var testDescription: String { "\(key): \(yaml.prefix(60).debugDescription)" }
}

@Suite("YAMLConfigurationReader: errors name the key")
struct YAMLErrorTests {
    static let refused0: [RefusedDocument] = [
        // Unknown keys at every level.
        RefusedDocument(yaml: "bogus: 1\n" + oneListener(), key: "bogus", problemContains: "unknown key"),
        RefusedDocument(yaml: "node:\n  host_name: x.example\n" + oneListener(), key: "node.host_name", problemContains: "unknown key"),
        RefusedDocument(yaml: oneListener("colour: blue"), key: "listeners[0].colour", problemContains: "unknown key"),
        RefusedDocument(yaml: oneListener("limits:\n  max_size: 10MB"), key: "listeners[0].limits.max_size", problemContains: "unknown key"),
        RefusedDocument(yaml: "spool:\n  free: 1GB\n" + oneListener(), key: "spool.free"),
        RefusedDocument(yaml: "tls:\n  cert: /x\n" + oneListener(), key: "tls.cert"),
        RefusedDocument(yaml: "log:\n  level: debug\n" + oneListener(), key: "log.level"),
        RefusedDocument(yaml: "domains:\n  external: [a.example]\n" + oneListener(), key: "domains.external"),
        RefusedDocument(yaml: "recipients:\n  list: [a@b.example]\n" + oneListener(), key: "recipients.list"),
    ]
    static let refused1: [RefusedDocument] = [
        // Required listener keys.
        RefusedDocument(yaml: "listeners:\n  - role: inbound\n    address: 127.0.0.1:25\n", key: "listeners[0].name", problemContains: "required"),
        RefusedDocument(yaml: "listeners:\n  - name: \"\"\n    role: inbound\n    address: 127.0.0.1:25\n", key: "listeners[0].name"),
        RefusedDocument(yaml: "listeners:\n  - name: a\n    address: 127.0.0.1:25\n", key: "listeners[0].role", problemContains: "required"),
        RefusedDocument(yaml: "listeners:\n  - name: a\n    role: inbound\n", key: "listeners[0].address", problemContains: "required"),
    ]
    static let refused2: [RefusedDocument] = [
        // Bad values.
        RefusedDocument(yaml: oneListener(role: "relay"), key: "listeners[0].role", problemContains: "inbound, outbound, submission, application"),
        RefusedDocument(yaml: oneListener(role: "Inbound"), key: "listeners[0].role"),
        RefusedDocument(yaml: oneListener(address: "localhost:25"), key: "listeners[0].address"),
        RefusedDocument(yaml: oneListener(address: "127.0.0.1:99999"), key: "listeners[0].address"),
        RefusedDocument(yaml: oneListener(address: "127.0.0.1"), key: "listeners[0].address"),
        RefusedDocument(yaml: oneListener("tls: optional"), key: "listeners[0].tls", problemContains: "starttls_required"),
        RefusedDocument(yaml: oneListener("auth: sometimes"), key: "listeners[0].auth"),
        RefusedDocument(yaml: oneListener("tls: none\nauth: required"), key: "listeners[0].auth", problemContains: "TLS"),
        RefusedDocument(yaml: oneListener("tls: none\nauth: optional"), key: "listeners[0].auth"),
        RefusedDocument(yaml: oneListener("tls: none", role: "submission"), key: "listeners[0].auth"),
        RefusedDocument(yaml: oneListener("proxy_protocol: maybe"), key: "listeners[0].proxy_protocol"),
        RefusedDocument(yaml: oneListener("relay_foreign_senders: 2"), key: "listeners[0].relay_foreign_senders"),
        RefusedDocument(yaml: oneListener("banner: [a, b]"), key: "listeners[0].banner"),
    ]
    static let refused3: [RefusedDocument] = [
        // Bad networks, wherever they are.
        RefusedDocument(yaml: oneListener("deny: [192.0.2.0/33]"), key: "listeners[0].deny[0]", problemContains: "192.0.2.0/33"),
        RefusedDocument(yaml: oneListener("allow: [10.0.0.0/8, example.com]"), key: "listeners[0].allow[1]"),
        RefusedDocument(yaml: oneListener("exempt: [\"::/129\"]"), key: "listeners[0].exempt[0]"),
        RefusedDocument(yaml: oneListener("relay_networks: [10.0.0.256/32]"), key: "listeners[0].relay_networks[0]"),
        RefusedDocument(yaml: oneListener("balancers: [10.0.0.1/-1]"), key: "listeners[0].balancers[0]"),
        RefusedDocument(yaml: oneListener("balancers: 10.0.0.1"), key: "listeners[0].balancers", problemContains: "list"),
        RefusedDocument(yaml: oneListener("deny: [[10.0.0.1]]"), key: "listeners[0].deny[0]"),
    ]
    static let refused4: [RefusedDocument] = [
        // Bad sizes and durations.
        RefusedDocument(yaml: oneListener("limits:\n  message_size: 50XB"), key: "listeners[0].limits.message_size", problemContains: "size"),
        RefusedDocument(yaml: oneListener("limits:\n  message_size: 1023"), key: "listeners[0].limits.message_size", problemContains: "1KB"),
        RefusedDocument(yaml: oneListener("limits:\n  message_size: 5GB"), key: "listeners[0].limits.message_size"),
        RefusedDocument(yaml: oneListener("limits:\n  message_size: -1"), key: "listeners[0].limits.message_size"),
        RefusedDocument(yaml: "spool:\n  minimum_free_space: lots\n" + oneListener(), key: "spool.minimum_free_space"),
        RefusedDocument(yaml: oneListener("limits:\n  command_timeout: soon"), key: "listeners[0].limits.command_timeout", problemContains: "duration"),
        RefusedDocument(yaml: oneListener("limits:\n  data_timeout: -5s"), key: "listeners[0].limits.data_timeout"),
        RefusedDocument(yaml: oneListener("greet_delay: 5 minutes"), key: "listeners[0].greet_delay"),
    ]
    static let refused5: [RefusedDocument] = [
        // Numbers out of range or of the wrong kind.
        RefusedDocument(yaml: oneListener("limits:\n  errors: 0"), key: "listeners[0].limits.errors", problemContains: "between 1 and 1000"),
        RefusedDocument(yaml: oneListener("limits:\n  recipients: 100001"), key: "listeners[0].limits.recipients"),
        RefusedDocument(yaml: oneListener("limits:\n  sessions: many"), key: "listeners[0].limits.sessions", problemContains: "whole number"),
        RefusedDocument(yaml: oneListener("limits:\n  sessions_per_client: 0"), key: "listeners[0].limits.sessions_per_client"),
        RefusedDocument(yaml: oneListener("limits:\n  connections_per_minute_per_client: 0"), key: "listeners[0].limits.connections_per_minute_per_client"),
        RefusedDocument(yaml: oneListener("limits:\n  messages_per_minute_per_client: 1.5"), key: "listeners[0].limits.messages_per_minute_per_client"),
        RefusedDocument(yaml: oneListener("limits:\n  line_length: 99"), key: "listeners[0].limits.line_length"),
        RefusedDocument(yaml: oneListener("limits:\n  command_line_length: 511"), key: "listeners[0].limits.command_line_length"),
        RefusedDocument(yaml: oneListener("limits: 5"), key: "listeners[0].limits", problemContains: "mapping"),
        RefusedDocument(yaml: "version: 0\n" + oneListener(), key: "version"),
        RefusedDocument(yaml: "version: three\n" + oneListener(), key: "version"),
    ]
    static let refused6: [RefusedDocument] = [
        // Top-level sections of the wrong shape or with bad values.
        RefusedDocument(yaml: "node:\n  hostname: not_a_host\n" + oneListener(), key: "node.hostname"),
        RefusedDocument(yaml: "node:\n  hostname: \"[192.0.2.1]\"\n" + oneListener(), key: "node.hostname"),
        RefusedDocument(yaml: "node: mx.example\n" + oneListener(), key: "node", problemContains: "mapping"),
        RefusedDocument(yaml: "domains:\n  internal: [example.org, bad..domain]\n" + oneListener(), key: "domains.internal[1]",
                        problemContains: "bad..domain"),
        RefusedDocument(yaml: "domains:\n  internal: example.org\n" + oneListener(), key: "domains.internal", problemContains: "list"),
        RefusedDocument(yaml: "recipients:\n  addresses: [ok@example.org, not an address]\n" + oneListener(),
                        key: "recipients.addresses[1]", problemContains: "not an address"),
        RefusedDocument(yaml: "recipients:\n  addresses: [\"@relay.example:u@example.org\"]\n" + oneListener(), key: "recipients.addresses[0]"),
        RefusedDocument(yaml: "recipients:\n  file: /nonexistent/recipients\n" + oneListener(), key: "recipients.file"),
        RefusedDocument(yaml: "tls:\n  certificate: /etc/cert.pem\n" + oneListener(), key: "tls", problemContains: "together"),
        RefusedDocument(yaml: "tls:\n  key: /etc/key.pem\n" + oneListener(), key: "tls"),
    ]
    static let refused7: [RefusedDocument] = [
        // Listener lists.
        RefusedDocument(yaml: "listeners: []\n", key: "listeners", problemContains: "at least one"),
        RefusedDocument(yaml: "listeners:\n  name: mx\n", key: "listeners", problemContains: "list"),
        RefusedDocument(yaml: "listeners:\n  - inbound\n", key: "listeners[0]", problemContains: "mapping"),
        RefusedDocument(yaml: oneListener(name: "mx", address: "127.0.0.1:25") + "  - name: mx\n    role: outbound\n    address: 127.0.0.1:26\n",
                        key: "listeners[1].name", problemContains: "duplicate"),
        RefusedDocument(yaml: oneListener(name: "a", address: "127.0.0.1:25") + "  - name: b\n    role: outbound\n    address: 127.0.0.1:25\n",
                        key: "listeners[1].address", problemContains: "127.0.0.1:25"),
        RefusedDocument(yaml: oneListener(name: "a", address: "0.0.0.0:25") + "  - name: b\n    role: outbound\n    address: \"*:25\"\n",
                        key: "listeners[1].address"),
    ]
    static let refused8: [RefusedDocument] = [
        // Not a document we can use at all.
        RefusedDocument(yaml: "- a\n- b\n", key: "", problemContains: "mapping"),
        RefusedDocument(yaml: "just text", key: "", problemContains: "mapping"),
        RefusedDocument(yaml: "listeners: [\n", key: "", problemContains: "YAML"),
    ]
    static let refused: [RefusedDocument] = refused0 + refused1 + refused2 + refused3 + refused4 + refused5 + refused6 + refused7 + refused8

    @Test(arguments: refused)
    func refusedWithItsKey(_ document: RefusedDocument) {
        do {
            let config = try read(document.yaml)
            Issue.record("accepted: \(config.listeners.map(\.name))")
        } catch {
            #expect(error.key == document.key, "\(error)")
            if !document.problemContains.isEmpty {
                #expect(error.problem.contains(document.problemContains), "\(error)")
            }
            if !document.key.isEmpty { #expect(error.description.contains(": \(document.key): ")) }
        }
    }

    @Test func recipientsFileWithCRLFLineEnds() throws {
        // Files written on Windows: "\r\n" is one Character in Swift, so splitting on "\n" alone
        // would see the whole file as one line.
        let file = try TemporaryFile("# list\r\nAlice@Example.org\r\n\r\nbob@example.org\r\n")
        let config = try read("recipients:\n  file: \(file.path)\n" + oneListener())
        #expect(config.validRecipients == ["alice@example.org", "bob@example.org"])
        let bad = try TemporaryFile("ok@example.org\r\nnot valid\r\n")
        do {
            _ = try read("recipients:\n  file: \(bad.path)\n" + oneListener())
            Issue.record("accepted a bad recipients file")
        } catch {
            #expect(error.problem.contains("line 2"), "\(error)")
        }
    }

    @Test func recipientsFileLineIsNamed() throws {
        let file = try TemporaryFile("good@example.org\n# comment\nbad address here\n")
        do {
            _ = try read("recipients:\n  file: \(file.path)\n" + oneListener())
            Issue.record("accepted a bad recipients file")
        } catch {
            #expect(error.key == "recipients.file")
            #expect(error.problem.contains("line 3"), "\(error)")
        }
    }

    @Test func duplicateAddressesInAnotherSpelling() {
        // Addresses are compared in canonical form: one IPv6 address written two ways is caught.
        let yaml = oneListener(name: "a", address: "[::1]:25") + "  - name: b\n    role: outbound\n    address: \"[0:0::1]:25\"\n"
        do {
            _ = try read(yaml)
            Issue.record("two listeners on [::1]:25 accepted")
        } catch {
            #expect(error.key == "listeners[1].address")
        }
    }

    @Test func errorDescriptions() {
        #expect(ConfigurationError(key: "listeners[1].limits.message_size", "must be a size").description
                == "configuration: listeners[1].limits.message_size: must be a size")
        #expect(ConfigurationError(key: "", "empty document").description == "configuration: empty document")
    }

    @Test func secondListenerErrorsNameTheirIndex() {
        let yaml = oneListener(name: "a", address: "127.0.0.1:25") + "  - name: b\n    role: inbound\n    address: 127.0.0.1:26\n    limits:\n      errors: 0\n"
        #expect(throws: ConfigurationError.self) { try read(yaml) }
        do { _ = try read(yaml) } catch { #expect(error.key == "listeners[1].limits.errors") }
    }
}

@Suite struct ListenerAddressTextTests {
    @Test func ipv6NeedsBrackets() {
        #expect(YAMLConfigurationReader.parseHostPort("::1:25") == nil)
        #expect(YAMLConfigurationReader.parseHostPort("[::1]:25")! == ("::1", 25))
        #expect(YAMLConfigurationReader.parseHostPort("[0:0::1]:25")! == ("::1", 25))
        #expect(YAMLConfigurationReader.parseHostPort("*:25")! == ("0.0.0.0", 25))
    }
}
