// EncodedWord.swift — RFC 2047 encoded words (`=?charset?B|Q?text?=`), decoding and encoding.
//
// What it does: decodes every encoded word in a header value, joins adjacent words (dropping the
// white space between them, RFC 2047 §6.2) and their bytes before charset conversion (so a UTF-8
// character split across two words survives), and decodes raw 8-bit text as UTF-8 (RFC 6532)
// with the windows-1252 fallback. Encodes text into words for the rewriter and the tests.
//
// Diagnostics: undecodable words are left as they are and reported (`malformedEncodedWord`);
// non-UTF-8 raw bytes are reported (`eightBitInHeader`).
//
// Security notes: words are also decoded inside quoted strings and when glued to other text,
// as mail programs do (RFC 2047 §5 forbids both); a filter that did not would see a different
// filename or sender name than the reader.

import Glibc

/// RFC 2047 encoded words.
public enum EncodedWord {
    /// The transfer encoding of an encoded word.
    public enum Encoding: Sendable { case base64, q }

    /// The result of decoding a header value.
    public struct Decoded: Sendable, Hashable {
        public var text: String
        public var defects: MIMEDefects
    }

    private struct Word { var charset: String; var bytes: [UInt8] }

    /// Decodes every encoded word in `raw`.
    public static func decode(_ raw: some Collection<UInt8>) -> Decoded {
        let bytes = Array(raw)
        // No "=?", no word: the whole value is one literal (most values, parameter values among them).
        if !containsWordStart(bytes) {
            if let s = String(validating: bytes, as: UTF8.self) { return Decoded(text: s, defects: []) }
            return Decoded(text: MIMECharset.windows1252(bytes), defects: .eightBitInHeader)
        }
        var defects: MIMEDefects = []
        var text = ""
        var pendingLiteral = [UInt8]()
        var pendingWords: [Word] = []
        var lastWasWord = false

        func flushWords() {
            guard !pendingWords.isEmpty else { return }
            // Join adjacent words of the same charset before conversion.
            var i = 0
            while i < pendingWords.count {
                var joined = pendingWords[i].bytes
                var j = i + 1
                while j < pendingWords.count && pendingWords[j].charset == pendingWords[i].charset {
                    joined += pendingWords[j].bytes
                    j += 1
                }
                let result = MIMECharset.decode(joined, charset: pendingWords[i].charset)
                if result.usedFallback { defects.insert(.charsetFallback) }
                text += result.text
                i = j
            }
            pendingWords.removeAll()
        }
        func flushLiteral() {
            guard !pendingLiteral.isEmpty else { return }
            if let s = String(validating: pendingLiteral, as: UTF8.self) {
                text += s
            } else {
                defects.insert(.eightBitInHeader)
                text += MIMECharset.windows1252(pendingLiteral)
            }
            pendingLiteral.removeAll()
        }

        var i = 0
        let n = bytes.count
        while i < n {
            if bytes[i] == 61, i + 1 < n, bytes[i + 1] == 63, let (word, end) = parseWord(bytes, at: i) {
                // White space between two encoded words is dropped (§6.2).
                if lastWasWord && pendingLiteral.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 || $0 == 10 }) {
                    pendingLiteral.removeAll()
                } else {
                    flushWords()
                    flushLiteral()
                }
                if let word {
                    pendingWords.append(word)
                    lastWasWord = true
                } else {
                    defects.insert(.malformedEncodedWord)
                    flushWords()
                    pendingLiteral += bytes[i..<end]
                    lastWasWord = false
                }
                i = end
                continue
            }
            if lastWasWord && !(bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 13 || bytes[i] == 10) {
                flushWords()
                lastWasWord = false
            }
            pendingLiteral.append(bytes[i])
            i += 1
        }
        flushWords()
        flushLiteral()
        return Decoded(text: text, defects: defects)
    }

    /// Whether "=?" occurs in `bytes` (found with memchr).
    static func containsWordStart(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return false }
            let n = b.count
            var k = 0
            while k < n, let hit = memchr(base + k, 61, n - k) {
                k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + 1
                if k < n && base[k] == 63 { return true }
            }
            return false
        }
    }

    /// Parses the word starting at `start` ("=?"). Returns nil if there is no word shape at all;
    /// `(nil, end)` if it has the shape but cannot be decoded.
    private static func parseWord(_ b: [UInt8], at start: Int) -> (Word?, Int)? {
        let n = b.count
        var i = start + 2
        let csStart = i
        while i < n, b[i] != 63, b[i] > 32, b[i] < 127 { i += 1 }
        guard i < n, b[i] == 63, i > csStart, i + 2 < n, b[i + 2] == 63 else { return nil }
        var charset = String(decoding: b[csStart..<i], as: UTF8.self)
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }  // RFC 2231 §5 language
        let encodingChar = b[i + 1] | 0x20
        let textStart = i + 3
        var j = textStart
        // Encoded text ends at "?="; it may not contain white space.
        while j + 1 < n, !(b[j] == 63 && b[j + 1] == 61) {
            if b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13 { return nil }
            j += 1
        }
        guard j + 1 < n else { return nil }
        let end = j + 2
        let encoded = b[textStart..<j]
        switch encodingChar {
        case UInt8(ascii: "b"):
            let (decoded, report) = Base64.decode(encoded)
            if report.junkCharacters { return (nil, end) }
            return (Word(charset: charset, bytes: decoded), end)
        case UInt8(ascii: "q"):
            var out = [UInt8]()
            out.reserveCapacity(encoded.count)
            var k = encoded.startIndex
            while k < encoded.endIndex {
                let c = encoded[k]
                if c == 95 {
                    out.append(32)
                } else if c == 61, k + 2 < encoded.endIndex,
                          let hi = QuotedPrintable.hexValue(encoded[k + 1]), let lo = QuotedPrintable.hexValue(encoded[k + 2]) {
                    out.append(hi << 4 | lo)
                    k += 2
                } else {
                    out.append(c)
                }
                k += 1
            }
            return (Word(charset: charset, bytes: out), end)
        default:
            return (nil, end)
        }
    }

    /// Encodes `text` as UTF-8 encoded words of at most 75 characters each, separated by a space
    /// (RFC 2047 §2, §5). Characters are never split across words.
    public static func encode(_ text: String, encoding: Encoding = .base64) -> String {
        let prefix = "=?utf-8?" + (encoding == .base64 ? "B" : "Q") + "?"
        let budget = 75 - prefix.utf8.count - 2
        var words: [String] = []
        var chunk = [UInt8]()
        func encodedLength(_ bytes: [UInt8]) -> Int {
            switch encoding {
            case .base64: return (bytes.count + 2) / 3 * 4
            case .q: return qEncode(bytes).count
            }
        }
        func flush() {
            guard !chunk.isEmpty else { return }
            let body = encoding == .base64 ? Base64.encode(chunk, lineLength: 0) : qEncode(chunk)
            words.append(prefix + String(decoding: body, as: UTF8.self) + "?=")
            chunk.removeAll()
        }
        for ch in text {
            let bytes = Array(String(ch).utf8)
            if !chunk.isEmpty && encodedLength(chunk + bytes) > budget { flush() }
            chunk += bytes
        }
        flush()
        if words.isEmpty { return prefix + "?=" }
        return words.joined(separator: " ")
    }

    static func qEncode(_ bytes: [UInt8]) -> [UInt8] {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        for c in bytes {
            if c == 32 {
                out.append(95)
            } else if (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 33 || c == 42 || c == 43 || c == 45 || c == 47 {
                out.append(c)
            } else {
                out += [61, hex[Int(c >> 4)], hex[Int(c & 15)]]
            }
        }
        return out
    }
}
