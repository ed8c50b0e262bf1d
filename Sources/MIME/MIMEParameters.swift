// MIMEParameters.swift — RFC 2045 §5.1 parameters with RFC 2231 extensions.
//
// What it does: parses `; name=value` lists: tokens and quoted strings, comments (CFWS), RFC 2231
// continuations (`name*0`, `name*1`), charsets and languages (`name*=utf-8'en'%E2%82%AC`) with
// segments in any order, and RFC 2047 words inside values (a common, non-standard spelling).
//
// Grammar (RFC 2045 §5.1, RFC 2231 §7):
//   parameter := attribute "=" value
//   value := token / quoted-string
//   extended-parameter := (extended-initial-name "=" extended-value) /
//                         (extended-other-names "=" extended-other-values)
//   extended-initial-name := attribute [initial-section] "*"
//
// Diagnostics: `malformedParameters` (missing '=', unterminated quotes, gaps or duplicates in
// continuations), `conflictingParameter`/`repeatedBoundary`/`conflictingBoundary` for repeats,
// `tooManyParameters` for the limits.
//
// Security notes: every spelling of a parameter is kept (`values(named:)`), because programs
// disagree on which of `filename`, `filename*` and a repeated `filename` wins. The primary
// value follows Thunderbird and Python: the RFC 2231 form if present, else the first.

/// One parameter after RFC 2231 reassembly.
public struct MIMEParameter: Sendable, Hashable {
    /// How the parameter was written.
    public enum Form: Sendable, Hashable {
        /// `name=value`
        case plain
        /// `name*=...` or `name*0=...` (RFC 2231)
        case extended
    }
    /// Lower-cased attribute name (without RFC 2231 `*N*` suffixes).
    public var name: String
    /// The decoded value.
    public var value: String
    public var form: Form
    /// RFC 2231 language tag, if given.
    public var language: String?
}

/// The parameters of a structured header field.
public struct MIMEParameters: Sendable, Hashable {
    /// Every parameter, in order of first appearance, with repeats kept.
    public var all: [MIMEParameter]

    public init(_ all: [MIMEParameter] = []) { self.all = all }

    /// The primary value of `name`: the RFC 2231 form if present, else the first plain one.
    public subscript(name: String) -> String? {
        let lower = name.lowercased()
        if let extended = all.first(where: { $0.name == lower && $0.form == .extended }) { return extended.value }
        return all.first { $0.name == lower }?.value
    }

    /// Every distinct value given for `name`, primary first.
    public func values(named name: String) -> [String] {
        let lower = name.lowercased()
        var result: [String] = []
        if let primary = self[lower] { result.append(primary) }
        for p in all where p.name == lower && !result.contains(p.value) { result.append(p.value) }
        return result
    }

    /// How many times `name` was given (RFC 2231 segments of one parameter count once).
    public func count(of name: String) -> Int {
        let lower = name.lowercased()
        return all.filter { $0.name == lower }.count
    }
}

/// A cursor over a structured header value (RFC 5322 §3.2 lexical tokens, RFC 2045 tokens).
struct StructuredCursor {
    let b: [UInt8]
    var i: Int
    var malformed = false

    init(_ bytes: [UInt8], at index: Int = 0) { b = bytes; i = index }

    var atEnd: Bool { i >= b.count }
    var peek: UInt8? { i < b.count ? b[i] : nil }

    /// RFC 2045 tspecials plus space and controls.
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case 0...32, 127, 40, 41, 60, 62, 64, 44, 59, 58, 92, 34, 47, 91, 93, 63, 61: return false
        default: return true
        }
    }

    /// Skips white space and (nested) comments (RFC 5322 §3.2.2 CFWS).
    mutating func skipCFWS() {
        while i < b.count {
            let c = b[i]
            if c == 32 || c == 9 || c == 13 || c == 10 {
                i += 1
            } else if c == 40 {
                _ = readComment()
            } else {
                return
            }
        }
    }

    /// Reads a comment starting at '(' and returns its text.
    mutating func readComment() -> [UInt8] {
        var depth = 0
        var out = [UInt8]()
        while i < b.count {
            let c = b[i]
            if c == 92, i + 1 < b.count {
                out.append(b[i + 1]); i += 2; continue
            }
            if c == 40 { depth += 1; if depth > 1 { out.append(c) } }
            else if c == 41 { depth -= 1; if depth == 0 { i += 1; return out }; out.append(c) }
            else { out.append(c) }
            i += 1
        }
        malformed = true
        return out
    }

    /// Reads a token (RFC 2045 §5.1); 8-bit bytes are accepted in tokens.
    mutating func readToken() -> [UInt8] {
        let start = i
        while i < b.count, StructuredCursor.isTokenByte(b[i]) { i += 1 }
        return Array(b[start..<i])
    }

    /// Reads a quoted string starting at '"' (RFC 5322 §3.2.4), unescaping quoted pairs.
    mutating func readQuotedString() -> [UInt8] {
        i += 1
        var out = [UInt8]()
        while i < b.count {
            let c = b[i]
            if c == 92, i + 1 < b.count { out.append(b[i + 1]); i += 2; continue }
            if c == 34 { i += 1; return out }
            if c == 13 || c == 10 { i += 1; continue }
            out.append(c)
            i += 1
        }
        malformed = true
        return out
    }
}

/// Parser for parameter lists.
enum MIMEParameterParser {
    private struct Segment { var index: Int; var encoded: Bool; var bytes: [UInt8] }

    /// Parses `;`-separated parameters starting at the cursor.
    static func parse(_ cursor: inout StructuredCursor, limits: MIMELimits,
                      defects: inout MIMEDefects, limitErrors: inout [MIMELimitError]) -> MIMEParameters {
        var plain: [MIMEParameter] = []
        var order: [String] = []
        var segments: [String: [Segment]] = [:]
        var count = 0
        while true {
            cursor.skipCFWS()
            guard let c = cursor.peek else { break }
            if c == 59 { cursor.i += 1; continue }  // ';'
            count += 1
            if count > limits.maxParameters {
                defects.insert(.tooManyParameters)
                limitErrors.append(.tooManyParameters(limit: limits.maxParameters))
                break
            }
            let nameBytes = cursor.readToken()
            if nameBytes.isEmpty {
                // Not a token: skip to the next ';'.
                defects.insert(.malformedParameters)
                while let d = cursor.peek, d != 59 {
                    if d == 34 { _ = cursor.readQuotedString() } else { cursor.i += 1 }
                }
                continue
            }
            cursor.skipCFWS()
            guard cursor.peek == 61 else {
                defects.insert(.malformedParameters)
                while let d = cursor.peek, d != 59 { cursor.i += 1 }
                continue
            }
            cursor.i += 1
            cursor.skipCFWS()
            var value: [UInt8]
            var quoted = false
            if cursor.peek == 34 {
                value = cursor.readQuotedString()
                quoted = true
                // Text glued after the closing quote up to ';' is appended, as mail programs do.
                let afterQuote = cursor.i
                while let d = cursor.peek, d != 59 { cursor.i += 1 }
                let tail = cursor.b[afterQuote..<cursor.i].filter { $0 != 32 && $0 != 9 && $0 != 13 && $0 != 10 }
                if !tail.isEmpty, !tail.allSatisfy({ $0 == 41 || $0 == 40 }) {
                    defects.insert(.malformedParameters)
                }
            } else {
                // Unquoted: up to ';', trailing white space removed (tolerates spaces and
                // tspecials that some senders leave unquoted).
                let start = cursor.i
                while let d = cursor.peek, d != 59 { cursor.i += 1 }
                var end = cursor.i
                while end > start, [32, 9, 13, 10].contains(cursor.b[end - 1]) { end -= 1 }
                value = Array(cursor.b[start..<end])
                if value.contains(where: { !StructuredCursor.isTokenByte($0) && $0 != 47 && $0 != 61 && $0 != 63 && $0 != 64 }) {
                    // Allow '/', '=', '?', '@' which appear unquoted in the wild (and in encoded words).
                    defects.insert(.malformedParameters)
                }
            }
            if cursor.malformed { defects.insert(.malformedParameters); cursor.malformed = false }

            // RFC 2231 name analysis: attribute ["*" section] ["*"].
            var name = String(decoding: nameBytes, as: UTF8.self).lowercased()
            // (No '*' byte, no "*" Character: the Character search runs only when it can find one.)
            if nameBytes.contains(42), let star = name.firstIndex(of: "*") {
                let base = String(name[..<star])
                var rest = name[name.index(after: star)...]
                var encoded = false
                if rest.hasSuffix("*") { encoded = true; rest = rest.dropLast() }
                var index = 0
                if rest.isEmpty {
                    encoded = true  // "name*": single encoded value
                } else if let n = Int(rest), n >= 0, rest.allSatisfy(\.isASCII) {
                    index = n
                } else {
                    defects.insert(.malformedParameters)
                    name = base
                    plain.append(MIMEParameter(name: base, value: decodePlain(value, quoted: quoted, defects: &defects), form: .plain))
                    if !order.contains(base) { order.append(base) }
                    continue
                }
                if index > limits.maxParameterSegments {
                    defects.insert(.tooManyParameters)
                    limitErrors.append(.tooManyParameterSegments(limit: limits.maxParameterSegments))
                    continue
                }
                if segments[base] == nil { segments[base] = [] }
                segments[base]!.append(Segment(index: index, encoded: encoded, bytes: value))
                if !order.contains(base) { order.append(base) }
            } else {
                plain.append(MIMEParameter(name: name, value: decodePlain(value, quoted: quoted, defects: &defects), form: .plain))
                if !order.contains(name) { order.append(name) }
            }
        }

        // Reassemble RFC 2231 parameters (§3: segments may come in any order).
        var extended: [MIMEParameter] = []
        for name in order {
            guard var segs = segments[name] else { continue }
            segs.sort { $0.index < $1.index }
            var bytes = [UInt8]()
            var charset: String?
            var language: String?
            var expected = 0
            for (k, seg) in segs.enumerated() {
                if seg.index != expected { defects.insert(.malformedParameters) }
                expected = seg.index + 1
                if k > 0 && seg.index == segs[k - 1].index { defects.insert(.malformedParameters) }
                var data = seg.bytes
                if seg.encoded && k == 0 {
                    // charset'language'value
                    if let q1 = data.firstIndex(of: 39), let q2 = data[(q1 + 1)...].firstIndex(of: 39) {
                        let cs = String(decoding: data[..<q1], as: UTF8.self)
                        charset = cs.isEmpty ? nil : cs
                        let lang = String(decoding: data[(q1 + 1)..<q2], as: UTF8.self)
                        language = lang.isEmpty ? nil : lang
                        data = Array(data[(q2 + 1)...])
                    } else {
                        defects.insert(.malformedParameters)
                    }
                }
                if seg.encoded { data = percentDecode(data, defects: &defects) }
                bytes += data
            }
            let result = MIMECharset.decode(bytes, charset: charset ?? "utf-8")
            if result.usedFallback { defects.insert(.charsetFallback) }
            extended.append(MIMEParameter(name: name, value: result.text, form: .extended, language: language))
        }

        // Ambiguity checks on repeated names.
        var all: [MIMEParameter] = []
        for name in order {
            let ps = plain.filter { $0.name == name }
            let es = extended.filter { $0.name == name }
            all += ps
            all += es
            let occurrences = ps.count + es.count
            let distinct = occurrences <= 1 ? occurrences : Set((ps + es).map(\.value)).count
            if name == "boundary" {
                if occurrences > 1 { defects.insert(.repeatedBoundary) }
                if distinct > 1 { defects.insert(.conflictingBoundary) }
            } else if distinct > 1 {
                defects.insert(name == "filename" || name == "name" ? .conflictingFilenames : .conflictingParameter)
            }
        }
        return MIMEParameters(all)
    }

    /// Plain values: RFC 2047 words are decoded (tolerated in the wild), raw 8-bit bytes are
    /// read as UTF-8 or the fallback.
    static func decodePlain(_ bytes: [UInt8], quoted: Bool, defects: inout MIMEDefects) -> String {
        let decoded = EncodedWord.decode(bytes)
        defects.formUnion(decoded.defects)
        return decoded.text
    }

    static func percentDecode(_ bytes: [UInt8], defects: inout MIMEDefects) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 37, i + 2 < bytes.count,
               let hi = QuotedPrintable.hexValue(bytes[i + 1]), let lo = QuotedPrintable.hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo); i += 3
            } else {
                if bytes[i] == 37 { defects.insert(.malformedParameters) }
                out.append(bytes[i]); i += 1
            }
        }
        return out
    }
}
