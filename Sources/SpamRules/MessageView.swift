// MessageView.swift — the texts rules look at, built once per scan from the MIME engine's result.
//
// What it does (docs/rules.md, "What each rule type sees"):
//   header   top-level fields; every instance of the field as "value\n", RFC 2047 decoded (`:raw`
//            as received, unfolded); `:addr` / `:name` one line per address; ALL as "Name: value\n"
//   body     the decoded Subject, then the visible text of every text part (HTML rendered by the
//            MIME engine), each paragraph on one line with white space collapsed — the shape of
//            SpamAssassin's rendered body (Mail::SpamAssassin::Message::get_rendered_body_text_array)
//   rawbody  every text part decoded (transfer encoding and charset) but not rendered: HTML keeps its tags
//   uri      the MIME engine's normalised URLs, one subject each
//   full     the raw message
// Each is capped (`RuleLimits`); a cap that cuts text is recorded as a truncation.
//
// Security notes: every subject is built once and bounded; cuts fall on UTF-8 character
// boundaries, so decoded subjects stay valid UTF-8 (what lets PCRE2 skip its UTF check).
public import MIME

/// A subject that was cut at a limit.
public enum RuleSubjectTruncation: String, Sendable, Hashable {
    case body, rawbody, full, uri, header
}

/// The subjects of one message, computed lazily. One per scan, never shared.
final class MessageView {
    let message: MIMEMessage
    let raw: [UInt8]
    let limits: RuleLimits
    private(set) var truncations: Set<RuleSubjectTruncation> = []

    init(message: MIMEMessage, raw: [UInt8], limits: RuleLimits) {
        self.message = message
        self.raw = raw
        self.limits = limits
    }

    // MARK: Body

    private(set) lazy var body: [UInt8] = {
        var out: [UInt8] = []
        if let subject = message.subject {
            appendCollapsed(Array(subject.utf8)[...], to: &out)
        }
        out.append(10)
        for part in message.bodyTextParts {
            guard let text = part.text else { continue }
            var bytes = Array(text.utf8)[...]
            if bytes.count > limits.maxBodyBytesPerPart {
                bytes = MessageView.cut(bytes, to: limits.maxBodyBytesPerPart)
                truncations.insert(.body)
            }
            appendParagraphs(bytes, to: &out)
            if out.count >= limits.maxBodyBytes {
                out = Array(MessageView.cut(out[...], to: limits.maxBodyBytes))
                truncations.insert(.body)
                break
            }
        }
        return out
    }()

    private(set) lazy var rawbody: [UInt8] = {
        var out: [UInt8] = []
        for part in message.bodyTextParts {
            guard let text = part.html ?? part.text else { continue }
            var bytes = Array(text.utf8)[...]
            if bytes.count > limits.maxRawBodyBytesPerPart {
                bytes = MessageView.cut(bytes, to: limits.maxRawBodyBytesPerPart)
                truncations.insert(.rawbody)
            }
            out.append(contentsOf: bytes)
            out.append(10)
            if out.count >= limits.maxBodyBytes {
                out = Array(MessageView.cut(out[...], to: limits.maxBodyBytes))
                truncations.insert(.rawbody)
                break
            }
        }
        return out
    }()

    /// The raw message, capped; whether it is valid UTF-8 is checked once, on demand.
    private(set) lazy var full: ArraySlice<UInt8> = {
        if raw.count > limits.maxFullBytes {
            truncations.insert(.full)
            return raw[0..<limits.maxFullBytes]
        }
        return raw[...]
    }()

    private(set) lazy var fullIsValidUTF8: Bool = String(validating: full, as: UTF8.self) != nil

    private(set) lazy var uris: [[UInt8]] = {
        if message.urls.count > limits.maxURIs { truncations.insert(.uri) }
        return message.urls.prefix(limits.maxURIs).map { Array($0.utf8) }
    }()

    /// Paragraphs (separated by blank lines or form feeds) one per line, white space collapsed.
    private func appendParagraphs(_ text: ArraySlice<UInt8>, to out: inout [UInt8]) {
        var pendingSpace = false
        var lineHasText = false
        var newlines = 0
        for c in text {
            switch c {
            case 10:
                newlines += 1
                pendingSpace = true
                if newlines >= 2 && lineHasText { endLine(&out, &lineHasText, &pendingSpace) }
            case 12:
                if lineHasText { endLine(&out, &lineHasText, &pendingSpace) }
            case 32, 9, 13, 11:
                pendingSpace = true
            default:
                if pendingSpace && lineHasText { out.append(32) }
                pendingSpace = false
                newlines = 0
                out.append(c)
                lineHasText = true
            }
        }
        if lineHasText { out.append(10) }
    }

    private func endLine(_ out: inout [UInt8], _ lineHasText: inout Bool, _ pendingSpace: inout Bool) {
        out.append(10)
        lineHasText = false
        pendingSpace = false
    }

    private func appendCollapsed(_ text: ArraySlice<UInt8>, to out: inout [UInt8]) {
        var pendingSpace = false
        for c in text {
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 {
                pendingSpace = true
            } else {
                if pendingSpace && !out.isEmpty { out.append(32) }
                pendingSpace = false
                out.append(c)
            }
        }
    }

    /// The first `limit` bytes, backed off to a UTF-8 character boundary.
    static func cut(_ bytes: ArraySlice<UInt8>, to limit: Int) -> ArraySlice<UInt8> {
        guard bytes.count > limit else { return bytes }
        var end = bytes.startIndex + limit
        while end > bytes.startIndex, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return bytes[bytes.startIndex..<end]
    }

    // MARK: Headers

    private var headerCache: [Int: [UInt8]?] = [:]
    /// Whether each cached header subject is valid UTF-8 (decoded ones always are).
    private var headerValidity: [Int: Bool] = [:]

    /// The subject for a header selector (nil if no such field), cached by `index`.
    func header(_ selector: HeaderSelector, index: Int) -> (bytes: [UInt8], validUTF8: Bool)? {
        if let cached = headerCache[index] {
            guard let cached else { return nil }
            return (cached, headerValidity[index] ?? false)
        }
        let value = computeHeader(selector)
        headerCache[index] = .some(value)
        if let value {
            let valid = !selector.raw || String(validating: value, as: UTF8.self) != nil
            headerValidity[index] = valid
            return (value, valid)
        }
        return nil
    }

    func fieldExists(_ field: HeaderSelector.Field) -> Bool { !fields(field).isEmpty }

    private func fields(_ field: HeaderSelector.Field) -> [MIMEHeaderField] {
        let header = message.header
        switch field {
        case .named(let name): return header.fields(named: name)
        case .all: return Array(header)
        case .toCc: return header.fields.filter { let n = $0.lowercasedName; return n == "to" || n == "cc" }
        case .messageID:
            let names: Set<String> = ["message-id", "resent-message-id", "x-message-id", "x-original-message-id"]
            return header.fields.filter { names.contains($0.lowercasedName) }
        case .envelopeFrom:
            let returnPath = header.fields(named: "return-path")
            return returnPath.isEmpty ? header.fields(named: "x-envelope-from") : returnPath
        }
    }

    func computeHeader(_ selector: HeaderSelector) -> [UInt8]? {
        let found = fields(selector.field)
        if found.isEmpty { return nil }
        var out: [UInt8] = []
        for field in found {
            if selector.field == .all {
                out.append(contentsOf: field.name.utf8)
                out.append(contentsOf: ": ".utf8)
            }
            switch selector.form {
            case .value:
                if selector.raw { out.append(contentsOf: field.rawValue) } else { out.append(contentsOf: field.value.utf8) }
                out.append(10)
            case .address, .displayName:
                for address in MIMEAddressParser.parse(field.rawValue).addresses where !address.fromDisplayName {
                    let text = selector.form == .address ? address.address : (address.displayName ?? "")
                    out.append(contentsOf: text.utf8)
                    out.append(10)
                }
            }
            if out.count > limits.maxHeaderSubjectBytes {
                truncations.insert(.header)
                return Array(MessageView.cut(out[...], to: limits.maxHeaderSubjectBytes))
            }
        }
        return out
    }
}

/// The subjects rules see for one message, for tools and traces (`gatehouse policy test`, the
/// benchmark). Not Sendable: computed lazily, once, by one caller.
public struct RuleSubjects {
    let view: MessageView

    public init(message: MIMEMessage, raw: [UInt8], limits: RuleLimits = .default) {
        view = MessageView(message: message, raw: raw, limits: limits)
    }

    /// What body rules see (UTF-8).
    public var body: [UInt8] { view.body }
    /// What rawbody rules see (UTF-8).
    public var rawbody: [UInt8] { view.rawbody }
    /// What full rules see (bytes as received).
    public var full: ArraySlice<UInt8> { view.full }
    /// What uri rules see, one subject per URL (UTF-8).
    public var uris: [[UInt8]] { view.uris }
    /// What a header rule with `selector` sees; nil if the message has no such field.
    public func header(_ selector: HeaderSelector) -> [UInt8]? { view.computeHeader(selector) }
    /// Subjects cut at a limit so far.
    public var truncations: Set<RuleSubjectTruncation> { view.truncations }
}
