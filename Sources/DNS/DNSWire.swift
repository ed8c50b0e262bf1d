// DNSWire.swift — reading and writing the wire form (RFC 1035 §4.1): big-endian integers,
// character-strings (§3.3) and names with message compression (§4.1.4).
//
// Security notes on compression, the classic hole of DNS parsers (CVE-2017-9245, the NAME:WRECK
// family, CVE-2020-1350 "SIGRed" among many):
//   - every pointer must point strictly before the start of the label run that contains it, and
//     before every earlier pointer's target (the rule of BIND's `dns_name_fromwire`). Targets so
//     strictly decrease and no chain can loop; a pointer to a later offset is `forwardPointer`, one
//     into the run being read (itself included) is `pointerLoop`;
//   - at most `DNSDefaults.maximumCompressionPointers` pointers are followed per name;
//   - the decompressed name may not exceed 255 octets, so no output grows without bound;
//   - label types 0b01 and 0b10 (extended labels, RFC 6891 §5 / RFC 2673, never deployed) are refused.
// Every read is bounds-checked and reports the offset of the field it could not read.

/// Why a message could not be decoded. Offsets count from the first octet of the message (the
/// length prefix of DNS over TCP excluded).
public enum DNSParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message ends inside the field that starts at `offset`.
    case truncated(offset: Int)
    /// Larger than `DNSDefaults.maximumMessageSize`.
    case messageTooLarge(size: Int)
    /// The header claims more questions than `DNSDefaults.maximumQuestions`.
    case tooManyQuestions(count: Int)
    /// The header claims more records than `DNSDefaults.maximumRecords`.
    case tooManyRecords(count: Int)
    /// A label length octet with the reserved type bits 01 or 10.
    case badLabelType(offset: Int)
    /// A name longer than 255 octets once decompressed.
    case nameTooLong(offset: Int)
    /// A compression pointer to an offset after itself.
    case forwardPointer(offset: Int, target: Int)
    /// A compression pointer into the labels it belongs to, or to or after an earlier target: a loop.
    case pointerLoop(offset: Int, target: Int)
    /// More than `DNSDefaults.maximumCompressionPointers` pointers in one name.
    case tooManyPointers(offset: Int)
    /// The RDATA of the record at `offset` does not have the layout of its type, or not its RDLENGTH.
    case badRecordData(type: DNSRecordType, offset: Int)
    /// A second OPT record (RFC 6891 §6.1.1 allows one).
    case duplicateOPT(offset: Int)
    /// An OPT record outside the additional section, or whose owner is not the root.
    case misplacedOPT(offset: Int)

    public var description: String {
        switch self {
        case .truncated(let offset): return "message truncated in the field at offset \(offset)"
        case .messageTooLarge(let size): return "message of \(size) octets (at most \(DNSDefaults.maximumMessageSize))"
        case .tooManyQuestions(let count): return "\(count) questions (at most \(DNSDefaults.maximumQuestions))"
        case .tooManyRecords(let count): return "\(count) records (at most \(DNSDefaults.maximumRecords))"
        case .badLabelType(let offset): return "unsupported label type at offset \(offset)"
        case .nameTooLong(let offset): return "name at offset \(offset) longer than \(DNSDefaults.maximumNameLength) octets"
        case .forwardPointer(let offset, let target): return "compression pointer at offset \(offset) points forward to \(target)"
        case .pointerLoop(let offset, let target): return "compression pointer at offset \(offset) loops back to \(target)"
        case .tooManyPointers(let offset): return "name at offset \(offset) has more than \(DNSDefaults.maximumCompressionPointers) compression pointers"
        case .badRecordData(let type, let offset): return "bad \(type) record data at offset \(offset)"
        case .duplicateOPT(let offset): return "second OPT record at offset \(offset)"
        case .misplacedOPT(let offset): return "misplaced OPT record at offset \(offset)"
        }
    }
}

/// Why a message could not be encoded.
public enum DNSEncodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A TXT character-string longer than 255 octets (RFC 1035 §3.3). `TXTRecord(text:)` splits.
    case characterStringTooLong(length: Int)
    /// RDATA longer than 65535 octets.
    case recordDataTooLong(type: DNSRecordType, length: Int)
    /// The message would be larger than `DNSDefaults.maximumMessageSize`.
    case messageTooLarge(size: Int)

    public var description: String {
        switch self {
        case .characterStringTooLong(let length): return "character-string of \(length) octets (at most 255)"
        case .recordDataTooLong(let type, let length): return "\(type) record data of \(length) octets"
        case .messageTooLarge(let size): return "message of \(size) octets (at most \(DNSDefaults.maximumMessageSize))"
        }
    }
}

/// Appends wire-form fields to a byte array. Names are written uncompressed: the resolver only
/// writes queries, where there is nothing to compress.
struct DNSWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(value >> 16))
        u16(UInt16(value & 0xFFFF))
    }

    mutating func name(_ name: DNSName) {
        for label in name.labels {
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
    }

    mutating func characterString(_ string: [UInt8]) throws(DNSEncodeError) {
        guard string.count <= 255 else { throw .characterStringTooLong(length: string.count) }
        bytes.append(UInt8(string.count))
        bytes.append(contentsOf: string)
    }

    /// Writes a two-octet length, then what `body` writes, then fills the length in.
    mutating func lengthPrefixed(type: DNSRecordType, _ body: (inout DNSWriter) throws(DNSEncodeError) -> Void) throws(DNSEncodeError) {
        let start = bytes.count
        u16(0)
        try body(&self)
        let length = bytes.count - start - 2
        guard length <= 0xFFFF else { throw .recordDataTooLong(type: type, length: length) }
        bytes[start] = UInt8(length >> 8)
        bytes[start + 1] = UInt8(length & 0xFF)
    }
}

/// Reads wire-form fields from a whole message, bounds-checked. `limit` is the end of the region
/// being read (the end of a record's RDATA while reading it); compression pointers may still reach
/// anywhere before the current name.
struct DNSReader {
    let bytes: [UInt8]
    var offset: Int
    var limit: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.limit = bytes.count
    }

    var remaining: Int { limit - offset }

    mutating func u8() throws(DNSParseError) -> UInt8 {
        guard offset < limit else { throw .truncated(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSParseError) -> UInt16 {
        guard limit - offset >= 2 else { throw .truncated(offset: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws(DNSParseError) -> UInt32 {
        guard limit - offset >= 4 else { throw .truncated(offset: offset) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    mutating func bytes(_ count: Int) throws(DNSParseError) -> [UInt8] {
        guard count >= 0, limit - offset >= count else { throw .truncated(offset: offset) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func characterString() throws(DNSParseError) -> [UInt8] {
        let start = offset
        let length = Int(try u8())
        guard limit - offset >= length else { throw .truncated(offset: start) }
        return try bytes(length)
    }

    /// Reads a possibly compressed name (RFC 1035 §4.1.4). The reader moves past the name's own
    /// octets: its labels up to the root label or the first pointer.
    mutating func name() throws(DNSParseError) -> DNSName {
        let nameStart = offset
        var labels: [[UInt8]] = []
        var wireLength = 1
        var position = offset
        var runStart = offset  // where the labels now being read begin
        var end: Int?  // where the reader resumes: after the first pointer
        var pointers = 0
        // The name's own labels must end within the region being read (a record's RDATA); labels
        // reached through a pointer lie earlier in the message, anywhere in it.
        var regionEnd = limit
        while true {
            guard position < regionEnd else { throw .truncated(offset: position) }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    offset = end ?? position + 1
                    return DNSName(validatedLabels: labels)
                }
                let count = Int(length)
                guard regionEnd - position - 1 >= count else { throw .truncated(offset: position) }
                wireLength += 1 + count
                guard wireLength <= DNSDefaults.maximumNameLength else { throw .nameTooLong(offset: nameStart) }
                labels.append(Array(bytes[position + 1...position + count]))
                position += 1 + count
            case 0xC0:
                guard regionEnd - position >= 2 else { throw .truncated(offset: position) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                if target >= runStart {
                    if target > position { throw .forwardPointer(offset: position, target: target) }
                    throw .pointerLoop(offset: position, target: target)
                }
                pointers += 1
                guard pointers <= DNSDefaults.maximumCompressionPointers else { throw .tooManyPointers(offset: nameStart) }
                if end == nil { end = position + 2 }
                regionEnd = bytes.count
                runStart = target
                position = target
            default:
                throw .badLabelType(offset: position)
            }
        }
    }
}
