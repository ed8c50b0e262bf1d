// Base64.swift — RFC 2045 §6.8 base64, decoded the tolerant way mail programs do.
//
// What it does: decodes base64 bodies and encoded words, streaming the output in chunks to a
// sink; encodes for the rewriter and the tests.
//
// Diagnostics: `Base64Decoder.Report` says whether characters outside the alphabet (other than
// white space) were skipped, whether the padding was wrong and whether data followed padding.
//
// Security notes: junk is skipped rather than ending the decode, and data after '=' padding is
// decoded too (as Thunderbird and Outlook do) — a scanner that stopped at the padding would
// miss what the recipient sees. Both are flagged as `malformedBase64`.

/// Base64 encoding and tolerant decoding (RFC 2045 §6.8, RFC 4648 §4).
public enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0–63 for alphabet bytes, 64 for '=', 65 for white space, 255 for junk.
    static let table: [UInt8] = {
        var t = [UInt8](repeating: 255, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "="))] = 64
        for c in [UInt8(ascii: " "), 9, 10, 13] { t[Int(c)] = 65 }
        return t
    }()

    /// What a decode found wrong.
    public struct Report: Sendable, Hashable {
        public var junkCharacters = false
        public var badPadding = false
        public var dataAfterPadding = false
        public var isClean: Bool { !junkCharacters && !badPadding && !dataAfterPadding }
    }

    /// Decodes `input`, calling `sink` with chunks of output of at most `chunkSize` bytes.
    @discardableResult
    public static func decode(
        _ input: UnsafeBufferPointer<UInt8>,
        chunkSize: Int = 65_536,
        sink: (UnsafeBufferPointer<UInt8>) -> Void
    ) -> Report {
        var report = Report()
        var padded = false
        var acc: UInt32 = 0
        var n = 0
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunkSize + 3) { out in
            var o = 0
            table.withUnsafeBufferPointer { table in
                var idx = 0
                let count = input.count
                while idx < count {
                    // Fast path: a whole quantum of four alphabet characters.
                    if n == 0 && !padded && idx + 4 <= count {
                        let a = table[Int(input[idx])], b = table[Int(input[idx + 1])]
                        let c = table[Int(input[idx + 2])], d = table[Int(input[idx + 3])]
                        if a | b | c | d < 64 {
                            out[o] = a << 2 | b >> 4
                            out[o + 1] = b << 4 | c >> 2
                            out[o + 2] = c << 6 | d
                            o += 3
                            idx += 4
                            if o >= chunkSize { sink(UnsafeBufferPointer(rebasing: out[0..<o])); o = 0 }
                            continue
                        }
                    }
                    let c = input[idx]
                    idx += 1
                    let v = table[Int(c)]
                    if v < 64 {
                        if padded { report.dataAfterPadding = true; padded = false }
                        acc = acc << 6 | UInt32(v)
                        n += 1
                        if n == 4 {
                            out[o] = UInt8(truncatingIfNeeded: acc >> 16)
                            out[o + 1] = UInt8(truncatingIfNeeded: acc >> 8)
                            out[o + 2] = UInt8(truncatingIfNeeded: acc)
                            o += 3
                            n = 0; acc = 0
                            if o >= chunkSize { sink(UnsafeBufferPointer(rebasing: out[0..<o])); o = 0 }
                        }
                    } else if v == 65 {
                        continue
                    } else if v == 64 {
                        if n == 2 {
                            out[o] = UInt8(truncatingIfNeeded: acc >> 4); o += 1
                            n = 0; acc = 0; padded = true
                        } else if n == 3 {
                            out[o] = UInt8(truncatingIfNeeded: acc >> 10)
                            out[o + 1] = UInt8(truncatingIfNeeded: acc >> 2)
                            o += 2
                            n = 0; acc = 0; padded = true
                        } else if n == 1 {
                            report.badPadding = true; n = 0; acc = 0; padded = true
                        } else if !padded {
                            report.badPadding = true
                        }
                    } else {
                        report.junkCharacters = true
                    }
                }
                if n == 1 {
                    report.badPadding = true
                } else if n == 2 {
                    out[o] = UInt8(truncatingIfNeeded: acc >> 4); o += 1
                    report.badPadding = true
                } else if n == 3 {
                    out[o] = UInt8(truncatingIfNeeded: acc >> 10)
                    out[o + 1] = UInt8(truncatingIfNeeded: acc >> 2)
                    o += 2
                    report.badPadding = true
                }
                if o > 0 { sink(UnsafeBufferPointer(rebasing: out[0..<o])) }
            }
        }
        return report
    }

    /// Decodes `input` into an array.
    public static func decode(_ input: some Collection<UInt8>) -> (bytes: [UInt8], report: Report) {
        var result = [UInt8]()
        let array = Array(input)
        let report = array.withUnsafeBufferPointer { buf in
            decode(buf) { result.append(contentsOf: $0) }
        }
        return (result, report)
    }

    /// Encodes `input`, breaking lines at `lineLength` characters (0: no breaks) with `lineBreak`.
    public static func encode(_ input: some Collection<UInt8>, lineLength: Int = 76, lineBreak: [UInt8] = [13, 10]) -> [UInt8] {
        let bytes = Array(input)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count / 3 * 4 + bytes.count / 57 * 2 + 8)
        var column = 0
        func put(_ c: UInt8) {
            if lineLength > 0 && column == lineLength { out += lineBreak; column = 0 }
            out.append(c); column += 1
        }
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            put(alphabet[Int(v >> 18 & 63)]); put(alphabet[Int(v >> 12 & 63)])
            put(alphabet[Int(v >> 6 & 63)]); put(alphabet[Int(v & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            put(alphabet[Int(v >> 18 & 63)]); put(alphabet[Int(v >> 12 & 63)]); put(61); put(61)
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            put(alphabet[Int(v >> 18 & 63)]); put(alphabet[Int(v >> 12 & 63)]); put(alphabet[Int(v >> 6 & 63)]); put(61)
        }
        return out
    }
}
