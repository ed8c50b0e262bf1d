// GatehouseNode.swift — a running node: listeners bound from the configuration, the shared
// services, live reconfiguration, and a clean stop.
//
// Start-up order: open the spool and remove what a crash left behind, load users and TLS, bind
// every listener (a listener that cannot bind stops the start with a clear message), then serve.
// `apply(_:)` takes a new configuration version live: listeners whose address is unchanged keep
// their socket and give new sessions the new settings; new addresses are bound; removed ones closed.

#if canImport(Glibc)
import Glibc
#endif
public import Configuration
public import GatehouseCore
public import NIOCore
import NIOPosix
import NIOSSL
public import Delivery
import AntiVirus
import MailAuth
public import Quarantine
import Scanning
import SpamBayes
import Spool
import Synchronization

public final class GatehouseNode: Sendable {
    public let dataDirectory: String
    let group: MultiThreadedEventLoopGroup
    let services: NodeServices
    let store: ConfigurationStore
    /// Delivers what the listeners accepted.
    public let queueManager: QueueManager
    private let listeners = Mutex<[String: BoundListener]>([:])
    private let tlsContext = Mutex<NIOSSLContext?>(nil)
    /// Messages held by the policy.
    public let quarantine: QuarantineStore
    private let senderRates = SenderRates()
    /// The Bayesian classifier's database, reloaded when it changes.
    private let bayes: BayesHolder

    final class BoundListener: Sendable {
        let key: String
        let channel: any Channel
        let runtime: Mutex<ListenerRuntime>
        init(key: String, channel: any Channel, runtime: ListenerRuntime) {
            self.key = key
            self.channel = channel
            self.runtime = Mutex(runtime)
        }
    }

    /// Opens the spool and services. Does not bind yet.
    public init(configuration: NodeConfiguration, dataDirectory: String, log: any LogSink,
                resolverFactory: @escaping QueueManager.ResolverFactory = DNSDeliveryResolver.make) throws {
        self.dataDirectory = dataDirectory
        if mkdir(dataDirectory, 0o700) != 0 && errno != EEXIST {
            throw ConfigurationFailure("cannot create data directory \(dataDirectory): \(String(cString: strerror(errno)))")
        }
        let spool = try Spool(directory: dataDirectory + "/queue")
        let removed = try spool.recover()
        for id in removed {
            log.record(LogRecord(program: "spool", queueID: id, text: "removed incomplete queue file left by an interrupted session"))
        }
        let segments = try spool.recoverSegments()
        for id in segments.recovered {
            log.record(LogRecord(program: "spool", queueID: id, text: "taken back from a segment left by the previous run (queue incoming)"))
        }
        if segments.damaged > 0 {
            log.record(LogRecord(program: "spool", text: "warning: \(segments.damaged) damaged record(s) skipped in the segment files left by the previous run (writes the stop cut off, never acknowledged)"))
        }
        let users = try UserStore(path: dataDirectory + "/users")
        do { quarantine = try QuarantineStore(directory: dataDirectory + "/quarantine") } catch {
            throw ConfigurationFailure("cannot open the quarantine: \(error)")
        }
        bayes = BayesHolder(path: BayesStore.path(inDataDirectory: dataDirectory))
        bayes.refresh(log: log)
        let pool = NIOThreadPool(numberOfThreads: 32)
        pool.start()
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        store = ConfigurationStore(configuration)
        let manager = try QueueManager(spool: spool, dataDirectory: dataDirectory, configuration: configuration, group: group,
                                       threadPool: pool, log: log, resolverFactory: resolverFactory)
        queueManager = manager
        services = NodeServices(spool: spool, users: users, log: log, threadPool: pool)
    }

    /// Binds every listener and starts the periodic checks.
    public func start() async throws {
        try await apply(store.configuration, initial: true)
        scheduleSpaceCheck()
        scheduleQuarantineSweep()
        scheduleBayesReload()
        scheduleBayesMaintenance()
        queueManager.start()
    }

    /// The addresses actually bound, by listener name (useful with port 0).
    public var boundAddresses: [String: SocketAddress] {
        listeners.withLock { all in
            var out: [String: SocketAddress] = [:]
            for (_, bound) in all {
                if let address = bound.channel.localAddress { out[bound.runtime.withLock { $0.listener.name }] = address }
            }
            return out
        }
    }

    func makeTLSContext(_ configuration: NodeConfiguration) throws -> NIOSSLContext {
        var certificatePath = configuration.certificatePath
        var keyPath = configuration.keyPath
        if certificatePath == nil {
            (certificatePath, keyPath) = try SelfSignedCertificate.ensure(directory: dataDirectory + "/tls", hostname: configuration.hostname)
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificatePath!)
            let key = try NIOSSLPrivateKey(file: keyPath!, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ConfigurationFailure("cannot load TLS certificate \(certificatePath!) / key \(keyPath!): \(error)")
        }
    }

    /// Applies a configuration version: rebinding only what changed.
    public func apply(_ configuration: NodeConfiguration, initial: Bool = false) async throws {
        let needsTLS = configuration.listeners.contains { $0.tls != .none } || configuration.certificatePath != nil
        let tls = needsTLS ? try makeTLSContext(configuration) : nil
        tlsContext.withLock { $0 = tls }
        let decider = try makeDecider(configuration)
        if !initial {
            try await queueManager.apply(configuration, group: group)
            store.replace(with: configuration)
        }
        var wanted: [String: ListenerConfiguration] = [:]
        for listener in configuration.listeners { wanted["\(listener.host):\(listener.port)"] = listener }
        // Close listeners no longer wanted.
        let stale = listeners.withLock { all in
            let keys = all.keys.filter { wanted[$0] == nil }
            return keys.compactMap { all.removeValue(forKey: $0) }
        }
        for bound in stale { try? await bound.channel.close() }
        for (key, listener) in wanted {
            let existing = listeners.withLock { $0[key] }
            let limits = listener.limits
            let limiter = existing.map { bound in bound.runtime.withLock { $0.limiter } }
                .flatMap { $0.limits == (limits.sessions, limits.sessionsPerClient, limits.connectionsPerMinutePerClient, limits.messagesPerMinutePerClient) ? $0 : nil }
                ?? ClientLimiter(sessions: limits.sessions, perClient: limits.sessionsPerClient,
                                 connectionRate: limits.connectionsPerMinutePerClient, messageRate: limits.messagesPerMinutePerClient)
            let runtime = ListenerRuntime(listener: listener, node: configuration, limiter: limiter, services: services,
                                          tls: listener.tls == .none ? nil : tls, decider: decider)
            if let existing {
                existing.runtime.withLock { $0 = runtime }
                continue
            }
            let channel = try await bind(listener, runtime)
            listeners.withLock { $0[key] = channel }
            services.log.record(LogRecord(program: "master", text: "listening on \(listener.host):\(listener.port) (\(listener.name), role \(listener.role.rawValue), tls \(listener.tls.rawValue), auth \(listener.auth.rawValue))"))
        }
    }

    private func bind(_ listener: ListenerConfiguration, _ runtime: ListenerRuntime) async throws -> BoundListener {
        let holder = Mutex<BoundListener?>(nil)
        let fallback = runtime
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                let current = holder.withLock { $0?.runtime.withLock { $0 } } ?? fallback
                do {
                    if current.listener.tls == .implicit, let tls = current.tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandler(SMTPServerHandler(runtime: current, allocator: channel.allocator))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: listener.host, port: listener.port).get()
        } catch {
            throw ConfigurationFailure("listener \(listener.name): cannot listen on \(listener.host):\(listener.port): \(error)")
        }
        let bound = BoundListener(key: "\(listener.host):\(listener.port)", channel: channel, runtime: runtime)
        holder.withLock { $0 = bound }
        return bound
    }

    /// The engines and the policy of one configuration version; nil when the policy is empty
    /// (nothing to decide: mail goes straight to the queue).
    func makeDecider(_ configuration: NodeConfiguration) throws -> MessageDecider? {
        guard !configuration.policy.groups.isEmpty else { return nil }
        let scanning = configuration.scanning
        var antiVirus: (any AntiVirusScanner)?
        if let clamd = scanning.clamd {
            guard let endpoint = ClamdEndpoint(clamd) else { throw ConfigurationFailure("scanning.antivirus.clamd: not host:port or a socket path: \(clamd)") }
            var settings = ClamdConfiguration(endpoint: endpoint)
            settings.replyTimeout = .milliseconds(Int64(scanning.clamdTimeout * 1_000))
            antiVirus = ClamdClient(configuration: settings, eventLoopGroup: group)
        }
        let scanner: MessageScanner
        do {
            scanner = try MessageScanner(ruleFiles: scanning.ruleFiles, spamThreshold: scanning.spamThreshold, antiVirus: antiVirus)
        } catch {
            throw ConfigurationFailure("scanning.spam.rules: \(error)")
        }
        var templates: [String: String] = [:]
        if let directory = scanning.templates {
            templates = try NotificationTemplates.read(directory: directory)
        }
        let composer = NotificationComposer(hostname: configuration.hostname, administrator: scanning.administrator, templates: templates)
        for group in configuration.policy.groups {
            for rule in group.rules {
                for case .notify(let target, let template) in rule.actions {
                    guard composer.templateNames.contains(template) else {
                        throw ConfigurationFailure("policy \(group.name)/\(rule.name): no notification template \(template) (built in: \(NotificationComposer.builtIn.keys.sorted().joined(separator: ", ")))")
                    }
                    if target == .admin && scanning.administrator == nil {
                        throw ConfigurationFailure("policy \(group.name)/\(rule.name): notify admin needs scanning.notifications.admin")
                    }
                }
            }
        }
        var signers: [String: DKIMSigner] = [:]
        for key in scanning.dkimKeys {
            do {
                let pem = String(decoding: try SmallFile.read(key.keyFile, limit: 1 << 20), as: UTF8.self)
                signers[key.selector + "._domainkey." + key.domain] = try DKIMSigner(domain: key.domain, selector: key.selector, pem: pem)
            } catch {
                throw ConfigurationFailure("scanning.dkim.keys: \(key.keyFile): \(error)")
            }
        }
        for group in configuration.policy.groups {
            for rule in group.rules {
                for case .dkimSign(let domain, let selector) in rule.actions where signers[selector + "._domainkey." + domain] == nil {
                    throw ConfigurationFailure("policy \(group.name)/\(rule.name): dkim_sign needs a key for \(selector)._domainkey.\(domain) in scanning.dkim.keys")
                }
            }
        }
        let asksReverseDNS = configuration.policy.contains { if case .reverseDNS = $0 { true } else { false } }
        let needsDNS = scanning.authentication || asksReverseDNS || !scanning.dnsblZones.isEmpty || !scanning.uriblZones.isEmpty
        let resolver = needsDNS ? try DNSDeliveryResolver.makeResolver(configuration.delivery.dns, group) : nil
        var suffixes: PublicSuffixList?
        if scanning.authentication || !scanning.uriblZones.isEmpty {
            do { suffixes = try PublicSuffixList.load() } catch {
                throw ConfigurationFailure("scanning: \(error) (Debian's publicsuffix package provides it)")
            }
        }
        var authenticator: MailAuthenticator?
        if scanning.authentication, let resolver, let suffixes {
            authenticator = MailAuthenticator(authservID: configuration.hostname, dns: ResolverMailAuthDNS(resolver), publicSuffixes: suffixes)
        }
        var lists: DNSLists?
        if let resolver, asksReverseDNS || !scanning.dnsblZones.isEmpty || !scanning.uriblZones.isEmpty {
            lists = DNSLists(resolver: resolver, clientZones: scanning.dnsblZones, domainZones: scanning.uriblZones,
                             reverseLookup: asksReverseDNS, publicSuffixes: suffixes)
        }
        return MessageDecider(node: configuration, scanner: scanner, composer: composer, quarantine: quarantine, spool: services.spool,
                              threadPool: services.threadPool, log: services.log, senderRates: senderRates, authenticator: authenticator,
                              dnsLists: lists, signers: signers, bayes: scanning.bayes ? bayes : nil)
    }

    /// Every 30 seconds: has the Bayes database changed (training, feedback)? Reload it.
    private func scheduleBayesReload() {
        let bayes = self.bayes
        let log = services.log
        let pool = services.threadPool
        group.next().scheduleRepeatedTask(initialDelay: .seconds(30), delay: .seconds(30)) { _ in
            pool.submit { _ in bayes.refresh(log: log) }
        }
    }

    /// Every hour (and once more at stop): the Bayes database's upkeep, when the classifier is on.
    private func scheduleBayesMaintenance() {
        let bayes = self.bayes
        let log = services.log
        let pool = services.threadPool
        let store = self.store
        let interval = Int64(Defaults.Scanning.bayesMaintenanceInterval)
        group.next().scheduleRepeatedTask(initialDelay: .seconds(interval), delay: .seconds(interval)) { _ in
            let scanning = store.configuration.scanning
            guard scanning.bayes else { return }
            pool.submit { _ in bayes.maintain(pruneDays: scanning.bayesPruneDays, log: log) }
        }
    }

    /// Now and then: remove expired quarantine entries.
    private func scheduleQuarantineSweep() {
        let quarantine = self.quarantine
        let log = services.log
        let pool = services.threadPool
        group.next().scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(Int64(Defaults.Quarantine.sweepInterval))) { _ in
            pool.submit { _ in
                do {
                    let removed = try quarantine.sweep()
                    if !removed.isEmpty { log.record(LogRecord(program: "quarantine", text: "expired: \(removed.joined(separator: ", "))")) }
                } catch {
                    log.record(LogRecord(program: "quarantine", text: "warning: sweep failed: \(error)"))
                }
            }
        }
    }

    /// Every few seconds: is there room on the spool's disk? Below the minimum, MAIL gets 452 4.3.1.
    private func scheduleSpaceCheck() {
        let services = self.services
        let store = self.store
        group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(2)) { _ in
            let free = services.spool.freeSpace()
            let enough = free >= store.configuration.minimumFreeSpace
            let before = services.spoolHasSpace.exchange(enough, ordering: .relaxed)
            if before != enough {
                services.log.record(LogRecord(program: "spool", text: enough ? "disk space recovered; accepting mail again"
                                              : "warning: free space \(free) bytes below minimum; tempfailing new mail (452 4.3.1)"))
            }
        }
    }

    /// Closes the listeners and waits for the event loops to stop.
    public func stop() async {
        let all = listeners.withLock { all in
            let values = Array(all.values)
            all.removeAll()
            return values
        }
        for bound in all { try? await bound.channel.close() }
        // The tokens verdicts used since the last upkeep would be forgotten with the process.
        let scanning = store.configuration.scanning
        if scanning.bayes && bayes.usage.count > 0 {
            let bayes = self.bayes
            let log = services.log
            try? await services.threadPool.runIfActive { bayes.maintain(pruneDays: scanning.bayesPruneDays, log: log) }
        }
        await queueManager.stop()
        try? await group.shutdownGracefully()
        try? await services.threadPool.shutdownGracefully()
    }
}
