// MIMEURL.swift — finding and normalising URLs (RFC 3986) for URI rules and block lists.
//
// What it does: finds http, https and ftp URLs and bare "www." hosts in text, and normalises
// them: scheme and host lower-cased, user information and fragment dropped, host
// percent-decoded, numeric hosts in decimal, octal or hex turned into dotted quads, default
// ports removed, backslashes read as slashes (as browsers do), unreserved characters in the
// path percent-decoded (RFC 3986 §6.2.2).
//
// Security notes: the tricks that hide a host from naive matching — "http://bank.com@evil.net",
// "http://0x7f.1/", "HTTP://EVIL.NET", "http:\\evil.net" — all normalise to the real host.
// International hosts are kept in Unicode, lower-cased (no IDNA conversion).

/// URL extraction and normalisation.
public enum MIMEURL {
    /// Finds URLs in free text, normalised, in order, without duplicates.
    public static func extract(from text: String) -> [String] {
        let bytes = Array(text.utf8)
        var found: [String] = []
        var i = 0
        let n = bytes.count
        func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
        func matches(_ s: String, at k: Int) -> Bool {
            let p = Array(s.utf8)
            guard k + p.count <= n else { return false }
            for j in 0..<p.count where lower(bytes[k + j]) != p[j] { return false }
            return true
        }
        while i < n {
            let c = lower(bytes[i])
            var start = -1
            if c == 104 && (matches("http://", at: i) || matches("https://", at: i) || matches("http:\\\\", at: i) || matches("https:\\\\", at: i)) {
                start = i
            } else if c == 102 && matches("ftp://", at: i) {
                start = i
            } else if c == 119 && matches("www.", at: i) && (i == 0 || !isURLByte(bytes[i - 1]) || bytes[i - 1] == 40) {
                start = i
            }
            if start < 0 { i += 1; continue }
            var e = start
            while e < n, isURLByte(bytes[e]) { e += 1 }
            let raw = String(decoding: bytes[start..<e], as: UTF8.self)
            if let url = normalize(raw), !found.contains(url) { found.append(url) }
            i = max(e, i + 1)
        }
        return found
    }

    static func isURLByte(_ c: UInt8) -> Bool {
        if c >= 128 { return true }
        if c <= 32 || c == 127 { return false }
        switch c {
        case 34, 60, 62, 96, 123, 125, 124, 94: return false  // " < > ` { } | ^
        default: return true
        }
    }

    /// Normalises one URL; nil if it is not an http, https or ftp URL (or a bare www. host).
    public static func normalize(_ input: String) -> String? {
        var s = input.trimmingSpaces()
        // Trailing punctuation that is almost always sentence punctuation.
        while let last = s.last, ".,;:!?)]'\"".contains(last) {
            if last == ")" && s.contains("(") { break }
            s.removeLast()
        }
        s = s.replacingBackslashes()
        var scheme = "http"
        var rest: Substring
        if let r = s.firstRange(of: "://") {
            scheme = s[s.startIndex..<r.lowerBound].lowercased()
            rest = s[r.upperBound...]
        } else if s.lowercased().hasPrefix("www.") {
            rest = Substring(s)
        } else {
            return nil
        }
        guard ["http", "https", "ftp"].contains(scheme) else { return nil }
        while rest.first == "/" { rest.removeFirst() }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = String(rest[rest.startIndex..<authorityEnd])
        var tail = String(rest[authorityEnd...])
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        var port: String?
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            port = String(authority[authority.index(after: colon)...])
            authority = String(authority[..<colon])
        }
        var host = percentDecode(authority, onlyUnreserved: false).lowercased()
        while host.hasSuffix(".") { host.removeLast() }
        guard !host.isEmpty else { return nil }
        if let quad = numericHost(host) { host = quad }
        if let p = port {
            if p.isEmpty || (scheme == "http" && p == "80") || (scheme == "https" && p == "443") || (scheme == "ftp" && p == "21") {
                port = nil
            } else if let v = Int(p) {
                port = String(v)
            }
        }
        if let hash = tail.firstIndex(of: "#") { tail = String(tail[..<hash]) }
        if tail.isEmpty || tail.first == "?" { tail = "/" + tail }
        tail = percentDecode(tail, onlyUnreserved: true)
        return scheme + "://" + host + (port.map { ":" + $0 } ?? "") + tail
    }

    /// Dotted quad for hosts written as one number or with octal/hex parts (inet_aton forms).
    static func numericHost(_ host: String) -> String? {
        let pieces = host.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(pieces.count) else { return nil }
        var values: [UInt64] = []
        for piece in pieces {
            let p = piece.lowercased()
            let v: UInt64?
            if p.hasPrefix("0x") { v = UInt64(p.dropFirst(2), radix: 16) ?? (p.count == 2 ? 0 : nil) }
            else if p.hasPrefix("0") && p.count > 1 { v = UInt64(p.dropFirst(), radix: 8) }
            else { v = UInt64(p, radix: 10) }
            guard let v else { return nil }
            values.append(v)
        }
        var address: UInt64 = 0
        switch values.count {
        case 1: address = values[0]
        case 2: guard values[0] < 256, values[1] < 1 << 24 else { return nil }; address = values[0] << 24 | values[1]
        case 3: guard values[0] < 256, values[1] < 256, values[2] < 1 << 16 else { return nil }; address = values[0] << 24 | values[1] << 16 | values[2]
        default: guard values.allSatisfy({ $0 < 256 }) else { return nil }; address = values[0] << 24 | values[1] << 16 | values[2] << 8 | values[3]
        }
        guard address <= 0xFFFF_FFFF else { return nil }
        return "\(address >> 24 & 255).\(address >> 16 & 255).\(address >> 8 & 255).\(address & 255)"
    }

    static func percentDecode(_ s: String, onlyUnreserved: Bool) -> String {
        let b = Array(s.utf8)
        var out = [UInt8]()
        var i = 0
        while i < b.count {
            if b[i] == 37, i + 2 < b.count, let hi = QuotedPrintable.hexValue(b[i + 1]), let lo = QuotedPrintable.hexValue(b[i + 2]) {
                let v = hi << 4 | lo
                let unreserved = (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || v == 45 || v == 46 || v == 95 || v == 126
                if !onlyUnreserved || unreserved {
                    out.append(v)
                } else {
                    out += [37, hi < 10 ? 48 + hi : 55 + hi, lo < 10 ? 48 + lo : 55 + lo]
                }
                i += 3
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    func replacingBackslashes() -> String {
        guard utf8.contains(92) else { return self }
        return String(decoding: utf8.map { $0 == 92 ? 47 : $0 }, as: UTF8.self)
    }
}
