// MIMEPart.swift — one entity of the parsed message: a MIME part, an alternative reading of
// one, a file from an uuencoded block, or an archive entry.
//
// What it does: carries what scanners and policy look at — declared type, true type, every
// filename spelling, size, SHA-256, whether it is body text, its text — plus where it sits in
// the input (for rewriting) and the defects found in it.
//
// Security notes: parts are stored flat in `MIMEMessage.parts` and linked by index, so no
// recursion is needed to walk them and a hostile tree cannot exhaust the stack.

/// One entity of a parsed message.
public struct MIMEPart: Sendable {
    /// What the entity holds.
    public enum Kind: Sendable, Hashable {
        /// A body (leaf).
        case leaf
        /// multipart/* with its children.
        case multipart
        /// message/rfc822 or message/global with its encapsulated message as child.
        case message
    }

    /// Where the entity comes from.
    public enum Origin: Sendable, Hashable {
        /// An entity of the MIME tree as written.
        case mime
        /// A second reading of part `of`, made because programs read it differently
        /// (`reason` holds the ambiguity flag).
        case alternativeReading(of: Int, reason: MIMEDefects)
        /// A file found in an uuencoded block of a text part.
        case uuencoded
        /// An entry of the archive in the parent part (`path` as stored in the archive).
        case archiveEntry(path: String)
    }

    public let index: Int
    public internal(set) var parent: Int?
    public internal(set) var children: [Int] = []
    /// 0 for the top-level message.
    public let depth: Int
    public internal(set) var kind: Kind = .leaf
    public let origin: Origin

    /// Which buffer the ranges refer to: 0 is the parsed input, `n > 0` is
    /// `MIMEMessage.decodedSources[n - 1]`; nil for uuencoded files and archive entries.
    public internal(set) var source: Int?
    /// The header fields of the entity.
    public internal(set) var header = MIMEHeader()
    /// Header block, with the empty line that ends it.
    public internal(set) var headerRange: Range<Int> = 0..<0
    /// Body, without the line break that belongs to the next boundary (RFC 2046 §5.1.1).
    public internal(set) var bodyRange: Range<Int> = 0..<0
    /// Multipart preamble and epilogue.
    public internal(set) var preambleRange: Range<Int>?
    public internal(set) var epilogueRange: Range<Int>?

    /// The declared (or defaulted) content type.
    public internal(set) var contentType = MIMEContentType.defaultType
    /// Whether a Content-Type field was present and usable.
    public internal(set) var hasContentType = false
    public internal(set) var transferEncoding = MIMETransferEncoding.sevenBit
    public internal(set) var disposition: MIMEContentDisposition?
    /// Every filename spelling: Content-Disposition filename (RFC 2231 and plain), Content-Type
    /// name, uuencode name, archive path; primary first, duplicates removed.
    public internal(set) var filenames: [String] = []

    /// Size of the decoded content (leaves).
    public internal(set) var decodedSize = 0
    /// SHA-256 of the decoded content (leaves).
    public internal(set) var sha256: SHA256Digest?
    /// The type by content (leaves).
    public internal(set) var trueType = MIMEFileType.empty
    /// Whether the reader sees this part as message text (text/plain or text/html, not an attachment).
    public internal(set) var isBodyText = false
    /// For body text: the text the reader sees, in UTF-8 (HTML rendered to text).
    public internal(set) var text: String?
    /// For HTML body text: the decoded HTML source.
    public internal(set) var html: String?
    /// For HTML body text: text the reader does not see (display:none, zero-size fonts, …).
    public internal(set) var hiddenText: String?
    /// Normalised URLs found in this part's text or HTML.
    public internal(set) var urls: [String] = []
    /// For archive entries: the entry is encrypted (its content was not inspected).
    public internal(set) var isEncrypted = false
    /// For archives: what was listed inside (children are the entries).
    public internal(set) var isArchive = false
    public internal(set) var defects: MIMEDefects = []

    init(index: Int, parent: Int?, depth: Int, origin: Origin, source: Int?) {
        self.index = index
        self.parent = parent
        self.depth = depth
        self.origin = origin
        self.source = source
    }

    /// The primary filename.
    public var filename: String? { filenames.first }

    /// Whether the declared type and the filename disagree with the true type.
    public var hasTypeMismatch: Bool { defects.contains(.typeMismatch) }

    /// Whether this entity is an attachment in the reader's eyes (a leaf that is not body text).
    public var isAttachment: Bool { kind == .leaf && !isBodyText }
}
