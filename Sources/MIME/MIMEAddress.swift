// MIMEAddress.swift — RFC 5322 §3.4 addresses, with the obsolete syntax of §4.4.
//
// Grammar (RFC 5322 §3.4):
//   address-list := (address *("," address)) / obs-addr-list
//   address      := mailbox / group
//   mailbox      := name-addr / addr-spec
//   name-addr    := [display-name] angle-addr
//   angle-addr   := [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr   (obs-route skipped)
//   group        := display-name ":" [group-list] ";" [CFWS]
//   addr-spec    := local-part "@" domain
//
// What it does: returns every address a header holds — inside groups, with display names
// (RFC 2047 decoded), old-style "addr (Name)" comments, quoted local parts, domain literals —
// and also any address-looking text inside a display name (`fromDisplayName`).
//
// Diagnostics: `malformedAddress` for text that is not an address list; `addressInDisplayName`
// for `"ceo@example.com" <attacker@example.net>`-style display names.
//
// Security notes: parsing never stops at the first error; the rest of the list is still read,
// so no recipient or sender can be hidden behind a syntax error.

/// One mailbox found in an address header.
public struct MIMEAddress: Sendable, Hashable, CustomStringConvertible {
    /// Decoded display name, if any.
    public var displayName: String?
    /// The local part as it would be written (quoted if it needs quoting).
    public var localPart: String
    /// The domain, nil for a local-only name (e.g. "undisclosed-recipients").
    public var domain: String?
    /// Name of the group this address belongs to.
    public var group: String?
    /// True when this address was found inside another address's display name.
    public var fromDisplayName: Bool

    public init(displayName: String? = nil, localPart: String, domain: String?, group: String? = nil, fromDisplayName: Bool = false) {
        self.displayName = displayName
        self.localPart = localPart
        self.domain = domain
        self.group = group
        self.fromDisplayName = fromDisplayName
    }

    /// "local@domain".
    public var address: String { domain.map { localPart + "@" + $0 } ?? localPart }

    public var description: String {
        if let displayName { return "\(displayName) <\(address)>" }
        return address
    }
}

/// Parser for address lists.
public enum MIMEAddressParser {
    enum Token: Equatable {
        case atom([UInt8])
        case quoted([UInt8])
        case literal([UInt8])
        case special(UInt8)
        case comment([UInt8])
    }

    /// The result of parsing one header value.
    public struct Result: Sendable, Hashable {
        public var addresses: [MIMEAddress]
        public var defects: MIMEDefects
        public var limitErrors: [MIMELimitError]
    }

    static func tokenize(_ b: [UInt8]) -> (tokens: [Token], malformed: Bool) {
        var cursor = StructuredCursor(b)
        var tokens: [Token] = []
        while !cursor.atEnd {
            let c = b[cursor.i]
            switch c {
            case 32, 9, 13, 10:
                cursor.i += 1
            case 40:
                tokens.append(.comment(cursor.readComment()))
            case 34:
                tokens.append(.quoted(cursor.readQuotedString()))
            case 91:  // domain literal
                let start = cursor.i
                while cursor.i < b.count, b[cursor.i] != 93 { cursor.i += 1 }
                if cursor.i < b.count { cursor.i += 1 } else { cursor.malformed = true }
                tokens.append(.literal(Array(b[start..<cursor.i])))
            case 60, 62, 64, 44, 58, 59, 46, 92, 93:
                tokens.append(.special(c))
                cursor.i += 1
            default:
                let start = cursor.i
                while cursor.i < b.count {
                    let d = b[cursor.i]
                    if d <= 32 || [40, 41, 60, 62, 64, 44, 58, 59, 46, 92, 34, 91, 93].contains(d) { break }
                    cursor.i += 1
                }
                if cursor.i == start { cursor.i += 1; cursor.malformed = true; continue }
                tokens.append(.atom(Array(b[start..<cursor.i])))
            }
        }
        return (tokens, cursor.malformed)
    }

    /// Parses an address-list header value (From, To, Cc, Reply-To, Sender, Resent-*, …).
    public static func parse(_ raw: some Collection<UInt8>, limits: MIMELimits = .default) -> Result {
        let (tokens, malformedLex) = tokenize(Array(raw))
        var result = Result(addresses: [], defects: malformedLex ? .malformedAddress : [], limitErrors: [])
        var phrase: [Token] = []
        var group: String?
        var i = 0

        func add(_ address: MIMEAddress) {
            if result.addresses.count >= limits.maxAddressesPerHeader {
                if !result.limitErrors.contains(.tooManyAddresses(limit: limits.maxAddressesPerHeader)) {
                    result.limitErrors.append(.tooManyAddresses(limit: limits.maxAddressesPerHeader))
                }
                return
            }
            result.addresses.append(address)
            if let name = address.displayName, !address.fromDisplayName {
                for hidden in addressesInText(name) where hidden.lowercased() != address.address.lowercased() {
                    result.defects.insert(.addressInDisplayName)
                    let (local, domain) = split(hidden)
                    result.addresses.append(MIMEAddress(displayName: nil, localPart: local, domain: domain, group: group, fromDisplayName: true))
                }
            }
        }

        func flushPhraseAsAddrSpec() {
            defer { phrase.removeAll() }
            let words = phrase.filter { if case .comment = $0 { return false }; return true }
            let comments = phrase.compactMap { t -> [UInt8]? in if case .comment(let c) = t { return c }; return nil }
            guard !words.isEmpty else { return }
            if let (local, domain, clean) = addrSpec(words) {
                if !clean { result.defects.insert(.malformedAddress) }
                let name = comments.first.map { EncodedWord.decode($0).text.trimmingSpaces() }
                add(MIMEAddress(displayName: name?.isEmpty == false ? name : nil, localPart: local, domain: domain, group: group))
            } else {
                result.defects.insert(.malformedAddress)
            }
        }

        while i < tokens.count {
            let t = tokens[i]
            switch t {
            case .special(60):  // '<'
                var j = i + 1
                var inner: [Token] = []
                while j < tokens.count, tokens[j] != .special(62) { inner.append(tokens[j]); j += 1 }
                if j == tokens.count { result.defects.insert(.malformedAddress) }
                // obs-route: "@a,@b:" before the addr-spec.
                if let colon = inner.lastIndex(of: .special(58)), inner.first == .special(64) {
                    inner = Array(inner[(colon + 1)...])
                }
                inner = inner.filter { if case .comment = $0 { return false }; return true }
                let name = displayName(phrase)
                phrase.removeAll()
                if inner.isEmpty {
                    // "<>" (null reverse-path) — nothing to add.
                } else if let (local, domain, clean) = addrSpec(inner) {
                    if !clean { result.defects.insert(.malformedAddress) }
                    add(MIMEAddress(displayName: name, localPart: local, domain: domain, group: group))
                } else {
                    result.defects.insert(.malformedAddress)
                }
                i = j + 1
            case .special(58):  // ':' — group start
                if group != nil { result.defects.insert(.malformedAddress) }
                group = displayName(phrase) ?? ""
                phrase.removeAll()
                i += 1
            case .special(59):  // ';' — group end
                flushPhraseAsAddrSpec()
                if group == nil { result.defects.insert(.malformedAddress) }
                group = nil
                i += 1
            case .special(44):  // ','
                flushPhraseAsAddrSpec()
                i += 1
            case .special(62):
                result.defects.insert(.malformedAddress)
                i += 1
            default:
                phrase.append(t)
                i += 1
            }
        }
        flushPhraseAsAddrSpec()
        return result
    }

    /// Joins phrase words (RFC 5322 §3.2.5) and decodes encoded words; nil if empty.
    static func displayName(_ tokens: [Token]) -> String? {
        var raw = [UInt8]()
        var commentText: [UInt8]?
        for t in tokens {
            switch t {
            case .atom(let a), .quoted(let a), .literal(let a):
                if !raw.isEmpty { raw.append(32) }
                raw += a
            case .special(let c):
                raw.append(c)
            case .comment(let c):
                if commentText == nil { commentText = c }
            }
        }
        if raw.isEmpty, let commentText { raw = commentText }
        let text = EncodedWord.decode(raw).text.trimmingSpaces()
        return text.isEmpty ? nil : text
    }

    /// Builds local part and domain from addr-spec tokens. `clean` is false for obsolete or odd
    /// spellings that were accepted anyway.
    static func addrSpec(_ tokens: [Token]) -> (String, String?, Bool)? {
        guard let at = tokens.lastIndex(of: .special(64)) else {
            // A bare word: local-only name.
            var clean = true
            var local = ""
            for t in tokens {
                switch t {
                case .atom(let a): local += String(decoding: a, as: UTF8.self)
                case .quoted(let q): local += quoteIfNeeded(q)
                case .special(46): local += "."
                default: clean = false
                }
            }
            if tokens.count > 1 && !tokens.contains(.special(46)) { clean = false }
            return local.isEmpty ? nil : (local, nil, clean && tokens.count == 1)
        }
        var clean = true
        var local = ""
        for t in tokens[..<at] {
            switch t {
            case .atom(let a): local += String(decoding: a, as: UTF8.self)
            case .quoted(let q): local += quoteIfNeeded(q)
            case .special(46): local += "."
            case .special(64): local += "@"; clean = false
            default: clean = false
            }
        }
        var domain = ""
        for t in tokens[(at + 1)...] {
            switch t {
            case .atom(let a), .literal(let a): domain += String(decoding: a, as: UTF8.self)
            case .special(46): domain += "."
            default: clean = false
            }
        }
        if local.isEmpty || domain.isEmpty { clean = false }
        return (local, domain.isEmpty ? nil : domain, clean)
    }

    static func quoteIfNeeded(_ q: [UInt8]) -> String {
        let s = String(decoding: q, as: UTF8.self)
        let atext = q.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c >= 128
                || Array("!#$%&'*+-/=?^_`{|}~.".utf8).contains(c)
        }
        if atext && !q.isEmpty && q.first != 46 && q.last != 46 { return s }
        var out = "\""
        for ch in s { if ch == "\"" || ch == "\\" { out.append("\\") }; out.append(ch) }
        return out + "\""
    }

    static func split(_ address: String) -> (String, String?) {
        guard let at = address.lastIndex(of: "@") else { return (address, nil) }
        return (String(address[..<at]), String(address[address.index(after: at)...]))
    }

    /// Address-looking substrings of free text (`x@y.z`).
    static func addressesInText(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var found: [String] = []
        func isLocal(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || Array("!#$%&'*+-/=?^_`{|}~.".utf8).contains(c)
        }
        func isDomain(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 46 }
        for (k, c) in bytes.enumerated() where c == 64 {
            var s = k
            while s > 0, isLocal(bytes[s - 1]) { s -= 1 }
            var e = k + 1
            while e < bytes.count, isDomain(bytes[e]) { e += 1 }
            while e > k + 1, bytes[e - 1] == 46 { e -= 1 }
            let domain = bytes[(k + 1)..<e]
            guard s < k, domain.contains(46), domain.first != 46 else { continue }
            found.append(String(decoding: bytes[s..<e], as: UTF8.self))
        }
        return found
    }
}
