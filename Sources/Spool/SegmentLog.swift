// SegmentLog.swift — small messages on their way through, many to a file, one fdatasync per group.
//
// A message written in one piece (up to `Defaults.spoolWriteChunk`) and taken by the queue manager
// at once does not get a queue file of its own: its queue-file bytes are appended to the current
// segment file, and one fdatasync makes every record written meanwhile durable (group commit), where
// a file per message costs an open, an fsync, two renames, a directory fsync and an unlink each.
//
//   queue/segment/SEQUENCE    16 hexadecimal digits, increasing; rotated at `Defaults.segmentBytes`
//
// A record, 8-byte aligned:
//
//   u8 state · "GHS" · u32 length (little-endian) · queue file (exactly the bytes of a classic
//   queue file, `QueueFile`) · zero padding to the next multiple of 8
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
// files are made durable, then the segment is removed. A record that does not parse — the torn end
// of a group that was never acknowledged — is skipped by looking for the next record header on the
// following 8-byte boundaries, whose queue file must then pass its own checksum.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
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

    static let headerSize = 8
    /// F_OFD_SETLK and F_OFD_SETLKW (Linux, <fcntl.h> with _GNU_SOURCE): record locks owned by the
    /// open file description, so threads of one process exclude each other as processes do.
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
        let sync: GroupSync
        /// Guarded by the log's mutex.
        var size: Int64 = 0
        var live = 0
        var sealed = false

        /// The first sync of a new segment makes its directory entry durable too, before any of
        /// its records is acknowledged (outside the log's lock, so a rotation stalls no one).
        private final class NewName: @unchecked Sendable { var unsynced = true }

        init(sequence: UInt64, path: String, fd: Int32, directory: DirectorySyncer) {
            self.sequence = sequence
            self.path = path
            self.fd = fd
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

    // MARK: - The gateway's side

    /// Appends a queue file as a live record; when this returns, the record is on disk. Blocking:
    /// call off the event loop.
    public func append(_ file: [UInt8]) throws(SpoolError) -> SegmentLocation {
        var record = [UInt8]()
        let total = SegmentLog.headerSize + SegmentLog.padded(file.count)
        record.reserveCapacity(total)
        record.append(RecordState.live.rawValue)
        record += SegmentLog.magic
        var length = UInt32(file.count)
        for _ in 0..<4 { record.append(UInt8(length & 0xFF)); length >>= 8 }
        record += file
        record += [UInt8](repeating: 0, count: total - record.count)

        let (segment, offset) = try reserve(Int64(total))
        var written = 0
        while written < total {
            let n = record.withUnsafeBytes { pwrite(segment.fd, $0.baseAddress! + written, total - written, off_t(offset) + off_t(written)) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                release(segment, sealing: true)
                throw .system(call: "pwrite", path: segment.path, errno: code)
            }
            written += n
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
            if let current = state.current, current.size + size <= limit || current.size == 0 {
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
            let segment = Segment(sequence: sequence, path: path, fd: fd, directory: directorySync)
            segment.size = size
            segment.live = 1
            state.current = segment
            state.open[sequence] = segment
            return .success((segment, 0))
        }
        finished?.remove()
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
        if finished { segment.remove() }
    }

    private static func detachIfFinished(_ segment: Segment, _ state: inout State) -> Bool {
        guard segment.sealed, segment.live == 0 else { return false }
        state.open[segment.sequence] = nil
        return true
    }

    /// Crosses a record off (not synced) unless an administrator took it first. Returns the state
    /// the record was in: `.live` when this call finished it, `.taken` when it had been moved out.
    @discardableResult
    public func finish(_ location: SegmentLocation) -> RecordState {
        guard let segment = state.withLock({ $0.open[location.sequence] }) else { return .taken }
        let before = SegmentLog.withRecordLock(segment.fd, location.offset) { () -> RecordState in
            let current = SegmentLog.readState(segment.fd, location.offset)
            if current == .live { SegmentLog.writeState(segment.fd, location.offset, .done) }
            return current ?? .taken
        }
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

    /// Seals the current segment (at stop, and in tests): the next record starts a new file.
    public func seal() {
        let finished = state.withLock { state -> Segment? in
            guard let current = state.current else { return nil }
            current.sealed = true
            state.current = nil
            return SegmentLog.detachIfFinished(current, &state) ? current : nil
        }
        finished?.remove()
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
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = off_t(offset)
        lock.l_len = 1
        while fcntl(fd, SegmentLog.setLockWait, &lock) != 0 {
            if errno != EINTR { break }  // no locking (an odd file system): proceed unlocked
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
        var bytes = [UInt8](repeating: 0, count: length)
        guard preadFully(fd, &bytes, offset + Int64(headerSize)) == length else { throw .system(call: "read", path: path, errno: EIO) }
        return bytes
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

    /// The intact records of one segment file's bytes, in order; damaged stretches are skipped by
    /// resynchronising on 8-byte boundaries (a candidate counts only if its queue file parses).
    static func records(in bytes: [UInt8], sequence: UInt64, live onlyLive: Bool) -> (records: [Record], damaged: Int) {
        var records: [Record] = []
        var damaged = 0
        var offset = 0
        var inDamage = false
        while offset + headerSize <= bytes.count {
            let stateByte = bytes[offset]
            let length = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
            if let state = RecordState(rawValue: stateByte), bytes[offset + 1] == magic[0], bytes[offset + 2] == magic[1],
               bytes[offset + 3] == magic[2], length > 0, offset + headerSize + length <= bytes.count {
                let file = Array(bytes[(offset + headerSize)..<(offset + headerSize + length)])
                if !onlyLive || state == .live, let parsed = try? QueueFile.parse(file), QueueID.isValid(parsed.envelope.queueID) {
                    records.append(Record(location: SegmentLocation(sequence: sequence, offset: Int64(offset)), state: state,
                                          parsed: parsed, file: file))
                    offset += headerSize + padded(length)
                    inDamage = false
                    continue
                }
                if onlyLive && state != .live {
                    offset += headerSize + padded(length)
                    inDamage = false
                    continue
                }
            }
            if !inDamage { damaged += 1; inDamage = true }
            offset += 8
        }
        return (records, damaged)
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
        guard fstat(fd, &info) == 0, info.st_size <= limit + Int64(Defaults.spoolWriteChunk) * 2 + 64 else { return nil }
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
final class GroupSync: @unchecked Sendable {
    let name: String
    private let perform: @Sendable () -> Int32
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var requested: UInt64 = 0
    private var completed: UInt64 = 0
    private var running = false

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
            if running {
                pthread_cond_wait(&condition, &mutex)
                continue
            }
            running = true
            let covers = requested
            pthread_mutex_unlock(&mutex)
            let failure = perform()
            pthread_mutex_lock(&mutex)
            running = false
            if failure == 0 { completed = max(completed, covers) }
            pthread_cond_broadcast(&condition)
            if failure != 0 {
                pthread_mutex_unlock(&mutex)
                throw .system(call: "fsync", path: name, errno: failure)
            }
        }
        pthread_mutex_unlock(&mutex)
    }
}
