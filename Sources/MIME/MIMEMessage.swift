// MIMEMessage.swift — the result of parsing one message.
//
// What it does: holds the parts (flat, index-linked, part 0 is the top-level message), the
// defects and limits reached, the text for content rules, and accessors for addresses, subject
// and decoded bodies.
//
// Security notes: `isUnscannable` must be honoured by policy: a message over a limit, with an
// encrypted or unreadable archive, or cut short, was not fully inspected and is never clean.

/// A parsed message.
public struct MIMEMessage: Sendable {
    /// Every entity, in document order of discovery; `parts[0]` is the top-level message.
    public internal(set) var parts: [MIMEPart] = []
    /// Decoded bodies of encoded containers (e.g. a base64 message/rfc822) that were parsed as
    /// MIME; `MIMEPart.source` n refers to `decodedSources[n - 1]`.
    public internal(set) var decodedSources: [[UInt8]] = []
    /// The union of every part's defects.
    public internal(set) var defects: MIMEDefects = []
    /// Every limit reached, in order.
    public internal(set) var limitErrors: [MIMELimitError] = []
    /// An mbox "From " line before the header, if there was one.
    public internal(set) var unixFrom: String?
    /// Every URL of the message (normalised, unique, in order of appearance).
    public internal(set) var urls: [String] = []
    /// The size of the parsed input.
    public internal(set) var size = 0

    /// The top-level entity.
    public var root: MIMEPart { parts[0] }
    /// The top-level header.
    public var header: MIMEHeader { parts[0].header }

    /// Whether some content could not be inspected (a limit, an encrypted or broken archive).
    public var isUnscannable: Bool {
        !defects.intersection(.unscannable).isEmpty || limitErrors.contains { $0.makesUnscannable }
    }

    /// Whether mail programs may read this message differently.
    public var isAmbiguous: Bool { !defects.intersection(.ambiguities).isEmpty }

    /// The decoded Subject.
    public var subject: String? { header["subject"] }

    /// The leaves (bodies, attachments, archive entries, uuencoded files, alternative readings).
    public var leaves: [MIMEPart] { parts.filter { $0.kind == .leaf } }

    /// Parts the reader sees as attachments.
    public var attachments: [MIMEPart] { parts.filter { $0.isAttachment } }

    /// Body text parts (text/plain and text/html), in order.
    public var bodyTextParts: [MIMEPart] { parts.filter { $0.isBodyText } }

    /// All body text the reader sees, parts separated by a blank line (HTML rendered).
    public var bodyText: String {
        // (The parts are read in place: `bodyTextParts` would copy each one, all its fields retained.)
        var texts: [String] = []
        for k in parts.indices where parts[k].isBodyText {
            if let text = parts[k].text { texts.append(text) }
        }
        return texts.joined(separator: "\n\n")
    }

    /// Text hidden in HTML bodies.
    public var hiddenText: String {
        var texts: [String] = []
        for k in parts.indices where parts[k].isBodyText {
            if let text = parts[k].hiddenText, !text.isEmpty { texts.append(text) }
        }
        return texts.joined(separator: "\n")
    }

    /// The children of a part.
    public func children(of part: MIMEPart) -> [MIMEPart] { part.children.map { parts[$0] } }

    /// Every address in the top-level fields called `fieldName` (e.g. "To").
    public func addresses(in fieldName: String, limits: MIMELimits = .default) -> [MIMEAddress] {
        header.fields(named: fieldName).flatMap { MIMEAddressParser.parse($0.rawValue, limits: limits).addresses }
    }

    /// The address fields of RFC 5322 §3.6.2–3.6.6 and common extensions.
    public static let addressFieldNames = [
        "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Resent-From", "Resent-Sender", "Resent-To",
        "Resent-Cc", "Resent-Bcc", "Return-Path", "Delivered-To", "Disposition-Notification-To",
        "Errors-To", "Mail-Followup-To", "Mail-Reply-To",
    ]

    /// Every address of every address field of the top-level header, with its field name.
    public func allAddresses(limits: MIMELimits = .default) -> [(field: String, address: MIMEAddress)] {
        var result: [(String, MIMEAddress)] = []
        let names = Set(MIMEMessage.addressFieldNames.map { $0.lowercased() })
        for field in header where names.contains(field.lowercasedName) {
            for a in MIMEAddressParser.parse(field.rawValue, limits: limits).addresses { result.append((field.name, a)) }
        }
        return result
    }

    /// The decoded body of `part` (re-decoded from `input`, the bytes that were parsed: the
    /// engine does not keep decoded content). Empty for archive entries and uuencoded files.
    public func decodedBody(of part: MIMEPart, input: [UInt8]) -> [UInt8] {
        guard let source = part.source else { return [] }
        let buffer = source == 0 ? input : decodedSources[source - 1]
        guard part.bodyRange.upperBound <= buffer.count else { return [] }
        var out = [UInt8]()
        buffer.withUnsafeBufferPointer { buf in
            let body = UnsafeBufferPointer(rebasing: buf[part.bodyRange])
            ContentDecoder.decode(body, encoding: part.transferEncoding) { out.append(contentsOf: $0) }
        }
        return out
    }
}
