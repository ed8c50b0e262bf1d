// SmallFile.swift — reads a whole file that must stay small (configuration, rule packs,
// templates), refusing one over a limit instead of growing without bound.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum SmallFile {
    public enum ReadError: Error, Hashable, Sendable, CustomStringConvertible {
        case cannotOpen(String)
        case tooLarge(String, limit: Int)

        public var description: String {
            switch self {
            case .cannotOpen(let path): return "cannot open \(path)"
            case .tooLarge(let path, let limit): return "\(path) is larger than \(limit) bytes"
            }
        }
    }

    /// The file's bytes, at most `limit` of them.
    public static func read(_ path: String, limit: Int = 64 << 20) throws(ReadError) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw .cannotOpen(path) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n == 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > limit { throw .tooLarge(path, limit: limit) }
        }
        return bytes
    }
}
