// MIMETransferEncoding.swift — RFC 2045 §6 Content-Transfer-Encoding.
//
// Grammar (RFC 2045 §6.1):
//   encoding := "Content-Transfer-Encoding" ":" mechanism
//   mechanism := "7bit" / "8bit" / "binary" / "quoted-printable" / "base64" / ietf-token / x-token
//
// Diagnostics: a value that is not exactly one known token sets `unknownTransferEncoding`.
// Security notes: for a value like "base64 x" or "base64;" the leading known token is the
// primary reading (what tolerant programs do) and the identity reading is scanned as well.

/// A transfer encoding.
public enum MIMETransferEncoding: Sendable, Hashable, CustomStringConvertible {
    case sevenBit, eightBit, binary, base64, quotedPrintable
    /// x-uuencode / x-uue / uuencode (non-standard, decoded by many programs).
    case uuencode
    case unknown(String)

    public var description: String {
        switch self {
        case .sevenBit: return "7bit"
        case .eightBit: return "8bit"
        case .binary: return "binary"
        case .base64: return "base64"
        case .quotedPrintable: return "quoted-printable"
        case .uuencode: return "x-uuencode"
        case .unknown(let s): return s
        }
    }

    /// Whether the body is used as it is (RFC 2045 §6.2 identity encodings).
    public var isIdentity: Bool {
        switch self {
        case .sevenBit, .eightBit, .binary, .unknown: return true
        default: return false
        }
    }

    static func known(_ token: String) -> MIMETransferEncoding? {
        switch token {
        case "7bit": return .sevenBit
        case "8bit": return .eightBit
        case "binary": return .binary
        case "base64": return .base64
        case "quoted-printable": return .quotedPrintable
        case "x-uuencode", "x-uue", "uuencode", "uue": return .uuencode
        default: return nil
        }
    }

    /// Parses a field value. `exact` is false when the value was not exactly one known token;
    /// the returned encoding is then the leading known token, or `.unknown`.
    static func parse(_ raw: [UInt8]) -> (encoding: MIMETransferEncoding, exact: Bool) {
        var cursor = StructuredCursor(raw)
        cursor.skipCFWS()
        let token = String(decoding: cursor.readToken(), as: UTF8.self).lowercased()
        cursor.skipCFWS()
        let clean = cursor.atEnd
        if let k = known(token) { return (k, clean) }
        // Prefix matches ("base64x", "quoted-printablefoo") are read by prefix-matching programs.
        for candidate in ["quoted-printable", "base64"] where token.hasPrefix(candidate) {
            return (known(candidate)!, false)
        }
        let whole = String(decoding: raw, as: UTF8.self).trimmingSpaces()
        return (.unknown(token.isEmpty ? whole.lowercased() : token), false)
    }
}

extension String {
    func trimmingSpaces() -> String {
        // Nothing to trim (the usual case): no copy.
        if let f = first, let l = last, !f.isWhitespace, !l.isWhitespace { return self }
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
