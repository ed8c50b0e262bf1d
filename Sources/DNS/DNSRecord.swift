// DNSRecord.swift — resource records (RFC 1035 §3.2.1, §4.1.3) and the RDATA of the types the mail
// path needs: A (§3.4.1), AAAA (RFC 3596 §2.2), NS (§3.3.11), CNAME (§3.3.1), PTR (§3.3.12),
// MX (§3.3.9, null MX RFC 7505), TXT (§3.3.14) and SOA (§3.3.13). Any other type is kept as raw
// octets (RFC 3597 §5) and encodes back unchanged.
//
// Names inside RDATA may be compressed for the RFC 1035 types (RFC 3597 §4); they are expanded on
// decode. Each RDATA must fill its RDLENGTH exactly: a record whose fields end early or run over
// is `DNSParseError.badRecordData`, never read past.

/// One resource record.
public struct DNSResourceRecord: Hashable, Sendable, CustomStringConvertible {
    /// The owner name.
    public var name: DNSName
    /// The class; IN for everything the resolver asks.
    public var recordClass: DNSClass
    /// Seconds the record may be cached (RFC 1035 §3.2.1). Values with the top bit set are read as
    /// zero by the cache (RFC 2181 §8).
    public var ttl: UInt32
    /// The typed RDATA.
    public var data: DNSRecordData

    public init(name: DNSName, recordClass: DNSClass = .internet, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }

    /// The record type, from the RDATA.
    public var type: DNSRecordType { data.type }

    public var description: String { "\(name). \(ttl) \(recordClass) \(type) \(data)" }

    func encode(into writer: inout DNSWriter) throws(DNSEncodeError) {
        writer.name(name)
        writer.u16(type.rawValue)
        writer.u16(recordClass.rawValue)
        writer.u32(ttl)
        let data = self.data
        try writer.lengthPrefixed(type: type) { (writer: inout DNSWriter) throws(DNSEncodeError) in
            try data.encode(into: &writer)
        }
    }
}

/// The RDATA of a record, by type.
public enum DNSRecordData: Hashable, Sendable, CustomStringConvertible {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case ns(DNSName)
    case cname(DNSName)
    case ptr(DNSName)
    case mx(MXRecord)
    case txt(TXTRecord)
    case soa(SOARecord)
    /// A type this module does not interpret (or A/AAAA outside class IN), as raw octets.
    case unknown(type: DNSRecordType, data: [UInt8])

    public var type: DNSRecordType {
        switch self {
        case .a: return .a
        case .aaaa: return .aaaa
        case .ns: return .ns
        case .cname: return .cname
        case .ptr: return .ptr
        case .mx: return .mx
        case .txt: return .txt
        case .soa: return .soa
        case .unknown(let type, _): return type
        }
    }

    public var description: String {
        switch self {
        case .a(let address): return address.description
        case .aaaa(let address): return address.description
        case .ns(let name), .cname(let name), .ptr(let name): return name.description + "."
        case .mx(let mx): return "\(mx.preference) \(mx.exchange.isRoot ? "." : mx.exchange.description + ".")"
        case .txt(let txt): return txt.description
        case .soa(let soa): return soa.description
        case .unknown(_, let data): return "\\# \(data.count)" + (data.isEmpty ? "" : " " + data.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        }
    }

    func encode(into writer: inout DNSWriter) throws(DNSEncodeError) {
        switch self {
        case .a(let address):
            writer.u32(address.value)
        case .aaaa(let address):
            writer.bytes.append(contentsOf: address.bytes)
        case .ns(let name), .cname(let name), .ptr(let name):
            writer.name(name)
        case .mx(let mx):
            writer.u16(mx.preference)
            writer.name(mx.exchange)
        case .txt(let txt):
            for string in txt.strings { try writer.characterString(string) }
        case .soa(let soa):
            writer.name(soa.primaryNameserver)
            writer.name(soa.responsibleMailbox)
            writer.u32(soa.serial)
            writer.u32(soa.refresh)
            writer.u32(soa.retry)
            writer.u32(soa.expire)
            writer.u32(soa.minimum)
        case .unknown(_, let data):
            writer.bytes.append(contentsOf: data)
        }
    }

    /// Decodes RDATA of `type` that occupies `reader.offset ..< reader.offset + length`.
    static func decode(type: DNSRecordType, recordClass: DNSClass, length: Int, from reader: inout DNSReader, recordOffset: Int) throws(DNSParseError) -> DNSRecordData {
        let start = reader.offset
        guard reader.remaining >= length else { throw .truncated(offset: start) }
        let outerLimit = reader.limit
        reader.limit = start + length
        defer { reader.limit = outerLimit }
        let data: DNSRecordData
        do throws(DNSParseError) {
            switch type {
            case .a where recordClass == .internet:
                guard length == 4 else { throw .badRecordData(type: type, offset: recordOffset) }
                data = .a(IPv4Address(try reader.u32()))
            case .aaaa where recordClass == .internet:
                guard length == 16 else { throw .badRecordData(type: type, offset: recordOffset) }
                data = .aaaa(IPv6Address(bytes: try reader.bytes(16))!)
            case .ns:
                data = .ns(try reader.name())
            case .cname:
                data = .cname(try reader.name())
            case .ptr:
                data = .ptr(try reader.name())
            case .mx:
                let preference = try reader.u16()
                data = .mx(MXRecord(preference: preference, exchange: try reader.name()))
            case .txt:
                var strings: [[UInt8]] = []
                while reader.remaining > 0 { strings.append(try reader.characterString()) }
                data = .txt(TXTRecord(strings: strings))
            case .soa:
                data = .soa(SOARecord(
                    primaryNameserver: try reader.name(), responsibleMailbox: try reader.name(),
                    serial: try reader.u32(), refresh: try reader.u32(), retry: try reader.u32(),
                    expire: try reader.u32(), minimum: try reader.u32()))
            default:
                data = .unknown(type: type, data: try reader.bytes(length))
            }
        } catch .truncated(let offset) where offset >= start && offset <= start + length {
            // Ran out of RDATA, not out of message: the record's fields do not fit its RDLENGTH.
            throw .badRecordData(type: type, offset: recordOffset)
        }
        guard reader.offset == start + length else { throw .badRecordData(type: type, offset: recordOffset) }
        return data
    }
}

/// A mail exchange (RFC 1035 §3.3.9).
public struct MXRecord: Hashable, Sendable, CustomStringConvertible {
    /// Lower is preferred (RFC 5321 §5.1).
    public var preference: UInt16
    /// The host to deliver to.
    public var exchange: DNSName

    public init(preference: UInt16, exchange: DNSName) {
        self.preference = preference
        self.exchange = exchange
    }

    /// A null MX (RFC 7505 §3): preference 0 and the root as exchange, "this domain accepts no
    /// mail". A sender must not fall back to the domain's addresses and should fail the message
    /// at once (RFC 7505 §4.1: 556 5.1.10; receivers may refuse senders from such domains, §4.2: 550 5.7.27).
    public var isNullMX: Bool { preference == 0 && exchange.isRoot }

    public var description: String { "\(preference) \(exchange.isRoot ? "." : exchange.description)" }
}

/// Text strings (RFC 1035 §3.3.14). The character-strings are kept apart, as they came: SPF
/// (RFC 7208 §3.3) and DKIM (RFC 6376 §3.6.2.2) join them without separator, other users may not.
public struct TXTRecord: Hashable, Sendable, CustomStringConvertible {
    /// The character-strings, each at most 255 octets when encoded.
    public var strings: [[UInt8]]

    public init(strings: [[UInt8]]) {
        self.strings = strings
    }

    /// One text, split into character-strings of at most 255 octets.
    public init(text: String) {
        let bytes = Array(text.utf8)
        self.strings = bytes.isEmpty ? [[]] : stride(from: 0, to: bytes.count, by: 255).map { Array(bytes[$0..<min($0 + 255, bytes.count)]) }
    }

    /// The strings concatenated without separator.
    public var joined: [UInt8] { strings.flatMap { $0 } }

    /// The strings concatenated without separator, as UTF-8 (invalid sequences become U+FFFD).
    public var text: String { String(decoding: joined, as: UTF8.self) }

    public var description: String {
        strings.map { string in
            var out = "\""
            for byte in string {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += "\\" + String(UnicodeScalar(byte))
                case 0x20..<0x7F: out.unicodeScalars.append(UnicodeScalar(byte))
                default: out += "\\" + String(repeating: "0", count: byte < 10 ? 2 : byte < 100 ? 1 : 0) + String(byte)
                }
            }
            return out + "\""
        }.joined(separator: " ")
    }
}

/// The start of a zone of authority (RFC 1035 §3.3.13).
public struct SOARecord: Hashable, Sendable, CustomStringConvertible {
    public var primaryNameserver: DNSName
    public var responsibleMailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    /// Since RFC 2308 §4: the TTL of negative answers from this zone.
    public var minimum: UInt32

    public init(primaryNameserver: DNSName, responsibleMailbox: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
        self.primaryNameserver = primaryNameserver
        self.responsibleMailbox = responsibleMailbox
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }

    public var description: String {
        "\(primaryNameserver). \(responsibleMailbox). \(serial) \(refresh) \(retry) \(expire) \(minimum)"
    }
}
