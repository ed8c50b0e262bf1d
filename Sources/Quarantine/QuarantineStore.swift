// QuarantineStore.swift — the node's quarantine: messages held by the policy, with their records,
// kept durably until released, forwarded, deleted or expired.
//
// Layout under the data directory: `quarantine/ID.eml` (the message as received, byte for byte)
// and `quarantine/ID.json` (its `QuarantineRecord`). Each file is written to a temporary name,
// fsynced, renamed into place, and the directory fsynced, content first: an entry exists once its
// record does, and a crash between the two leaves only an orphaned `.eml`, which the sweep removes.
// Entries are stored before the SMTP session answers 250, so a quarantined message is as durable
// as a queued one.
//
// Release (RFC 5321 delivery to chosen recipients) queues the content through the spool's one way
// in (`Spool.inject`) and then marks the recipients released, under one store-wide lock (`flock`),
// so two releases asked at once, or asked twice, queue the message once. A crash between the queue
// commit and the record update is the only window for a second copy: the mark is written right
// after the queue file is durable.
//
// Security notes: ids are checked against the queue-id alphabet before they touch a path; records
// read back are size-limited; files are created 0600.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import GatehouseCore
public import Spool

public enum QuarantineError: Error, Hashable, Sendable, CustomStringConvertible {
    case noSuchEntry(String)
    case invalidID(String)
    /// Every recipient asked for was released already (or none was given that the entry holds).
    case nothingToRelease(String)
    case notARecipient(id: String, address: String)
    case damagedRecord(String)
    /// The message was queued but its record could not be marked: do not release it again.
    case releasedButNotRecorded(id: String, queueID: String, why: String)
    case system(call: String, path: String, errno: Int32)
    case spool(SpoolError)

    public var description: String {
        switch self {
        case .noSuchEntry(let id): return "no quarantined message \(id)"
        case .invalidID(let id): return "not a quarantine id: \(id)"
        case .nothingToRelease(let id): return "\(id): already released to every recipient asked for"
        case .notARecipient(let id, let address): return "\(id): <\(address)> is not a recipient of this message (use forward)"
        case .damagedRecord(let id): return "\(id): the record is damaged or too large"
        case .releasedButNotRecorded(let id, let queueID, let why):
            return "\(id): released as \(queueID), but the record could not be updated (\(why)); do not release it again"
        case .system(let call, let path, let code): return "\(call) \(path): \(String(cString: strerror(code)))"
        case .spool(let error): return "queue: \(error)"
        }
    }
}

/// What a release or forward queued.
public struct QuarantineDispatch: Sendable, Hashable {
    public var queueID: String
    public var recipients: [String]
}

public final class QuarantineStore: Sendable {
    public let directory: String

    /// Opens (creating if needed) the store at `directory`.
    public init(directory: String) throws(QuarantineError) {
        self.directory = directory
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .system(call: "mkdir", path: directory, errno: errno)
        }
    }

    /// Seconds since 1970.
    public static func now() -> Int64 { Int64(time(nil)) }

    /// A new entry id.
    public static func newID() -> String { Spool.newQueueID() }

    func path(_ id: String, _ suffix: String) -> String { directory + "/" + id + suffix }

    // MARK: Storing

    /// Stores a message and its record durably. Blocking: call off the event loop.
    public func store(_ record: QuarantineRecord, content: [UInt8]) throws(QuarantineError) {
        guard QueueID.isValid(record.id) else { throw .invalidID(record.id) }
        try writeFile(path(record.id, ".eml"), content)
        try writeRecord(record)
    }

    private func writeRecord(_ record: QuarantineRecord) throws(QuarantineError) {
        let bytes: [UInt8]
        do { bytes = Array(try QuarantineStore.encoder.encode(record)) } catch { throw .damagedRecord(record.id) }
        try writeFile(path(record.id, ".json"), bytes)
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static var decoder: JSONDecoder { JSONDecoder() }

    /// temp → fsync → rename → fsync(directory).
    private func writeFile(_ finalPath: String, _ bytes: [UInt8]) throws(QuarantineError) {
        do { try DurableFile.replace(finalPath, with: bytes, temporary: finalPath + ".tmp") } catch {
            throw .system(call: error.call, path: error.path, errno: error.errno)
        }
    }

    private func syncDirectory() throws(QuarantineError) {
        do { try DurableFile.syncDirectory(of: directory + "/.") } catch {
            throw .system(call: error.call, path: error.path, errno: error.errno)
        }
    }

    // MARK: Reading

    /// Every entry's record, oldest first. Damaged records are skipped (and reported by `check`).
    public func list() throws(QuarantineError) -> [QuarantineRecord] {
        var records: [QuarantineRecord] = []
        for id in try ids() {
            if let record = try? record(id) { records.append(record) }
        }
        return records.sorted { ($0.arrival, $0.id) < ($1.arrival, $1.id) }
    }

    /// Ids of every entry that has a record.
    func ids() throws(QuarantineError) -> [String] { QuarantineStore.recordIDs(in: try names()) }

    static func recordIDs(in names: [String]) -> [String] {
        names.compactMap { name in
            guard name.hasSuffix(".json") else { return nil }
            let id = String(name.dropLast(5))
            return QueueID.isValid(id) ? id : nil
        }
    }

    private func names() throws(QuarantineError) -> [String] {
        do { return try DurableFile.names(in: directory) } catch {
            throw .system(call: error.call, path: error.path, errno: error.errno)
        }
    }

    public func record(_ id: String) throws(QuarantineError) -> QuarantineRecord {
        guard QueueID.isValid(id) else { throw .invalidID(id) }
        let bytes: [UInt8]
        do { bytes = try SmallFile.read(path(id, ".json"), limit: Defaults.Quarantine.recordSize) } catch {
            if case .tooLarge = error { throw .damagedRecord(id) }
            throw .noSuchEntry(id)
        }
        do { return try QuarantineStore.decoder.decode(QuarantineRecord.self, from: Data(bytes)) } catch { throw .damagedRecord(id) }
    }

    /// The message as it was received.
    public func content(_ id: String) throws(QuarantineError) -> [UInt8] {
        guard QueueID.isValid(id) else { throw .invalidID(id) }
        do { return try SmallFile.read(path(id, ".eml"), limit: Int.max) } catch { throw .noSuchEntry(id) }
    }

    // MARK: Changing

    /// Runs `body` holding the store-wide lock (across processes: the node and the command line).
    func locked<T>(_ body: () throws(QuarantineError) -> T) throws(QuarantineError) -> T {
        let lockPath = directory + "/.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system(call: "open", path: lockPath, errno: errno) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw .system(call: "flock", path: lockPath, errno: errno) }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Queues the message for `recipients` (nil: every recipient still held) and marks them
    /// released. A recipient released before is not sent again.
    public func release(_ id: String, to recipients: [String]? = nil, spool: Spool, hostname: String,
                        now: Int64 = QuarantineStore.now()) throws(QuarantineError) -> QuarantineDispatch {
        try locked { () throws(QuarantineError) -> QuarantineDispatch in
            var record = try record(id)
            let wanted: [String]
            if let recipients {
                for address in recipients where !record.recipients.contains(where: { $0.address.lowercased() == address.lowercased() }) {
                    throw .notARecipient(id: id, address: address)
                }
                wanted = record.held.filter { held in recipients.contains { $0.lowercased() == held.lowercased() } }
            } else {
                wanted = record.held
            }
            guard !wanted.isEmpty else { throw .nothingToRelease(id) }
            let queueID = try queue(record, to: wanted, spool: spool, hostname: hostname, now: now, listener: "quarantine-release")
            for index in record.recipients.indices where wanted.contains(record.recipients[index].address) {
                record.recipients[index].releasedAt = now
                record.recipients[index].releasedAs = queueID
            }
            do { try writeRecord(record) } catch {
                throw .releasedButNotRecorded(id: id, queueID: queueID, why: "\(error)")
            }
            return QuarantineDispatch(queueID: queueID, recipients: wanted)
        }
    }

    /// Queues a copy to other addresses (an administrator's mailbox, a colleague); the entry stays.
    public func forward(_ id: String, to recipients: [String], spool: Spool, hostname: String,
                        now: Int64 = QuarantineStore.now()) throws(QuarantineError) -> QuarantineDispatch {
        let record = try record(id)
        let queueID = try queue(record, to: recipients, spool: spool, hostname: hostname, now: now, listener: "quarantine-forward")
        return QuarantineDispatch(queueID: queueID, recipients: recipients)
    }

    private func queue(_ record: QuarantineRecord, to recipients: [String], spool: Spool, hostname: String, now: Int64,
                       listener: String) throws(QuarantineError) -> String {
        let content = try content(record.id)
        let queueID = Spool.newQueueID()
        let envelope = Envelope.local(queueID: queueID, arrival: now, sender: record.sender, recipients: recipients, hostname: hostname,
                                      listener: listener, content: content, smtputf8: record.smtputf8)
        do { try spool.inject(envelope: envelope, content: content) } catch { throw .spool(error) }
        return queueID
    }

    /// Removes an entry.
    public func delete(_ id: String) throws(QuarantineError) {
        try locked { () throws(QuarantineError) in
            guard QueueID.isValid(id) else { throw .invalidID(id) }
            guard unlink(path(id, ".json")) == 0 else {
                if errno == ENOENT { throw .noSuchEntry(id) }
                throw .system(call: "unlink", path: path(id, ".json"), errno: errno)
            }
            unlink(path(id, ".eml"))
            try syncDirectory()
        }
    }

    /// Removes expired entries and contents left without a record by a crash (older than an
    /// hour, so a store in progress is never touched). Returns the ids of expired entries removed.
    @discardableResult
    public func sweep(now: Int64 = QuarantineStore.now()) throws(QuarantineError) -> [String] {
        var removed: [String] = []
        let names = try names()
        let records = Set(QuarantineStore.recordIDs(in: names))
        for id in records.sorted() {
            guard let record = try? record(id), record.expires <= now else { continue }
            do {
                try delete(id)
                removed.append(id)
            } catch .noSuchEntry {
                continue
            }
        }
        for name in names where name.hasSuffix(".eml") || name.hasSuffix(".tmp") {
            let id = String(name.prefix(16))
            // A temporary file is left over whatever its id (only a live writer makes a fresh one);
            // a content file is an orphan when it has no record.
            guard name.hasSuffix(".tmp") || !records.contains(id) else { continue }
            var info = stat()
            if stat(directory + "/" + name, &info) == 0, Int64(info.st_mtim.tv_sec) < now - 3_600 {
                unlink(directory + "/" + name)
            }
        }
        return removed
    }
}
