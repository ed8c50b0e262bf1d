// DKIMCanonicalizer.swift — the "simple" and "relaxed" canonicalizations of header fields and
// bodies (RFC 6376 §3.4), and header selection for a signature (§5.4.2).
//
// Header, simple (§3.4.1): the field unchanged.
// Header, relaxed (§3.4.2): name lower-cased; value unfolded; runs of WSP made one SP; WSP at the
//   end of the value and around the colon removed.
// Body, simple (§3.4.3): empty lines at the end removed; an empty body becomes one CRLF.
// Body, relaxed (§3.4.4): WSP at line ends removed; runs of WSP made one SP; empty lines at the end
//   removed; an empty body stays empty (erratum 1384, which every implementation follows).
//
// Line endings: either CRLF or a bare LF ends a line and is written as CRLF (a message stored with
// LF had CRLF on the wire); a bare CR is data.
//
// What it does: pure functions over octets; body canonicalization streams into a sink (the hash),
// never building the canonical body, and stops feeding the hash after l= octets (§3.4.5) while
// still counting the whole canonical length, so the verifier can tell "l= shorter than the body".

/// Canonicalizations of header fields and bodies (RFC 6376 §3.4).
public enum DKIMCanonicalizer {
    // MARK: Headers

    /// One header field canonicalized, with its final CRLF. `field` is the whole field as it
    /// arrived (name, colon, value, folding, final line break, which may be missing).
    public static func header<C: Collection<UInt8>>(_ field: C, _ canonicalization: DKIMCanonicalization) -> [UInt8] {
        switch canonicalization {
        case .simple: return simpleHeader(field)
        case .relaxed: return relaxedHeader(field)
        }
    }

    static func simpleHeader<C: Collection<UInt8>>(_ field: C) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(field.count + 2)
        var previous: UInt8 = 0
        for c in field {
            if c == 10, previous != 13 { out.append(13) }
            out.append(c)
            previous = c
        }
        if !(out.count >= 2 && out[out.count - 2] == 13 && out[out.count - 1] == 10) {
            out += [13, 10]
        }
        return out
    }

    static func relaxedHeader<C: Collection<UInt8>>(_ field: C) -> [UInt8] {
        let bytes = Array(field)
        guard let colon = bytes.firstIndex(of: 58) else { return simpleHeader(field) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 2)
        // Name: lower case, WSP before the colon removed.
        var nameEnd = colon
        while nameEnd > 0, isWSP(bytes[nameEnd - 1]) { nameEnd -= 1 }
        for c in bytes[..<nameEnd] { out.append(lowerASCII(c)) }
        out.append(58)
        // Value: unfold (drop CR LF / LF), WSP runs to one SP, trim both ends.
        var pendingSpace = false
        var wroteValue = false
        var i = colon + 1
        while i < bytes.count {
            let c = bytes[i]
            if c == 13, i + 1 < bytes.count, bytes[i + 1] == 10 {
                i += 2
                continue
            }
            if c == 10 {
                i += 1
                continue
            }
            if isWSP(c) {
                pendingSpace = true
            } else {
                if pendingSpace, wroteValue { out.append(32) }
                pendingSpace = false
                out.append(c)
                wroteValue = true
            }
            i += 1
        }
        out += [13, 10]
        return out
    }

    /// The canonical form of the signature field being verified (§3.7): the b= value, with the
    /// white space around it, removed and the final CRLF dropped. `field` is the whole field and
    /// `bRange` the b= value's range within it (as `TagList` found it, without surrounding space).
    public static func signatureHeader(_ field: [UInt8], bRange: Range<Int>, _ canonicalization: DKIMCanonicalization) -> [UInt8] {
        // Widen the removed range over the surrounding white space: back to the "=", forward to the
        // ";" or the end of the value.
        var start = bRange.lowerBound
        var end = bRange.upperBound
        while start > 0, isFWSOctet(field[start - 1]) { start -= 1 }
        var valueEnd = field.count
        while valueEnd > end, field[valueEnd - 1] == 10 || field[valueEnd - 1] == 13 { valueEnd -= 1 }
        while end < valueEnd, isFWSOctet(field[end]) { end += 1 }
        let blanked = Array(field[..<start]) + Array(field[end..<valueEnd])
        var canonical = header(blanked, canonicalization)
        canonical.removeLast(2)  // no CRLF after the signature field (§3.7)
        return canonical
    }

    // MARK: Body

    /// Feeds the canonical form of `body` to `sink` in pieces, at most `limit` octets in all (l=).
    /// Returns the length of the whole canonical body.
    @discardableResult
    public static func body(_ body: ArraySlice<UInt8>, _ canonicalization: DKIMCanonicalization, limit: Int? = nil,
                            into sink: (ArraySlice<UInt8>) -> Void) -> Int {
        var remaining = limit ?? Int.max
        var total = 0
        func emit(_ bytes: ArraySlice<UInt8>) {
            total += bytes.count
            guard remaining > 0 else { return }
            if bytes.count <= remaining {
                sink(bytes)
                remaining -= bytes.count
            } else {
                sink(bytes.prefix(remaining))
                remaining = 0
            }
        }
        var pendingEmptyLines = 0
        var wroteLine = false
        var line: [UInt8] = []
        line.reserveCapacity(1024)
        let crlf: ArraySlice<UInt8> = [13, 10]

        func finishLine(_ content: ArraySlice<UInt8>) {
            let canonical: ArraySlice<UInt8>
            switch canonicalization {
            case .simple:
                canonical = content
            case .relaxed:
                line.removeAll(keepingCapacity: true)
                var pendingSpace = false
                for c in content {
                    if isWSP(c) {
                        pendingSpace = true
                    } else {
                        if pendingSpace { line.append(32) }
                        pendingSpace = false
                        line.append(c)
                    }
                }
                canonical = line[...]
            }
            if canonical.isEmpty {
                pendingEmptyLines += 1
                return
            }
            while pendingEmptyLines > 0 {
                emit(crlf)
                pendingEmptyLines -= 1
            }
            emit(canonical)
            emit(crlf)
            wroteLine = true
        }

        var start = body.startIndex
        var i = start
        let end = body.endIndex
        while i < end {
            if body[i] == 10 {
                var contentEnd = i
                if contentEnd > start, body[contentEnd - 1] == 13 { contentEnd -= 1 }
                finishLine(body[start..<contentEnd])
                start = i + 1
            }
            i += 1
        }
        if start < end { finishLine(body[start..<end]) }
        if canonicalization == .simple, !wroteLine { emit(crlf) }
        return total
    }

    /// The whole canonical body as octets (for tests and small bodies).
    public static func canonicalBody(_ body: ArraySlice<UInt8>, _ canonicalization: DKIMCanonicalization,
                                     limit: Int? = nil) -> [UInt8] {
        var out: [UInt8] = []
        Self.body(body, canonicalization, limit: limit) { out += $0 }
        return out
    }

    // MARK: Header selection (§5.4.2)

    /// The fields a signature covers, in h= order: for each name, the last instance not yet used
    /// (bottom-up); a name with no instance left selects nothing (over-signing: the signer asserted
    /// there was no further instance, so adding one breaks the signature).
    public static func selectHeaders(_ names: [String], from fields: [RawHeaderField]) -> [RawHeaderField] {
        var instances: [String: [Int]] = [:]
        for (index, field) in fields.enumerated() {
            instances[asciiLowercased(field.name), default: []].append(index)
        }
        var selected: [RawHeaderField] = []
        for name in names {
            if let index = instances[name]?.popLast() { selected.append(fields[index]) }
        }
        return selected
    }
}
