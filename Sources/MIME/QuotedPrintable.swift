// QuotedPrintable.swift — RFC 2045 §6.7 quoted-printable, and the Q encoding of RFC 2047 §4.2.
//
// What it does: decodes quoted-printable bodies (streaming output to a sink) and encodes text
// for the rewriter (disclaimers) and the tests.
//
// Diagnostics: `malformed` reports an '=' not followed by two hex digits or a line break; the
// '=' is then kept literally, as RFC 2045 §6.7 (note 1) recommends and mail programs do.
//
// Security notes: trailing white space is removed before decoding (rule 3), lower-case hex is
// accepted (a robustness deviation that mail programs share).

import Glibc

/// Quoted-printable encoding and decoding.
public enum QuotedPrintable {
    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }

    /// Decodes `input`, calling `sink` with chunks of output. Returns whether it was malformed.
    @discardableResult
    public static func decode(
        _ input: UnsafeBufferPointer<UInt8>,
        chunkSize: Int = 65_536,
        sink: (UnsafeBufferPointer<UInt8>) -> Void
    ) -> Bool {
        var malformed = false
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunkSize + 4) { out in
            var o = 0
            var lineStart = 0
            let count = input.count
            let base = input.baseAddress
            while lineStart < count {
                // Find the end of this line.
                var lineEnd = count
                if let base, let lf = memchr(base + lineStart, 10, count - lineStart) {
                    lineEnd = base.distance(to: lf.assumingMemoryBound(to: UInt8.self))
                }
                let hasLF = lineEnd < count
                var contentEnd = lineEnd
                let hadCR = contentEnd > lineStart && input[contentEnd - 1] == 13
                if hadCR { contentEnd -= 1 }
                // Rule 3: trailing white space is not part of the data.
                while contentEnd > lineStart && (input[contentEnd - 1] == 32 || input[contentEnd - 1] == 9) {
                    contentEnd -= 1
                }
                var softBreak = false
                var i = lineStart
                while i < contentEnd {
                    let c = input[i]
                    if c != 61, let base {
                        // A run without '=': copied whole (as much as the chunk holds).
                        var e = contentEnd
                        if let eq = memchr(base + i, 61, contentEnd - i) { e = base.distance(to: eq.assumingMemoryBound(to: UInt8.self)) }
                        e = min(e, i + (chunkSize - o))
                        (out.baseAddress! + o).update(from: base + i, count: e - i)
                        o += e - i
                        i = e
                        if o >= chunkSize { sink(UnsafeBufferPointer(rebasing: out[0..<o])); o = 0 }
                        continue
                    }
                    if c == 61 {  // '='
                        if i + 1 == contentEnd {
                            softBreak = true
                            i += 1
                            continue
                        }
                        if i + 2 < contentEnd, let hi = hexValue(input[i + 1]), let lo = hexValue(input[i + 2]) {
                            out[o] = hi << 4 | lo; o += 1
                            i += 3
                        } else {
                            malformed = true
                            out[o] = c; o += 1
                            i += 1
                        }
                    } else {
                        out[o] = c; o += 1
                        i += 1
                    }
                    if o >= chunkSize { sink(UnsafeBufferPointer(rebasing: out[0..<o])); o = 0 }
                }
                if hasLF && !softBreak {
                    if hadCR { out[o] = 13; o += 1 }
                    out[o] = 10; o += 1
                }
                if o >= chunkSize { sink(UnsafeBufferPointer(rebasing: out[0..<o])); o = 0 }
                lineStart = hasLF ? lineEnd + 1 : count
            }
            if o > 0 { sink(UnsafeBufferPointer(rebasing: out[0..<o])) }
        }
        return malformed
    }

    /// Decodes `input` into an array.
    public static func decode(_ input: some Collection<UInt8>) -> (bytes: [UInt8], malformed: Bool) {
        var result = [UInt8]()
        let array = Array(input)
        let malformed = array.withUnsafeBufferPointer { buf in decode(buf) { result.append(contentsOf: $0) } }
        return (result, malformed)
    }

    /// Encodes `input` as quoted-printable with lines of at most 76 characters.
    ///
    /// In text mode (`binary == false`) CRLF and LF are hard line breaks written as `lineBreak`;
    /// in binary mode every CR and LF is encoded, so decoding gives back exactly `input`.
    public static func encode(_ input: some Collection<UInt8>, binary: Bool = false, lineBreak: [UInt8] = [13, 10]) -> [UInt8] {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        let bytes = Array(input)
        var out = [UInt8]()
        var line = [UInt8]()
        func flushSoft() { out += line; out.append(61); out += lineBreak; line.removeAll(keepingCapacity: true) }
        func emit(_ token: [UInt8]) {
            if line.count + token.count > 75 { flushSoft() }
            line += token
        }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if !binary && (c == 10 || (c == 13 && i + 1 < bytes.count && bytes[i + 1] == 10)) {
                // Trailing white space before a hard break must be encoded (rule 3).
                if let last = line.last, last == 32 || last == 9 {
                    line.removeLast()
                    if line.count + 3 > 75 { flushSoft() }
                    line += [61, hex[Int(last >> 4)], hex[Int(last & 15)]]
                }
                out += line; out += lineBreak; line.removeAll(keepingCapacity: true)
                i += c == 13 ? 2 : 1
                continue
            }
            let literal = (c >= 33 && c <= 126 && c != 61) || c == 32 || c == 9
            // A dot alone at line start is encoded too, for SMTP safety (RFC 2049 §3).
            if literal && !(c == 46 && line.isEmpty) {
                emit([c])
            } else {
                emit([61, hex[Int(c >> 4)], hex[Int(c & 15)]])
            }
            i += 1
        }
        if let last = line.last, last == 32 || last == 9 {
            line.removeLast()
            if line.count + 3 > 75 { flushSoft() }
            line += [61, hex[Int(last >> 4)], hex[Int(last & 15)]]
        }
        out += line
        return out
    }
}
