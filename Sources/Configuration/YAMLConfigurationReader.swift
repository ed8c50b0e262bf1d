// YAMLConfigurationReader.swift — reads the node configuration from YAML (Yams) and validates it.
//
// Every key is documented in docs/configuration.md. Unknown keys, wrong types and bad values are
// refused with the full key path, so a typo never silently falls back to a default.

import GatehouseCore
import Policy
import Yams

public enum YAMLConfigurationReader {
    /// Parses and validates a YAML document.
    public static func read(yaml: String, hostname: String) throws(ConfigurationError) -> NodeConfiguration {
        let root: Yams.Node
        do {
            guard let node = try Yams.compose(yaml: yaml) ?? Yams.compose(yaml: "{}") else { throw ConfigurationError(key: "", "empty document") }
            root = node
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(key: "", "not valid YAML: \(error)")
        }
        guard root.mapping != nil else { throw ConfigurationError(key: "", "the document must be a mapping") }
        return try build(Mapping(root, path: ""), hostname)
    }

    static func build(_ top: Mapping, _ defaultHostname: String) throws(ConfigurationError) -> NodeConfiguration {
        try top.allow(["version", "node", "domains", "recipients", "tls", "spool", "log", "listeners", "delivery", "policy", "scanning"])
        var config = NodeConfiguration.embeddedDefault(hostname: defaultHostname)
        config.policy = Policy()  // a file without `policy:` decides nothing: every message is delivered
        config.version = try top.int("version", in: 1...Int(Int32.max)) ?? 1

        if let node = try top.mapping("node") {
            try node.allow(["hostname"])
            if let hostname = try node.string("hostname") {
                guard MailDomain(parsing: Substring(hostname), allowUTF8: false)?.name != nil else {
                    throw ConfigurationError(key: node.key("hostname"), "not a valid host name")
                }
                config.hostname = hostname
            }
        }
        if let domains = try top.mapping("domains") {
            try domains.allow(["internal"])
            if let list = try domains.strings("internal") {
                var set = Set<String>()
                for (i, d) in list.enumerated() {
                    guard let name = MailDomain(parsing: Substring(d), allowUTF8: true)?.name else {
                        throw ConfigurationError(key: domains.key("internal") + "[\(i)]", "not a valid domain: \(d)")
                    }
                    set.insert(name)
                }
                config.internalDomains = set
            }
        }
        if let recipients = try top.mapping("recipients") {
            try recipients.allow(["addresses", "file"])
            var valid = Set<String>()
            for (i, a) in (try recipients.strings("addresses") ?? []).enumerated() {
                guard let normal = normalisedAddress(a) else {
                    throw ConfigurationError(key: recipients.key("addresses") + "[\(i)]", "not a valid address: \(a)")
                }
                valid.insert(normal)
            }
            if let file = try recipients.string("file") {
                let text: String
                do { text = try readTextFile(file) } catch {
                    throw ConfigurationError(key: recipients.key("file"), "cannot read \(file): \(error)")
                }
                for (n, line) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let entry = String(line).trimmed(of: " \t\r")
                    if entry.isEmpty || entry.hasPrefix("#") { continue }
                    guard let normal = normalisedAddress(entry) else {
                        throw ConfigurationError(key: recipients.key("file"), "\(file) line \(n + 1): not a valid address")
                    }
                    valid.insert(normal)
                }
            }
            config.validRecipients = valid
        }
        if let tls = try top.mapping("tls") {
            try tls.allow(["certificate", "key"])
            config.certificatePath = try tls.string("certificate")
            config.keyPath = try tls.string("key")
            if (config.certificatePath == nil) != (config.keyPath == nil) {
                throw ConfigurationError(key: tls.path, "certificate and key must be given together")
            }
        }
        if let spool = try top.mapping("spool") {
            try spool.allow(["minimum_free_space"])
            if let free = try spool.size("minimum_free_space") { config.minimumFreeSpace = Int64(free) }
        }
        if let log = try top.mapping("log") {
            try log.allow(["file"])
            config.logFile = try log.string("file")
        }
        if let listeners = try top.sequence("listeners") {
            var result: [ListenerConfiguration] = []
            var names = Set<String>()
            var addresses = Set<String>()
            for item in listeners {
                let listener = try readListener(item)
                guard names.insert(listener.name).inserted else {
                    throw ConfigurationError(key: item.key("name"), "duplicate listener name \(listener.name)")
                }
                guard addresses.insert("\(listener.host):\(listener.port)").inserted else {
                    throw ConfigurationError(key: item.key("address"), "two listeners on \(listener.host):\(listener.port)")
                }
                result.append(listener)
            }
            config.listeners = result
        }
        guard !config.listeners.isEmpty else { throw ConfigurationError(key: "listeners", "at least one listener is needed") }
        if let delivery = try top.mapping("delivery") {
            config.delivery = try readDelivery(delivery)
        }
        if let scanning = try top.mapping("scanning") {
            config.scanning = try readScanning(scanning)
        }
        if let policy = try top.mapping("policy") {
            config.policy = try readPolicy(policy)
        }
        if let limit = config.scanning.memoryLimit, limit < config.scanMemoryFloor {
            throw ConfigurationError(key: "scanning.memory_limit",
                                     "must hold one message of the largest size a listener accepts plus 1 MiB (at least \(config.scanMemoryFloor) bytes)")
        }
        return config
    }

    static func readListener(_ m: Mapping) throws(ConfigurationError) -> ListenerConfiguration {
        try m.allow(["name", "role", "address", "tls", "auth", "proxy_protocol", "balancers", "allow", "deny", "exempt",
                     "relay_networks", "relay_foreign_senders", "banner", "greet_delay", "limits"])
        guard let name = try m.string("name"), !name.isEmpty else { throw ConfigurationError(key: m.key("name"), "required") }
        guard let roleText = try m.string("role") else { throw ConfigurationError(key: m.key("role"), "required") }
        guard let role = ListenerRole(rawValue: roleText) else {
            throw ConfigurationError(key: m.key("role"), "must be one of inbound, outbound, submission, application")
        }
        guard let address = try m.string("address") else { throw ConfigurationError(key: m.key("address"), "required") }
        guard let (host, port) = parseHostPort(address) else {
            throw ConfigurationError(key: m.key("address"), "must be HOST:PORT (IPv6 as [ADDR]:PORT)")
        }
        let tls = try m.enumeration("tls", TLSMode.self) ?? (role == .submission ? .starttlsRequired : .starttls)
        let auth = try m.enumeration("auth", AuthMode.self) ?? (role == .submission ? .required : .off)
        if auth != .off && tls == .none {
            throw ConfigurationError(key: m.key("auth"), "authentication needs TLS (tls must not be none)")
        }
        var limits = ListenerLimits()
        if let l = try m.mapping("limits") {
            try l.allow(["sessions", "sessions_per_client", "connections_per_minute_per_client", "messages_per_minute_per_client",
                         "message_size", "recipients", "command_timeout", "data_timeout", "errors", "line_length",
                         "command_line_length"])
            limits.sessions = try l.int("sessions", in: 1...1_000_000) ?? limits.sessions
            limits.sessionsPerClient = try l.int("sessions_per_client", in: 1...1_000_000) ?? limits.sessionsPerClient
            limits.connectionsPerMinutePerClient = try l.int("connections_per_minute_per_client", in: 1...10_000_000) ?? limits.connectionsPerMinutePerClient
            limits.messagesPerMinutePerClient = try l.int("messages_per_minute_per_client", in: 1...10_000_000) ?? limits.messagesPerMinutePerClient
            limits.messageSize = try l.size("message_size").map { v throws(ConfigurationError) -> Int in
                guard v >= 1024, v <= 4 << 30 else { throw ConfigurationError(key: l.key("message_size"), "must be between 1KB and 4GB") }
                return v
            } ?? limits.messageSize
            limits.recipients = try l.int("recipients", in: 1...100_000) ?? limits.recipients
            limits.commandTimeout = try l.duration("command_timeout") ?? limits.commandTimeout
            limits.dataTimeout = try l.duration("data_timeout") ?? limits.dataTimeout
            limits.errors = try l.int("errors", in: 1...1000) ?? limits.errors
            limits.lineLength = try l.int("line_length", in: 100...1_000_000) ?? limits.lineLength
            limits.commandLineLength = try l.int("command_line_length", in: 512...65_536) ?? limits.commandLineLength
        }
        return ListenerConfiguration(
            name: name, role: role, host: host, port: port, tls: tls, auth: auth,
            proxyProtocol: try m.bool("proxy_protocol") ?? false,
            balancers: try m.networks("balancers"),
            acl: ConnectionACL(allow: try m.networks("allow"), deny: try m.networks("deny"), exempt: try m.networks("exempt")),
            relayNetworks: try m.networks("relay_networks"),
            relayForeignSenders: try m.bool("relay_foreign_senders") ?? false,
            banner: try m.string("banner") ?? "ESMTP Gatehouse",
            greetDelay: try m.duration("greet_delay") ?? 0,
            limits: limits)
    }

    static func readDelivery(_ m: Mapping) throws(ConfigurationError) -> DeliveryConfiguration {
        try m.allow(["paused", "concurrency", "destination_concurrency", "connection_cache", "active_limit", "minimum_backoff",
                     "maximum_backoff", "queue_lifetime", "delay_warning", "timeouts", "dns", "routes"])
        var d = DeliveryConfiguration()
        d.paused = try m.bool("paused") ?? false
        d.concurrency = try m.int("concurrency", in: 1...10_000) ?? d.concurrency
        d.destinationConcurrency = try m.int("destination_concurrency", in: 1...10_000) ?? d.destinationConcurrency
        d.connectionCache = try m.duration("connection_cache") ?? d.connectionCache
        d.activeLimit = try m.int("active_limit", in: 1...1_000_000) ?? d.activeLimit
        d.minimumBackoff = try m.duration("minimum_backoff") ?? d.minimumBackoff
        d.maximumBackoff = try m.duration("maximum_backoff") ?? d.maximumBackoff
        d.queueLifetime = try m.duration("queue_lifetime") ?? d.queueLifetime
        d.delayWarning = try m.duration("delay_warning") ?? d.delayWarning
        guard d.minimumBackoff >= 1 else { throw ConfigurationError(key: m.key("minimum_backoff"), "must be at least 1s") }
        guard d.maximumBackoff >= d.minimumBackoff else {
            throw ConfigurationError(key: m.key("maximum_backoff"), "must not be less than minimum_backoff")
        }
        if let t = try m.mapping("timeouts") {
            try t.allow(["connect", "greeting", "helo", "mail", "rcpt", "data", "data_block", "data_done"])
            func read(_ name: String, _ value: inout Double) throws(ConfigurationError) {
                guard let v = try t.duration(name) else { return }
                guard v > 0 else { throw ConfigurationError(key: t.key(name), "must be more than 0") }
                value = v
            }
            try read("connect", &d.timeouts.connect)
            try read("greeting", &d.timeouts.greeting)
            try read("helo", &d.timeouts.helo)
            try read("mail", &d.timeouts.mail)
            try read("rcpt", &d.timeouts.rcpt)
            try read("data", &d.timeouts.data)
            try read("data_block", &d.timeouts.dataBlock)
            try read("data_done", &d.timeouts.dataDone)
        }
        if let dns = try m.mapping("dns") {
            try dns.allow(["nameservers", "timeout", "attempts"])
            for (i, server) in (try dns.strings("nameservers") ?? []).enumerated() {
                guard IPAddress(parsing: server) != nil || parseHostPort(server) != nil else {
                    throw ConfigurationError(key: dns.key("nameservers") + "[\(i)]", "must be an IP address, ADDRESS:PORT or [IPV6]:PORT")
                }
                d.dns.nameservers.append(server)
            }
            d.dns.timeout = try dns.duration("timeout") ?? d.dns.timeout
            guard d.dns.timeout > 0 else { throw ConfigurationError(key: dns.key("timeout"), "must be more than 0") }
            d.dns.attempts = try dns.int("attempts", in: 1...10) ?? d.dns.attempts
        }
        if let routes = try m.sequence("routes") {
            for item in routes { d.routes.append(try readRoute(item)) }
        }
        return d
    }

    static func readScanning(_ m: Mapping) throws(ConfigurationError) -> ScanningConfiguration {
        try m.allow(["spam", "antivirus", "authentication", "dnsbl", "uribl", "dkim", "quarantine", "notifications", "memory_limit"])
        var s = ScanningConfiguration()
        if let spam = try m.mapping("spam") {
            try spam.allow(["threshold", "rules", "headers", "bayes", "bayes_prune_days"])
            s.bayes = try spam.bool("bayes") ?? true
            s.bayesPruneDays = try spam.int("bayes_prune_days", in: 0...3_650) ?? s.bayesPruneDays
            if let value = spam.value("threshold") {
                guard let t = value.float ?? value.int.map(Double.init), t > 0, t < 1_000 else {
                    throw ConfigurationError(key: spam.key("threshold"), "must be a number between 0 and 1000")
                }
                s.spamThreshold = t
            }
            s.ruleFiles = try spam.strings("rules") ?? []
            for (i, file) in s.ruleFiles.enumerated() where access(file, R_OK) != 0 {
                throw ConfigurationError(key: spam.key("rules") + "[\(i)]", "cannot read \(file)")
            }
            s.spamHeaders = try spam.bool("headers") ?? true
        }
        if let av = try m.mapping("antivirus") {
            try av.allow(["clamd", "timeout"])
            s.clamd = try av.string("clamd")
            if let clamd = s.clamd, !clamd.hasPrefix("/"), YAMLConfigurationReader.parseHostPort(clamd) == nil {
                throw ConfigurationError(key: av.key("clamd"), "must be host:port or a unix socket path")
            }
            s.clamdTimeout = try av.duration("timeout") ?? s.clamdTimeout
        }
        if let auth = try m.mapping("authentication") {
            try auth.allow(["enabled"])
            s.authentication = try auth.bool("enabled") ?? false
        }
        for (name, zones) in [("dnsbl", \ScanningConfiguration.dnsblZones), ("uribl", \ScanningConfiguration.uriblZones)] {
            guard let list = try m.mapping(name) else { continue }
            try list.allow(["zones"])
            let values = (try list.strings("zones") ?? []).map { $0.lowercased() }
            for (i, zone) in values.enumerated() where !Mapping.isDomainName(zone) {
                throw ConfigurationError(key: list.key("zones") + "[\(i)]", "not a DNS zone name: \(zone)")
            }
            s[keyPath: zones] = values
        }
        if let dkim = try m.mapping("dkim") {
            try dkim.allow(["keys"])
            for key in try dkim.sequence("keys") ?? [] {
                try key.allow(["domain", "selector", "key_file"])
                guard let domain = try key.string("domain"), Mapping.isDomainName(domain.lowercased()) else {
                    throw ConfigurationError(key: key.key("domain"), "required: the signing domain (d=)")
                }
                guard let selector = try key.string("selector"), !selector.isEmpty,
                      selector.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }) else {
                    throw ConfigurationError(key: key.key("selector"), "required: the selector (s=)")
                }
                guard let file = try key.string("key_file") else { throw ConfigurationError(key: key.key("key_file"), "required: a PEM private key file") }
                guard access(file, R_OK) == 0 else { throw ConfigurationError(key: key.key("key_file"), "cannot read \(file)") }
                s.dkimKeys.append(DKIMKeyConfiguration(domain: domain.lowercased(), selector: selector, keyFile: file))
            }
        }
        if let q = try m.mapping("quarantine") {
            try q.allow(["retention"])
            if let r = try q.mapping("retention") {
                for folder in r.keys {
                    guard let seconds = try r.duration(folder), seconds > 0 else {
                        throw ConfigurationError(key: r.key(folder), "must be a duration such as 14d")
                    }
                    s.retention[folder] = seconds
                }
            }
        }
        if let n = try m.mapping("notifications") {
            try n.allow(["templates", "admin"])
            s.templates = try n.string("templates")
            if let dir = s.templates, access(dir, R_OK | X_OK) != 0 {
                throw ConfigurationError(key: n.key("templates"), "cannot read the directory \(dir)")
            }
            s.administrator = try n.string("admin")
        }
        s.memoryLimit = try m.size("memory_limit")
        return s
    }

    static func readRoute(_ m: Mapping) throws(ConfigurationError) -> RouteConfiguration {
        try m.allow(["domains", "type", "hosts", "port", "tls", "ca_file", "auth"])
        guard let domainList = try m.strings("domains"), !domainList.isEmpty else {
            throw ConfigurationError(key: m.key("domains"), "required: a list of domains, \".example.org\" for subdomains, or \"*\"")
        }
        var domains: [String] = []
        for (i, text) in domainList.enumerated() {
            let lower = text.lowercased()
            if lower == "*" { domains.append(lower); continue }
            let bare = lower.hasPrefix(".") ? String(lower.dropFirst()) : lower
            guard let name = MailDomain(parsing: Substring(bare), allowUTF8: true)?.name else {
                throw ConfigurationError(key: m.key("domains") + "[\(i)]", "not a valid domain: \(text)")
            }
            domains.append(lower.hasPrefix(".") ? "." + name : name)
        }
        guard let kind = try m.enumeration("type", RouteKind.self) else { throw ConfigurationError(key: m.key("type"), "required") }
        var route = RouteConfiguration(domains: domains, kind: kind)
        route.port = try m.int("port", in: 1...65535) ?? 25
        route.tls = try m.enumeration("tls", DeliveryTLSPolicy.self) ?? .opportunistic
        route.caFile = try m.string("ca_file")
        if let v = m.value("hosts") {
            guard let seq = v.sequence else { throw ConfigurationError(key: m.key("hosts"), "must be a list") }
            for (i, item) in seq.enumerated() {
                let key = m.key("hosts") + "[\(i)]"
                if case .scalar(let scalar) = item {
                    route.hosts.append(try parseNextHop(scalar.string, key: key, priority: i, weight: 1, defaultPort: route.port))
                } else if item.mapping != nil {
                    let h = Mapping(item, path: key)
                    try h.allow(["address", "priority", "weight"])
                    guard let address = try h.string("address") else { throw ConfigurationError(key: h.key("address"), "required") }
                    route.hosts.append(try parseNextHop(address, key: h.key("address"),
                                                        priority: try h.int("priority", in: 0...65535) ?? i,
                                                        weight: try h.int("weight", in: 1...1000) ?? 1, defaultPort: route.port))
                } else {
                    throw ConfigurationError(key: key, "must be \"HOST:PORT\" or a mapping with address, priority, weight")
                }
            }
        }
        switch kind {
        case .hosts, .smarthost:
            guard !route.hosts.isEmpty else { throw ConfigurationError(key: m.key("hosts"), "required for type \(kind.rawValue)") }
        case .mx, .local:
            guard route.hosts.isEmpty else { throw ConfigurationError(key: m.key("hosts"), "not used by type \(kind.rawValue)") }
        }
        if let auth = try m.mapping("auth") {
            try auth.allow(["username", "password", "password_file"])
            guard let user = try auth.string("username"), !user.isEmpty else { throw ConfigurationError(key: auth.key("username"), "required") }
            var password = try auth.string("password")
            if let file = try auth.string("password_file") {
                guard password == nil else { throw ConfigurationError(key: auth.key("password_file"), "give password or password_file, not both") }
                do { password = try readTextFile(file).trimmed(of: "\r\n") } catch {
                    throw ConfigurationError(key: auth.key("password_file"), "cannot read \(file)")
                }
            }
            guard let password else { throw ConfigurationError(key: auth.key("password"), "required (or password_file)") }
            guard route.tls != .none else { throw ConfigurationError(key: m.key("auth"), "credentials are only sent over TLS (tls must not be none)") }
            route.credentials = RouteCredentials(username: user, password: password)
        }
        return route
    }

    /// `host`, `host:port`, `[host]:port` (no MX lookup), `[ipv6]:port`, `ipv4`.
    static func parseNextHop(_ text: String, key: String, priority: Int, weight: Int, defaultPort: Int) throws(ConfigurationError) -> NextHopConfiguration {
        var host = text, port = defaultPort
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let rest = host[host.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let p = Int(rest.dropFirst()), (1...65535).contains(p) else { throw ConfigurationError(key: key, "bad port in \(text)") }
                port = p
            } else if !rest.isEmpty {
                throw ConfigurationError(key: key, "must be HOST, HOST:PORT or [HOST]:PORT")
            }
            host = String(host[...close])
            let inner = String(host.dropFirst().dropLast())
            guard IPAddress(parsing: inner) != nil || MailDomain(parsing: Substring(inner), allowUTF8: false)?.name != nil else {
                throw ConfigurationError(key: key, "not an address or host name: \(inner)")
            }
            if IPAddress(parsing: inner) != nil { host = inner }
        } else {
            if let colon = host.lastIndex(of: ":"), !host[..<colon].contains(":") {
                guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { throw ConfigurationError(key: key, "bad port in \(text)") }
                port = p
                host = String(host[..<colon])
            }
            guard IPAddress(parsing: host) != nil || MailDomain(parsing: Substring(host), allowUTF8: false)?.name != nil else {
                throw ConfigurationError(key: key, "not an address or host name: \(host)")
            }
        }
        return NextHopConfiguration(host: host.lowercased(), port: port, priority: priority, weight: weight)
    }

    static func normalisedAddress(_ text: String) -> String? {
        guard case .mailbox(let mailbox, let route)? = try? Path.parse(Substring(text), allowUTF8: true, allowNull: false, allowPostmaster: false),
              route.isEmpty else { return nil }
        return mailbox.description.lowercased()
    }

    /// `127.0.0.1:25`, `[::1]:25`, `*:25` (all IPv4 addresses), `[::]:25`.
    public static func parseHostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil  // IPv6 needs brackets: `::1:25` is ambiguous
        }
        if host == "*" { host = "0.0.0.0" }
        // Canonical text (RFC 5952 for IPv6), so one address written two ways is one address.
        guard let address = IPAddress(parsing: host) else { return nil }
        return (address.description, port)
    }
}

extension String {
    /// Without leading and trailing scalars from `set` (scalars, so "\r\n" means CR and LF).
    func trimmed(of set: String) -> String {
        let scalars = Set(set.unicodeScalars)
        var s = Substring(self).unicodeScalars
        while let f = s.first, scalars.contains(f) { s = s.dropFirst() }
        while let l = s.last, scalars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// Reads a small text file (configuration inputs), bounded at 64 MiB.
func readTextFile(_ path: String) throws -> String {
    do { return String(decoding: try SmallFile.read(path), as: UTF8.self) } catch {
        throw ConfigurationError(key: "", error.description)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A YAML mapping with its key path, for typed reads with precise errors.
struct Mapping {
    let node: Yams.Node
    let path: String

    init(_ node: Yams.Node, path: String) {
        self.node = node
        self.path = path
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// A host or zone name: dot-separated labels of letters, digits and hyphens.
    static func isDomainName(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return text.count <= 253 && labels.count >= 2 && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// The mapping's keys that are strings, in document order.
    var keys: [String] { node.mapping?.keys.compactMap(\.string) ?? [] }

    func value(_ name: String) -> Yams.Node? {
        node.mapping?[Yams.Node(name)]
    }

    /// Refuses keys outside `known`.
    func allow(_ known: Set<String>) throws(ConfigurationError) {
        guard let mapping = node.mapping else { throw ConfigurationError(key: path, "must be a mapping") }
        for (k, _) in mapping {
            guard let name = k.string else { throw ConfigurationError(key: path, "keys must be strings") }
            guard known.contains(name) else {
                throw ConfigurationError(key: key(name), "unknown key (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
    }

    func string(_ name: String) throws(ConfigurationError) -> String? {
        guard let v = value(name) else { return nil }
        guard case .scalar(let scalar) = v else { throw ConfigurationError(key: key(name), "must be a string") }
        return scalar.string
    }

    func bool(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let v = value(name) else { return nil }
        guard let b = v.bool else { throw ConfigurationError(key: key(name), "must be true or false") }
        return b
    }

    func int(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let v = value(name) else { return nil }
        guard let i = v.int else { throw ConfigurationError(key: key(name), "must be a whole number") }
        guard range.contains(i) else { throw ConfigurationError(key: key(name), "must be between \(range.lowerBound) and \(range.upperBound)") }
        return i
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ name: String, _ type: E.Type) throws(ConfigurationError) -> E? where E.RawValue == String {
        guard let text = try string(name) else { return nil }
        guard let e = E(rawValue: text) else {
            throw ConfigurationError(key: key(name), "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return e
    }

    /// A size: a number of bytes, or a number with KB, MB, GB (powers of 1024; KiB/MiB/GiB accepted).
    func size(_ name: String) throws(ConfigurationError) -> Int? {
        guard let v = value(name) else { return nil }
        if let i = v.int, i >= 0 { return i }
        guard let text = v.string, let parsed = Mapping.parseSize(text) else {
            throw ConfigurationError(key: key(name), "must be a size such as 52428800, 50MB or 10KB")
        }
        return parsed
    }

    static func parseSize(_ text: String) -> Int? {
        let t = text.uppercased().replacingSpaces
        let units: [(String, Int)] = [("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let n = Int(t.dropLast(suffix.count)), n >= 0, n <= Int(Int32.max) else { return nil }
            return n * factor
        }
        return Int(t).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// A duration in seconds: a number, or a number with ms, s, m, h.
    func duration(_ name: String) throws(ConfigurationError) -> Double? {
        guard let v = value(name) else { return nil }
        if let i = v.int, i >= 0 { return Double(i) }
        guard let text = v.string, let d = Mapping.parseDuration(text) else {
            throw ConfigurationError(key: key(name), "must be a duration such as 300s, 5m or 1h")
        }
        return d
    }

    static func parseDuration(_ text: String) -> Double? {
        let t = text.lowercased().replacingSpaces
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let n = Double(t.dropLast(suffix.count)), n >= 0, n < 1e7 else { return nil }
            return n * factor
        }
        return Double(t).flatMap { $0 >= 0 && $0 < 1e7 ? $0 : nil }
    }

    func strings(_ name: String) throws(ConfigurationError) -> [String]? {
        guard let v = value(name) else { return nil }
        guard let seq = v.sequence else { throw ConfigurationError(key: key(name), "must be a list") }
        var out: [String] = []
        for (i, item) in seq.enumerated() {
            guard case .scalar(let s) = item else { throw ConfigurationError(key: key(name) + "[\(i)]", "must be a string") }
            out.append(s.string)
        }
        return out
    }

    func networks(_ name: String) throws(ConfigurationError) -> [IPNetwork] {
        var out: [IPNetwork] = []
        for (i, text) in (try strings(name) ?? []).enumerated() {
            guard let network = IPNetwork(parsing: text) else {
                throw ConfigurationError(key: key(name) + "[\(i)]", "not a network (CIDR such as 192.0.2.0/24 or 2001:db8::/32): \(text)")
            }
            out.append(network)
        }
        return out
    }

    func mapping(_ name: String) throws(ConfigurationError) -> Mapping? {
        guard let v = value(name) else { return nil }
        guard v.mapping != nil else { throw ConfigurationError(key: key(name), "must be a mapping") }
        return Mapping(v, path: key(name))
    }

    func sequence(_ name: String) throws(ConfigurationError) -> [Mapping]? {
        guard let v = value(name) else { return nil }
        guard let seq = v.sequence else { throw ConfigurationError(key: key(name), "must be a list") }
        var out: [Mapping] = []
        for (i, item) in seq.enumerated() {
            guard item.mapping != nil else { throw ConfigurationError(key: key(name) + "[\(i)]", "must be a mapping") }
            out.append(Mapping(item, path: key(name) + "[\(i)]"))
        }
        return out
    }
}

extension String {
    var replacingSpaces: String { String(filter { $0 != " " }) }
}
