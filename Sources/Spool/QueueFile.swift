// QueueFile.swift — the on-disk format of one queued message, and its integrity check.
//
// A queue file is a sequence of records, each `type (1 byte) | length (4 bytes, big endian) | payload`,
// in the manner of Postfix's record files (src/global/rec_type.h):
//
//   'V'  format version ("GHQ2"; "GHQ1" files, written before 2026-12-07, are still read)
//   'E'  envelope fields, `key=value` lines
//   'R'  a recipient: `address \t notify \t orcpt`; the type byte is the recipient's status
//        ('R' pending, 'D' delivered, 'F' failed) and is overwritten in place as delivery goes on
//   'M'  a chunk of message content (any number, in order)
//   'Z'  the end: a checksum over every payload before it — XXH3-128 in GHQ2 (16 bytes),
//        SHA-256 in GHQ1 (32 bytes) — then the content size (8 bytes)
//
// A file without a valid 'Z' record is incomplete or damaged and is never delivered. Because the
// checksum covers payloads only, crossing off a recipient keeps the file valid.

import GatehouseCore
import Crypto
import CXXHash

public enum QueueFileError: Error, Hashable, Sendable, CustomStringConvertible {
    case truncated(offset: Int)
    case unknownRecord(type: UInt8, offset: Int)
    case badVersion
    case badEnvelope(String)
    case missingTrailer
    case checksumMismatch
    case sizeMismatch
    case recordTooLarge(offset: Int)

    public var description: String {
        switch self {
        case .truncated(let offset): return "truncated record at offset \(offset)"
        case .unknownRecord(let type, let offset): return "unknown record type \(type) at offset \(offset)"
        case .badVersion: return "unknown queue file version"
        case .badEnvelope(let why): return "bad envelope: \(why)"
        case .missingTrailer: return "no end record (incomplete file)"
        case .checksumMismatch: return "checksum mismatch"
        case .sizeMismatch: return "content size mismatch"
        case .recordTooLarge(let offset): return "record too large at offset \(offset)"
        }
    }
}

/// The checksum of a queue file's end record. Format 2 uses XXH3-128 (xxHash, Debian's
/// libxxhash): the checksum guards against damage on disk (a torn or partly lost write, a bad
/// sector), not against anyone who can write the spool, and XXH3 reads memory about ten times as
/// fast as SHA-256 (bench/checksum-speed.py); a 1 MiB message, checksummed when written and again
/// when read back for delivery, spent a fifth of the gateway's CPU in SHA-256. Format 1's SHA-256
/// is kept for reading older files.
final class QueueFileChecksum {
    enum Algorithm {
        case sha256, xxh3

        /// The digest's length in the end record.
        var digestSize: Int { self == .xxh3 ? 16 : 32 }
    }

    let algorithm: Algorithm
    private var sha256 = SHA256()
    private let state: OpaquePointer

    init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        // 576 bytes from malloc: failing that, nothing else would work either.
        guard let state = XXH3_createState() else { fatalError("XXH3_createState: out of memory") }
        XXH3_128bits_reset(state)
        self.state = state
    }

    deinit { XXH3_freeState(state) }

    func update(_ raw: UnsafeRawBufferPointer) {
        switch algorithm {
        case .sha256: sha256.update(bufferPointer: raw)
        case .xxh3: if raw.count > 0 { XXH3_128bits_update(state, raw.baseAddress, raw.count) }
        }
    }

    func update(_ bytes: some Collection<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// The digest of everything so far (big-endian, XXH3's canonical form).
    func finalize() -> [UInt8] {
        switch algorithm {
        case .sha256:
            return Array(sha256.finalize())
        case .xxh3:
            var canonical = XXH128_canonical_t()
            XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state))
            return withUnsafeBytes(of: &canonical.digest) { Array($0) }
        }
    }
}

public enum QueueFile {
    /// The format written now.
    static let version: [UInt8] = Array("GHQ2".utf8)
    /// The first format (SHA-256 checksum), still read.
    static let version1: [UInt8] = Array("GHQ1".utf8)
    static let headerSize = 5
    /// The end record's payload as written now: XXH3-128 and the content size.
    static let trailerSize = QueueFileChecksum.Algorithm.xxh3.digestSize + 8
    /// Largest content record; larger content is split.
    static let maximumRecord = 1 << 20

    public enum RecordType: UInt8 {
        case version = 0x56   // V
        case envelope = 0x45  // E
        case content = 0x4D   // M
        case end = 0x5A       // Z
    }

    static func recordHeader(_ type: UInt8, _ length: Int) -> [UInt8] {
        let l = UInt32(length)
        return [type, UInt8(l >> 24), UInt8(l >> 16 & 0xFF), UInt8(l >> 8 & 0xFF), UInt8(l & 0xFF)]
    }

    static func recipientPayload(_ r: QueuedRecipient) -> [UInt8] {
        var out = escape(r.address)
        out.append(0x09)
        out += escape(r.notify ?? "")
        out.append(0x09)
        out += escape(r.originalRecipient ?? "")
        return out
    }

    /// Escapes `\`, tab, newline and other controls as `\xHH` so values fit on one line.
    static func escape(_ value: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for b in value.utf8 {
            if b < 0x20 || b == 0x5C || b == 0x7F {
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, UInt8(ascii: "x"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            } else {
                out.append(b)
            }
        }
        return out
    }

    static func unescape(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == 0x5C, i + 3 < bytes.endIndex, bytes[i + 1] == UInt8(ascii: "x"),
               let h = hexValue(bytes[i + 2]), let l = hexValue(bytes[i + 3]) {
                out.append(h << 4 | l)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// A parsed queue file. `content` are the ranges of the content records in the file.
    public struct Parsed: Sendable {
        public var envelope: Envelope
        /// File offsets of each recipient record's type byte, in envelope order.
        public var recipientOffsets: [Int]
        /// (offset, length) of each content payload.
        public var contentRanges: [(Int, Int)]
        public var contentSize: Int

        /// The message content, made in place from the file's own buffer: the content records are
        /// moved to the front and the rest cut off, so a large message is not held twice.
        /// Pass the file with `consume` (or as its last use) so that it is not copied first.
        public func extractContent(from file: consuming [UInt8]) -> [UInt8] {
            var end = 0
            file.withUnsafeMutableBytes { raw in
                for (offset, length) in contentRanges {
                    // Regions may overlap: memmove semantics.
                    if offset != end { raw.baseAddress!.advanced(by: end).copyMemory(from: raw.baseAddress!.advanced(by: offset), byteCount: length) }
                    end += length
                }
            }
            file.removeLast(file.count - end)
            return file
        }
    }

    /// Parses and verifies a whole queue file held in memory. `verifyingChecksum: false` skips
    /// the checksum (and only it) for bytes this process has just made itself and never read back
    /// from a disk (a message handed from the committing session to the scheduler): the checksum
    /// guards against damage on disk, which such bytes cannot have.
    public static func parse(_ bytes: [UInt8], verifyingChecksum: Bool = true) throws(QueueFileError) -> Parsed {
        var offset = 0
        var algorithm = QueueFileChecksum.Algorithm.xxh3
        var hasher: QueueFileChecksum?
        var envelopeFields: [String: String] = [:]
        var recipients: [QueuedRecipient] = []
        var recipientOffsets: [Int] = []
        var contentRanges: [(Int, Int)] = []
        var contentSize = 0
        var sawVersion = false
        var sawEnvelope = false
        while offset < bytes.count {
            guard offset + headerSize <= bytes.count else { throw .truncated(offset: offset) }
            let type = bytes[offset]
            let length = Int(bytes[offset + 1]) << 24 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            guard length <= maximumRecord else { throw .recordTooLarge(offset: offset) }
            let start = offset + headerSize
            guard start + length <= bytes.count else { throw .truncated(offset: offset) }
            let payload = bytes[start..<(start + length)]
            switch type {
            case RecordType.version.rawValue:
                guard !sawVersion, offset == 0 else { throw .badVersion }
                if payload.elementsEqual(version1) {
                    algorithm = .sha256
                } else if !payload.elementsEqual(version) {
                    throw .badVersion
                }
                sawVersion = true
                if verifyingChecksum { hasher = QueueFileChecksum(algorithm) }
                hasher?.update(payload)
            case RecordType.envelope.rawValue:
                guard sawVersion, !sawEnvelope else { throw .badEnvelope("misplaced envelope record") }
                sawEnvelope = true
                hasher?.update(payload)
                for line in payload.split(separator: 0x0A) {
                    guard let eq = line.firstIndex(of: UInt8(ascii: "=")) else { throw .badEnvelope("field without '='") }
                    envelopeFields[String(decoding: line[line.startIndex..<eq], as: UTF8.self)] = unescape(line[(eq + 1)...])
                }
            case RecipientStatus.pending.rawValue, RecipientStatus.delivered.rawValue, RecipientStatus.failed.rawValue:
                guard sawEnvelope, contentRanges.isEmpty else { throw .badEnvelope("misplaced recipient record") }
                hasher?.update(payload)
                let fields = payload.split(separator: 0x09, omittingEmptySubsequences: false)
                guard fields.count == 3, !fields[0].isEmpty else { throw .badEnvelope("bad recipient record") }
                recipients.append(QueuedRecipient(
                    address: unescape(fields[0]),
                    notify: fields[1].isEmpty ? nil : unescape(fields[1]),
                    originalRecipient: fields[2].isEmpty ? nil : unescape(fields[2]),
                    status: RecipientStatus(rawValue: type)!))
                recipientOffsets.append(offset)
            case RecordType.content.rawValue:
                guard sawEnvelope else { throw .badEnvelope("content before envelope") }
                hasher?.update(payload)
                contentRanges.append((start, length))
                contentSize += length
            case RecordType.end.rawValue:
                guard length == algorithm.digestSize + 8, start + length == bytes.count else { throw .missingTrailer }
                if let hasher, !payload.prefix(algorithm.digestSize).elementsEqual(hasher.finalize()) { throw .checksumMismatch }
                var size = 0
                for b in payload.suffix(8) { size = size << 8 | Int(b) }
                guard size == contentSize else { throw .sizeMismatch }
                guard let envelope = makeEnvelope(envelopeFields, recipients) else { throw .badEnvelope("missing fields") }
                return Parsed(envelope: envelope, recipientOffsets: recipientOffsets, contentRanges: contentRanges, contentSize: contentSize)
            default:
                throw .unknownRecord(type: type, offset: offset)
            }
            offset = start + length
        }
        throw .missingTrailer
    }

    static func makeEnvelope(_ f: [String: String], _ recipients: [QueuedRecipient]) -> Envelope? {
        guard let id = f["id"], let arrival = f["arrival"].flatMap({ Int64($0) }), let sender = f["sender"], !recipients.isEmpty else {
            return nil
        }
        var envelope = Envelope(queueID: id, arrival: arrival, sender: sender, recipients: recipients,
                                clientAddress: f["client_address"] ?? "", clientName: f["client_name"] ?? "",
                                helo: f["helo"] ?? "", listener: f["listener"] ?? "", receivedProtocol: f["protocol"] ?? "",
                                authenticatedUser: f["auth"], body: f["body"], smtputf8: f["smtputf8"] == "1",
                                dsnReturn: f["ret"], envelopeID: f["envid"], flags: f["flags"].flatMap { UInt32($0) } ?? 0,
                                route: f["route"])
        if let trace = f["trace"] { envelope.trace = trace.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        return envelope
    }
}
