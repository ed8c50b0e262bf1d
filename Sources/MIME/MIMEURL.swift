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

import Glibc

/// URL extraction and normalisation.
public enum MIMEURL {
    /// Finds URLs in free text, normalised, in order, without duplicates.
    public static func extract(from text: String) -> [String] {
        var text = text
        return text.withUTF8 { extract(from: $0) }
    }

    /// Finds URLs in UTF-8 text, normalised, in order, without duplicates.
    static func extract(from bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        var index = URLIndex()
        extract(from: bytes, into: &index)
        return index.list
    }

    /// Adds the URLs of UTF-8 text to the current list of `index`, normalised, in order, until
    /// the list holds `limit` URLs (the message's index spares hashing each URL again to merge
    /// it with the message's other URLs).
    static func extract(from bytes: UnsafeBufferPointer<UInt8>, into index: inout URLIndex, limit: Int = .max) {
        guard let base = bytes.baseAddress else { return }
        let n = bytes.count
        @inline(__always) func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
        @inline(__always) func matches(_ p: StaticString, at k: Int) -> Bool {
            let count = p.utf8CodeUnitCount
            guard k + count <= n else { return false }
            let q = p.utf8Start
            for j in 0..<count where lower(bytes[k + j]) != q[j] { return false }
            return true
        }
        /// Whether a URL starts at `i` (the one test of the scan).
        @inline(__always) func startsURL(_ i: Int) -> Bool {
            let c = lower(bytes[i])
            if c == 104 { return matches("http://", at: i) || matches("https://", at: i) || matches("http:\\\\", at: i) || matches("https:\\\\", at: i) }
            if c == 102 { return matches("ftp://", at: i) }
            if c == 119 { return matches("www.", at: i) && (i == 0 || !isURLByte(bytes[i - 1]) || bytes[i - 1] == 40) }
            return false
        }
        // Every start has an anchor three to five bytes on: the ':' of "http:", "https:",
        // "ftp:" or the '.' of "www.". Anchors are found with memchr; the candidates they
        // give are tested in order, so the URLs found are those of a byte-by-byte scan.
        // Cached look-ups: the first ':' (or '.') at or after `colonFrom` (`dotFrom`) is at
        // `nextColon` (`nextDot`; n if none), which answers for any k in colonFrom...nextColon.
        var colonFrom = Int.max
        var nextColon = -1
        var dotFrom = Int.max
        var nextDot = -1
        func next(_ byte: UInt8, from k: Int) -> Int {
            guard k < n, let hit = memchr(base + k, Int32(byte), n - k) else { return n }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
        func anchor(from k: Int) -> Int {
            if !(colonFrom <= k && k <= nextColon) { nextColon = next(58, from: k); colonFrom = k }
            if !(dotFrom <= k && k <= nextDot) { nextDot = next(46, from: k); dotFrom = k }
            return min(nextColon, nextDot)
        }
        var i = 0
        while i < n {
            // The first start at or after i: the smallest passing candidate; an anchor k gives
            // candidates from k - 5, so anchors past best + 5 cannot give a smaller one.
            var best = n
            var k = anchor(from: i + 3)
            while k < n && k - 5 < best {
                let lowest = bytes[k] == 58 ? k - 5 : k - 3
                var s = max(lowest, i)
                while s <= k - 3 && s < best {
                    if startsURL(s) { best = s; break }
                    s += 1
                }
                k = anchor(from: k + 1)
            }
            if best >= n || index.list.count >= limit { break }
            let start = best
            var e = start
            while e < n, isURLByte(bytes[e]) { e += 1 }
            if let url = normalize(UnsafeBufferPointer(rebasing: bytes[start..<e])) { index.add(url) }
            i = max(e, start + 1)
        }
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
        var input = input
        return input.withUTF8 { normalize($0) }
    }

    /// Normalises one URL given as UTF-8.
    static func normalize(_ input: UnsafeBufferPointer<UInt8>) -> String? {
        // WHATWG URL parsing removes every ASCII tab and newline from the input first, so a link
        // whose href is split over lines in the HTML is the URL a browser would follow.
        // One look at each byte finds both those and 8-bit bytes (for `normalizeASCII`): eight
        // bytes at a time, none of them below 0x20 or above 0x7F in the usual case.
        var ascii = true
        var k = 0
        let n = input.count
        if let raw = UnsafeRawPointer(input.baseAddress) {
            while k + 8 <= n {
                let x = raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                // High bit of each byte: set when the byte is 0x80 or more, or below 0x20 (exact,
                // no carry between bytes: (b & 0x7F) + 0x60 stays below 0x100).
                let belowSpace = ~(((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x6060_6060_6060_6060) | x) & 0x8080_8080_8080_8080
                if (x & 0x8080_8080_8080_8080) | belowSpace != 0 { break }
                k += 8
            }
        }
        while k < n {
            let c = input[k]
            if c == 9 || c == 10 || c == 13 {
                let joined = input.filter { $0 != 9 && $0 != 10 && $0 != 13 }
                return joined.withUnsafeBufferPointer { normalize($0) }
            }
            if c >= 0x80 { ascii = false }
            k += 1
        }
        switch ascii ? normalizeASCII(input) : .needsUnicode {
        case .url(let url): return url
        case .notURL: return nil
        case .needsUnicode: return normalizeUsingStrings(String(decoding: input, as: UTF8.self))
        }
    }

    enum FastResult { case url(String), notURL, needsUnicode }

    /// `normalizeUsingStrings` on bytes, for URLs that are ASCII (and whose host stays ASCII
    /// once percent-decoded): there every Character is one byte (CR LF aside, which no step
    /// below can tell from two), so byte operations give the same result. Anything else is
    /// `.needsUnicode`, for the String version (Unicode case mapping, grapheme clusters).
    /// `b` is ASCII (`normalize` checked it on its way).
    static func normalizeASCII(_ b: UnsafeBufferPointer<UInt8>) -> FastResult {
        assert(!b.contains { $0 >= 0x80 })
        var lo = 0
        var hi = b.count
        // Character.isWhitespace on ASCII: HT, LF, VT, FF, CR, space.
        @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }
        @inline(__always) func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
        while lo < hi && isSpace(b[lo]) { lo += 1 }
        while hi > lo && isSpace(b[hi - 1]) { hi -= 1 }
        // Trailing punctuation (".,;:!?)]'\""); ")" stays when the URL has a "(".
        var hasOpen: Bool?
        while hi > lo {
            let c = b[hi - 1]
            guard c == 46 || c == 44 || c == 59 || c == 58 || c == 33 || c == 63 || c == 41 || c == 93 || c == 39 || c == 34 else { break }
            if c == 41 {
                if hasOpen == nil { hasOpen = UnsafeBufferPointer(rebasing: b[lo..<hi]).contains(40) }
                if hasOpen! { break }
            }
            hi -= 1
        }
        let n = hi - lo
        let from = lo  // (a constant: the closure below reads it without a box)
        // One scratch allocation: the URL (backslashes turned) and, after it, the host.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * n + 16) { scratch in
            let s = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
            let hostBuffer = scratch.baseAddress! + n
            // Backslashes read as slashes.
            if n > 0 {
                s.baseAddress!.update(from: b.baseAddress! + from, count: n)
                if memchr(s.baseAddress!, 92, n) != nil {
                    for k in 0..<n where s[k] == 92 { s[k] = 47 }
                }
            }
            // Scheme.
            var schemeEnd = -1
            var k = 0
            while k + 3 <= n {
                if s[k] == 58 && s[k + 1] == 47 && s[k + 2] == 47 { schemeEnd = k; break }
                k += 1
            }
            var scheme: StaticString = "http"
            var r: Int
            if schemeEnd >= 0 {
                let len = schemeEnd
                if len == 4 && lower(s[0]) == 104 && lower(s[1]) == 116 && lower(s[2]) == 116 && lower(s[3]) == 112 {
                    scheme = "http"
                } else if len == 5 && lower(s[0]) == 104 && lower(s[1]) == 116 && lower(s[2]) == 116 && lower(s[3]) == 112 && lower(s[4]) == 115 {
                    scheme = "https"
                } else if len == 3 && lower(s[0]) == 102 && lower(s[1]) == 116 && lower(s[2]) == 112 {
                    scheme = "ftp"
                } else {
                    return .notURL
                }
                r = schemeEnd + 3
            } else if n >= 4 && lower(s[0]) == 119 && lower(s[1]) == 119 && lower(s[2]) == 119 && s[3] == 46 {
                r = 0
            } else {
                return .notURL
            }
            while r < n && s[r] == 47 { r += 1 }
            var authorityEnd = r
            while authorityEnd < n && s[authorityEnd] != 47 && s[authorityEnd] != 63 && s[authorityEnd] != 35 { authorityEnd += 1 }
            var aStart = r
            var aEnd = authorityEnd
            var at = aEnd - 1
            while at >= aStart {
                if s[at] == 64 { aStart = at + 1; break }
                at -= 1
            }
            var portStart = -1
            var portEnd = -1
            if aEnd > aStart && s[aEnd - 1] != 93 {
                var colon = aEnd - 1
                while colon >= aStart {
                    if s[colon] == 58 { portStart = colon + 1; portEnd = aEnd; aEnd = colon; break }
                    colon -= 1
                }
            }
            // Host: percent-decoded, lower-cased, trailing dots removed, numeric forms as a quad.
            var hostCount = 0
            var h = aStart
            while h < aEnd {
                if s[h] == 37, h + 2 < aEnd, let hiV = QuotedPrintable.hexValue(s[h + 1]), let loV = QuotedPrintable.hexValue(s[h + 2]) {
                    let v = hiV << 4 | loV
                    if v >= 0x80 { return .needsUnicode }
                    hostBuffer[hostCount] = lower(v)
                    h += 3
                } else {
                    hostBuffer[hostCount] = lower(s[h])
                    h += 1
                }
                hostCount += 1
            }
            while hostCount > 0 && hostBuffer[hostCount - 1] == 46 { hostCount -= 1 }
            if hostCount == 0 { return .notURL }
            let host = UnsafeBufferPointer(start: hostBuffer, count: hostCount)
            if host.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || $0 == 120 || $0 == 46 || $0 == 43 || $0 == 45 }),
               let quad = numericHost(String(decoding: host, as: UTF8.self)) {
                hostCount = 0
                for c in quad.utf8 { hostBuffer[hostCount] = c; hostCount += 1 }  // at most 15 bytes
            }
            // The port, when it is kept: as written, or as Int gives it back.
            var port: [UInt8]?
            if portStart >= 0 {
                let p = UnsafeBufferPointer(rebasing: s[portStart..<portEnd])
                let isDefault: Bool
                switch p.count {
                case 0: isDefault = true
                case 2: isDefault = scheme.utf8CodeUnitCount == 4 && p[0] == 56 && p[1] == 48
                        || scheme.utf8CodeUnitCount == 3 && p[0] == 50 && p[1] == 49
                case 3: isDefault = scheme.utf8CodeUnitCount == 5 && p[0] == 52 && p[1] == 52 && p[2] == 51
                default: isDefault = false
                }
                if !isDefault {
                    let text = String(decoding: p, as: UTF8.self)
                    port = Int(text).map { Array(String($0).utf8) } ?? Array(p)
                }
            }
            var tailEnd = authorityEnd
            while tailEnd < n && s[tailEnd] != 35 { tailEnd += 1 }
            let capacity = 8 + max(hostCount, 0) + (port?.count ?? 0) + 2 + (tailEnd - authorityEnd)
            let url = String(unsafeUninitializedCapacity: capacity) { o in
                var w = 0
                for k in 0..<scheme.utf8CodeUnitCount { o[w] = scheme.utf8Start[k]; w += 1 }
                o[w] = 58; o[w + 1] = 47; o[w + 2] = 47; w += 3
                for k in 0..<hostCount { o[w] = hostBuffer[k]; w += 1 }
                if let port {
                    o[w] = 58; w += 1
                    for c in port { o[w] = c; w += 1 }
                }
                // Path, query: fragment dropped, unreserved characters decoded.
                if tailEnd == authorityEnd || s[authorityEnd] == 63 { o[w] = 47; w += 1 }
                var t = authorityEnd
                while t < tailEnd {
                    if s[t] == 37, t + 2 < tailEnd, let hiV = QuotedPrintable.hexValue(s[t + 1]), let loV = QuotedPrintable.hexValue(s[t + 2]) {
                        let v = hiV << 4 | loV
                        let unreserved = (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || v == 45 || v == 46 || v == 95 || v == 126
                        if unreserved {
                            o[w] = v; w += 1
                        } else {
                            o[w] = 37; o[w + 1] = hiV < 10 ? 48 + hiV : 55 + hiV; o[w + 2] = loV < 10 ? 48 + loV : 55 + loV
                            w += 3
                        }
                        t += 3
                    } else {
                        o[w] = s[t]; w += 1
                        t += 1
                    }
                }
                return w
            }
            return .url(url)
        }
    }

    /// The reference normalisation on Strings (Characters, Unicode case mapping); used for
    /// URLs that are not ASCII, and by the tests as the specification of `normalizeASCII`.
    static func normalizeUsingStrings(_ input: String) -> String? {
        // As WHATWG URL parsing: ASCII tab and newline are removed wherever they are.
        var s = String(String.UnicodeScalarView(input.unicodeScalars.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" })).trimmingSpaces()
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
