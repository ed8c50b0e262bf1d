// LocalDelivery.swift — local mailboxes in Maildir format, for internal domains routed `local`.
//
// Layout: DATA/mailboxes/<domain>/<local part>/{tmp,new,cur}. A message is written to tmp/,
// fsynced, renamed into new/ and new/ fsynced, so a reader never sees a partial message and a
// delivered message survives a crash (the Maildir protocol, https://cr.yp.to/proto/maildir.html).
// Like Postfix's local(8), each copy gets `Return-Path:` and `Delivered-To:` on top.

#if canImport(Glibc)
import Glibc
#endif
import GatehouseCore
import Spool
import Synchronization

enum LocalDelivery {
    /// The mailbox directory of `address`, or nil when its local part cannot name a directory
    /// safely. Local parts are lower-cased; only letters, digits and `.-_+=` are kept as they are,
    /// anything else is written as `%HH`, and a leading dot is escaped, so no address can reach
    /// outside its domain's folder.
    static func mailbox(root: String, address: String) -> String? {
        guard let at = address.lastIndex(of: "@") else { return nil }
        let domain = address[address.index(after: at)...].lowercased()
        let local = address[..<at].lowercased()
        guard !local.isEmpty, !domain.isEmpty, !domain.contains("/"), !domain.hasPrefix(".") else { return nil }
        var safe = ""
        for (i, byte) in local.utf8.enumerated() {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (c.isLetter || c.isNumber || "-_+=".contains(c) || (c == "." && i > 0)) {
                safe.append(c)
            } else {
                safe += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return root + "/" + domain + "/" + safe
    }

    /// Delivers `content` to `address`'s Maildir. Blocking: run on the thread pool.
    static func deliver(root: String, address: String, sender: String, content: [UInt8], hostname: String) -> RecipientOutcome {
        guard let box = mailbox(root: root, address: address) else {
            return .failed(EnhancedStatusCode(5, 1, 3), "local; bad destination mailbox address \(address)")
        }
        do {
            try makeDirectories(root: root, box: box)
            // Addresses come from the spool, which took them through the SMTP parser: no CR or LF.
            let header = "Return-Path: <\(sender)>\r\nDelivered-To: \(address)\r\n"
            let name = uniqueName(hostname)
            let temporary = box + "/tmp/" + name
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw LocalError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
            var ok = writeAll(fd, Array(header.utf8)) && writeAll(fd, content)
            ok = ok && fsync(fd) == 0
            close(fd)
            guard ok else {
                let code = errno
                unlink(temporary)
                throw LocalError("cannot write \(temporary): \(String(cString: strerror(code)))")
            }
            let final = box + "/new/" + name + ",S=\(header.utf8.count + content.count)"
            guard rename(temporary, final) == 0 else {
                unlink(temporary)
                throw LocalError("cannot rename into \(box)/new: \(String(cString: strerror(errno)))")
            }
            syncDirectory(box + "/new")
            return RecipientOutcome(kind: .delivered, status: EnhancedStatusCode(2, 0, 0), diagnostic: "local; delivered to maildir")
        } catch {
            return .deferred(EnhancedStatusCode(4, 2, 0), "local; \(error)")
        }
    }

    struct LocalError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    private static func makeDirectories(root: String, box: String) throws {
        let domainDirectory = String(box[..<box.lastIndex(of: "/")!])
        for path in [root, domainDirectory, box, box + "/tmp", box + "/new", box + "/cur"] {
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw LocalError("cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    private static let counter = Atomic<UInt64>(0)

    /// `seconds.M<micro>P<pid>Q<n>.<host>` (the Maildir naming convention).
    static func uniqueName(_ hostname: String) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let host = hostname.replacingSlashes
        return "\(now.tv_sec).M\(now.tv_nsec / 1000)P\(getpid())Q\(n).\(host)"
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }

    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }

    var replacingSlashes: String {
        String(map { $0 == "/" || $0 == ":" ? "_" : $0 })
    }
}
