// Spool.swift — the durable queue on disk: the one way in, the queue states, recovery and checks.
//
// Layout (Postfix's queue directories, src/global/mail_queue.h):
//
//   queue/incoming/ID.part   being received; removed at start-up if a crash left it
//   queue/incoming/ID        complete and durable, waiting for the queue manager
//   queue/active/ID          being delivered
//   queue/deferred/ID        waiting for a retry
//   queue/hold/ID            held by an administrator
//   queue/corrupt/ID         failed its integrity check; never delivered, reported
//   queue/status/ID          delivery status of a deferred message (attempts, reasons); advisory
//   queue/segment/SEQUENCE   small messages being delivered, many to a file (SegmentLog.swift)
//
// Durability: a message is acknowledged only after its file was written, fsynced, renamed from
// `.part` to its final name and the directory fsynced (`commit()`). Directory syncs are shared
// between messages committed at the same moment (group commit), so concurrency does not multiply
// the cost. Files are created 0600 in directories 0700.
//
// Hand-off: a message small enough to be written in one piece (up to `Defaults.spoolWriteChunk`)
// is still in memory when it becomes durable. When the commit observer (the queue manager) is
// taking messages, such a message is appended to a segment file instead of a file of its own
// (one fdatasync for every message committed meanwhile) and its bytes are handed over for
// delivery at once; if the observer cannot take it after all, it is copied into incoming/ as a
// classic queue file before the commit returns. Otherwise the message gets its own file, and a
// message committed whole is still handed over with its bytes. A crash at any moment finds every
// acknowledged message in incoming/, active/ or a segment, all of which are delivered from.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import GatehouseCore
public import NIOCore
import Synchronization

public enum SpoolError: Error, Hashable, Sendable, CustomStringConvertible {
    case system(call: String, path: String, errno: Int32)
    case noSuchMessage(String)
    case invalidQueueID(String)

    public var description: String {
        switch self {
        case .system(let call, let path, let code): return "\(call) \(path): \(String(cString: strerror(code)))"
        case .noSuchMessage(let id): return "no such message: \(id)"
        case .invalidQueueID(let id): return "invalid queue id: \(id)"
        }
    }
}

/// A queue state, which is a directory.
public enum QueueState: String, Hashable, Sendable, CaseIterable, Codable {
    case incoming, active, deferred, hold, corrupt
}

/// The spool of one node.
public final class Spool: Sendable {
    public let root: String
    let syncers: [QueueState: DirectorySyncer]

    /// Told of each committed message on the committing thread once it is durable, with its queue
    /// id, the bytes of its queue file when it was committed whole from memory, and its segment
    /// record when it went into a segment. For a segment record the observer answers whether it
    /// took the message for delivery; if not, the spool moves it into incoming/.
    public typealias CommitObserver = @Sendable (_ queueID: String, _ file: [UInt8]?, _ segment: SegmentLocation?) -> Bool
    /// Held in a class: a closure kept directly in a `Mutex` is re-wrapped in conversion thunks on
    /// every `inout` access through the generic lock, and the chain grows with each commit.
    private final class ObserverBox: Sendable {
        let observer: CommitObserver
        let takesSegments: @Sendable () -> Bool
        init(_ observer: @escaping CommitObserver, takesSegments: @escaping @Sendable () -> Bool) {
            self.observer = observer
            self.takesSegments = takesSegments
        }
    }
    private let commitObserver = Mutex<ObserverBox?>(nil)

    /// Sets (or with nil removes) the observer of commits; there is one at a time. `takesSegments`
    /// tells whether it is taking messages now (a hint: small messages then go into a segment).
    public func observeCommits(_ observer: CommitObserver?, takesSegments: @escaping @Sendable () -> Bool = { false }) {
        let box = observer.map { ObserverBox($0, takesSegments: takesSegments) }
        commitObserver.withLock { $0 = box }
    }

    @discardableResult
    func committed(_ queueID: String, file: [UInt8]?, segment: SegmentLocation? = nil) -> Bool {
        guard let box = commitObserver.withLock({ $0 }) else { return false }
        return box.observer(queueID, file, segment)
    }

    func observerTakesSegments() -> Bool {
        commitObserver.withLock({ $0 })?.takesSegments() ?? false
    }

    /// Small messages being delivered, many to a file.
    public let segments: SegmentLog

    /// Opens (creating if needed) the queue under `directory`.
    public init(directory: String, segmentBytes: Int64? = nil) throws(SpoolError) {
        root = directory
        try Spool.makeDirectory(directory)
        var syncers: [QueueState: DirectorySyncer] = [:]
        for state in QueueState.allCases {
            let path = directory + "/" + state.rawValue
            try Spool.makeDirectory(path)
            syncers[state] = DirectorySyncer(path: path)
        }
        self.syncers = syncers
        try Spool.makeDirectory(directory + "/status")
        segments = try SegmentLog(directory: directory + "/segment", limit: segmentBytes ?? Defaults.segmentBytes)
    }

    static func makeDirectory(_ path: String) throws(SpoolError) {
        if mkdir(path, 0o700) == 0 {
            // Made by a `gatehouse queue` command run as root in a gateway's existing spool: the
            // gateway, perhaps an ordinary user, must own it.
            if geteuid() == 0, let slash = path.lastIndex(of: "/"), slash > path.startIndex {
                var parent = stat()
                if stat(String(path[..<slash]), &parent) == 0 { _ = chown(path, parent.st_uid, parent.st_gid) }
            }
        } else if errno != EEXIST {
            throw .system(call: "mkdir", path: path, errno: errno)
        }
    }

    /// A file made by a `gatehouse queue` command run as root (a message put on hold, a segment)
    /// belongs to the owner of the directory it is in, as if the gateway had made it.
    static func giveToSpoolOwner(_ path: String, like directory: String) {
        guard geteuid() == 0 else { return }
        var owner = stat()
        guard stat(directory, &owner) == 0 else { return }
        _ = chown(path, owner.st_uid, owner.st_gid)
    }

    public func path(_ state: QueueState, _ id: String) -> String {
        root + "/" + state.rawValue + "/" + id
    }

    /// A new queue id.
    public static func newQueueID() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let micros = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec / 1000)
        return QueueID.make(microseconds: micros, random: UInt64.random(in: 0...UInt64.max))
    }

    /// Starts receiving a message: creates `incoming/ID.part`. Blocking: call off the event loop.
    public func beginMessage(envelope: Envelope) throws(SpoolError) -> SpoolWriter {
        try SpoolWriter(spool: self, envelope: envelope)
    }

    /// Queues a whole message the node made or took back (a bounce, a notification, a release from
    /// quarantine) durably in one call. Blocking: call off the event loop.
    public func inject(envelope: Envelope, content: [UInt8]) throws(SpoolError) {
        let writer = try beginMessage(envelope: envelope)
        try writer.append(content)
        try writer.commit()
    }

    /// Removes what a crash left behind (`.part` files). Returns the ids removed.
    @discardableResult
    public func recover() throws(SpoolError) -> [String] {
        var removed: [String] = []
        for name in try list(.incoming) where name.hasSuffix(".part") {
            let path = root + "/incoming/" + name
            if unlink(path) == 0 { removed.append(String(name.dropLast(5))) }
        }
        if !removed.isEmpty { try syncers[.incoming]!.sync() }
        return removed
    }

    /// What `recoverSegments` found.
    public struct SegmentRecovery: Sendable {
        /// Messages copied from segments into incoming/.
        public var recovered: [String] = []
        /// Damaged stretches skipped (the torn end of an unacknowledged group, or worse).
        public var damaged = 0
        public var segments = 0
    }

    /// Turns the live records of the segments a previous run left into classic queue files in
    /// incoming/, then removes the segments. Only at start-up, before delivery starts.
    public func recoverSegments() throws(SpoolError) -> SegmentRecovery {
        var result = SegmentRecovery()
        for sequence in segments.sequences() {
            result.segments += 1
            let path = segments.path(sequence)
            guard let bytes = segments.contents(sequence) else {
                throw .system(call: "read", path: path, errno: EFBIG)
            }
            let (records, damaged) = SegmentLog.records(in: bytes, sequence: sequence, live: true)
            result.damaged += damaged
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw .system(call: "open", path: path, errno: errno) }
            defer { close(fd) }
            for record in records {
                let id = record.parsed.envelope.queueID
                // Under the record's lock, as `gatehouse queue hold|delete` takes it.
                let recovered = try SegmentLog.withRecordLock(fd, record.location.offset) { () throws(SpoolError) -> Bool in
                    guard SegmentLog.readState(fd, record.location.offset) == .live else { return false }
                    let copied = locate(id) == nil  // else copied out before the crash
                    if copied { try writeClassic(id, record.file, to: .incoming) }
                    SegmentLog.writeState(fd, record.location.offset, .taken)
                    return copied
                }
                if recovered { result.recovered.append(id) }
            }
            unlink(path)
        }
        return result
    }

    /// Writes a whole queue file as `state/ID` durably (through `incoming/ID.part`, so a crash
    /// leaves nothing half-written under a final name).
    public func writeClassic(_ id: String, _ file: [UInt8], to state: QueueState) throws(SpoolError) {
        guard QueueID.isValid(id) else { throw .invalidQueueID(id) }
        let target = path(state, id)
        do { try DurableFile.replace(target, with: file, temporary: path(.incoming, id) + ".part") } catch {
            throw .system(call: error.call, path: error.path, errno: error.errno)
        }
        Spool.giveToSpoolOwner(target, like: root + "/" + state.rawValue)
    }

    /// File names in a queue directory (including `.part` files in incoming).
    public func list(_ state: QueueState) throws(SpoolError) -> [String] {
        do { return try DurableFile.names(in: root + "/" + state.rawValue) } catch {
            throw .system(call: error.call, path: error.path, errno: error.errno)
        }
    }

    /// Writes all of `bytes` at the file's position, retrying short and interrupted writes.
    static func writeFully(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SpoolError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(call: "write", path: path, errno: errno)
            }
            offset += n
        }
    }

    /// One look at the whole queue, for the administrator's commands: every complete message with
    /// its state (messages in segments, being delivered, are active), and the segment records.
    public struct Listing: Sendable {
        public var messages: [(QueueState, String)]
        public var segmentRecords: [String: SegmentLog.Record]
    }

    public func listing() throws(SpoolError) -> Listing {
        var result: [(QueueState, String)] = []
        var seen = Set<String>()
        for state in QueueState.allCases {
            for name in try list(state) where QueueID.isValid(name) {
                result.append((state, name))
                seen.insert(name)
            }
        }
        var records: [String: SegmentLog.Record] = [:]
        for record in segments.liveRecords() where seen.insert(record.parsed.envelope.queueID).inserted {
            result.append((.active, record.parsed.envelope.queueID))
            records[record.parsed.envelope.queueID] = record
        }
        return Listing(messages: result, segmentRecords: records)
    }

    /// Every complete message with its state (see `listing`).
    public func messages() throws(SpoolError) -> [(QueueState, String)] {
        try listing().messages
    }

    /// Reads a message of a listing: its queue file, or its record when it is in a segment.
    public func read(_ state: QueueState, _ id: String, in listing: Listing) throws(SpoolError) -> [UInt8] {
        if state == .active, let record = listing.segmentRecords[id] { return record.file }
        return try read(state, id)
    }

    /// Reads a queue file whole.
    public func read(_ state: QueueState, _ id: String) throws(SpoolError) -> [UInt8] {
        guard QueueID.isValid(id) else { throw .invalidQueueID(id) }
        let path = path(state, id)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw .noSuchMessage(id) }
            throw .system(call: "open", path: path, errno: errno)
        }
        defer { close(fd) }
        // One allocation of the file's size, read into directly (no buffer grown by doubling, no
        // copy through a chunk).
        var info = stat()
        let expected = fstat(fd, &info) == 0 ? max(0, Int(info.st_size)) : 0
        var failure: Int32 = 0
        var bytes = [UInt8](unsafeUninitializedCapacity: expected) { buffer, initialized in
            while initialized < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + initialized, buffer.count - initialized)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { return }
                initialized += n
            }
        }
        if failure != 0 { throw .system(call: "read", path: path, errno: failure) }
        // Whatever lies beyond the size fstat gave (a file that grew meanwhile).
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(call: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    /// The result of checking one queue file.
    public struct CheckResult: Sendable {
        public var id: String
        public var state: QueueState
        public var error: QueueFileError?
    }

    /// Verifies every queue file. Damaged files are moved to `corrupt` (when `repair`) and reported.
    public func check(repair: Bool) throws(SpoolError) -> [CheckResult] {
        var results: [CheckResult] = []
        let listing = try listing()
        for (state, id) in listing.messages {
            let bytes = try read(state, id, in: listing)
            var failure: QueueFileError?
            do {
                let parsed = try QueueFile.parse(bytes)
                if parsed.envelope.queueID != id { failure = .badEnvelope("queue id does not match the file name") }
            } catch {
                failure = error
            }
            if let failure, repair, state != .corrupt {
                try move(id, from: state, to: .corrupt)
                results.append(CheckResult(id: id, state: .corrupt, error: failure))
            } else {
                results.append(CheckResult(id: id, state: state, error: failure))
            }
        }
        return results
    }

    /// Moves a message between queue states durably.
    public func move(_ id: String, from: QueueState, to: QueueState) throws(SpoolError) {
        guard QueueID.isValid(id) else { throw .invalidQueueID(id) }
        let source = path(from, id), target = path(to, id)
        guard rename(source, target) == 0 else { throw .system(call: "rename", path: source, errno: errno) }
        try syncers[to]!.sync()
        try syncers[from]!.sync()
    }

    /// Moves a message between queue states without waiting for the directories to reach the disk.
    /// For the queue manager's own moves (incoming → active → deferred): after a crash the file is
    /// in one state or the other, and every state is delivered from, so nothing is lost.
    /// Throws `noSuchMessage` when the file is not there (an administrator moved or deleted it).
    public func relocate(_ id: String, from: QueueState, to: QueueState) throws(SpoolError) {
        guard QueueID.isValid(id) else { throw .invalidQueueID(id) }
        let source = path(from, id)
        guard rename(source, path(to, id)) == 0 else {
            if errno == ENOENT { throw .noSuchMessage(id) }
            throw .system(call: "rename", path: source, errno: errno)
        }
    }

    /// The state a message is in now, or nil when it is not in the queue.
    public func locate(_ id: String) -> QueueState? {
        guard QueueID.isValid(id) else { return nil }
        for state in [QueueState.active, .deferred, .incoming, .hold, .corrupt] where access(path(state, id), F_OK) == 0 {
            return state
        }
        return nil
    }

    /// Where the delivery status of a message is kept.
    public func statusPath(_ id: String) -> String { root + "/status/" + id }

    /// Crosses recipients off in place (the record type byte of each) and syncs the file's data, so
    /// a restart does not deliver to them again.
    public func setRecipientStatus(_ id: String, in state: QueueState, _ changes: [(offset: Int, status: RecipientStatus)]) throws(SpoolError) {
        guard !changes.isEmpty else { return }
        let file = path(state, id)
        let fd = open(file, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw .noSuchMessage(id) }
            throw .system(call: "open", path: file, errno: errno)
        }
        defer { close(fd) }
        for change in changes {
            var byte = change.status.rawValue
            guard pwrite(fd, &byte, 1, off_t(change.offset)) == 1 else { throw .system(call: "pwrite", path: file, errno: errno) }
        }
        guard fdatasync(fd) == 0 else { throw .system(call: "fdatasync", path: file, errno: errno) }
    }

    /// Removes a message and its delivery status (`withStatus: false` when the message never had
    /// one). Not synced: a crash may bring a delivered message back, which delivers it again (a
    /// duplicate, never a loss).
    public func remove(_ id: String, from state: QueueState, withStatus: Bool = true) throws(SpoolError) {
        guard QueueID.isValid(id) else { throw .invalidQueueID(id) }
        let file = path(state, id)
        if unlink(file) != 0 {
            if errno == ENOENT { throw .noSuchMessage(id) }
            throw .system(call: "unlink", path: file, errno: errno)
        }
        if withStatus { unlink(statusPath(id)) }
    }

    /// The time of the next delivery attempt of a deferred message is kept as the file's
    /// modification time (as Postfix does), so a queue scan needs no read.
    public func setNextAttempt(_ id: String, in state: QueueState, at time: Int64) throws(SpoolError) {
        let file = path(state, id)
        var times = [timespec(tv_sec: Int(time), tv_nsec: 0), timespec(tv_sec: Int(time), tv_nsec: 0)]
        guard utimensat(AT_FDCWD, file, &times, 0) == 0 else {
            if errno == ENOENT { throw .noSuchMessage(id) }
            throw .system(call: "utimensat", path: file, errno: errno)
        }
    }

    /// The next attempt time of a message (its file's modification time), or nil if it is gone.
    public func nextAttempt(_ id: String, in state: QueueState) -> Int64? {
        var st = stat()
        guard stat(path(state, id), &st) == 0 else { return nil }
        return Int64(st.st_mtim.tv_sec)
    }

    /// Free bytes available to us on the spool's file system.
    public func freeSpace() -> Int64 {
        var s = statvfs()
        guard statvfs(root, &s) == 0 else { return 0 }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }
}

/// Writes one message into `incoming/ID.part` (or, small and taken at once, a segment) and commits
/// it. Not thread-safe: one writer belongs to one session, which calls it from one thread at a time
/// (off the event loop).
public final class SpoolWriter {
    public let envelope: Envelope
    let spool: Spool
    let partPath: String
    let finalPath: String
    /// Opened at the first write: a message committed whole may never need a file of its own.
    private var fd: Int32 = -1
    private let hasher = QueueFileChecksum(.xxh3)
    private var pending: [UInt8] = []
    /// Whether some of the file was written before the commit (then it is not handed over whole).
    private var wroteEarly = false
    public private(set) var contentSize = 0
    private var finished = false

    init(spool: Spool, envelope: Envelope) throws(SpoolError) {
        guard QueueID.isValid(envelope.queueID) else { throw .invalidQueueID(envelope.queueID) }
        self.spool = spool
        self.envelope = envelope
        finalPath = spool.path(.incoming, envelope.queueID)
        partPath = finalPath + ".part"
        record(QueueFile.RecordType.version.rawValue, QueueFile.version)
        record(QueueFile.RecordType.envelope.rawValue, envelope.encodedFields())
        for r in envelope.recipients {
            record(r.status.rawValue, QueueFile.recipientPayload(r))
        }
    }

    deinit {
        if !finished && fd >= 0 {
            close(fd)
            unlink(partPath)
        }
    }

    private func record(_ type: UInt8, _ payload: some Collection<UInt8>) {
        pending += QueueFile.recordHeader(type, payload.count)
        pending += payload
        if type != QueueFile.RecordType.end.rawValue { hasher.update(payload) }
    }

    /// Appends message content. Buffers in memory and writes when enough is pending.
    public func append(_ buffer: ByteBuffer) throws(SpoolError) {
        var failure: SpoolError?
        buffer.withUnsafeReadableBytes { raw in
            do throws(SpoolError) { try append(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Appends message content given as bytes (read in place, not copied first).
    public func append(_ bytes: [UInt8]) throws(SpoolError) {
        var failure: SpoolError?
        bytes.withUnsafeBytes { raw in
            do throws(SpoolError) { try append(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Appends content in records of at most `QueueFile.maximumRecord` bytes, writing to the file
    /// whenever `Defaults.spoolWriteChunk` bytes are pending, so a large message given whole is
    /// never held a second time here.
    private func append(_ raw: UnsafeRawBufferPointer) throws(SpoolError) {
        var offset = 0
        while offset < raw.count {
            if pending.count >= Defaults.spoolWriteChunk {
                wroteEarly = true
                try flush()
            }
            let n = min(raw.count - offset, QueueFile.maximumRecord, Defaults.spoolWriteChunk - pending.count)
            let piece = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)])
            // Room for the end record too, so that the commit does not copy everything once more.
            let needed = pending.count + QueueFile.headerSize + n + QueueFile.headerSize + QueueFile.trailerSize
            if pending.capacity < needed { pending.reserveCapacity(max(needed, 2 * pending.capacity)) }
            pending += QueueFile.recordHeader(QueueFile.RecordType.content.rawValue, n)
            pending.append(contentsOf: piece.bindMemory(to: UInt8.self))
            hasher.update(piece)
            contentSize += n
            offset += n
        }
        if pending.count >= Defaults.spoolWriteChunk {
            wroteEarly = true
            try flush()
        }
    }

    private func flush(keepingCapacity: Bool = true) throws(SpoolError) {
        if fd < 0 {
            fd = open(partPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw .system(call: "open", path: partPath, errno: errno) }
        }
        try Spool.writeFully(fd, pending, path: partPath)
        pending.removeAll(keepingCapacity: keepingCapacity)
    }

    /// Writes the end record, fsyncs the file, renames it into place and fsyncs the directory.
    /// When this returns the message is durable; only then may the 250 be sent. A message written
    /// in one piece is then handed to the spool's commit observer: through a segment when the
    /// observer is taking messages, else after its own file was written.
    public func commit() throws(SpoolError) {
        let digest = hasher.finalize()
        var trailer = digest
        var size = UInt64(contentSize)
        var sizeBytes = [UInt8](repeating: 0, count: 8)
        for i in stride(from: 7, through: 0, by: -1) { sizeBytes[i] = UInt8(size & 0xFF); size >>= 8 }
        trailer += sizeBytes
        record(QueueFile.RecordType.end.rawValue, trailer)
        if !wroteEarly && fd < 0 && spool.observerTakesSegments() {
            try commitToSegment()
            return
        }
        let whole = wroteEarly ? nil : pending
        try flush(keepingCapacity: false)
        guard fsync(fd) == 0 else { throw .system(call: "fsync", path: partPath, errno: errno) }
        close(fd)
        finished = true
        guard rename(partPath, finalPath) == 0 else {
            let code = errno
            unlink(partPath)
            throw .system(call: "rename", path: partPath, errno: code)
        }
        try spool.syncers[.incoming]!.sync()
        spool.committed(envelope.queueID, file: whole)
    }

    /// The segment path: one record, durable with the group's fdatasync, handed over; a message the
    /// observer does not take after all is moved into incoming/ before this returns.
    private func commitToSegment() throws(SpoolError) {
        let file = pending
        pending = []
        let location = try spool.segments.append(file)
        finished = true
        if spool.committed(envelope.queueID, file: file, segment: location) { return }
        let id = envelope.queueID
        let spool = self.spool
        _ = try spool.segments.moveOut(location) { (bytes: [UInt8]) throws(SpoolError) in
            try spool.writeClassic(id, bytes, to: .incoming)
        }
        spool.committed(id, file: nil)
    }

    /// Abandons the message: nothing of it stays on disk.
    public func abort() {
        guard !finished else { return }
        finished = true
        guard fd >= 0 else { return }
        close(fd)
        unlink(partPath)
    }
}

/// Makes renames and creations in one directory durable, sharing one fsync among every caller
/// that asks while another fsync is running (group commit).
final class DirectorySyncer: Sendable {
    let path: String
    private let group: GroupSync

    init(path: String) {
        self.path = path
        group = GroupSync(name: path) {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { return errno }
            defer { close(fd) }
            return fsync(fd) == 0 ? 0 : errno
        }
    }

    /// Returns once an fsync of the directory that started after this call has completed.
    func sync() throws(SpoolError) { try group.sync() }
}
