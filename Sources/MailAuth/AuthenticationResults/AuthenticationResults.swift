// AuthenticationResults.swift — the Authentication-Results header field (RFC 8601): rendering ours,
// and finding the ones that claim to be ours.
//
// Grammar (RFC 8601 §2.2):
//   authres-header-field = "Authentication-Results:" authres-payload
//   authres-payload = [CFWS] authserv-id [ CFWS authres-version ] ( no-result / 1*resinfo ) [CFWS] CRLF
//   authserv-id     = value                       ; RFC 2045 token / quoted-string
//   no-result       = [CFWS] ";" [CFWS] "none"
//   resinfo         = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
//   methodspec      = [CFWS] method [CFWS] "=" [CFWS] result
//   propspec        = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
//   pvalue          = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
//
// What it does: `AuthenticationResults.field` renders one field for our authserv-id with
// spf (smtp.mailfrom / smtp.helo), dkim (header.d, header.s, header.i, header.b: the first 8
// characters of b=, RFC 6008), dmarc (header.from, the policy in a comment as "p=… dis=…") and
// arc (header.oldest-pass, RFC 8617 §10.2).
// `AuthenticationResults.forgedFieldRanges` finds the fields already in a message that carry our
// authserv-id: RFC 8601 §5 requires a border MTA to remove (or rename) them, since they can only
// be forgeries or leftovers; the caller deletes the returned byte ranges.
//
// Security notes: text that reaches the field from outside (reasons, DNS-provided SPF
// explanations) is only ever put inside a comment, with control characters replaced, "(", ")"
// and "\" escaped and the length capped (`authResultsMaximumCommentLength`), so it can neither end
// the field nor add a property. Property values that are not tokens are quoted. Authserv-ids are
// compared case-insensitively (§2.5: it is a domain name in practice), after unquoting.

/// One Authentication-Results field of ours, to render.
public struct AuthenticationResults: Sendable, Hashable {
    /// Our authserv-id (RFC 8601 §2.5), usually the host's domain name.
    public var authservID: String
    /// The SPF MAIL FROM check.
    public var spf: SPFResult?
    /// The SPF HELO check, if one was made.
    public var helo: SPFResult?
    /// The DKIM results; an empty array renders "dkim=none" when `dkimChecked`.
    public var dkim: [DKIMSignatureResult]
    /// Whether DKIM was checked at all.
    public var dkimChecked: Bool
    public var dmarc: DMARCResult?
    /// The ARC chain validation (RFC 8617 §10.2: "arc").
    public var arc: ARCResult?

    public init(authservID: String, spf: SPFResult? = nil, helo: SPFResult? = nil, dkim: [DKIMSignatureResult] = [],
                dkimChecked: Bool = true, dmarc: DMARCResult? = nil, arc: ARCResult? = nil) {
        self.authservID = authservID
        self.spf = spf
        self.helo = helo
        self.dkim = dkim
        self.dkimChecked = dkimChecked
        self.dmarc = dmarc
        self.arc = arc
    }

    /// The result statements (resinfo), each "method=result (comment) ptype.property=value".
    public var statements: [String] {
        var out: [String] = []
        if let spf { out.append(Self.statement(spf)) }
        if let helo { out.append(Self.statement(helo)) }
        if dkimChecked {
            if dkim.isEmpty {
                out.append("dkim=none")
            } else {
                out += dkim.map(Self.statement)
            }
        }
        if let dmarc { out.append(Self.statement(dmarc)) }
        if let arc { out.append(Self.statement(arc)) }
        return out
    }

    /// The field value (after "Authentication-Results:"), folded before each statement.
    public var value: String {
        let statements = self.statements
        let id = Self.value(authservID)
        if statements.isEmpty { return " \(id); none" }
        return " \(id);\r\n\t" + statements.joined(separator: ";\r\n\t")
    }

    /// The whole field with its final CRLF, ready to be prepended to the message.
    public var field: String { "Authentication-Results:" + value + "\r\n" }

    // MARK: Statements

    static func statement(_ spf: SPFResult) -> String {
        var text = "spf=\(spf.code.rawValue)"
        text += " " + comment(spf.reason)
        switch spf.identity {
        case .mailFrom:
            text += " smtp.mailfrom=" + addressValue(spf.sender, domain: spf.domain)
        case .helo:
            text += " smtp.helo=" + value(spf.domain)
        }
        return text
    }

    static func statement(_ dkim: DKIMSignatureResult) -> String {
        var text = "dkim=\(dkim.code.rawValue)"
        let reason = dkim.reason
        if !reason.isEmpty { text += " " + comment(reason) }
        if let d = dkim.domain { text += " header.d=" + value(d) }
        if let s = dkim.selector { text += " header.s=" + value(s) }
        if let signature = dkim.signature {
            if signature.identity != "@" + signature.domain {
                text += " header.i=" + addressValue(signature.identity, domain: signature.identityDomain)
            }
            text += " header.a=" + signature.algorithm.rawValue
            text += " header.b=" + value(String(signature.signatureText.prefix(MailAuthDefaults.authResultsSignaturePrefixLength)))
        }
        return text
    }

    static func statement(_ dmarc: DMARCResult) -> String {
        var text = "dmarc=\(dmarc.code.rawValue)"
        var notes: [String] = []
        if let deciding = dmarc.deciding, let record = deciding.record {
            notes.append("p=\(record.policy.rawValue)")
            if let sp = record.subdomainPolicy { notes.append("sp=\(sp.rawValue)") }
            if record.percentage < 100 { notes.append("pct=\(record.percentage)") }
            notes.append("dis=\(dmarc.disposition.rawValue)")
        }
        if !dmarc.reason.isEmpty { notes.append(dmarc.reason) }
        if dmarc.multipleFromFields { notes.append("several From fields") }
        if !notes.isEmpty { text += " " + comment(notes.joined(separator: "; ")) }
        if let from = dmarc.fromDomain { text += " header.from=" + value(from) }
        return text
    }

    static func statement(_ arc: ARCResult) -> String {
        var text = "arc=\(arc.code.rawValue)"
        if !arc.reason.isEmpty { text += " " + comment(arc.reason) }
        if arc.code == .pass, let oldest = arc.oldestPass { text += " header.oldest-pass=\(oldest)" }
        return text
    }

    // MARK: Lexical helpers

    /// A comment: control characters replaced, "(", ")" and "\" escaped, length capped.
    static func comment(_ text: String) -> String {
        let clean = sanitizedText(text, limit: MailAuthDefaults.authResultsMaximumCommentLength)
        var out = "("
        for ch in clean.unicodeScalars {
            if ch == "(" || ch == ")" || ch == "\\" { out += "\\" }
            if ch.value >= 0x80 { out += "?" } else { out.unicodeScalars.append(ch) }
        }
        return out + ")"
    }

    /// An RFC 2045 value: the token as is, else a quoted-string.
    static func value(_ text: String) -> String {
        let tspecials = Array("()<>@,;:\\\"/[]?=".utf8)
        let bytes = Array(text.utf8)
        if !bytes.isEmpty, bytes.allSatisfy({ $0 > 32 && $0 < 127 && !tspecials.contains($0) }) { return text }
        var out = "\""
        for c in sanitizedText(text, limit: 255).unicodeScalars {
            if c == "\"" || c == "\\" { out += "\\" }
            if c.value >= 0x80 { out += "?" } else { out.unicodeScalars.append(c) }
        }
        return out + "\""
    }

    /// `local@domain` when the local part is a dot-atom (pvalue allows it unquoted), else the
    /// domain alone.
    static func addressValue(_ address: String, domain: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return value(domain) }
        let local = address[..<at]
        let atext = Array("!#$%&'*+-/=?^_`{|}~".utf8)
        let isDotAtom = local.isEmpty || (local.first != "." && local.last != "." && !local.contains("..")
            && local.utf8.allSatisfy { isAlpha($0) || isDigit($0) || atext.contains($0) || $0 == 46 })
        let cleanDomain = domain.utf8.allSatisfy { isAlpha($0) || isDigit($0) || $0 == 45 || $0 == 46 || $0 == 95 }
        guard cleanDomain else { return value(domain) }
        if isDotAtom { return local.isEmpty ? "@" + domain : String(local) + "@" + domain }
        return domain
    }

    // MARK: Forged fields (RFC 8601 §5)

    /// The authserv-id of an Authentication-Results field value, unquoted; nil when there is none.
    public static func authservID<C: Collection<UInt8>>(of value: C) -> String? where C.Index == Int {
        var i = value.startIndex
        let end = value.endIndex
        skipCFWS(value, &i)
        guard i < end else { return nil }
        if value[i] == 34 {  // quoted-string
            var out: [UInt8] = []
            i += 1
            while i < end, value[i] != 34 {
                if value[i] == 92, i + 1 < end { i += 1 }
                if value[i] != 13, value[i] != 10 { out.append(value[i]) }
                i += 1
            }
            guard i < end else { return nil }
            return String(decoding: out, as: UTF8.self)
        }
        let tspecials = Array("()<>@,;:\\\"/[]?=".utf8)
        let start = i
        while i < end, value[i] > 32, value[i] != 127, !tspecials.contains(value[i]) { i += 1 }
        guard i > start else { return nil }
        return String(decoding: value[start..<i], as: UTF8.self)
    }

    /// Skips white space, line breaks and (nested) comments.
    static func skipCFWS<C: Collection<UInt8>>(_ value: C, _ i: inout Int) where C.Index == Int {
        var depth = 0
        while i < value.endIndex {
            let c = value[i]
            if depth > 0 {
                if c == 92 { i += 2; continue }
                if c == 40 { depth += 1 }
                if c == 41 { depth -= 1 }
                i += 1
            } else if isFWSOctet(c) {
                i += 1
            } else if c == 40 {
                depth = 1
                i += 1
            } else {
                return
            }
        }
    }

    /// The byte ranges (whole fields, line breaks included) of the Authentication-Results fields in
    /// `message` whose authserv-id is `authservID` (compared case-insensitively, a final dot
    /// ignored). Remove them before adding ours (RFC 8601 §5).
    public static func forgedFieldRanges(in message: RawMessage, authservID: String) -> [Range<Int>] {
        let ours = normalizedID(authservID)
        return message.fields(named: "Authentication-Results").compactMap { field in
            guard let id = Self.authservID(of: message.value(of: field)), normalizedID(id) == ours else { return nil }
            return field.range
        }
    }

    /// `bytes` without `ranges` (sorted, non-overlapping, as `forgedFieldRanges` returns them).
    public static func removing(_ ranges: [Range<Int>], from bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var position = 0
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where range.lowerBound >= position {
            out += bytes[position..<range.lowerBound]
            position = range.upperBound
        }
        out += bytes[position...]
        return out
    }

    static func normalizedID(_ id: String) -> String {
        var id = asciiLowercased(id)
        if id.hasSuffix(".") { id.removeLast() }
        return id
    }
}
