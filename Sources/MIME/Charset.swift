// Charset.swift — conversion of declared charsets to UTF-8, with a fallback that never fails.
//
// What it does: UTF-8, US-ASCII, ISO-8859-1 and windows-1252 are converted in Swift; every other
// charset goes through Glibc's iconv. Unknown charsets, and bytes a charset cannot map, fall back
// (UTF-8 if the bytes are valid UTF-8, else windows-1252), so a conversion always yields text.
//
// Diagnostics: `MIMECharset.Result.usedFallback` tells when the declared charset was not honoured
// exactly (unknown name, invalid bytes); the parser turns it into `charsetFallback`.
//
// Security notes: charset names are checked against a strict alphabet before reaching iconv, so
// no "//TRANSLIT"-style suffix or path can be smuggled in. ISO-8859-1 and US-ASCII are read as
// windows-1252, as browsers and mail programs do (WHATWG Encoding), so text shown in C1 code
// points is seen the way the reader sees it.
import Glibc

/// Character set conversion to UTF-8.
public enum MIMECharset {
    /// The result of a conversion.
    public struct Result: Sendable, Hashable {
        public var text: String
        /// The declared charset was unknown, or some bytes were not valid in it.
        public var usedFallback: Bool
    }

    /// The canonical lower-case name of a charset label, with the common aliases resolved.
    public static func canonicalName(_ label: String) -> String {
        var name: String
        if label.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII (every label seen in practice): lower-casing and the filter below are byte
            // operations (white space is HT, LF, VT, FF, CR and space; CR LF, one Character, goes whole).
            var bytes = [UInt8]()
            bytes.reserveCapacity(label.utf8.count)
            for c in label.utf8 where !((c >= 9 && c <= 13) || c == 32 || c == 34 || c == 39) {
                bytes.append(c >= 65 && c <= 90 ? c + 32 : c)
            }
            name = String(decoding: bytes, as: UTF8.self)
        } else {
            name = label.lowercased()
            name = String(name.filter { !$0.isWhitespace && $0 != "\"" && $0 != "'" })
        }
        switch name {
        case "utf8", "utf-8", "unicode-1-1-utf-8", "x-unicode20utf8": return "utf-8"
        case "ascii", "us-ascii", "us", "ansi_x3.4-1968", "iso646-us", "cp367", "ibm367", "646":
            return "us-ascii"
        case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "iso_8859-1", "l1", "cp819", "iso-ir-100", "iso_8859-1:1987":
            return "iso-8859-1"
        case "windows-1252", "cp1252", "x-cp1252", "win-1252": return "windows-1252"
        case "ks_c_5601-1987", "ks_c_5601", "ksc5601", "euc-kr", "x-windows-949", "cp949": return "cp949"
        case "gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "x-euc-cn", "chinese": return "gb18030"
        case "x-sjis", "shift-jis", "sjis", "ms_kanji", "shift_jis", "x-ms-cp932", "cp932", "windows-31j": return "cp932"
        case "big5", "x-big5", "big5-hkscs", "cn-big5": return "big5-hkscs"
        case "x-mac-roman", "macintosh", "mac": return "macintosh"
        case "unicode", "utf16": return "utf-16"
        default: return name
        }
    }

    /// Converts `bytes` in `charset` (nil: undeclared) to UTF-8 text.
    public static func decode(_ bytes: some Collection<UInt8>, charset: String?) -> Result {
        let array = Array(bytes)
        let name = charset.map(canonicalName) ?? "us-ascii"
        switch name {
        case "utf-8":
            return decodeUTF8OrFallback(array)
        case "us-ascii":
            // Undeclared or ASCII-declared 8-bit text: UTF-8 if valid (RFC 6532 headers and
            // unlabelled UTF-8 bodies are common), else windows-1252. (ASCII is valid UTF-8:
            // one validating pass, no separate ASCII check.)
            return decodeUTF8OrFallback(array)
        case "iso-8859-1", "windows-1252":
            return Result(text: windows1252(array), usedFallback: false)
        default:
            if isASCII(array) && isASCIICompatible(name) {
                return Result(text: String(decoding: array, as: UTF8.self), usedFallback: false)
            }
            if let converted = iconvDecode(array, from: name) { return converted }
            var fallback = decodeUTF8OrFallback(array)
            fallback.usedFallback = true
            return fallback
        }
    }

    /// Whether every byte is below 0x80 (eight bytes at a time).
    static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            let n = raw.count
            var i = 0
            while i + 8 <= n {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
                i += 8
            }
            while i < n {
                if raw[i] >= 0x80 { return false }
                i += 1
            }
            return true
        }
    }

    /// Charsets whose ASCII bytes mean ASCII (not UTF-16/32, UTF-7, ISO-2022 and HZ escapes, EBCDIC).
    static func isASCIICompatible(_ name: String) -> Bool {
        !(name.hasPrefix("utf-16") || name.hasPrefix("utf-32") || name.hasPrefix("utf-7") || name.hasPrefix("ucs")
            || name.hasPrefix("iso-2022") || name.hasPrefix("iso2022") || name.hasPrefix("hz")
            || name.hasPrefix("ibm0") || name.hasPrefix("cp037") || name.hasPrefix("ebcdic") || name == "utf16")
    }

    static func decodeUTF8OrFallback(_ bytes: [UInt8]) -> Result {
        if let valid = String(validating: bytes, as: UTF8.self) { return Result(text: valid, usedFallback: false) }
        return Result(text: windows1252(bytes), usedFallback: true)
    }

    /// windows-1252 to Unicode for 0x80–0x9F; the rest is Latin-1.
    static let cp1252High: [UInt16] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]

    /// Decodes windows-1252 (never fails).
    public static func windows1252(_ bytes: some Collection<UInt8>) -> String {
        if let text = bytes.withContiguousStorageIfAvailable({ windows1252(buffer: $0) }) { return text }
        return Array(bytes).withUnsafeBufferPointer { windows1252(buffer: $0) }
    }

    static func windows1252(buffer bytes: UnsafeBufferPointer<UInt8>) -> String {
        // At most three UTF-8 bytes per input byte; written in place, ASCII runs copied whole.
        let out = [UInt8](unsafeUninitializedCapacity: bytes.count * 3) { o, written in
            var w = 0
            var i = 0
            let n = bytes.count
            cp1252High.withUnsafeBufferPointer { high in
                let raw = UnsafeRawPointer(bytes.baseAddress)
                while i < n {
                    let b = bytes[i]
                    if b < 0x80 {
                        // ASCII, eight bytes at a time while it lasts.
                        if let raw, let dst = o.baseAddress {
                            while i + 8 <= n {
                                let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                                if x & 0x8080_8080_8080_8080 != 0 { break }
                                UnsafeMutableRawPointer(dst + w).storeBytes(of: x, as: UInt64.self)
                                w += 8; i += 8
                            }
                            if i >= n || bytes[i] >= 0x80 { continue }
                        }
                        o[w] = bytes[i]; w += 1; i += 1
                        continue
                    }
                    let v: UInt32 = b < 0xA0 ? UInt32(high[Int(b - 0x80)]) : UInt32(b)
                    if v < 0x800 {
                        o[w] = UInt8(0xC0 | (v >> 6))
                        o[w + 1] = UInt8(0x80 | (v & 0x3F))
                        w += 2
                    } else {
                        o[w] = UInt8(0xE0 | (v >> 12))
                        o[w + 1] = UInt8(0x80 | ((v >> 6) & 0x3F))
                        o[w + 2] = UInt8(0x80 | (v & 0x3F))
                        w += 3
                    }
                    i += 1
                }
            }
            written = w
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether a charset name is safe to hand to iconv.
    static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 40 && name.utf8.allSatisfy {
            ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 || $0 == 46 || $0 == 58
        }
    }

    /// Converts with iconv; nil if iconv does not know the charset. Unconvertible bytes become
    /// U+FFFD and set `usedFallback`.
    static func iconvDecode(_ input: [UInt8], from name: String) -> Result? {
        guard isSafeName(name) else { return nil }
        let cd = iconv_open("UTF-8", name)
        guard let cd, cd != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(cd) }
        var output = [UInt8]()
        output.reserveCapacity(input.count * 2 + 16)
        var sawError = false
        var inputCopy = input
        let capacity = 16_384
        var scratch = [UInt8](repeating: 0, count: capacity)
        inputCopy.withUnsafeMutableBufferPointer { inBuf in
            scratch.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress)?.assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var finished = false
                while !finished {
                    var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                    var outLeft = capacity
                    let rc: Int
                    if inLeft > 0 {
                        rc = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                    } else {
                        rc = iconv(cd, nil, nil, &outPtr, &outLeft)
                        finished = true
                    }
                    let produced = capacity - outLeft
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: outBuf[0..<produced]))
                    if rc == -1 {
                        let e = errno
                        if e == E2BIG { finished = false; continue }
                        // EILSEQ or EINVAL: replace one byte, go on.
                        sawError = true
                        output += [0xEF, 0xBF, 0xBD]
                        if inLeft > 0 {
                            inPtr = inPtr.map { $0 + 1 }
                            inLeft -= 1
                        }
                    }
                }
            }
        }
        return Result(text: String(decoding: output, as: UTF8.self), usedFallback: sawError)
    }
}

extension MIMECharset {
    /// Encodes `text` into `charset` (for rewriting bodies in their own charset). Characters the
    /// charset cannot hold become '?'. Nil only if the charset is unknown and `text` is not ASCII.
    public static func encode(_ text: String, charset: String) -> [UInt8]? {
        let name = canonicalName(charset)
        let utf8 = Array(text.utf8)
        if name == "utf-8" { return utf8 }
        if utf8.allSatisfy({ $0 < 0x80 }) && isASCIICompatible(name) { return utf8 }
        if name == "us-ascii" { return text.unicodeScalars.map { $0.isASCII ? UInt8($0.value) : 63 } }
        if name == "iso-8859-1" || name == "windows-1252" {
            return text.unicodeScalars.map { s in
                if s.value < 0x80 || (s.value >= 0xA0 && s.value <= 0xFF) { return UInt8(s.value) }
                if let k = cp1252High.firstIndex(of: UInt16(truncatingIfNeeded: s.value)), s.value <= 0xFFFF { return UInt8(0x80 + k) }
                return 63
            }
        }
        guard isSafeName(name) else { return nil }
        let cd = iconv_open(name, "UTF-8")
        guard let cd, cd != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(cd) }
        var output = [UInt8]()
        for scalar in text.unicodeScalars {
            var input = Array(String(scalar).utf8)
            var scratch = [UInt8](repeating: 0, count: 16)
            let produced: Int = input.withUnsafeMutableBufferPointer { inBuf in
                scratch.withUnsafeMutableBufferPointer { outBuf in
                    var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                    var inLeft = inBuf.count
                    var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                    var outLeft = 16
                    let rc = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                    return rc == -1 ? -1 : 16 - outLeft
                }
            }
            if produced < 0 { output.append(63) } else { output += scratch[0..<produced] }
        }
        var tail = [UInt8](repeating: 0, count: 16)
        let flushed: Int = tail.withUnsafeMutableBufferPointer { outBuf in
            var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
            var outLeft = 16
            _ = iconv(cd, nil, nil, &outPtr, &outLeft)
            return 16 - outLeft
        }
        output += tail[0..<flushed]
        return output
    }
}
