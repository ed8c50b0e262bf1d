// MIMEDefects.swift — defect flags: problems found while parsing, collected, never thrown.
//
// What it does: one bit per kind of problem, after Postfix's `mime_state.c` (MIME_ERR_*), widened
// to the ambiguities a gateway must see. Each flag maps to an RFC 3463 enhanced status code.
//
// Diagnostics: flags are set on the part where the problem is (`MIMEPart.defects`) and summed up
// in `MIMEMessage.defects`. `names` gives stable identifiers for logs, policy and JSON.
//
// Security notes: flags marked "ambiguity" are places where mail programs disagree about what
// the message contains; the parser scans every reading it can and still flags the place, so
// policy can refuse such mail outright.

/// A set of problems found in a message or part.
public struct MIMEDefects: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    // MARK: Postfix's flags (mime_state.c)

    /// MIME_ERR_NESTING: nesting deeper than `MIMELimits.maxNestingDepth`.
    public static let nestingTooDeep = MIMEDefects(rawValue: 1 << 0)
    /// MIME_ERR_TRUNC_HEADER: header block larger than `MIMELimits.maxHeaderBytes` or with too many fields.
    public static let headerTruncated = MIMEDefects(rawValue: 1 << 1)
    /// MIME_ERR_8BIT_IN_HEADER: 8-bit bytes in a header that are not valid UTF-8 (RFC 6532 allows UTF-8).
    public static let eightBitInHeader = MIMEDefects(rawValue: 1 << 2)
    /// MIME_ERR_8BIT_IN_7BIT_BODY: 8-bit bytes in a body declared 7bit (or with no encoding).
    public static let eightBitIn7BitBody = MIMEDefects(rawValue: 1 << 3)
    /// MIME_ERR_ENCODING_DOMAIN: a multipart or message entity with an encoding other than
    /// 7bit, 8bit or binary (RFC 2045 §6.4). Ambiguity: some programs decode it anyway.
    public static let encodingDomain = MIMEDefects(rawValue: 1 << 4)

    // MARK: Ambiguities

    /// More than one Content-Type field. Ambiguity.
    public static let duplicateContentType = MIMEDefects(rawValue: 1 << 5)
    /// More than one Content-Transfer-Encoding field. Ambiguity.
    public static let duplicateTransferEncoding = MIMEDefects(rawValue: 1 << 6)
    /// The boundary parameter appears more than once. Ambiguity.
    public static let repeatedBoundary = MIMEDefects(rawValue: 1 << 7)
    /// The boundary parameter appears more than once with different values. Ambiguity.
    public static let conflictingBoundary = MIMEDefects(rawValue: 1 << 8)
    /// A Content-Transfer-Encoding value that is not exactly one known token. Ambiguity.
    public static let unknownTransferEncoding = MIMEDefects(rawValue: 1 << 9)
    /// Content-Type `name` and Content-Disposition `filename` disagree. Ambiguity.
    public static let filenameMismatch = MIMEDefects(rawValue: 1 << 10)
    /// Base64 with characters outside the alphabet, bad padding or data after padding.
    public static let malformedBase64 = MIMEDefects(rawValue: 1 << 11)
    /// A header block ended by something other than an empty line (a non-header line, a
    /// boundary, or the end of input). Ambiguity.
    public static let headerNotEndedByEmptyLine = MIMEDefects(rawValue: 1 << 12)
    /// A line that starts with a boundary but continues with other text; RFC 2046 and most
    /// programs do not treat it as a delimiter, some (prefix matchers) do. Ambiguity.
    public static let boundaryPrefixLine = MIMEDefects(rawValue: 1 << 13)
    /// A multipart's boundary is a prefix of an enclosing one, or the reverse. Ambiguity.
    public static let nestedBoundaryPrefix = MIMEDefects(rawValue: 1 << 14)
    /// A parameter (other than boundary) repeated with different values. Ambiguity.
    public static let conflictingParameter = MIMEDefects(rawValue: 1 << 15)
    /// Several different filename spellings (name, filename, RFC 2231 and plain). Ambiguity.
    public static let conflictingFilenames = MIMEDefects(rawValue: 1 << 16)
    /// More than one Content-Disposition field. Ambiguity.
    public static let duplicateContentDisposition = MIMEDefects(rawValue: 1 << 17)

    // MARK: Structure

    /// A multipart without a usable boundary parameter (read as a single text part).
    public static let missingBoundary = MIMEDefects(rawValue: 1 << 18)
    /// A multipart whose close delimiter never came.
    public static let missingFinalBoundary = MIMEDefects(rawValue: 1 << 19)
    /// A multipart in which no delimiter was found (its body is scanned as a leaf).
    public static let noStartBoundary = MIMEDefects(rawValue: 1 << 20)
    /// A boundary longer than 70 characters or with characters outside RFC 2046 `bchars`.
    public static let invalidBoundary = MIMEDefects(rawValue: 1 << 21)
    /// A header line that is neither a field nor a continuation, or a field name followed by
    /// white space before the colon (RFC 5322 §4.5 obsolete syntax).
    public static let malformedHeaderLine = MIMEDefects(rawValue: 1 << 22)
    /// The first line of a header block is a continuation line.
    public static let leadingContinuationLine = MIMEDefects(rawValue: 1 << 23)
    /// A Content-Type that does not parse as type "/" subtype.
    public static let malformedContentType = MIMEDefects(rawValue: 1 << 24)
    /// A malformed parameter list (missing '=', unterminated quotes, broken RFC 2231).
    public static let malformedParameters = MIMEDefects(rawValue: 1 << 25)
    /// An RFC 2047 encoded word that could not be decoded.
    public static let malformedEncodedWord = MIMEDefects(rawValue: 1 << 26)
    /// Malformed quoted-printable (an '=' not followed by two hex digits or a line break).
    public static let malformedQuotedPrintable = MIMEDefects(rawValue: 1 << 27)
    /// A charset that is unknown or whose conversion failed; the fallback decoding was used.
    public static let charsetFallback = MIMEDefects(rawValue: 1 << 28)
    /// A line longer than RFC 5322's 998 characters (or than `MIMELimits.maxLineLength`).
    public static let lineTooLong = MIMEDefects(rawValue: 1 << 29)
    /// A NUL byte or a bare CR in a header.
    public static let controlCharacterInHeader = MIMEDefects(rawValue: 1 << 30)
    /// An uuencoded block inside a text part (its file is listed as a child part).
    public static let uuencodedContent = MIMEDefects(rawValue: 1 << 31)
    /// Malformed uuencoded data.
    public static let malformedUUEncode = MIMEDefects(rawValue: 1 << 32)
    /// An address header that does not parse cleanly.
    public static let malformedAddress = MIMEDefects(rawValue: 1 << 33)
    /// A display name that itself looks like an e-mail address (a spoofing trick).
    public static let addressInDisplayName = MIMEDefects(rawValue: 1 << 34)

    // MARK: Content

    /// The content's true type disagrees with the declared Content-Type or the filename's extension.
    public static let typeMismatch = MIMEDefects(rawValue: 1 << 35)
    /// HTML text hidden from the reader (display:none, zero font size, tiny or invisible text).
    public static let hiddenHTMLText = MIMEDefects(rawValue: 1 << 36)
    /// An encrypted archive or archive entry (its content could not be scanned).
    public static let encryptedArchive = MIMEDefects(rawValue: 1 << 37)
    /// An archive that could not be read (corrupt or unsupported).
    public static let unreadableArchive = MIMEDefects(rawValue: 1 << 38)
    /// An archive over a limit: depth, entries, unpacked size or compression ratio (a bomb).
    public static let archiveLimit = MIMEDefects(rawValue: 1 << 39)

    // MARK: Limits

    /// Too many parts: the rest of the message was kept as an opaque leaf.
    public static let tooManyParts = MIMEDefects(rawValue: 1 << 40)
    /// A boundary longer than `MIMELimits.maxBoundaryLength`: the multipart was read as a leaf.
    public static let boundaryTooLong = MIMEDefects(rawValue: 1 << 41)
    /// A decoded part larger than `MIMELimits.maxDecodedPartBytes`.
    public static let decodedPartTooLarge = MIMEDefects(rawValue: 1 << 42)
    /// Body text longer than `MIMELimits.maxTextBytes` was cut for content rules.
    public static let textTruncated = MIMEDefects(rawValue: 1 << 43)
    /// A parameter list over `maxParameters` or `maxParameterSegments`.
    public static let tooManyParameters = MIMEDefects(rawValue: 1 << 44)
    /// Alternative readings over `MIMELimits.maxAlternativeReadings` were not parsed.
    public static let tooManyReadings = MIMEDefects(rawValue: 1 << 45)

    /// Stable names of every flag, in bit order.
    public static let allFlags: [(MIMEDefects, String)] = [
        (.nestingTooDeep, "nesting-too-deep"), (.headerTruncated, "header-truncated"),
        (.eightBitInHeader, "8bit-in-header"), (.eightBitIn7BitBody, "8bit-in-7bit-body"),
        (.encodingDomain, "encoding-domain"), (.duplicateContentType, "duplicate-content-type"),
        (.duplicateTransferEncoding, "duplicate-transfer-encoding"), (.repeatedBoundary, "repeated-boundary"),
        (.conflictingBoundary, "conflicting-boundary"), (.unknownTransferEncoding, "unknown-transfer-encoding"),
        (.filenameMismatch, "filename-mismatch"), (.malformedBase64, "malformed-base64"),
        (.headerNotEndedByEmptyLine, "header-not-ended-by-empty-line"), (.boundaryPrefixLine, "boundary-prefix-line"),
        (.nestedBoundaryPrefix, "nested-boundary-prefix"), (.conflictingParameter, "conflicting-parameter"),
        (.conflictingFilenames, "conflicting-filenames"), (.duplicateContentDisposition, "duplicate-content-disposition"),
        (.missingBoundary, "missing-boundary"), (.missingFinalBoundary, "missing-final-boundary"),
        (.noStartBoundary, "no-start-boundary"), (.invalidBoundary, "invalid-boundary"),
        (.malformedHeaderLine, "malformed-header-line"), (.leadingContinuationLine, "leading-continuation-line"),
        (.malformedContentType, "malformed-content-type"), (.malformedParameters, "malformed-parameters"),
        (.malformedEncodedWord, "malformed-encoded-word"), (.malformedQuotedPrintable, "malformed-quoted-printable"),
        (.charsetFallback, "charset-fallback"), (.lineTooLong, "line-too-long"),
        (.controlCharacterInHeader, "control-character-in-header"), (.uuencodedContent, "uuencoded-content"),
        (.malformedUUEncode, "malformed-uuencode"), (.malformedAddress, "malformed-address"),
        (.addressInDisplayName, "address-in-display-name"), (.typeMismatch, "type-mismatch"),
        (.hiddenHTMLText, "hidden-html-text"), (.encryptedArchive, "encrypted-archive"),
        (.unreadableArchive, "unreadable-archive"), (.archiveLimit, "archive-limit"),
        (.tooManyParts, "too-many-parts"), (.boundaryTooLong, "boundary-too-long"),
        (.decodedPartTooLarge, "decoded-part-too-large"), (.textTruncated, "text-truncated"),
        (.tooManyParameters, "too-many-parameters"), (.tooManyReadings, "too-many-readings"),
    ]

    /// Flags where mail programs read the message differently.
    public static let ambiguities: MIMEDefects = [
        .encodingDomain, .duplicateContentType, .duplicateTransferEncoding, .repeatedBoundary,
        .conflictingBoundary, .unknownTransferEncoding, .filenameMismatch, .headerNotEndedByEmptyLine,
        .boundaryPrefixLine, .nestedBoundaryPrefix, .conflictingParameter, .conflictingFilenames,
        .duplicateContentDisposition,
    ]

    /// Flags that mean some content could not be inspected.
    public static let unscannable: MIMEDefects = [
        .nestingTooDeep, .headerTruncated, .encryptedArchive, .unreadableArchive, .archiveLimit,
        .tooManyParts, .boundaryTooLong, .decodedPartTooLarge, .textTruncated, .tooManyParameters,
        .tooManyReadings,
    ]

    /// The stable names of the flags set, in bit order.
    public var names: [String] {
        MIMEDefects.allFlags.compactMap { contains($0.0) ? $0.1 : nil }
    }

    /// The RFC 3463 enhanced status code for rejecting a message with these defects:
    /// 5.3.4 (message too big for system) for size limits, 5.7.1 (delivery not authorized)
    /// for encrypted archives, 5.6.0 (other or undefined media error) for the rest, as Postfix
    /// does for its MIME_ERR_* flags. `nil` if no flag is set.
    public var enhancedStatusCode: String? {
        if isEmpty { return nil }
        if !intersection([.decodedPartTooLarge, .headerTruncated]).isEmpty { return "5.3.4" }
        if contains(.encryptedArchive) { return "5.7.1" }
        return "5.6.0"
    }

    public var description: String { "[" + names.joined(separator: ", ") + "]" }
}
