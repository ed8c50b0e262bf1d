// UserStore.swift — the local users who may authenticate (AUTH PLAIN/LOGIN, RFC 4954) and the
// addresses each may send as (DESIGN.md §5, last rows).
//
// Passwords are stored as bcrypt hashes (`$2b$`, libxcrypt's crypt_r) in DATA/users, one user per
// line: `name TAB hash TAB address,address`. The file is 0600 and replaced atomically (write,
// fsync, rename). Verification costs a bcrypt round by design, so the node runs it off the event
// loop; an unknown user costs the same as a wrong password (no user enumeration by timing).

#if canImport(Glibc)
import Glibc
#endif
import CCrypt
import GatehouseCore
import Synchronization

public struct LocalUser: Hashable, Sendable {
    public var name: String
    public var passwordHash: String
    /// Lower-case addresses the user may use as sender.
    public var addresses: Set<String>
}

public enum UserStoreError: Error, CustomStringConvertible {
    case io(String)
    case invalidName(String)
    case invalidAddress(String)
    case exists(String)
    case noSuchUser(String)
    case hashing

    public var description: String {
        switch self {
        case .io(let what): return what
        case .invalidName(let n): return "invalid user name: \(n) (no spaces, tabs or control characters)"
        case .invalidAddress(let a): return "invalid address: \(a)"
        case .exists(let n): return "user \(n) already exists"
        case .noSuchUser(let n): return "no such user: \(n)"
        case .hashing: return "password hashing failed"
        }
    }
}

public final class UserStore: Sendable {
    public let path: String
    private let users: Mutex<[String: LocalUser]>
    /// The file's identity when last loaded; a change makes `verify` re-read it, so
    /// `gatehouse user` takes effect on a running node without a restart.
    private let loadedStamp = Mutex<FileStamp?>(nil)
    /// bcrypt work factor (2^cost rounds).
    static let cost: UInt = 11
    /// A hash to verify against when the user does not exist, so that timing reveals nothing.
    private let decoy: String

    public init(path: String) throws {
        self.path = path
        self.loadedStamp.withLock { $0 = FileStamp(path) }
        self.users = Mutex(try UserStore.load(path))
        self.decoy = (try? UserStore.hash("decoy-password")) ?? "$2b$11$...................................................."
    }

    /// Re-reads the file (after `gatehouse user` changed it).
    public func reload() throws {
        let fresh = try UserStore.load(path)
        users.withLock { $0 = fresh }
    }

    public var all: [LocalUser] {
        users.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }

    static func load(_ path: String) throws -> [String: LocalUser] {
        guard let file = fopen(path, "r") else {
            if errno == ENOENT { return [:] }
            throw UserStoreError.io("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var result: [String: LocalUser] = [:]
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!).trimmingNewline
            if text.isEmpty || text.hasPrefix("#") { continue }
            let fields = text.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let addresses = Set(fields[2].split(separator: ",").map { String($0).lowercased() })
            result[String(fields[0])] = LocalUser(name: String(fields[0]), passwordHash: String(fields[1]), addresses: addresses)
        }
        return result
    }

    func save(_ all: [String: LocalUser]) throws {
        var text = "# Gatehouse users: name TAB bcrypt-hash TAB owned addresses. Managed by `gatehouse user`.\n"
        for user in all.values.sorted(by: { $0.name < $1.name }) {
            text += "\(user.name)\t\(user.passwordHash)\t\(user.addresses.sorted().joined(separator: ","))\n"
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UserStoreError.io("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            close(fd)
            throw UserStoreError.io("cannot write \(temporary)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw UserStoreError.io("cannot replace \(path)") }
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 256 && name.unicodeScalars.allSatisfy { $0.value > 32 && $0.value != 127 && $0 != "," }
    }

    /// Adds a user. A name that is an address owns that address.
    public func add(name: String, password: String, addresses: [String]) throws {
        guard UserStore.validName(name) else { throw UserStoreError.invalidName(name) }
        var owned = Set<String>()
        var candidates = addresses
        if name.contains("@") { candidates.append(name) }
        for a in candidates {
            guard case .mailbox(let m, let route)? = try? Path.parse(Substring(a), allowUTF8: true, allowNull: false, allowPostmaster: false),
                  route.isEmpty else { throw UserStoreError.invalidAddress(a) }
            owned.insert(RelayControl.ownershipKey(m))
        }
        let hash = try UserStore.hash(password)
        try users.withLock { current in
            guard current[name] == nil else { throw UserStoreError.exists(name) }
            var next = current
            next[name] = LocalUser(name: name, passwordHash: hash, addresses: owned)
            try save(next)
            current = next
        }
    }

    public func setPassword(name: String, password: String) throws {
        let hash = try UserStore.hash(password)
        try users.withLock { current in
            guard var user = current[name] else { throw UserStoreError.noSuchUser(name) }
            user.passwordHash = hash
            var next = current
            next[name] = user
            try save(next)
            current = next
        }
    }

    public func remove(name: String) throws {
        try users.withLock { current in
            guard current[name] != nil else { throw UserStoreError.noSuchUser(name) }
            var next = current
            next[name] = nil
            try save(next)
            current = next
        }
    }

    /// Checks a password. Blocking (bcrypt): call off the event loop. Returns the user on success.
    public func verify(name: String, password: String) -> LocalUser? {
        let stamp = FileStamp(path)
        if loadedStamp.withLock({ $0 }) != stamp {
            if let fresh = try? UserStore.load(path) {
                users.withLock { $0 = fresh }
                loadedStamp.withLock { $0 = stamp }
            }
        }
        let user = users.withLock { $0[name] }
        let ok = UserStore.check(password: password, hash: user?.passwordHash ?? decoy)
        return ok ? user : nil
    }

    /// A bcrypt hash of the password with a fresh salt.
    public static func hash(_ password: String) throws -> String {
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn("$2b$", cost, nil, 0, &setting, Int32(setting.count)) != nil else { throw UserStoreError.hashing }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        guard let result = crypt_r(password, setting, data) else { throw UserStoreError.hashing }
        let hash = String(cString: result)
        guard hash.hasPrefix("$2b$") else { throw UserStoreError.hashing }
        return hash
    }

    /// Constant-time comparison of crypt_r(password, hash) with hash.
    static func check(password: String, hash: String) -> Bool {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        guard let result = crypt_r(password, hash, data) else { return false }
        let computed = Array(String(cString: result).utf8)
        let expected = Array(hash.utf8)
        guard computed.count == expected.count, !expected.isEmpty, expected.first != UInt8(ascii: "*") else { return false }
        var difference: UInt8 = 0
        for i in 0..<computed.count { difference |= computed[i] ^ expected[i] }
        return difference == 0
    }
}

extension String {
    var trimmingNewline: String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}

/// Identity of a file's contents for change detection: inode, size and modification time.
struct FileStamp: Equatable, Sendable {
    var inode: UInt64
    var size: Int64
    var seconds: Int
    var nanoseconds: Int

    init?(_ path: String) {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        inode = UInt64(s.st_ino)
        size = Int64(s.st_size)
        seconds = s.st_mtim.tv_sec
        nanoseconds = s.st_mtim.tv_nsec
    }
}
