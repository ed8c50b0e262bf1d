// RawMessage.swift — a message as DKIM and Authentication-Results need it: the header fields as the
// exact octets that arrived, each with its byte range, and where the body starts.
//
// Grammar (RFC 5322 §2.2, §2.2.3, §3.5):
//   message      := fields [CRLF body]
//   field        := field-name ":" unstructured CRLF
//   continuation := WSP *text CRLF          (folding: belongs to the field above)
//
// What it does: one pass over the octets; a line that starts with space or tab continues the field
// above; the first empty line ends the header. Both CRLF and bare LF end a line (messages read from
// disk or a pipe often have LF only); canonicalization treats either as CRLF, as the message had on
// the wire. A bare CR is data.
//
// Diagnostics: a header line without a colon, or a continuation before any field, is skipped and
// counted in `malformedLines` (a verifier sees the same fields a signer's MTA would have passed on).
//
// Security notes: nothing is merged or reordered, so every copy of a field is visible (DKIM selects
// instances bottom-up; DMARC must see every From). The header is bounded by
// `MailAuthDefaults.maximumHeaderFields` and `maximumHeaderBytes`; past them the rest of the header
// is not read and `limitExceeded` is set, which DKIM reports as a permerror rather than verifying a
// partial header.

/// One header field exactly as it arrived.
public struct RawHeaderField: Sendable, Hashable {
    /// The field name as written (no surrounding white space).
    public var name: String
    /// The whole field in the message's octets: name, colon, value, folding, final line break.
    public var range: Range<Int>
    /// The value: from just after the colon to just before the final line break (folding kept).
    public var valueRange: Range<Int>

    public init(name: String, range: Range<Int>, valueRange: Range<Int>) {
        self.name = name
        self.range = range
        self.valueRange = valueRange
    }

    /// Whether the name is `other`, ASCII case-insensitively (RFC 5322 §1.2.2).
    public func hasName(_ other: String) -> Bool {
        asciiCaseInsensitiveEqual(name, other)
    }
}

/// A message split into raw header fields and a body. Pure: no I/O.
public struct RawMessage: Sendable {
    /// The message octets as given.
    public let bytes: [UInt8]
    /// The header fields, top to bottom.
    public private(set) var fields: [RawHeaderField] = []
    /// Index of the first body octet (after the empty line); `bytes.count` when there is no body.
    public private(set) var bodyStart: Int
    /// Whether the header had no empty line after it (the whole message is header).
    public private(set) var headerUnterminated = false
    /// Header lines skipped because they were not fields (no colon, leading continuation).
    public private(set) var malformedLines = 0
    /// Set when the header exceeded `maximumHeaderFields` or `maximumHeaderBytes`; fields after the
    /// limit are not in `fields`.
    public private(set) var limitExceeded = false

    /// Splits `bytes`. Never fails; see `malformedLines` and `limitExceeded`.
    public init(_ bytes: [UInt8], maximumHeaderFields: Int = MailAuthDefaults.maximumHeaderFields,
                maximumHeaderBytes: Int = MailAuthDefaults.maximumHeaderBytes) {
        self.bytes = bytes
        self.bodyStart = bytes.count
        var i = 0
        var fieldStart: Int?
        var colon = 0
        func lineEnd(from start: Int) -> (end: Int, next: Int) {
            var j = start
            while j < bytes.count, bytes[j] != 10 { j += 1 }
            if j == bytes.count { return (j, j) }
            return (j > start && bytes[j - 1] == 13 ? j - 1 : j, j + 1)
        }
        func close(at end: Int, lineBreakStart: Int) {
            guard let start = fieldStart else { return }
            fieldStart = nil
            if fields.count >= maximumHeaderFields {
                limitExceeded = true
                return
            }
            let name = String(decoding: trimWSP(bytes[start..<colon]), as: UTF8.self)
            fields.append(RawHeaderField(name: name, range: start..<end, valueRange: (colon + 1)..<lineBreakStart))
        }
        var lastLineBreakStart = 0
        while i < bytes.count {
            if i > maximumHeaderBytes {
                limitExceeded = true
                close(at: i, lineBreakStart: lastLineBreakStart)
                // Skip to the end of the header without recording more fields.
                while i < bytes.count {
                    let (end, next) = lineEnd(from: i)
                    if end == i { bodyStart = next; return }
                    i = next
                }
                headerUnterminated = true
                bodyStart = bytes.count
                return
            }
            let (end, next) = lineEnd(from: i)
            if end == i {
                // The empty line: end of header.
                close(at: i, lineBreakStart: lastLineBreakStart)
                bodyStart = next
                return
            }
            let first = bytes[i]
            if first == 32 || first == 9 {
                if fieldStart == nil { malformedLines += 1 }
            } else {
                close(at: i, lineBreakStart: lastLineBreakStart)
                if let c = bytes[i..<end].firstIndex(of: 58) {
                    fieldStart = i
                    colon = c
                } else {
                    malformedLines += 1
                }
            }
            lastLineBreakStart = end
            i = next
        }
        close(at: bytes.count, lineBreakStart: lastLineBreakStart)
        headerUnterminated = true
        bodyStart = bytes.count
    }

    /// The whole field's octets as they arrived.
    public func octets(of field: RawHeaderField) -> ArraySlice<UInt8> { bytes[field.range] }

    /// The field's value octets (after the colon, folding kept, final line break removed).
    public func value(of field: RawHeaderField) -> ArraySlice<UInt8> { bytes[field.valueRange] }

    /// The body octets.
    public var body: ArraySlice<UInt8> { bytes[bodyStart...] }

    /// Every field called `name`, top to bottom.
    public func fields(named name: String) -> [RawHeaderField] {
        fields.filter { $0.hasName(name) }
    }
}

// MARK: Small byte helpers shared by the parsers

@inline(__always) func isWSP(_ c: UInt8) -> Bool { c == 32 || c == 9 }
@inline(__always) func isFWSOctet(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
@inline(__always) func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
@inline(__always) func lowerASCII(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

func trimWSP(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var s = s
    while let f = s.first, isFWSOctet(f) { s.removeFirst() }
    while let l = s.last, isFWSOctet(l) { s.removeLast() }
    return s
}

func asciiCaseInsensitiveEqual(_ a: String, _ b: String) -> Bool {
    let x = a.utf8, y = b.utf8
    guard x.count == y.count else { return false }
    return zip(x, y).allSatisfy { lowerASCII($0) == lowerASCII($1) }
}

func asciiLowercased(_ s: String) -> String {
    String(decoding: s.utf8.map(lowerASCII), as: UTF8.self)
}

/// `text` with CR, LF and other control characters replaced by spaces and cut to `limit`
/// characters: safe to put into a header comment or a log line.
func sanitizedText(_ text: String, limit: Int) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(limit) {
        out.unicodeScalars.append(scalar.value < 32 || scalar.value == 127 ? " " : scalar)
    }
    return out
}
