// DurableFile.swift — the two file-system steps every store of the node repeats: listing a
// directory, and replacing a file so that a crash leaves the old or the new one, never a mix
// (temporary file, fsync, rename, fsync of the directory).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call, with what it was called on.
public struct SystemCallError: Error, Hashable, Sendable, CustomStringConvertible {
    public var call: String
    public var path: String
    public var errno: Int32

    public init(call: String, path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(call) \(path): \(String(cString: strerror(errno)))" }
}

public enum DurableFile {
    /// Writes `bytes` to `temporary` (mode 0600), fsyncs it, renames it to `path` and fsyncs the
    /// directory: when this returns the new content is on disk under `path`.
    public static func replace(_ path: String, with bytes: [UInt8], temporary: String) throws(SystemCallError) {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemCallError(call: "open", path: temporary, errno: errno) }
        var failure: SystemCallError?
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                failure = SystemCallError(call: "write", path: temporary, errno: errno)
                break
            }
            offset += n
        }
        if failure == nil && fsync(fd) != 0 { failure = SystemCallError(call: "fsync", path: temporary, errno: errno) }
        if close(fd) != 0 && failure == nil { failure = SystemCallError(call: "close", path: temporary, errno: errno) }
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw SystemCallError(call: "rename", path: path, errno: code)
        }
        try syncDirectory(of: path)
    }

    /// fsyncs the directory holding `path`, so a rename or creation in it survives a crash.
    public static func syncDirectory(of path: String) throws(SystemCallError) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError(call: "open", path: directory, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemCallError(call: "fsync", path: directory, errno: errno) }
    }

    /// The names in a directory, without "." and "..", sorted.
    public static func names(in directory: String) throws(SystemCallError) -> [String] {
        guard let dir = opendir(directory) else { throw SystemCallError(call: "opendir", path: directory, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
