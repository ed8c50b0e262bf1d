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
        return fields.filter { Self.sameName($0.name, lower) }
    }

    /// The first field called `name`.
    public func first(named name: String) -> MIMEHeaderField? {
        let lower = name.lowercased()
        return fields.first { Self.sameName($0.name, lower) }
    }

    /// 1, 2, 3 if `name` is Content-Type, Content-Transfer-Encoding, Content-Disposition (as
    /// `fields(named:)` compares names), else 0.
    static func mimeFieldKind(_ name: String) -> Int {
        let ascii: Int? = name.utf8.withContiguousStorageIfAvailable { a -> Int in
            for c in a where c >= 0x80 { return -1 }
            @inline(__always) func equals(_ lower: StaticString) -> Bool {
                guard a.count == lower.utf8CodeUnitCount else { return false }
                let p = lower.utf8Start
                for k in 0..<a.count where (a[k] >= 65 && a[k] <= 90 ? a[k] + 32 : a[k]) != p[k] { return false }
                return true
            }
            if a.count < 12 || a[0] | 0x20 != 99 { return 0 }  // every MIME field name starts with "content-"
            if equals("content-type") { return 1 }
            if equals("content-transfer-encoding") { return 2 }
            if equals("content-disposition") { return 3 }
            return 0
        }
        if let ascii, ascii >= 0 { return ascii }
        if sameName(name, "content-type") { return 1 }
        if sameName(name, "content-transfer-encoding") { return 2 }
        if sameName(name, "content-disposition") { return 3 }
        return 0
    }

    /// `name.lowercased() == lower`, compared as bytes when both are ASCII (field names the
    /// parser reads always are), where lower-casing and String equality are plain byte operations.
    static func sameName(_ name: String, _ lower: String) -> Bool {
        var name = name
        var lower = lower
        let answer: Bool? = name.withUTF8 { a in
            lower.withUTF8 { b in
                var i = 0
                while i < a.count {
                    if a[i] >= 0x80 { return nil }
                    i += 1
                }
                i = 0
                while i < b.count {
                    if b[i] >= 0x80 { return nil }
                    i += 1
                }
                guard a.count == b.count else { return false }
                i = 0
                while i < a.count {
                    let c = a[i]
                    if (c >= 65 && c <= 90 ? c + 32 : c) != b[i] { return false }
                    i += 1
                }
                return true
            }
        }
        if let answer { return answer }
        return name.count == lower.count && name.lowercased() == lower
    }

    /// The decoded value of every field called `name`.
    public func values(named name: String) -> [String] { fields(named: name).map(\.value) }

    /// The decoded value of the first field called `name`.
    public subscript(name: String) -> String? { first(named: name)?.value }
}
