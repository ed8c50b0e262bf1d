// MIMEDefaults.swift — every limit of the MIME and unpacking engine, in one place.
//
// What it does: `MIMELimits` carries each bound the parser, the decoders and the unpacker
// respect; `MIMELimits.default` holds the defaults. Nothing else in the target hard-codes a limit.
//
// Diagnostics: a limit that is reached is never thrown from the parser. It is recorded as a
// `MIMELimitError` in `MIMEMessage.limitErrors` (and as a defect flag on the part), and the
// message is then "unscannable" (`MIMEMessage.isUnscannable`), never clean.
//
// Security notes: every limit below names the attack it stops. The defaults follow Postfix
// (`header_size_limit`, `mime_boundary_length_limit`, `mime_nesting_limit`) where Postfix has one.

/// The bounds of one parse. Use `MIMELimits.default` unless a policy says otherwise.
public struct MIMELimits: Sendable, Hashable {
    /// Deepest nesting of multiparts, encapsulated messages and decoded message parts
    /// (the top-level message is depth 0).
    ///
    /// Stops: stack and time exhaustion by deeply nested `multipart/mixed` or `message/rfc822`
    /// ("Russian doll" messages) and scanners that give up silently at some depth. Deeper
    /// entities are kept as opaque leaves and the message is unscannable.
    public var maxNestingDepth: Int = 32

    /// Most MIME entities (parts) in one message, counting alternative readings, uuencoded
    /// blocks and archive entries.
    ///
    /// Stops: memory and time exhaustion by a message of millions of empty parts.
    public var maxParts: Int = 2_000

    /// Largest header block of one entity, in bytes (Postfix `header_size_limit`).
    ///
    /// Stops: memory exhaustion by an endless header; the rest of an over-long header is
    /// skipped, flagged, and the message is unscannable.
    public var maxHeaderBytes: Int = 102_400

    /// Most header fields in one header block.
    ///
    /// Stops: quadratic work in header look-ups by a header of tens of thousands of tiny fields.
    public var maxHeaderFields: Int = 1_000

    /// Longest multipart boundary parameter (Postfix `mime_boundary_length_limit`; RFC 2046
    /// allows 70, longer ones are flagged but accepted up to this bound).
    ///
    /// Stops: quadratic boundary matching by a multi-kilobyte boundary compared on every line.
    public var maxBoundaryLength: Int = 2_048

    /// Longest line considered for structure (header fields and boundary lines). Longer lines
    /// are still decoded as body data but never start a header field or a boundary.
    ///
    /// Stops: memory exhaustion by header lines of many megabytes, and boundary look-ups on
    /// giant lines.
    public var maxLineLength: Int = 65_536

    /// Largest decoded body of one part the engine inspects. Larger parts are still hashed
    /// and sized but the message is unscannable (anti-virus engines have similar caps).
    ///
    /// Stops: evasion by padding an attachment past the scanner's size cap.
    public var maxDecodedPartBytes: Int = 128 * 1024 * 1024

    /// Most decoded text kept per body-text part for content rules.
    ///
    /// Stops: memory exhaustion by a huge text body; text past the cap is flagged
    /// (`textTruncated`) so that padding a payload past it cannot pass silently.
    public var maxTextBytes: Int = 2 * 1024 * 1024

    /// Most parameters in one structured header (Content-Type, Content-Disposition).
    ///
    /// Stops: quadratic duplicate detection by thousands of parameters.
    public var maxParameters: Int = 128

    /// Highest RFC 2231 continuation index (`name*N`).
    ///
    /// Stops: huge allocations by `filename*99999999=x` and quadratic reassembly.
    public var maxParameterSegments: Int = 256

    /// Most alternative readings of ambiguous structure (duplicate Content-Type, conflicting
    /// boundaries, encodings on multiparts) that are parsed in addition to the primary one.
    ///
    /// Stops: exponential re-parsing by a message built of nested ambiguities.
    public var maxAlternativeReadings: Int = 8

    /// Most addresses returned from one address header.
    ///
    /// Stops: memory and time exhaustion by a To: header with a million recipients.
    public var maxAddressesPerHeader: Int = 2_000

    /// Most URLs collected from one message.
    ///
    /// Stops: memory exhaustion by a body that is nothing but links.
    public var maxURLs: Int = 10_000

    /// Most uuencoded blocks recognised inside one text part.
    public var maxUUEncodedBlocks: Int = 32

    // MARK: Archives

    /// Deepest archive-in-archive recursion (a zip inside a zip is depth 2).
    ///
    /// Stops: recursive ("42.zip") and quine archives; deeper archives are listed as
    /// unscannable.
    public var maxArchiveDepth: Int = 4

    /// Most entries listed across all archives of one part.
    ///
    /// Stops: time and memory exhaustion by archives of millions of empty entries.
    public var maxArchiveEntries: Int = 2_000

    /// Most bytes unpacked across all archives of one part.
    ///
    /// Stops: decompression bombs (a small zip unpacking to gigabytes).
    public var maxArchiveTotalBytes: Int = 256 * 1024 * 1024

    /// Largest single archive (as decoded from its part) handed to the unpacker.
    ///
    /// Stops: memory exhaustion, since an archive is unpacked from memory.
    public var maxArchiveBytes: Int = 64 * 1024 * 1024

    /// Highest ratio of unpacked to packed bytes tolerated once `archiveRatioThreshold`
    /// bytes have been unpacked.
    ///
    /// Stops: decompression bombs early, before the total-size cap is reached.
    public var maxCompressionRatio: Int = 100

    /// Unpacked bytes below which the compression ratio is not checked (small, very
    /// compressible text files are legitimate).
    public var archiveRatioThreshold: Int = 1024 * 1024

    public init() {}

    /// The defaults.
    public static let `default` = MIMELimits()
}
