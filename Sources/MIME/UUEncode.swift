// UUEncode.swift — uuencoded blocks ("begin 644 name" … "end") inside text, and the
// x-uuencode transfer encoding.
//
// What it does: finds blocks in decoded text and decodes them line by line (POSIX uuencode:
// each line starts with its byte count + 32, then 4 characters per 3 bytes; '`' is zero).
//
// Diagnostics: `malformed` for lines with bad characters or lengths, or a missing "end".
// Security notes: blocks are found anywhere in a text part, so a program hidden in an "email
// body" is listed as a file of its own and scanned.

/// Uuencode decoding.
public enum UUEncode {
    /// One block found in text.
    public struct Block: Sendable, Hashable {
        public var filename: String
        public var mode: String
        public var data: [UInt8]
        public var malformed: Bool
    }

    /// Finds and decodes the blocks in `text` (at most `limit`).
    public static func blocks(in text: some Collection<UInt8>, limit: Int) -> [Block] {
        let bytes = Array(text)
        var result: [Block] = []
        var lines: [Range<Int>] = []
        var start = 0
        for (i, c) in bytes.enumerated() where c == 10 {
            var end = i
            if end > start && bytes[end - 1] == 13 { end -= 1 }
            lines.append(start..<end)
            start = i + 1
        }
        if start < bytes.count { lines.append(start..<bytes.count) }
        var k = 0
        while k < lines.count, result.count < limit {
            let line = bytes[lines[k]]
            guard line.starts(with: Array("begin ".utf8)) else { k += 1; continue }
            // "begin" SP mode SP name — mode is 3 or 4 octal digits.
            let rest = Array(line.dropFirst(6))
            guard let space = rest.firstIndex(of: 32), (3...4).contains(space),
                  rest[..<space].allSatisfy({ $0 >= 48 && $0 <= 55 }) else { k += 1; continue }
            let mode = String(decoding: rest[..<space], as: UTF8.self)
            let name = String(decoding: rest[(space + 1)...], as: UTF8.self).trimmingSpaces()
            var data = [UInt8]()
            var malformed = false
            var ended = false
            k += 1
            while k < lines.count {
                let l = Array(bytes[lines[k]])
                k += 1
                if l == Array("end".utf8) || l.starts(with: Array("end ".utf8)) { ended = true; break }
                if !decodeLine(l, into: &data) { malformed = true }
            }
            if !ended { malformed = true }
            result.append(Block(filename: name, mode: mode, data: data, malformed: malformed))
        }
        return result
    }

    /// Decodes one line; false if it was malformed.
    static func decodeLine(_ l: [UInt8], into out: inout [UInt8]) -> Bool {
        guard let first = l.first else { return true }
        let n = Int((first &- 32) & 63)
        if n == 0 { return true }
        var ok = true
        var produced = 0
        var i = 1
        while produced < n {
            var q = [UInt8](repeating: 0, count: 4)
            for j in 0..<4 {
                if i + j < l.count {
                    let c = l[i + j]
                    if c < 32 || c > 96 { ok = false }
                    q[j] = (c &- 32) & 63
                } else {
                    ok = false
                }
            }
            let bytes = [q[0] << 2 | q[1] >> 4, q[1] << 4 | q[2] >> 2, q[2] << 6 | q[3]]
            for b in bytes where produced < n { out.append(b); produced += 1 }
            i += 4
        }
        return ok
    }

    /// Encodes `data` as one block (for tests and fixtures).
    public static func encode(_ data: [UInt8], filename: String, mode: String = "644") -> [UInt8] {
        var out = Array("begin \(mode) \(filename)\n".utf8)
        var i = 0
        func ch(_ v: UInt8) -> UInt8 { v == 0 ? 96 : v + 32 }
        while i < data.count {
            let chunk = Array(data[i..<min(i + 45, data.count)])
            out.append(ch(UInt8(chunk.count)))
            var j = 0
            while j < chunk.count {
                let a = chunk[j], b = j + 1 < chunk.count ? chunk[j + 1] : 0, c = j + 2 < chunk.count ? chunk[j + 2] : 0
                out += [ch(a >> 2), ch((a << 4 | b >> 4) & 63), ch((b << 2 | c >> 6) & 63), ch(c & 63)]
                j += 3
            }
            out.append(10)
            i += 45
        }
        out += Array("`\nend\n".utf8)
        return out
    }
}

/// Decoding of a body by its transfer encoding.
enum ContentDecoder {
    struct Report {
        var malformedBase64 = false
        var malformedQuotedPrintable = false
        var malformedUUEncode = false
    }

    @discardableResult
    static func decode(_ body: UnsafeBufferPointer<UInt8>, encoding: MIMETransferEncoding,
                       sink: (UnsafeBufferPointer<UInt8>) -> Void) -> Report {
        var report = Report()
        switch encoding {
        case .base64:
            report.malformedBase64 = !Base64.decode(body, sink: sink).isClean
        case .quotedPrintable:
            report.malformedQuotedPrintable = QuotedPrintable.decode(body, sink: sink)
        case .uuencode:
            let blocks = UUEncode.blocks(in: body, limit: 1)
            if let block = blocks.first {
                report.malformedUUEncode = block.malformed
                block.data.withUnsafeBufferPointer { sink($0) }
            } else {
                report.malformedUUEncode = true
                sink(body)
            }
        default:
            // Identity: hand over in chunks so consumers see bounded pieces.
            var start = 0
            while start < body.count {
                let end = min(start + 65_536, body.count)
                sink(UnsafeBufferPointer(rebasing: body[start..<end]))
                start = end
            }
        }
        return report
    }
}
