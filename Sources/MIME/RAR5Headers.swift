// RAR5Headers.swift — which entries of a RAR 5 archive are encrypted, read from the archive's own
// block headers ("RAR 5.0 archive format", https://www.rarlab.com/technote.htm).
//
// Why: libarchive (3.6, Debian 12) reads RAR 5 but does not report encryption for it
// (`archive_entry_is_encrypted` is 0, `archive_read_has_encrypted_entries` "don't know"), and it
// returns the ciphertext of a stored encrypted entry as if it were the file. Scanning ciphertext
// finds nothing, so without this walk an encrypted RAR 5 archive could pass as clean. The walk
// reads only block headers: each block's header size and data size give the next block, a file
// header's name and extra area tell whether a file encryption record (type 0x01) is present, and
// an archive encryption header (type 4) means every later header is encrypted.
//
// Security notes: input is hostile. Every variable-length integer is at most 10 bytes, every size
// is checked against the bytes left before anything is added to it, and every block moves the
// walk forward. The result fails closed: an encryption record anywhere flags the whole archive
// (even when the entry's name cannot be matched with libarchive's), and a walk that cannot reach
// the end-of-archive block flags it unreadable.

/// What the block headers of a RAR 5 archive say about encryption.
public struct RAR5Encryption: Equatable, Sendable {
    /// An archive encryption header: every later header is encrypted, no name can be read.
    public var headersEncrypted = false
    /// File headers that carry a file encryption record, whether or not their name could be read.
    public var encryptedEntries = 0
    /// The names (as libarchive gives them: up to a NUL, `/` separators) of those entries.
    public var encryptedNames: Set<String> = []
    /// Whether the walk reached the end-of-archive block (or the encrypted headers). When it did
    /// not, the archive holds headers we could not read, and it is not known what they say.
    public var complete = false
}

public enum RAR5Headers {
    /// The RAR 5 signature: "Rar!" 1A 07 01 00.
    public static let signature: [UInt8] = [0x52, 0x61, 0x72, 0x21, 0x1A, 0x07, 0x01, 0x00]

    public static func isRAR5(_ data: [UInt8]) -> Bool {
        data.count >= signature.count && data.prefix(signature.count).elementsEqual(signature)
    }

    /// Walks every block header of `data` (a RAR 5 archive) to the end-of-archive block. Each
    /// block moves the walk forward by at least six bytes, so the work is linear in the size of
    /// the archive (itself bounded by `MIMELimits.maxArchiveBytes`); anything malformed ends the
    /// walk with `complete == false`.
    public static func encryption(of data: [UInt8]) -> RAR5Encryption {
        var result = RAR5Encryption()
        guard isRAR5(data) else { return result }
        var position = signature.count
        while position < data.count {
            var r = Reader(data: data, position: position)
            // Header CRC32, then the header size counted from the header type to the end of the
            // extra area.
            guard r.skip(4), let headerSize = r.vint(), headerSize > 0, headerSize <= r.remaining else { return result }
            let headerEnd = r.position + headerSize
            guard let type = r.vint(), let flags = r.vint() else { return result }
            var extraSize = 0
            var dataSize = 0
            if flags & 0x0001 != 0 {
                guard let v = r.vint(), v <= headerEnd - r.position else { return result }
                extraSize = v
            }
            if flags & 0x0002 != 0 {
                guard let v = r.vint() else { return result }
                dataSize = v
            }
            guard r.position <= headerEnd else { return result }
            switch type {
            case 4:
                result.headersEncrypted = true
                result.complete = true
                return result
            case 5:
                result.complete = true
                return result
            case 2:
                if hasEncryptionRecord(data, from: headerEnd - extraSize, to: headerEnd) {
                    result.encryptedEntries += 1
                    if let name = fileName(&r, headerEnd: headerEnd, extraSize: extraSize) {
                        result.encryptedNames.insert(name)
                    }
                }
            default:
                break
            }
            guard dataSize <= data.count - headerEnd else { return result }
            position = headerEnd + dataSize
        }
        return result
    }

    /// A file header's name: file flags, unpacked size, attributes, optional mtime and CRC32,
    /// compression information, host OS, then the name (UTF-8).
    private static func fileName(_ r: inout Reader, headerEnd: Int, extraSize: Int) -> String? {
        guard let fileFlags = r.vint(), r.vint() != nil, r.vint() != nil else { return nil }
        if fileFlags & 0x0002 != 0 { guard r.skip(4) else { return nil } }
        if fileFlags & 0x0004 != 0 { guard r.skip(4) else { return nil } }
        guard r.vint() != nil, r.vint() != nil, let length = r.vint() else { return nil }
        guard length <= headerEnd - extraSize - r.position else { return nil }
        let name = r.data[r.position..<(r.position + length)]
        // libarchive ends the name at a NUL; so does the match.
        return String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Whether the extra area `[from, to)` holds a file encryption record (type 0x01). Each
    /// record: size (counted from the type), type, data.
    private static func hasEncryptionRecord(_ data: [UInt8], from: Int, to: Int) -> Bool {
        guard from >= 0, from <= to, to <= data.count else { return false }
        var r = Reader(data: data, position: from)
        while r.position < to {
            guard let size = r.vint(), size > 0, size <= to - r.position else { return false }
            let next = r.position + size
            guard let type = r.vint() else { return false }
            if type == 0x01 { return true }
            r.position = next
        }
        return false
    }

    /// Little-endian base-128 integers ("vint": 7 bits per byte, high bit set on all but the
    /// last byte, at most 10 bytes), bounded by the data.
    struct Reader {
        let data: [UInt8]
        var position: Int

        var remaining: Int { data.count - position }

        mutating func skip(_ n: Int) -> Bool {
            guard n <= remaining else { return false }
            position += n
            return true
        }

        /// A vint that fits in a non-negative Int; nil when truncated, longer than 10 bytes or too
        /// large.
        mutating func vint() -> Int? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < data.count, shift < 70 {
                let byte = data[position]
                position += 1
                if shift == 63 && byte > 1 { return nil }
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value <= UInt64(Int.max) ? Int(value) : nil }
                shift += 7
            }
            return nil
        }
    }
}
