// DNSName.swift — domain names as sequences of labels (RFC 1034 §3.1, RFC 1035 §2.3.4, §3.1).
//
// A name is kept as its labels, each the octets that travel on the wire, in the case they arrived
// in. Comparison and hashing are ASCII case-insensitive (RFC 4343): `Example.COM` and `example.com`
// are the same name, and the cache and the response validator rely on that.
//
// Text form (RFC 1035 §5.1): labels separated by dots, an optional final dot (every name here is
// fully qualified: the resolver never appends a search domain), `\.`, `\\` and `\DDD` escapes for
// octets that are not printable ASCII. Non-ASCII text is refused: internationalised names must
// arrive as A-labels (`xn--…`, RFC 5890); IDNA mapping is not this module's job.
//
// Security notes: the limits of RFC 1035 (63 octets a label, 255 a name) are checked on every way
// in, text and wire, so a name can always be encoded and never grows without bound.

/// Why a name was refused.
public enum DNSNameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The empty string. The root is written ".".
    case empty
    /// Two dots in a row, or a leading dot (`a..b`, `.a`).
    case emptyLabel
    /// A label longer than 63 octets (`DNSDefaults.maximumLabelLength`).
    case labelTooLong(length: Int)
    /// A name longer than 255 octets in wire form (`DNSDefaults.maximumNameLength`).
    case nameTooLong(length: Int)
    /// A character outside printable ASCII (not escaped). Internationalised names must be given as
    /// A-labels (`xn--…`).
    case invalidCharacter(UInt8)
    /// A `\` not followed by a character or by three decimal digits up to 255.
    case badEscape

    public var description: String {
        switch self {
        case .empty: return "empty name"
        case .emptyLabel: return "empty label"
        case .labelTooLong(let length): return "label of \(length) octets (at most \(DNSDefaults.maximumLabelLength))"
        case .nameTooLong(let length): return "name of \(length) octets (at most \(DNSDefaults.maximumNameLength))"
        case .invalidCharacter(let byte): return "invalid character 0x\(String(byte, radix: 16)) (use A-labels for IDN)"
        case .badEscape: return "bad escape sequence"
        }
    }
}

/// A fully qualified domain name.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// The labels from the leftmost to the top-level one, without the empty root label, in the case
    /// they were given or received in.
    public let labels: [[UInt8]]

    /// The root name, ".".
    public static let root = DNSName(validatedLabels: [])

    init(validatedLabels labels: [[UInt8]]) {
        self.labels = labels
    }

    /// A name from its labels (without the root label), checked against the limits of RFC 1035.
    public init(labels: [[UInt8]]) throws(DNSNameError) {
        var length = 1
        for label in labels {
            if label.isEmpty { throw .emptyLabel }
            if label.count > DNSDefaults.maximumLabelLength { throw .labelTooLong(length: label.count) }
            length += 1 + label.count
        }
        if length > DNSDefaults.maximumNameLength { throw .nameTooLong(length: length) }
        self.labels = labels
    }

    /// Parses the text form: `mail.example.com`, `mail.example.com.`, `.` for the root, with
    /// `\.`, `\\` and `\DDD` escapes (RFC 1035 §5.1).
    public init(_ text: String) throws(DNSNameError) {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { throw .empty }
        if bytes == [UInt8(ascii: ".")] {
            self = .root
            return
        }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var i = 0
        var endedWithDot = false
        while i < bytes.count {
            let byte = bytes[i]
            endedWithDot = false
            switch byte {
            case UInt8(ascii: "."):
                if label.isEmpty { throw .emptyLabel }
                labels.append(label)
                label = []
                endedWithDot = true
                i += 1
            case UInt8(ascii: "\\"):
                guard i + 1 < bytes.count else { throw .badEscape }
                let next = bytes[i + 1]
                if Self.isDigit(next) {
                    guard i + 3 < bytes.count, Self.isDigit(bytes[i + 2]), Self.isDigit(bytes[i + 3]) else { throw .badEscape }
                    let value = Int(next - 48) * 100 + Int(bytes[i + 2] - 48) * 10 + Int(bytes[i + 3] - 48)
                    guard value <= 255 else { throw .badEscape }
                    label.append(UInt8(value))
                    i += 4
                } else {
                    guard next > 0x20, next < 0x7F else { throw .badEscape }
                    label.append(next)
                    i += 2
                }
            default:
                guard byte > 0x20, byte < 0x7F else { throw .invalidCharacter(byte) }
                label.append(byte)
                i += 1
            }
            if label.count > DNSDefaults.maximumLabelLength { throw .labelTooLong(length: label.count) }
        }
        if !endedWithDot { labels.append(label) }
        try self.init(labels: labels)
    }

    /// `relative` (one or more labels, such as `selector._domainkey` or `4.3.2.1`) placed under
    /// `parent`: what DKIM key lookups and DNS blocklist queries build.
    public init(_ relative: String, under parent: DNSName) throws(DNSNameError) {
        let head = try DNSName(relative)
        try self.init(labels: head.labels + parent.labels)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    /// Whether this is the root name ("."), the exchange of a null MX (RFC 7505).
    public var isRoot: Bool { labels.isEmpty }

    /// Length of the uncompressed wire form: one length octet per label, the label, and the root's
    /// zero octet.
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    /// The name with ASCII letters in lower case: the canonical form for keys and display.
    public var lowercased: DNSName {
        DNSName(validatedLabels: labels.map { $0.map(Self.lower) })
    }

    /// The name one level up (`example.com` for `mail.example.com`); the root for the root.
    public var parent: DNSName {
        labels.isEmpty ? self : DNSName(validatedLabels: Array(labels.dropFirst()))
    }

    /// Whether this name equals `other` or lies below it, case-insensitively.
    public func isSubdomain(of other: DNSName) -> Bool {
        guard labels.count >= other.labels.count else { return false }
        let offset = labels.count - other.labels.count
        for (index, label) in other.labels.enumerated() where !Self.labelsEqual(labels[offset + index], label) {
            return false
        }
        return true
    }

    /// The text form without the final dot (`.` for the root); unprintable octets, `.` and `\` in a
    /// label are escaped, so `DNSName(name.description) == name` always holds.
    public var description: String {
        if labels.isEmpty { return "." }
        var out: [UInt8] = []
        out.reserveCapacity(wireLength)
        for (index, label) in labels.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ".")) }
            for byte in label {
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "\\") {
                    out.append(UInt8(ascii: "\\"))
                    out.append(byte)
                } else if byte <= 0x20 || byte >= 0x7F {
                    out.append(UInt8(ascii: "\\"))
                    out.append(48 + byte / 100)
                    out.append(48 + byte / 10 % 10)
                    out.append(48 + byte % 10)
                } else {
                    out.append(byte)
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Case-insensitive identity (RFC 4343)

    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    static func labelsEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        for i in a.indices where lower(a[i]) != lower(b[i]) { return false }
        return true
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        guard lhs.labels.count == rhs.labels.count else { return false }
        for i in lhs.labels.indices where !labelsEqual(lhs.labels[i], rhs.labels[i]) { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(labels.count)
        for label in labels {
            hasher.combine(label.count)
            for byte in label { hasher.combine(Self.lower(byte)) }
        }
    }
}
