// SegmentLog.swift — small messages on their way through, many to a file, one fdatasync per group.
//
// A message written in one piece (up to `Defaults.spoolWriteChunk`) and taken by the queue manager
// at once does not get a queue file of its own: its queue-file bytes are appended to the current
// segment file, and one fdatasync makes every record written meanwhile durable (group commit), where
// a file per message costs an open, an fsync, two renames, a directory fsync and an unlink each.
//
//   queue/segment/SEQUENCE    16 hexadecimal digits, increasing; rotated at `Defaults.segmentBytes`
//
// A segment begins with "GHSEG1" · 2 zero bytes · u64 nonce (random, little-endian). A record,
// 8-byte aligned:
//
//   u8 state · "GHS" · u32 length · 8 bytes check · queue file (exactly the bytes of a classic
//   queue file, `QueueFile`) · zero padding to the next multiple of 8
//
// The check is the first 8 bytes of SHA-256(nonce · offset · length): message content, which a
// client chooses, cannot make a record header that recovery would believe, because the nonce is
// never shown to anyone. All integers are little-endian.
//
// States: `live` (being delivered), `done` (delivered or bounced; crossed off without a sync: a
// crash may bring it back, which delivers it again — a duplicate, never a loss), `taken` (moved
// out as a classic queue file by the queue manager or by an administrator). A record's state byte
// is read and changed only under an OFD lock on that byte, so the gateway and the `gatehouse queue`
// commands never both act on one record. When every record of a sealed segment is finished, the
// file is removed.
//
// Recovery (at start-up, before delivery starts): every live record whose queue file is intact
// becomes a classic file in incoming/ (unless that queue id is already in a queue state), the
// files are made durable, then the segment is removed. A record whose header checks out is skipped
// by its length when its queue file does not parse (a write torn by the crash, never acknowledged);
// a header that does not check out is skipped by looking for the next valid one on the following
// 8-byte boundaries.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Crypto
import Dispatch
import GatehouseCore
import Synchronization

/// Where a message's record is: its segment and the record's offset in it.
public struct SegmentLocation: Sendable, Hashable, CustomStringConvertible {
    public let sequence: UInt64
    public let offset: Int64
    public var description: String { "segment \(SegmentLog.name(sequence)) at \(offset)" }
}

/// The segment files of one spool.
public final class SegmentLog: Sendable {
    public enum RecordState: UInt8, Sendable {
        case live = 0x4C, done = 0x44, taken = 0x54  // "L", "D", "T"
    }

    static let headerSize = 16
    static let fileHeaderSize = 16
    static let fileMagic: [UInt8] = Array("GHSEG1".utf8) + [0, 0]
    /// The largest record a segment takes: a queue file committed whole from memory.
    static let maximumRecord = 2 * Defaults.spoolWriteChunk
    /// F_OFD_SETLK and F_OFD_SETLKW (Linux, <fcntl.h> with _GNU_SOURCE): record locks owned by the
    /// open file description, shared by the gateway and `gatehouse queue` processes. (The
    /// gateway's own threads share one descriptor; its live counts keep them apart.)
    static let setLock: Int32 = 37
    static let setLockWait: Int32 = 38
    static let magic: [UInt8] = Array("GHS".utf8)

    let directory: String
    let limit: Int64
    private let directorySync: DirectorySyncer

    /// One segment file: appended to while it is current, removed when sealed with nothing live.
    final class Segment: @unchecked Sendable {
        let sequence: UInt64
        let path: String
        let fd: Int32
        let nonce: UInt64
        let sync: GroupSync
        /// Guarded by the log's mutex.
        var size: Int64 = 0
        var live = 0
        var sealed = false

        /// The first sync of a new segment makes its directory entry durable too, before any of
        /// its records is acknowledged (outside the log's lock, so a rotation stalls no one).
        private final class NewName: @unchecked Sendable { var unsynced = true }

        init(sequence: UInt64, path: String, fd: Int32, nonce: UInt64, directory: DirectorySyncer) {
            self.sequence = sequence
            self.path = path
            self.fd = fd
            self.nonce = nonce
            let name = NewName()
            // GroupSync runs one sync at a time, so `name` is never touched by two threads at once.
            sync = GroupSync(name: path) {
                if name.unsynced {
                    do throws(SpoolError) { try directory.sync() } catch {
                        if case .system(_, _, let code) = error { return code }
                        return EIO
                    }
                    name.unsynced = false
                }
                return fdatasync(fd) == 0 ? 0 : errno
            }
        }

        /// Closes and removes the file: every record in it is finished.
        func remove() {
            close(fd)
            unlink(path)
        }
    }

    private struct State {
        var current: Segment?
        var open: [UInt64: Segment] = [:]
        var nextSequence: UInt64
    }
    private let state: Mutex<State>

    init(directory: String, limit: Int64 = Defaults.segmentBytes) throws(SpoolError) {
        self.directory = directory
        self.limit = limit
        try Spool.makeDirectory(directory)
        directorySync = DirectorySyncer(path: directory)
        // Sequences keep increasing across restarts: the start time in microseconds, or past the
        // highest one on disk.
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var next = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec / 1000)
        for name in (try? DurableFile.names(in: directory)) ?? [] {
            if let sequence = SegmentLog.sequence(of: name), sequence >= next { next = sequence + 1 }
        }
        state = Mutex(State(nextSequence: next))
    }

    static func name(_ sequence: UInt64) -> String {
        let hex = String(sequence, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    static func sequence(of name: String) -> UInt64? {
        guard name.utf8.count == 16 else { return nil }
        return UInt64(name, radix: 16)
    }

    func path(_ sequence: UInt64) -> String { directory + "/" + SegmentLog.name(sequence) }

    static func padded(_ count: Int) -> Int { (count + 7) & ~7 }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// The 8 bytes that prove a record header was written by us at this offset.
    static func check(nonce: UInt64, offset: Int64, length: Int) -> [UInt8] {
        Array(SHA256.hash(data: littleEndian(nonce) + littleEndian(offset) + littleEndian(UInt32(length))).prefix(8))
    }

    static func header(_ state: RecordState, nonce: UInt64, offset: Int64, length: Int) -> [UInt8] {
        [state.rawValue] + magic + littleEndian(UInt32(length)) + check(nonce: nonce, offset: offset, length: length)
    }

    // MARK: - The gateway's side

    /// Appends a queue file as a live record; when this returns, the record is on disk. Blocking:
    /// call off the event loop.
    public func append(_ file: [UInt8]) throws(SpoolError) -> SegmentLocation {
        guard !file.isEmpty, file.count <= SegmentLog.maximumRecord else { throw .system(call: "append", path: directory, errno: EFBIG) }
        let total = SegmentLog.headerSize + SegmentLog.padded(file.count)
        let (segment, offset) = try reserve(Int64(total))
        let header = SegmentLog.header(.live, nonce: segment.nonce, offset: offset, length: file.count)
        // Header, queue file and padding in one system call, without copying the file first.
        let code = header.withUnsafeBytes { header in
            file.withUnsafeBytes { file in
                SegmentLog.zeros.withUnsafeBytes { zeros in
                    SegmentLog.pwriteFully(segment.fd, [header, file, UnsafeRawBufferPointer(rebasing: zeros[0..<(total - header.count - file.count)])],
                                           at: offset)
                }
            }
        }
        if code != 0 {
            release(segment, sealing: true)
            throw .system(call: "pwritev", path: segment.path, errno: code)
        }
        do { try segment.sync.sync() } catch {
            release(segment, sealing: true)
            throw error
        }
        return SegmentLocation(sequence: segment.sequence, offset: offset)
    }

    /// Space for one record in the current segment (a new one when it is full).
    private func reserve(_ size: Int64) throws(SpoolError) -> (Segment, Int64) {
        var finished: Segment?
        let result: Result<(Segment, Int64), SpoolError> = state.withLock { state in
            if let current = state.current, current.size + size <= limit || current.size == Int64(SegmentLog.fileHeaderSize) {
                let offset = current.size
                current.size += size
                current.live += 1
                return .success((current, offset))
            }
            if let current = state.current {
                current.sealed = true
                state.current = nil
                if SegmentLog.detachIfFinished(current, &state) { finished = current }
            }
            let sequence = state.nextSequence
            state.nextSequence += 1
            let path = path(sequence)
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return .failure(.system(call: "open", path: path, errno: errno)) }
            Spool.giveToSpoolOwner(path, like: directory)
            // The file header goes to disk with the first group's sync, before any record counts.
            let nonce = UInt64.random(in: 0...UInt64.max)
            let fileHeader = SegmentLog.fileMagic + SegmentLog.littleEndian(nonce)
            guard fileHeader.withUnsafeBytes({ pwrite(fd, $0.baseAddress!, $0.count, 0) }) == SegmentLog.fileHeaderSize else {
                let code = errno
                close(fd)
                unlink(path)
                return .failure(.system(call: "pwrite", path: path, errno: code))
            }
            let segment = Segment(sequence: sequence, path: path, fd: fd, nonce: nonce, directory: directorySync)
            let offset = Int64(SegmentLog.fileHeaderSize)
            segment.size = offset + size
            segment.live = 1
            state.current = segment
            state.open[sequence] = segment
            return .success((segment, offset))
        }
        SegmentLog.removeLater(finished)
        return try result.get()
    }

    /// One record of `segment` is finished (or was never written); the file goes when it was the
    /// last of a sealed segment (closed and removed outside the lock). A record whose write failed
    /// seals its segment: what follows the hole would be found again by recovery's
    /// resynchronisation, but nothing more should be risked there.
    private func release(_ segment: Segment, sealing: Bool = false) {
        let finished = state.withLock { state -> Bool in
            segment.live -= 1
            if sealing {
                segment.sealed = true
                if state.current === segment { state.current = nil }
            }
            return SegmentLog.detachIfFinished(segment, &state)
        }
        if finished { SegmentLog.removeLater(segment) }
    }

    /// Finished segments are removed here, not on the caller's thread (an event loop, perhaps):
    /// freeing 64 MiB of blocks can take a while on some file systems.
    static let removals = DispatchQueue(label: "gatehouse.segment-removal")

    private static func removeLater(_ segment: Segment?) {
        if let segment { removals.async { segment.remove() } }
    }

    /// Waits until every segment finished so far is gone (tests, and an orderly stop).
    public func waitForRemovals() {
        SegmentLog.removals.sync {}
    }

    private static func detachIfFinished(_ segment: Segment, _ state: inout State) -> Bool {
        guard segment.sealed, segment.live == 0 else { return false }
        state.open[segment.sequence] = nil
        return true
    }

    /// Crosses a record off (not synced) unless an administrator took it first. Returns the state
    /// the record was in: `.live` when this call finished it, `.taken` when it had been moved out.
    /// With `waiting: false` it returns nil, doing nothing, while a `gatehouse queue` command
    /// holds the record.
    @discardableResult
    public func finish(_ location: SegmentLocation, waiting: Bool = true) -> RecordState? {
        guard let segment = state.withLock({ $0.open[location.sequence] }) else { return .taken }
        let before = SegmentLog.withRecordLock(segment.fd, location.offset, waiting: waiting) { () -> RecordState in
            let current = SegmentLog.readState(segment.fd, location.offset)
            if current == .live { SegmentLog.writeState(segment.fd, location.offset, .done) }
            return current ?? .taken
        }
        guard let before else { return nil }
        release(segment)
        return before
    }

    /// The record's queue file, read back (for a copy into a classic queue file).
    public func read(_ location: SegmentLocation) throws(SpoolError) -> [UInt8] {
        let path = path(location.sequence)
        if let segment = state.withLock({ $0.open[location.sequence] }) {
            return try SegmentLog.readRecord(segment.fd, location.offset, path: path)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", path: path, errno: errno) }
        defer { close(fd) }
        return try SegmentLog.readRecord(fd, location.offset, path: path)
    }

    /// Seals the current segment: the next record starts a new file.
    public func seal() {
        let finished = state.withLock { state -> Segment? in
            guard let current = state.current else { return nil }
            current.sealed = true
            state.current = nil
            return SegmentLog.detachIfFinished(current, &state) ? current : nil
        }
        SegmentLog.removeLater(finished)
    }

    // MARK: - Records on disk

    static func readState(_ fd: Int32, _ offset: Int64) -> RecordState? {
        var byte: UInt8 = 0
        guard pread(fd, &byte, 1, off_t(offset)) == 1 else { return nil }
        return RecordState(rawValue: byte)
    }

    static func writeState(_ fd: Int32, _ offset: Int64, _ value: RecordState) {
        var byte = value.rawValue
        _ = pwrite(fd, &byte, 1, off_t(offset))
    }

    /// Runs `body` holding an open-file-description lock on the record's state byte (shared
    /// between the gateway and `gatehouse queue` commands in other processes).
    static func withRecordLock<T, E: Error>(_ fd: Int32, _ offset: Int64, _ body: () throws(E) -> T) throws(E) -> T {
        try withRecordLock(fd, offset, waiting: true, body)!
    }

    /// The same, or nil without running `body` when the lock is held elsewhere and `waiting` is
    /// false (the gateway's event loop must not wait for an administrator's command).
    static func withRecordLock<T, E: Error>(_ fd: Int32, _ offset: Int64, waiting: Bool, _ body: () throws(E) -> T) throws(E) -> T? {
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = off_t(offset)
        lock.l_len = 1
        while fcntl(fd, waiting ? SegmentLog.setLockWait : SegmentLog.setLock, &lock) != 0 {
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EACCES { return nil }
            break  // no record locks on this file system: the gateway alone acts on its records
        }
        defer {
            lock.l_type = Int16(F_UNLCK)
            _ = fcntl(fd, SegmentLog.setLock, &lock)
        }
        return try body()
    }

    static func readRecord(_ fd: Int32, _ offset: Int64, path: String) throws(SpoolError) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: headerSize)
        guard preadFully(fd, &header, offset) == headerSize, Array(header[1..<4]) == magic else {
            throw .system(call: "read", path: path, errno: EIO)
        }
        let length = Int(header[4]) | Int(header[5]) << 8 | Int(header[6]) << 16 | Int(header[7]) << 24
        guard length <= maximumRecord else { throw .system(call: "read", path: path, errno: EIO) }
        var bytes = [UInt8](repeating: 0, count: length)
        guard preadFully(fd, &bytes, offset + Int64(headerSize)) == length else { throw .system(call: "read", path: path, errno: EIO) }
        return bytes
    }

    /// Padding after a record (records start on 8-byte boundaries).
    static let zeros = [UInt8](repeating: 0, count: 8)

    /// Writes `parts` one after the other at `offset` (pwritev; a short or interrupted write goes
    /// on where it stopped). Returns 0, or the errno of the failed call.
    static func pwriteFully(_ fd: Int32, _ parts: [UnsafeRawBufferPointer], at offset: Int64) -> Int32 {
        let total = parts.reduce(0) { $0 + $1.count }
        var written = 0
        while written < total {
            var skip = written
            var vectors: [iovec] = []
            for part in parts {
                if skip >= part.count { skip -= part.count; continue }
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: part.baseAddress! + skip), iov_len: part.count - skip))
                skip = 0
            }
            let n = pwritev(fd, vectors, Int32(vectors.count), off_t(offset) + off_t(written))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            written += n
        }
        return 0
    }

    static func preadFully(_ fd: Int32, _ buffer: inout [UInt8], _ offset: Int64) -> Int {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        return done
    }

    /// One record found by a scan of a segment file.
    public struct Record: Sendable {
        public var location: SegmentLocation
        public var state: RecordState
        public var parsed: QueueFile.Parsed
        public var file: [UInt8]
    }

    /// The intact records of one segment file's bytes, in order. A header counts only with the
    /// segment's nonce in its check; one that checks out but whose queue file does not parse is
    /// skipped by its length (a torn write), one that does not check out by looking for the next
    /// valid header on the following 8-byte boundaries. `damaged` counts the stretches skipped.
    static func records(in bytes: [UInt8], sequence: UInt64, live onlyLive: Bool) -> (records: [Record], damaged: Int) {
        guard bytes.count >= fileHeaderSize, Array(bytes[0..<8]) == fileMagic else {
            return ([], bytes.isEmpty ? 0 : 1)  // nothing in it was ever acknowledged
        }
        var nonce: UInt64 = 0
        for i in (8..<16).reversed() { nonce = nonce << 8 | UInt64(bytes[i]) }
        var records: [Record] = []
        var damaged = 0
        var offset = fileHeaderSize
        var inDamage = false
        while offset + headerSize <= bytes.count {
            let length = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
            if let state = RecordState(rawValue: bytes[offset]), bytes[offset + 1] == magic[0], bytes[offset + 2] == magic[1],
               bytes[offset + 3] == magic[2], length > 0, length <= maximumRecord,
               Array(bytes[(offset + 8)..<(offset + 16)]) == check(nonce: nonce, offset: Int64(offset), length: length) {
                let end = offset + headerSize + length
                if end > bytes.count {
                    damaged += 1  // torn at the end of the file
                } else if !onlyLive || state == .live {
                    let file = Array(bytes[(offset + headerSize)..<end])
                    if let parsed = try? QueueFile.parse(file), QueueID.isValid(parsed.envelope.queueID) {
                        records.append(Record(location: SegmentLocation(sequence: sequence, offset: Int64(offset)), state: state,
                                              parsed: parsed, file: file))
                        inDamage = false
                    } else {
                        damaged += 1
                    }
                }
                offset += headerSize + padded(length)
                continue
            }
            if !inDamage { damaged += 1; inDamage = true }
            offset += 8
        }
        return (records, damaged)
    }

    /// For the fuzz target (Fuzz/SpoolFuzzer): the queue file parser and the record scanner over
    /// the bytes as they are, then the scanner over a segment whose records are pieces of the
    /// bytes behind valid headers (so that queue-file parsing and record states are reached).
    public static func fuzz(_ bytes: [UInt8]) {
        _ = try? QueueFile.parse(bytes)
        _ = records(in: bytes, sequence: 1, live: false)
        let nonce: UInt64 = 0x5EED_5EED_5EED_5EED
        var segment = fileMagic + littleEndian(nonce)
        var rest = bytes[...]
        while let first = rest.first {
            let piece = Array(rest.prefix(Int(first) * 64 + 1))
            rest = rest.dropFirst(piece.count)
            let state: RecordState = [.live, .done, .taken][piece.count % 3]
            segment += header(state, nonce: nonce, offset: Int64(segment.count), length: piece.count) + piece
            segment += [UInt8](repeating: 0, count: padded(piece.count) - piece.count)
        }
        // A torn end too: the last record cut short.
        for bytes in [segment, Array(segment.dropLast(min(segment.count, 5)))] {
            _ = records(in: bytes, sequence: 1, live: true)
            _ = records(in: bytes, sequence: 1, live: false)
        }
    }

    /// The segment files on disk, oldest first.
    func sequences() -> [UInt64] {
        ((try? DurableFile.names(in: directory)) ?? []).compactMap(SegmentLog.sequence(of:)).sorted()
    }

    /// Reads a whole segment file (at most `limit` plus one record: larger is not ours).
    func contents(_ sequence: UInt64) -> [UInt8]? {
        let path = path(sequence)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size <= limit + Int64(SegmentLog.maximumRecord + SegmentLog.headerSize + SegmentLog.fileHeaderSize) else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let n = SegmentLog.preadFully(fd, &bytes, 0)
        return Array(bytes[0..<n])
    }

    /// The live records of every segment (for `gatehouse queue`): messages being delivered.
    public func liveRecords() -> [Record] {
        var out: [Record] = []
        for sequence in sequences() {
            guard let bytes = contents(sequence) else { continue }
            out += SegmentLog.records(in: bytes, sequence: sequence, live: true).records
        }
        return out
    }

    /// Takes a live record out of its segment for an administrator: `copy` writes it where it
    /// should go (or nothing, to delete it) while the record is locked; the record is then marked
    /// taken. Returns false when the record is no longer live (its delivery finished meanwhile).
    public func take(_ location: SegmentLocation, _ copy: ([UInt8]) throws(SpoolError) -> Void) throws(SpoolError) -> Bool {
        let path = path(location.sequence)
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return false }
            throw .system(call: "open", path: path, errno: errno)
        }
        defer { close(fd) }
        return try SegmentLog.withRecordLock(fd, location.offset) { () throws(SpoolError) -> Bool in
            guard SegmentLog.readState(fd, location.offset) == .live else { return false }
            let file = try SegmentLog.readRecord(fd, location.offset, path: path)
            try copy(file)
            SegmentLog.writeState(fd, location.offset, .taken)
            guard fdatasync(fd) == 0 else { throw .system(call: "fdatasync", path: path, errno: errno) }
            return true
        }
    }

    /// The gateway's own move of a record into a classic queue file (a message that must wait for
    /// a retry, or one the queue manager could not take): `copy` writes it, then the record is
    /// marked taken and no longer counted as live. False when an administrator took it first.
    public func moveOut(_ location: SegmentLocation, _ copy: ([UInt8]) throws(SpoolError) -> Void) throws(SpoolError) -> Bool {
        guard let segment = state.withLock({ $0.open[location.sequence] }) else { return false }
        let moved = try SegmentLog.withRecordLock(segment.fd, location.offset) { () throws(SpoolError) -> Bool in
            guard SegmentLog.readState(segment.fd, location.offset) == .live else { return false }
            try copy(try SegmentLog.readRecord(segment.fd, location.offset, path: segment.path))
            SegmentLog.writeState(segment.fd, location.offset, .taken)
            return true
        }
        release(segment)
        return moved
    }
}

/// Makes writes durable with one sync shared among every caller that asks while another sync is
/// running (group commit): a caller returns once a sync that started after its call has finished.
///
/// A failed sync fails every caller it covered and every later one: Linux reports a write-back
/// error once per open file, so a second fsync after a failure returns 0 although the pages it
/// should have written are gone. What was not acknowledged is then refused (4xx) rather than
/// acknowledged and lost; the segment is sealed, and a directory stays failed until a restart.
final class GroupSync: @unchecked Sendable {
    let name: String
    private let perform: @Sendable () -> Int32
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var requested: UInt64 = 0
    private var completed: UInt64 = 0
    private var running = false
    /// The errno of the first failed sync; from then on every sync fails.
    private var failure: Int32 = 0

    /// `perform` syncs and returns 0 or an errno.
    init(name: String, perform: @escaping @Sendable () -> Int32) {
        self.name = name
        self.perform = perform
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }

    func sync() throws(SpoolError) {
        pthread_mutex_lock(&mutex)
        requested += 1
        let ticket = requested
        while completed < ticket {
            if failure != 0 {
                let code = failure
                pthread_mutex_unlock(&mutex)
                throw .system(call: "fsync", path: name, errno: code)
            }
            if running {
                pthread_cond_wait(&condition, &mutex)
                continue
            }
            running = true
            let covers = requested
            pthread_mutex_unlock(&mutex)
            let result = perform()
            pthread_mutex_lock(&mutex)
            running = false
            if result == 0 { completed = max(completed, covers) } else { failure = result }
            pthread_cond_broadcast(&condition)
        }
        pthread_mutex_unlock(&mutex)
    }
}
