// QueueManager.swift — the scheduler that delivers what the spool accepted.
//
// Modelled on Postfix's qmgr(8): messages move incoming → active → (delivered and removed) or
// deferred, and deferred → active when their retry time (the queue file's mtime) has come. The
// active set is bounded (messages and bytes). Each message is split into jobs by destination (a
// recipient domain for MX routes, the route itself for host lists, `local` for mailboxes); each
// destination has at most `destination_concurrency` workers and all together at most
// `concurrency`. A worker keeps its connection and takes the next job for the same destination
// (connection reuse), waiting `connection_cache` for one before it says QUIT.
//
// Hand-off: while the scheduler has room, a small message the spool committed from memory goes
// into a segment and is given to the scheduler with its bytes (`Spool.observeCommits`), which
// starts its jobs at once, with no directory scan and no read of a file. Every other message (too
// large, or committed while the active set is full, delivery is paused or the node is stopping)
// has a queue file in incoming/, which a scan finds; each commit of one wakes a scan.
//
// Per-recipient bookkeeping: when all jobs of a message are done, delivered and bounced recipients
// are crossed off in the queue file (fdatasync) unless none is left, in which case the file is
// removed; a bounce is committed to the spool (fsync) before its recipients are crossed off. A crash
// at any point therefore repeats at most a delivery or a bounce, and never loses a recipient.

#if canImport(Glibc)
import Glibc
#endif
import Synchronization
public import Configuration
public import GatehouseCore
public import NIOCore
public import NIOPosix
import NIOSSL
public import Spool

/// The queue manager of one node.
public final class QueueManager: Sendable {
    let scheduler: Scheduler
    private let wakeStream: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    /// Makes the resolver for a `delivery.dns` configuration (replaced in tests).
    public typealias ResolverFactory = @Sendable (DNSConfiguration, any EventLoopGroup) throws -> any DeliveryResolver

    private let resolverFactory: ResolverFactory

    public init(spool: Spool, dataDirectory: String, configuration: NodeConfiguration, group: any EventLoopGroup,
                threadPool: NIOThreadPool, log: any LogSink, resolverFactory: @escaping ResolverFactory = DNSDeliveryResolver.make) throws {
        (wakeStream, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.resolverFactory = resolverFactory
        let resolver = try resolverFactory(configuration.delivery.dns, group)
        // The scheduler and every outbound connection live on one event loop, so a delivery's
        // steps follow each other on one thread instead of waking another for each.
        let loop = group.next()
        let context = try QueueManager.makeContext(configuration, loop: loop, resolver: resolver, log: log)
        let wake = wakeContinuation
        let scheduler = Scheduler(loop: loop, spool: spool, mailboxes: dataDirectory + "/mailboxes", configuration: configuration,
                                  context: context, threadPool: threadPool, log: log, wake: { wake.yield() })
        self.scheduler = scheduler
        spool.observeCommits({ id, file, segment in
            QueueManager.handOff(id, file: file, segment: segment, scheduler: scheduler, wake: { wake.yield() })
        }, takesSegments: { scheduler.admitting.load(ordering: .relaxed) })
    }

    /// A message was committed (on the committing thread). One in a segment is taken into the
    /// active set when there is room, or refused (the spool then moves it into incoming/); one with
    /// a queue file of its own waits in incoming/ for the scan this wakes.
    static func handOff(_ id: String, file: [UInt8]?, segment: SegmentLocation?, scheduler: Scheduler,
                        wake: @Sendable () -> Void) -> Bool {
        guard let segment else {
            wake()
            return false
        }
        guard let file, scheduler.admitting.load(ordering: .relaxed), let parsed = try? QueueFile.parse(file, verifyingChecksum: false) else { return false }
        scheduler.adoptOnLoop(id, parsed: parsed, content: parsed.extractContent(from: consume file), segment: segment)
        return true
    }

    static func makeContext(_ configuration: NodeConfiguration, loop: any EventLoop, resolver: any DeliveryResolver,
                            log: any LogSink) throws -> DeliveryContext {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        var verified: [String: NIOSSLContext] = [:]
        for route in configuration.delivery.routes where route.tls == .verify {
            let key = route.caFile ?? ""
            guard verified[key] == nil else { continue }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .fullVerification
            if let file = route.caFile { tls.trustRoots = .file(file) }
            verified[key] = try NIOSSLContext(configuration: tls)
        }
        return DeliveryContext(
            loop: loop, planner: NextHopPlanner(resolver: resolver), hostname: configuration.hostname,
            timeouts: configuration.delivery.timeouts, tlsUnverified: try NIOSSLContext(configuration: unverified),
            tlsVerified: verified, eightBitDowngrade: Bounces.downgrade, log: log)
    }

    /// Starts scanning and delivering.
    public func start() {
        let scheduler = self.scheduler
        let stream = wakeStream
        let continuation = wakeContinuation
        Task {
            await scheduler.scan()
            for await _ in stream {
                if await scheduler.stopped { break }
                await scheduler.scan()
            }
        }
        Task {
            while !(await scheduler.stopped) {
                try? await Task.sleep(for: .seconds(Defaults.Delivery.incomingScanInterval))
                continuation.yield()
            }
        }
    }

    /// Something was put into incoming/ by other means than this process's spool: look now rather
    /// than at the next scan.
    public func wake() {
        wakeContinuation.yield()
    }

    /// Takes a new configuration: new jobs use its routes and limits.
    public func apply(_ configuration: NodeConfiguration, group: any EventLoopGroup) async throws {
        var context = await scheduler.context
        if await scheduler.configuration.delivery.dns != configuration.delivery.dns {
            context = try QueueManager.makeContext(configuration, loop: scheduler.loop,
                                                   resolver: resolverFactory(configuration.delivery.dns, group), log: context.log)
        } else {
            context = try QueueManager.makeContext(configuration, loop: scheduler.loop, resolver: context.planner.resolver, log: context.log)
        }
        await scheduler.apply(configuration, context: context)
        wake()
    }

    /// Stops taking messages and waits (a few seconds at most) for workers to let go of their
    /// connections, so that nothing touches the event loops once they shut down. Deliveries still
    /// in flight end with the process; their messages are delivered again at the next start.
    public func stop() async {
        scheduler.spool.observeCommits(nil)
        await scheduler.stop()
        wakeContinuation.finish()
        let deadline = ContinuousClock.now + .seconds(Defaults.Delivery.stopGrace)
        while await scheduler.workerCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// One delivery job: some recipients of one message, to one destination.
struct DeliveryJob: Sendable {
    var queueID: String
    var destination: String
    var route: RouteConfiguration
    var domain: String
    /// Indexes into the envelope's recipients.
    var indices: [Int]
    var request: DeliveryRequest
}

actor Scheduler {
    /// The event loop the scheduler runs on (its executor), which its connections use too.
    nonisolated let loop: any EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }
    /// The same loop as the preferred executor of the scheduler's tasks: a task resumed after an
    /// await (a reply read, a write done) continues there instead of on the global executor,
    /// which would wake one of its threads only to hop back to the loop.
    nonisolated let tasks: LoopTaskExecutor
    let spool: Spool
    let mailboxes: String
    let threadPool: NIOThreadPool
    let log: any LogSink
    /// Asks for a scan (coalesced).
    let wake: @Sendable () -> Void
    var configuration: NodeConfiguration
    var context: DeliveryContext
    private(set) var stopped = false
    /// Whether a committed message may be handed to `adopt` (running, not paused, room left); read
    /// on committing threads, so only a hint: `adopt` checks again.
    nonisolated let admitting = Atomic<Bool>(false)
    /// Whether messages may be waiting on disk for room (a scan stopped early, or a hand-off was
    /// refused): then each finished message asks for a scan.
    private var mayHaveWaiting = true

    struct MessageState {
        var parsed: QueueFile.Parsed
        var content: [UInt8]
        var status: DeliveryStatus
        /// Whether a status file may exist (false for a message handed over at commit).
        var statusStored = true
        /// Its record when the message is in a segment rather than in active/.
        var segment: SegmentLocation?
        var outstanding: Int
        var outcomes: [Int: RecipientOutcome] = [:]
    }

    struct Destination {
        var queue: [DeliveryJob] = []
        var head = 0
        var workers = 0
        /// Workers waiting for a job, with the timer that ends the wait after `connection_cache`.
        var idle: [(UInt64, CheckedContinuation<DeliveryJob?, Never>, Scheduled<Void>)] = []
        var pending: Int { queue.count - head }
        mutating func pop() -> DeliveryJob? {
            guard head < queue.count else { return nil }
            let job = queue[head]
            head += 1
            if head > 64 && head * 2 > queue.count { queue.removeFirst(head); head = 0 }
            return job
        }
    }

    private var messages: [String: MessageState] = [:]
    private var activeBytes = 0
    private var destinations: [String: Destination] = [:]
    private var workers = 0
    var workerCount: Int { workers }
    private var idleTicket: UInt64 = 0
    private var nextDeferredScan: Int64 = 0
    /// Messages a crash (or a pause) left in active/ are taken at the next scan.
    private var recoverActive = true
    /// Ids being read in (scans run concurrently; one load per message).
    private var loading = Set<String>()

    init(loop: any EventLoop, spool: Spool, mailboxes: String, configuration: NodeConfiguration, context: DeliveryContext,
         threadPool: NIOThreadPool, log: any LogSink, wake: @escaping @Sendable () -> Void) {
        self.loop = loop
        tasks = LoopTaskExecutor(loop)
        self.wake = wake
        self.spool = spool
        self.mailboxes = mailboxes
        self.configuration = configuration
        self.context = context
        self.threadPool = threadPool
        self.log = log
    }

    func apply(_ configuration: NodeConfiguration, context: DeliveryContext) {
        if self.configuration.delivery.paused && !configuration.delivery.paused { recoverActive = true }
        self.configuration = configuration
        self.context = context
        nextDeferredScan = 0
        mayHaveWaiting = true
        updateAdmitting()
    }

    private func updateAdmitting() {
        admitting.store(!stopped && !configuration.delivery.paused && hasRoom, ordering: .relaxed)
    }

    func stop() {
        stopped = true
        updateAdmitting()
        for key in destinations.keys {
            for (_, continuation, timer) in destinations[key]!.idle {
                timer.cancel()
                continuation.resume(returning: nil)
            }
            destinations[key]!.idle = []
        }
    }

    static var now: Int64 { Int64(time(nil)) }

    var hasRoom: Bool {
        messages.count < configuration.delivery.activeLimit && activeBytes < Defaults.Delivery.activeBytes
    }

    /// Takes what is waiting in incoming/ and what is due in deferred/, as room allows.
    func scan() async {
        updateAdmitting()
        guard !stopped, !configuration.delivery.paused, hasRoom else {
            mayHaveWaiting = true
            return
        }
        mayHaveWaiting = false
        let spool = self.spool
        let now = Scheduler.now
        let scanDeferred = now >= nextDeferredScan
        let scanActive = recoverActive
        recoverActive = false
        if scanDeferred {
            nextDeferredScan = now + Int64(max(1, min(60, configuration.delivery.minimumBackoff)))
        }
        let found = try? await threadPool.runIfActive(eventLoop: loop) { () -> [(String, QueueState)] in
            var out: [(String, QueueState)] = []
            if scanActive { out += try spool.list(.active).filter(QueueID.isValid).map { ($0, QueueState.active) } }
            out += try spool.list(.incoming).filter(QueueID.isValid).map { ($0, QueueState.incoming) }
            if scanDeferred {
                for id in try spool.list(.deferred) where QueueID.isValid(id) {
                    if let next = spool.nextAttempt(id, in: .deferred), next <= now { out.append((id, .deferred)) }
                }
            }
            return out
        }.value()
        for (id, state) in found ?? [] where !stopped && messages[id] == nil {
            guard hasRoom else {
                if scanActive { recoverActive = true }  // the rest of active/ at a later scan
                mayHaveWaiting = true
                break
            }
            await load(id, from: state)
        }
    }

    private func load(_ id: String, from state: QueueState) async {
        guard messages[id] == nil, loading.insert(id).inserted else { return }
        defer { loading.remove(id) }
        let spool = self.spool
        let result = try? await threadPool.runIfActive { () -> Result<(QueueFile.Parsed, [UInt8], DeliveryStatus), QueueFileError>? in
            if state != .active {
                do { try spool.relocate(id, from: state, to: .active) } catch { return nil }
            }
            guard let bytes = try? spool.read(.active, id) else { return nil }
            do throws(QueueFileError) {
                let parsed = try QueueFile.parse(bytes)
                return .success((parsed, parsed.extractContent(from: consume bytes), DeliveryStatus.load(spool.statusPath(id))))
            } catch {
                try? spool.move(id, from: .active, to: .corrupt)
                return .failure(error)
            }
        }
        guard let result = result ?? nil else { return }
        switch result {
        case .failure(let error):
            log.record(LogRecord(program: "qmgr", queueID: id, text: "warning: damaged queue file moved to corrupt: \(error)"))
        case .success(let (parsed, content, status)):
            await admit(id, parsed: parsed, content: content, status: status, statusStored: true)
        }
    }

    /// `adopt` from any thread: one wake-up of the scheduler's loop, where the task starts at once
    /// (a plain `Task` would first go through the global executor, waking a thread for nothing).
    nonisolated func adoptOnLoop(_ id: String, parsed: QueueFile.Parsed, content: [UInt8], segment: SegmentLocation) {
        loop.execute {
            self.assumeIsolated { $0.beginAdopting(id, parsed: parsed, content: content, segment: segment) }
        }
    }

    private func beginAdopting(_ id: String, parsed: QueueFile.Parsed, content: [UInt8], segment: SegmentLocation) {
        Task(executorPreference: tasks) { await self.adopt(id, parsed: parsed, content: content, segment: segment) }
    }

    /// Takes a message handed over at commit from its segment.
    func adopt(_ id: String, parsed: QueueFile.Parsed, content: [UInt8], segment: SegmentLocation) async {
        guard messages[id] == nil else { return }
        guard !stopped, !configuration.delivery.paused, hasRoom else {
            // Room went between the commit's look and now: out of the segment into incoming/,
            // where a scan finds it.
            mayHaveWaiting = true
            updateAdmitting()
            let spool = self.spool
            let log = self.log
            let wake = self.wake
            threadPool.submit { _ in
                do {
                    _ = try spool.segments.moveOut(segment) { (bytes: [UInt8]) throws(SpoolError) in
                        try spool.writeClassic(id, bytes, to: .incoming)
                    }
                } catch {
                    log.record(LogRecord(program: "qmgr", queueID: id, text: "warning: cannot move out of \(segment): \(error); delivered after a restart"))
                }
                wake()
            }
            return
        }
        await admit(id, parsed: parsed, content: content, status: DeliveryStatus(), statusStored: false, segment: segment)
    }

    /// Splits a message into jobs by destination and starts them.
    private func admit(_ id: String, parsed: QueueFile.Parsed, content: [UInt8], status: DeliveryStatus, statusStored: Bool,
                       segment: SegmentLocation? = nil) async {
        let envelope = parsed.envelope
        let pending = envelope.recipients.indices.filter { envelope.recipients[$0].status == .pending }
        log.record(LogRecord(program: "qmgr", queueID: id, text: "from=<\(envelope.sender)>, size=\(parsed.contentSize), nrcpt=\(pending.count) (queue active)"))
        var jobs: [DeliveryJob] = []
        var byDestination: [String: (RouteConfiguration, String, [Int])] = [:]
        var order: [String] = []
        for i in pending {
            let domain = Scheduler.domain(of: envelope.recipients[i].address, hostname: configuration.hostname)
            let route = envelope.route.flatMap(RouteConfiguration.init(nextHop:)) ?? configuration.route(for: domain)
            let key = Scheduler.destinationKey(route, domain: domain)
            if byDestination[key] == nil { order.append(key); byDestination[key] = (route, domain, []) }
            byDestination[key]!.2.append(i)
        }
        for key in order {
            let (route, domain, indices) = byDestination[key]!
            for start in stride(from: 0, to: indices.count, by: Defaults.Delivery.recipientsPerJob) {
                let slice = Array(indices[start..<min(indices.count, start + Defaults.Delivery.recipientsPerJob)])
                let request = DeliveryRequest(envelope: envelope, recipients: slice.map { envelope.recipients[$0] }, content: content)
                jobs.append(DeliveryJob(queueID: id, destination: key, route: route, domain: domain, indices: slice, request: request))
            }
        }
        messages[id] = MessageState(parsed: parsed, content: content, status: status, statusStored: statusStored, segment: segment,
                                    outstanding: jobs.count)
        activeBytes += content.count
        updateAdmitting()
        if jobs.isEmpty {
            await finish(id)
            return
        }
        for job in jobs { destinations[job.destination, default: Destination()].queue.append(job) }
        for key in order { dispatch(key) }
    }

    /// The domain of a recipient; the bare `postmaster` (RFC 5321 §4.5.1) is ours.
    static func domain(of address: String, hostname: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return hostname.lowercased() }
        var domain = address[address.index(after: at)...].lowercased()
        if domain.hasSuffix(".") { domain.removeLast() }
        return domain
    }

    /// Jobs with the same key share workers and connections.
    static func destinationKey(_ route: RouteConfiguration, domain: String) -> String {
        switch route.kind {
        case .local: return "local"
        case .mx: return "mx:" + domain + ":\(route.port):\(route.tls.rawValue)"
        case .hosts, .smarthost:
            return "\(route.kind.rawValue):" + route.hosts.map { "\($0.host):\($0.port)/\($0.priority)/\($0.weight)" }.joined(separator: ",")
                + ":\(route.tls.rawValue):\(route.caFile ?? ""):\(route.credentials?.username ?? "")"
        }
    }

    /// Starts workers (or wakes idle ones) while limits allow.
    private func dispatch(_ key: String) {
        guard !stopped else { return }
        let limits = configuration.delivery
        while var destination = destinations[key], destination.pending > 0 {
            if let (_, waiter, timer) = destination.idle.first {
                timer.cancel()
                destination.idle.removeFirst()
                let job = destination.pop()!
                destinations[key] = destination
                waiter.resume(returning: job)
                continue
            }
            guard destination.workers < limits.destinationConcurrency, workers < limits.concurrency else { return }
            let job = destination.pop()!
            destination.workers += 1
            destinations[key] = destination
            workers += 1
            startWorker(job)
        }
    }

    private func dispatchAll() {
        for key in destinations.keys where destinations[key]!.pending > 0 { dispatch(key) }
    }

    private func startWorker(_ first: DeliveryJob) {
        Task(executorPreference: tasks) { await self.work(first) }
    }

    /// One worker: delivers jobs for one destination over one connection until none is left.
    /// Runs on the scheduler's loop, and so does its connection: no thread hop between steps.
    private func work(_ first: DeliveryJob) async {
        let session = SMTPDestinationSession(context: context)
        let threadPool = self.threadPool
        let mailboxes = self.mailboxes
        let hostname = configuration.hostname
        var job: DeliveryJob? = first
        while let current = job {
            let started = ContinuousClock.now
            let outcomes: [RecipientOutcome]
            if current.route.kind == .local {
                let request = current.request
                outcomes = (try? await threadPool.runIfActive(eventLoop: loop) {
                    request.recipients.map {
                        LocalDelivery.deliver(root: mailboxes, address: $0.address, sender: request.envelope.sender,
                                              content: request.content, hostname: hostname)
                    }
                }.value()) ?? request.recipients.map { _ in .deferred(EnhancedStatusCode(4, 3, 0), "local; delivery interrupted") }
            } else {
                outcomes = await session.deliver(current.request, route: current.route, domain: current.domain)
            }
            let elapsed = ContinuousClock.now - started
            job = await complete(current, outcomes, elapsed: elapsed)
        }
        if stopped { session.close() } else { await session.quit() }
        workerExited(first.destination)
    }

    /// Records a job's outcomes and returns the next job for the same worker, waiting for one up
    /// to `connection_cache` (the connection stays open meanwhile).
    private func complete(_ job: DeliveryJob, _ outcomes: [RecipientOutcome], elapsed: Duration) async -> DeliveryJob? {
        if var message = messages[job.queueID] {
            for (i, outcome) in zip(job.indices, outcomes) { message.outcomes[i] = outcome }
            message.outstanding -= 1
            messages[job.queueID] = message
            if message.outstanding == 0 {
                Task(executorPreference: tasks) { await self.finish(job.queueID) }
            }
        }
        guard !stopped else { return nil }
        let wait = configuration.delivery.connectionCache
        // `connection_cache: 0` is one message per connection: the worker ends with its job and
        // the next job gets a worker (and a connection, and a fresh choice of next hop) of its own.
        if wait > 0 || job.route.kind == .local, let next = destinations[job.destination]?.pop() { return next }
        guard wait > 0, job.route.kind != .local else { return nil }
        idleTicket += 1
        let ticket = idleTicket
        let key = job.destination
        return await withCheckedContinuation { continuation in
            // A timer on the scheduler's own loop (a sleeping task would wake other threads).
            let timer = loop.scheduleTask(in: .milliseconds(Int64(wait * 1000))) { [self] in
                self.assumeIsolated { $0.expireIdle(key, ticket) }
            }
            destinations[key, default: Destination()].idle.append((ticket, continuation, timer))
        }
    }

    private func expireIdle(_ key: String, _ ticket: UInt64) {
        guard let index = destinations[key]?.idle.firstIndex(where: { $0.0 == ticket }) else { return }
        let (_, continuation, _) = destinations[key]!.idle.remove(at: index)
        continuation.resume(returning: nil)
    }

    private func workerExited(_ key: String) {
        workers -= 1
        destinations[key]?.workers -= 1
        if let d = destinations[key], d.workers == 0, d.pending == 0, d.idle.isEmpty { destinations[key] = nil }
        dispatchAll()
    }

    /// Every job of a message is done: cross off, bounce, defer or remove.
    private func finish(_ id: String) async {
        guard let message = messages[id] else { return }
        let spool = self.spool
        let delivery = configuration.delivery
        let hostname = configuration.hostname
        let log = self.log
        let now = Scheduler.now
        // Delivered from a segment: crossing it off writes one byte to the page cache, which is
        // done here rather than at the price of two thread hops, unless an administrator's command
        // holds the record (then, and for everything else, the thread pool waits).
        var finished: SegmentLog.RecordState?
        if let segment = message.segment, message.outcomes.values.allSatisfy({ $0.kind == .delivered }) {
            finished = spool.segments.finish(segment, waiting: false)
        }
        var settled = true
        if finished == .live {
            settled = Scheduler.settle(id: id, message: message, spool: spool, delivery: delivery, hostname: hostname, now: now,
                                       log: log, segmentFinished: .live)
        } else {
            settled = (try? await threadPool.runIfActive(eventLoop: loop) { [finished] in
                Scheduler.settle(id: id, message: message, spool: spool, delivery: delivery, hostname: hostname, now: now, log: log,
                                 segmentFinished: finished)
            }.value()) ?? true
        }
        guard settled else {
            // Kept in the active set, outcomes and all, until its bookkeeping can be done.
            loop.scheduleTask(in: .seconds(Int64(Defaults.Delivery.settleRetry))) { [self] in
                self.assumeIsolated { $0.finishLater(id) }
            }
            return
        }
        messages[id] = nil
        activeBytes -= message.content.count
        updateAdmitting()
        // Room for more: a scan soon when something may be waiting on disk (wake-ups coalesce, so
        // a burst of finishes costs one scan). Messages handed over at commit need none.
        if mayHaveWaiting { wake() }
    }

    private func finishLater(_ id: String) {
        Task(executorPreference: tasks) { await self.finish(id) }
    }

    /// The blocking part of `finish`, on the thread pool (inline for a message delivered from a
    /// segment, whose bookkeeping does not wait for the disk).
    /// `segmentFinished`: what `SegmentLog.finish` answered already, for a message in a segment.
    /// Returns false when nothing could be done yet (a message in a segment that must become a
    /// queue file of its own, and the disk refused it): the caller tries again later.
    static func settle(id: String, message: MessageState, spool: Spool, delivery: DeliveryConfiguration, hostname: String,
                       now: Int64, log: any LogSink, segmentFinished: SegmentLog.RecordState? = nil) -> Bool {
        // A message in a segment that is not delivered to every recipient becomes a queue file of
        // its own in active/ first, before anything is logged or sent about it, so that a refusal
        // of the disk leaves everything as it was for the next try.
        var segment = message.segment
        if let inSegment = segment, segmentFinished == nil, !message.outcomes.values.allSatisfy({ $0.kind == .delivered }) {
            do {
                // False: an administrator took it first; it is wherever they put it (below).
                _ = try spool.segments.moveOut(inSegment) { (bytes: [UInt8]) throws(SpoolError) in
                    try spool.writeClassic(id, bytes, to: .active)
                }
                segment = nil
            } catch {
                log.record(LogRecord(program: "qmgr", queueID: id, text: "warning: cannot write queue file: \(error); trying again in \(Int(Defaults.Delivery.settleRetry)) s"))
                return false
            }
        }
        let envelope = message.parsed.envelope
        let age = now - envelope.arrival
        let expired = Double(age) >= delivery.queueLifetime
        var outcomes = message.outcomes
        for (i, outcome) in outcomes {
            let r = envelope.recipients[i]
            let status: String
            switch outcome.kind {
            case .delivered: status = "sent"
            case .deferred: status = expired ? "expired" : "deferred"
            case .failed: status = "bounced"
            }
            let relay = outcome.relay ?? (outcome.diagnostic.hasPrefix("local;") ? "local" : "none")
            log.record(LogRecord(program: "qmgr", queueID: id, text: "to=<\(r.address)>, relay=\(relay), delay=\(age), dsn=\(outcome.status), status=\(status) (\(outcome.diagnostic))"))
            if expired && outcome.kind == .deferred {
                outcomes[i] = .failed(EnhancedStatusCode(5, 4, 7), "delivery time expired; last problem: \(outcome.diagnostic)",
                                      remoteMTA: outcome.remoteMTA)
            }
        }
        var failed = outcomes.filter { $0.value.kind == .failed }.sorted { $0.key < $1.key }

        // Bounces go into the spool before the recipients they are about are crossed off.
        if !failed.isEmpty, !Bounces.send(kind: .failure, message: message.parsed, content: message.content, outcomes: failed,
                                          spool: spool, hostname: hostname, now: now, log: log) {
            // The notice could not be queued: these recipients stay pending and fail (and bounce) again later.
            for (i, outcome) in failed { outcomes[i] = .deferred(EnhancedStatusCode(4, 3, 0), "bounce not queued; \(outcome.diagnostic)") }
            failed = []
        }
        let deferred = outcomes.filter { $0.value.kind == .deferred }.sorted { $0.key < $1.key }
        let delivered = outcomes.filter { $0.value.kind == .delivered }.map(\.key)
        var status = message.status
        if !deferred.isEmpty, delivery.delayWarning > 0, !status.delayWarned, Double(age) >= delivery.delayWarning {
            Bounces.send(kind: .delay(until: envelope.arrival + Int64(delivery.queueLifetime)), message: message.parsed,
                         content: message.content, outcomes: deferred, spool: spool, hostname: hostname, now: now, log: log)
            status.delayWarned = true
        }

        let stillPending = envelope.recipients.indices.filter {
            envelope.recipients[$0].status == .pending && outcomes[$0]?.kind != .delivered && outcomes[$0]?.kind != .failed
        }
        do {
            // Still in its segment: every recipient was delivered.
            if let segment, (segmentFinished ?? spool.segments.finish(segment)) == .live {
                log.record(LogRecord(program: "qmgr", queueID: id, text: "removed"))
                return true
            }
            // An administrator may have held or deleted the message during the attempt: cross off
            // what was done where it is now, and leave it there.
            guard let state = spool.locate(id) else {
                log.record(LogRecord(program: "qmgr", queueID: id, text: "message was deleted by an administrator during delivery"))
                return true
            }
            if stillPending.isEmpty {
                try spool.remove(id, from: state, withStatus: message.statusStored)
                log.record(LogRecord(program: "qmgr", queueID: id, text: "removed"))
                return true
            }
            var changes: [(offset: Int, status: RecipientStatus)] = []
            for i in delivered { changes.append((message.parsed.recipientOffsets[i], .delivered)) }
            for (i, _) in failed { changes.append((message.parsed.recipientOffsets[i], .failed)) }
            try spool.setRecipientStatus(id, in: state, changes)
            guard state == .active else {
                log.record(LogRecord(program: "qmgr", queueID: id, text: "message was moved to \(state.rawValue) by an administrator during delivery"))
                return true
            }
            status.attempts += 1
            status.lastAttempt = now
            let wait = RetrySchedule.backoff(attempts: status.attempts, minimum: delivery.minimumBackoff, maximum: delivery.maximumBackoff)
            status.nextAttempt = now + Int64(wait.rounded(.up))
            for (i, outcome) in deferred { status.recipients[i] = outcome }
            for i in delivered { status.recipients[i] = nil }
            for (i, outcome) in failed { status.recipients[i] = outcome }
            status.store(spool.statusPath(id))
            try spool.setNextAttempt(id, in: .active, at: status.nextAttempt)
            try spool.relocate(id, from: .active, to: .deferred)
        } catch SpoolError.noSuchMessage {
            log.record(LogRecord(program: "qmgr", queueID: id, text: "message was moved or removed by an administrator during delivery"))
        } catch {
            log.record(LogRecord(program: "qmgr", queueID: id, text: "warning: cannot update queue file: \(error)"))
        }
        return true
    }
}

/// An event loop as a task executor (SwiftNIO's loops are serial executors only).
final class LoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
