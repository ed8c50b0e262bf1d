// BayesStore.swift — the token database on disk: one versioned binary file, replaced atomically.
//
// Format (all integers little-endian; version 1):
//
//   magic        8 bytes  "GHBAYES\n"
//   version      u32      1
//   tokenizer    u32      BayesTokenizer.version the counts were made with
//   spam, ham    u32 u32  messages trained
//   tokens       u32      number of token records
//   learned      u32      number of learned-message records
//   token record          u16 length, UTF-8 bytes, u32 spam, u32 ham, u32 last-used day (sorted by token)
//   learned record        u16 length, UTF-8 bytes, u8 class (0 ham, 1 spam), u32 day (sorted by id)
//   checksum     u64      FNV-1a 64 of every byte before it
//
// Saving writes "<path>.tmp-<pid>", fsyncs it, renames it over the path and fsyncs the directory
// (Postfix's rule: commit to stable storage before success), so a crash leaves the old file or
// the new one, never half of one. Loading reads at most `BayesLimits.maxStoreBytes`, checks the
// checksum first and then every count against the bytes left, so a damaged or hostile file is a
// `BayesStoreError`, never a crash or a huge allocation.
//
// Writers: `update` (and `learn`, built on it) hold an exclusive flock(2) on "<path>.lock" from
// load to rename, so concurrent writers — the `gatehouse spam train|learn` commands and the node's
// feedback — take turns and none loses another's counts. The lock is on a separate file because
// the database file itself is replaced by each save. Readers need no lock: they see the old file
// or the new one.
//
// Security notes: the file holds words of users' mail: it is created mode 0600 and its folder 0700.
import Glibc
public import MIME
import GatehouseCore

/// Why a store could not be read or written.
public enum BayesStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A system call failed (`operation` names it; `errno` as returned).
    case io(operation: String, path: String, errno: Int32)
    /// The file is larger than `BayesLimits.maxStoreBytes`.
    case tooLarge(size: Int, limit: Int)
    /// Not a store, cut short, or changed since it was written (checksum, counts, bytes).
    case damaged(reason: String)
    /// A store written by a newer format version.
    case unsupportedVersion(UInt32)
    /// A store whose counts were made by another tokenizer version: its tokens are not the ones
    /// scored now (retrain with `gatehouse spam train`).
    case tokenizerVersion(stored: UInt32, current: UInt32)
    /// Another writer holds the database's lock and the caller chose not to wait (`maintain`).
    case busy(path: String)

    public var description: String {
        switch self {
        case .busy(let path): "\(path) is being written by another process (training): try again later"
        case .io(let operation, let path, let errno): "\(operation) \(path): \(String(cString: strerror(errno)))"
        case .tooLarge(let size, let limit): "store of \(size) bytes is over the limit of \(limit)"
        case .damaged(let reason): "store damaged: \(reason)"
        case .unsupportedVersion(let v): "store format version \(v) is not supported (1 is)"
        case .tokenizerVersion(let stored, let current): "store trained with tokenizer version \(stored), this is version \(current): retrain"
        }
    }
}

extension TokenDatabase {
    static let magic: [UInt8] = Array("GHBAYES\n".utf8)
    static let formatVersion: UInt32 = 1

    /// The database in the store format.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(40 + tokens.count * 24)
        out.append(contentsOf: TokenDatabase.magic)
        for v in [TokenDatabase.formatVersion, tokenizerVersion, spamMessages, hamMessages, UInt32(tokens.count), UInt32(learned.count)] {
            out.appendLE(v)
        }
        for token in tokens.keys.sorted() {
            let counts = tokens[token]!
            let bytes = Array(token.utf8.prefix(Int(UInt16.max)))
            out.appendLE(UInt16(bytes.count))
            out.append(contentsOf: bytes)
            out.appendLE(counts.spam)
            out.appendLE(counts.ham)
            out.appendLE(counts.lastUsed)
        }
        for id in learned.keys.sorted() {
            let entry = learned[id]!
            let bytes = Array(id.utf8.prefix(Int(UInt16.max)))
            out.appendLE(UInt16(bytes.count))
            out.append(contentsOf: bytes)
            out.append(entry.learnedAs.rawValue)
            out.appendLE(entry.day)
        }
        out.appendLE(fnv1a64(out[...]))
        return out
    }

    /// Reads a database in the store format.
    public init(decoding bytes: [UInt8], limits: BayesLimits = .default) throws(BayesStoreError) {
        guard bytes.count <= limits.maxStoreBytes else { throw .tooLarge(size: bytes.count, limit: limits.maxStoreBytes) }
        guard bytes.count >= 40, Array(bytes[0..<8]) == TokenDatabase.magic else { throw .damaged(reason: "not a Gatehouse Bayes store") }
        var reader = ByteReader(bytes: bytes[..<(bytes.count - 8)])
        let stored = ByteReader(bytes: bytes[(bytes.count - 8)...]).peekU64()
        reader.offset = 8
        let version = try reader.u32()
        guard version == TokenDatabase.formatVersion else {
            if version > TokenDatabase.formatVersion { throw .unsupportedVersion(version) }
            throw .damaged(reason: "format version \(version)")
        }
        guard fnv1a64(bytes[..<(bytes.count - 8)]) == stored else { throw .damaged(reason: "checksum mismatch") }
        self.init(limits: limits, tokenizerVersion: try reader.u32())
        spamMessages = try reader.u32()
        hamMessages = try reader.u32()
        let tokenCount = Int(try reader.u32())
        let learnedCount = Int(try reader.u32())
        // Every record has at least 14 (token) or 7 (learned) bytes: refuse counts the file cannot hold.
        guard tokenCount <= reader.remaining / 14, learnedCount <= reader.remaining / 7 else {
            throw .damaged(reason: "record counts larger than the file")
        }
        tokens.reserveCapacity(tokenCount)
        for _ in 0..<tokenCount {
            let token = try reader.string()
            let counts = TokenCounts(spam: try reader.u32(), ham: try reader.u32(), lastUsed: try reader.u32())
            guard tokens.updateValue(counts, forKey: token) == nil else { throw .damaged(reason: "token repeated") }
        }
        for _ in 0..<learnedCount {
            let id = try reader.string()
            guard let kind = BayesClass(rawValue: try reader.u8()) else { throw .damaged(reason: "unknown class") }
            let day = try reader.u32()
            guard learned.updateValue(LearnedMessage(learnedAs: kind, day: day), forKey: id) == nil else {
                throw .damaged(reason: "learned message repeated")
            }
        }
        guard reader.remaining == 0 else { throw .damaged(reason: "\(reader.remaining) bytes after the records") }
    }
}

/// The database file of a node.
public struct BayesStore: Sendable {
    public let path: String
    public let limits: BayesLimits

    public init(path: String, limits: BayesLimits = .default) {
        self.path = path
        self.limits = limits
    }

    /// Where a node keeps its database, relative to its data directory.
    public static let relativePath = "bayes/tokens.db"

    /// The database path of the node whose data directory is `dataDirectory`: `<data dir>/bayes/tokens.db`.
    public static func path(inDataDirectory dataDirectory: String) -> String {
        (dataDirectory.hasSuffix("/") ? dataDirectory : dataDirectory + "/") + relativePath
    }

    /// Today as days since 1970-01-01 (the day stamp of training and pruning).
    public static var today: UInt32 { UInt32(truncatingIfNeeded: time(nil) / 86_400) }

    /// The folder of `path`.
    var directory: String {
        path.lastIndex(of: "/").map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
    }

    /// The stored database, or nil if there is no file yet.
    public func load() throws(BayesStoreError) -> TokenDatabase? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .io(operation: "open", path: path, errno: errno)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "fstat", path: path, errno: errno) }
        guard Int(info.st_size) <= limits.maxStoreBytes else { throw .tooLarge(size: Int(info.st_size), limit: limits.maxStoreBytes) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        guard done == bytes.count else { throw .damaged(reason: "file shrank while read") }
        return try TokenDatabase(decoding: bytes, limits: limits)
    }

    /// Writes `database` atomically: temporary file, fsync, rename, fsync of the directory.
    /// Creates the folder (mode 0700) if missing. A caller that writes concurrently with others
    /// uses `update` instead.
    public func save(_ database: TokenDatabase) throws(BayesStoreError) {
        try makeDirectory()
        do { try DurableFile.replace(path, with: database.encoded(), temporary: path + ".tmp-\(getpid())") } catch {
            throw .io(operation: error.call, path: error.path, errno: error.errno)
        }
    }
}

// MARK: Concurrent writers

extension BayesStore {
    /// Loads the database (an empty one if there is no file), lets `change` modify it and saves it,
    /// holding an exclusive lock on "<path>.lock" throughout, so that concurrent writers (other
    /// processes or threads) take turns. Blocks while another writer holds the lock.
    ///
    /// - Throws: `BayesStoreError` if the file cannot be read or written, is damaged, or was made
    ///   by another tokenizer version (`.tokenizerVersion`); the file is then left as it was, for
    ///   the administrator.
    public func update<T>(_ change: (inout TokenDatabase) -> T) throws(BayesStoreError) -> T {
        try locked(wait: true) { database in (change(&database), true) }
    }

    /// `update`'s core: with `wait` false it throws `.busy` at once when another writer holds the
    /// lock, and it saves only when `change` says something changed.
    func locked<T>(wait: Bool, _ change: (inout TokenDatabase) -> (T, changed: Bool)) throws(BayesStoreError) -> T {
        try makeDirectory()
        let lockPath = path + ".lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw .io(operation: "open", path: lockPath, errno: errno) }
        defer { close(lock) }  // closing releases the lock
        while flock(lock, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK && !wait { throw .busy(path: path) }
            guard errno == EINTR else { throw .io(operation: "flock", path: lockPath, errno: errno) }
        }
        var database = try load() ?? TokenDatabase(limits: limits)
        // Counts of another tokenizer would mix with this one's: retrain into a new file instead.
        guard database.tokenizerVersion == BayesTokenizer.version else {
            throw .tokenizerVersion(stored: database.tokenizerVersion, current: BayesTokenizer.version)
        }
        let (result, changed) = change(&database)
        if changed { try save(database) }
        return result
    }

    /// Learns one message as spam or ham (training, and administrators' feedback: "release" and
    /// "not spam" are `.ham`). The message is remembered by the SHA-256 of `raw`: learning it
    /// again as the same class changes nothing, as the other class moves it (untrain, retrain).
    /// Safe against concurrent writers (`update`).
    @discardableResult
    public func learn(_ message: MIMEMessage, raw: [UInt8], as kind: BayesClass, tokenizer: BayesTokenizer = BayesTokenizer(),
                      day: UInt32 = BayesStore.today) throws(BayesStoreError) -> BayesLearnOutcome {
        let tokens = tokenizer.tokens(of: message)
        let id = MIMEDigest.sha256(raw).hex
        return try update { $0.learn(tokens, as: kind, id: id, day: day) }
    }

    /// Creates the store's folder (mode 0700) if it does not exist; its parent must.
    func makeDirectory() throws(BayesStoreError) {
        let folder = directory
        if mkdir(folder, 0o700) != 0 && errno != EEXIST { throw .io(operation: "mkdir", path: folder, errno: errno) }
    }
}

// MARK: Bytes

/// FNV-1a, 64 bits (Fowler, Noll, Vo): detects damage, not tampering.
func fnv1a64(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes {
        hash ^= UInt64(b)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}

extension [UInt8] {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }
}

struct ByteReader {
    let bytes: ArraySlice<UInt8>
    var offset: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        offset = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - offset }

    private mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(BayesStoreError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .damaged(reason: "cut short") }
        var value: T = 0
        for k in 0..<size { value |= T(bytes[offset + k]) << (8 * k) }
        offset += size
        return value
    }

    mutating func u8() throws(BayesStoreError) -> UInt8 { try integer(UInt8.self) }
    mutating func u16() throws(BayesStoreError) -> UInt16 { try integer(UInt16.self) }
    mutating func u32() throws(BayesStoreError) -> UInt32 { try integer(UInt32.self) }

    func peekU64() -> UInt64 {
        var copy = self
        return (try? copy.integer(UInt64.self)) ?? 0
    }

    mutating func string() throws(BayesStoreError) -> String {
        let length = Int(try u16())
        guard remaining >= length else { throw .damaged(reason: "cut short") }
        guard let text = String(validating: bytes[offset..<(offset + length)], as: UTF8.self) else {
            throw .damaged(reason: "token is not UTF-8")
        }
        offset += length
        return text
    }
}
