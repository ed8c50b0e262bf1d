// Address.swift — mailboxes and paths as they appear in the SMTP envelope (RFC 5321 §4.1.2),
// with the UTF-8 extensions of RFC 6531 §3.3.
//
// Parsing is strict where strictness protects us and lenient where real clients deviate:
//   - accepted on purpose: a space after the colon (`MAIL FROM: <a@b>`), a missing pair of angle
//     brackets around a path without spaces, one trailing dot on a domain (normalised away);
//   - refused: anything with control characters, unbalanced quotes or brackets, empty labels,
//     over-long paths.
// Addresses that try to route through the gateway (percent hack, bang paths, quoted local parts
// holding `@`, source routes) parse fine; `Mailbox.routingDomains` exposes where they would really
// go so that relay control (`RelayControl.swift`) judges the final destination.

/// A domain name, stored lower-cased and without a trailing dot, or an address literal.
public enum MailDomain: Hashable, Sendable, CustomStringConvertible {
    case name(String)
    /// `[192.0.2.1]`, `[IPv6:2001:db8::1]` or a general literal (RFC 5321 §4.1.3).
    case literal(String)

    public var description: String {
        switch self {
        case .name(let name): return name
        case .literal(let literal): return "[\(literal)]"
        }
    }

    /// The name, or nil for an address literal.
    public var name: String? {
        if case .name(let name) = self { return name }
        return nil
    }

    /// Parses a domain (RFC 5321 `Domain`) or an address literal. Normalises case and one trailing dot.
    public init?(parsing text: Substring, allowUTF8: Bool) {
        if text.first == "[" {
            guard text.last == "]", text.count > 2, text.count <= Defaults.domainLength else { return nil }
            let inner = text.dropFirst().dropLast()
            for scalar in inner.unicodeScalars {
                // dcontent = %d33-90 / %d94-126
                guard (33...126).contains(scalar.value), scalar != "[", scalar != "]", scalar != "\\" else { return nil }
            }
            if let v4 = IPAddress(parsing: inner), case .v4 = v4, v4.description == inner {  // a plain dotted quad only
                self = .literal(String(inner))
            } else if inner.lowercased().hasPrefix("ipv6:"), inner.dropFirst(5).contains(":"), IPAddress(parsing: inner.dropFirst(5)) != nil {
                self = .literal("IPv6:" + String(inner.dropFirst(5)).lowercased())
            } else {
                return nil
            }
            return
        }
        var body = text
        if body.last == "." { body = body.dropLast() }
        guard !body.isEmpty, body.utf8.count <= Defaults.domainLength else { return nil }
        for label in body.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63 else { return nil }
            guard label.first != "-", label.last != "-" else { return nil }
            for scalar in label.unicodeScalars {
                let v = scalar.value
                let ascii = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x2D
                if ascii { continue }
                // RFC 6531: U-labels only with SMTPUTF8; never ASCII punctuation or controls.
                guard allowUTF8, v >= 0x80 else { return nil }
            }
        }
        self = .name(body.lowercased())
    }

    /// True when this domain is `other` or a subdomain of it.
    public func isWithin(_ other: String) -> Bool {
        guard let name else { return false }
        return name == other || name.hasSuffix("." + other)
    }
}

/// A mailbox: `local-part@domain`. The local part is kept as the client sent it (unquoted form
/// decoded), because only the final domain may interpret it (RFC 5321 §2.4); the domain is normalised.
public struct Mailbox: Hashable, Sendable, CustomStringConvertible {
    public var localPart: String
    public var domain: MailDomain

    public init(localPart: String, domain: MailDomain) {
        self.localPart = localPart
        self.domain = domain
    }

    /// The address in its canonical SMTP form, quoting the local part where RFC 5321 requires it.
    public var description: String {
        "\(Mailbox.quotedIfNeeded(localPart))@\(domain)"
    }

    /// True when the address needs SMTPUTF8 (RFC 6531): any non-ASCII octet.
    public var needsSMTPUTF8: Bool {
        !localPart.utf8.allSatisfy { $0 < 0x80 } || !(domain.name?.utf8.allSatisfy { $0 < 0x80 } ?? true)
    }

    /// Domains named inside the local part by sender-specified routing: the percent hack
    /// (`u%host`), bang paths (`host!u`) and quoted local parts holding `@`. Empty for an ordinary
    /// address. Relay control treats the address as going to each of these.
    public var routingDomains: [String] {
        var domains: [String] = []
        var local = Substring(localPart)
        // `a@b` inside a quoted local part: everything after the last @ is a host.
        while let at = local.lastIndex(of: "@") {
            domains.append(String(local[local.index(after: at)...]).lowercased())
            local = local[..<at]
        }
        // Percent hack: rightmost % first (sendmail's reading).
        while let percent = local.lastIndex(of: "%") {
            domains.append(String(local[local.index(after: percent)...]).lowercased())
            local = local[..<percent]
        }
        // Bang path: host!host!user.
        let bangParts = local.split(separator: "!", omittingEmptySubsequences: false)
        if bangParts.count > 1 {
            for host in bangParts.dropLast() { domains.append(String(host).lowercased()) }
        }
        return domains.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }
    }

    /// Where a routed address ends up once every routing step is taken: `u%b@a` → `u@b`,
    /// `b!u@a` → `u@b`, `"u@b"@a` → `u@b`. For an ordinary address, the address itself. Used to
    /// validate recipients that resolve internally, so that routing cannot bypass the list.
    public var finalMailbox: Mailbox {
        var local = Substring(localPart)
        var domain = domain
        while true {
            if let at = local.lastIndex(of: "@") {
                domain = .name(String(local[local.index(after: at)...]).lowercased())
                local = local[..<at]
            } else if let percent = local.lastIndex(of: "%") {
                domain = .name(String(local[local.index(after: percent)...]).lowercased())
                local = local[..<percent]
            } else if let bang = local.firstIndex(of: "!") {
                domain = .name(String(local[..<bang]).lowercased())
                local = local[local.index(after: bang)...]
            } else {
                break
            }
        }
        if case .name(let name) = domain, name.hasSuffix(".") { domain = .name(String(name.dropLast())) }
        return Mailbox(localPart: String(local), domain: domain)
    }

    /// Quotes a local part when it is not a valid Dot-string (RFC 5321 §4.1.2).
    public static func quotedIfNeeded(_ local: String) -> String {
        if isDotString(Substring(local), allowUTF8: true) { return local }
        var out = "\""
        for ch in local.unicodeScalars {
            if ch == "\"" || ch == "\\" { out += "\\" }
            out.unicodeScalars.append(ch)
        }
        return out + "\""
    }

    static func isAtext(_ v: UInt32, allowUTF8: Bool) -> Bool {
        switch v {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E...0x60, 0x7B...0x7E: return true
        case 0x80...: return allowUTF8
        default: return false
        }
    }

    static func isDotString(_ text: Substring, allowUTF8: Bool) -> Bool {
        guard !text.isEmpty else { return false }
        for atom in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !atom.isEmpty else { return false }
            for scalar in atom.unicodeScalars where !isAtext(scalar.value, allowUTF8: allowUTF8) { return false }
        }
        return true
    }
}

/// Why an address could not be parsed.
public enum AddressError: Error, Hashable, Sendable {
    case empty
    case tooLong
    case missingAngleBrackets
    case badSourceRoute
    case badLocalPart
    case badDomain
    case missingDomain
    case needsSMTPUTF8
}

/// A path from MAIL FROM or RCPT TO (RFC 5321 §4.1.2).
public enum Path: Hashable, Sendable, CustomStringConvertible {
    /// The null reverse-path `<>`, used by bounces.
    case null
    /// A mailbox. `sourceRoute` holds the obsolete A-d-l, which we ignore for delivery
    /// (RFC 5321 §4.1.1.3, Appendix C) but keep for logging.
    case mailbox(Mailbox, sourceRoute: [String])
    /// `<postmaster>` without a domain, allowed as a recipient only (RFC 5321 §4.1.1.3).
    case postmaster

    public var description: String {
        switch self {
        case .null: return "<>"
        case .mailbox(let mailbox, _): return "<\(mailbox)>"
        case .postmaster: return "<postmaster>"
        }
    }

    public var mailbox: Mailbox? {
        if case .mailbox(let mailbox, _) = self { return mailbox }
        return nil
    }

    /// Parses the text after `MAIL FROM:` or `RCPT TO:` up to the first parameter.
    ///
    /// ```
    /// Path           = "<" [ A-d-l ":" ] Mailbox ">"
    /// A-d-l          = At-domain *( "," At-domain )
    /// Mailbox        = Local-part "@" ( Domain / address-literal )
    /// Local-part     = Dot-string / Quoted-string
    /// ```
    public static func parse(_ text: Substring, allowUTF8: Bool, allowNull: Bool, allowPostmaster: Bool) throws(AddressError) -> Path {
        guard text.utf8.count <= Defaults.pathLength + 2 else { throw .tooLong }
        var inner = text
        if inner.first == "<" {
            guard inner.last == ">", inner.count >= 2 else { throw .missingAngleBrackets }
            inner = inner.dropFirst().dropLast()
        } else if inner.last == ">" {
            throw .missingAngleBrackets
        }
        if inner.isEmpty {
            if allowNull { return .null }
            throw .empty
        }
        var route: [String] = []
        if inner.first == "@" {
            guard let colon = inner.firstIndex(of: ":") else { throw .badSourceRoute }
            for hop in inner[..<colon].split(separator: ",", omittingEmptySubsequences: false) {
                guard hop.first == "@", let domain = MailDomain(parsing: hop.dropFirst(), allowUTF8: allowUTF8) else {
                    throw .badSourceRoute
                }
                route.append(domain.description)
            }
            inner = inner[inner.index(after: colon)...]
        }
        // Split local part and domain at the last @ outside a quoted string.
        let (local, domainText) = try splitMailbox(inner, allowUTF8: allowUTF8)
        guard let domainText else {
            if allowPostmaster, route.isEmpty, local.lowercased() == "postmaster" { return .postmaster }
            throw .missingDomain
        }
        guard let domain = MailDomain(parsing: domainText, allowUTF8: allowUTF8) else {
            if !allowUTF8, MailDomain(parsing: domainText, allowUTF8: true) != nil { throw .needsSMTPUTF8 }
            throw .badDomain
        }
        return .mailbox(Mailbox(localPart: local, domain: domain), sourceRoute: route)
    }

    private static func splitMailbox(_ text: Substring, allowUTF8: Bool) throws(AddressError) -> (String, Substring?) {
        if text.first == "\"" {
            // Quoted-string = DQUOTE *QcontentSMTP DQUOTE
            var local = ""
            var index = text.index(after: text.startIndex)
            var closed = false
            while index < text.endIndex {
                let scalar = text.unicodeScalars[index]
                if scalar == "\\" {
                    let next = text.unicodeScalars.index(after: index)
                    guard next < text.endIndex else { throw .badLocalPart }
                    let quoted = text.unicodeScalars[next]
                    guard (32...126).contains(quoted.value) || (allowUTF8 && quoted.value >= 0x80) else { throw .badLocalPart }
                    local.unicodeScalars.append(quoted)
                    index = text.unicodeScalars.index(after: next)
                    continue
                }
                if scalar == "\"" {
                    closed = true
                    index = text.unicodeScalars.index(after: index)
                    break
                }
                let v = scalar.value
                guard (v >= 32 && v <= 126) || (allowUTF8 && v >= 0x80) else {
                    if v >= 0x80 { throw .needsSMTPUTF8 }
                    throw .badLocalPart
                }
                local.unicodeScalars.append(scalar)
                index = text.unicodeScalars.index(after: index)
            }
            guard closed else { throw .badLocalPart }
            let rest = text[index...]
            if rest.isEmpty { return (local, nil) }
            guard rest.first == "@" else { throw .badLocalPart }
            return (local, rest.dropFirst())
        }
        guard let at = text.lastIndex(of: "@") else {
            guard Mailbox.isDotString(text, allowUTF8: allowUTF8) else { throw .badLocalPart }
            return (String(text), nil)
        }
        let local = text[..<at]
        guard local.utf8.count <= Defaults.pathLength else { throw .tooLong }
        guard Mailbox.isDotString(local, allowUTF8: allowUTF8) else {
            if !allowUTF8, Mailbox.isDotString(local, allowUTF8: true) { throw .needsSMTPUTF8 }
            throw .badLocalPart
        }
        return (String(local), text[text.index(after: at)...])
    }
}
