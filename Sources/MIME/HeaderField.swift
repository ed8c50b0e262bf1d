// HeaderField.swift — RFC 5322 §2.2 header fields and header blocks.
//
// What it does: `MIMEHeaderField` is one field (name, unfolded raw value, where it sits in the
// input); `MIMEHeader` is the ordered block with case-insensitive look-up.
//
// Diagnostics: folding and 8-bit bytes are kept as they came; decoding (RFC 2047, RFC 6532 UTF-8,
// windows-1252 fallback) happens in `decodedValue`, whose defects the parser records.
//
// Security notes: fields are kept in order and duplicates are never merged, so that policy can see
// every copy of a field that programs may read differently.

/// One header field (RFC 5322 §2.2).
public struct MIMEHeaderField: Sendable, Hashable {
    /// The field name as written.
    public var name: String
    /// The value after the colon, unfolded (RFC 5322 §2.2.3: CRLF before white space removed),
    /// leading white space removed, raw bytes (may hold 8-bit data).
    public var rawValue: [UInt8]
    /// Where the whole field, with its line break, sits in its source (empty for synthetic fields).
    public var range: Range<Int>

    public init(name: String, rawValue: [UInt8], range: Range<Int> = 0..<0) {
        self.name = name
        self.rawValue = rawValue
        self.range = range
    }

    /// The lower-cased name, for comparisons.
    public var lowercasedName: String { name.lowercased() }

    /// The value as unstructured text: encoded words decoded (RFC 2047), UTF-8 or fallback.
    public var value: String { EncodedWord.decode(rawValue).text }

    /// The value decoded, with what went wrong.
    public var decodedValue: EncodedWord.Decoded { EncodedWord.decode(rawValue) }
}

/// A header block: fields in their order (RFC 5322 §3.6).
public struct MIMEHeader: Sendable, Hashable, RandomAccessCollection {
    public var fields: [MIMEHeaderField]

    public init(_ fields: [MIMEHeaderField] = []) { self.fields = fields }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> MIMEHeaderField { fields[position] }

    /// Every field called `name` (case-insensitive), in order.
    public func fields(named name: String) -> [MIMEHeaderField] {
        let lower = name.lowercased()
        return fields.filter { $0.name.count == lower.count && $0.lowercasedName == lower }
    }

    /// The first field called `name`.
    public func first(named name: String) -> MIMEHeaderField? {
        let lower = name.lowercased()
        return fields.first { $0.name.count == lower.count && $0.lowercasedName == lower }
    }

    /// The decoded value of every field called `name`.
    public func values(named name: String) -> [String] { fields(named: name).map(\.value) }

    /// The decoded value of the first field called `name`.
    public subscript(name: String) -> String? { first(named: name)?.value }
}
