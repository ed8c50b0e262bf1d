// MIMELimitError.swift — the typed errors for limits of the MIME engine.
//
// What it does: names each bound of `MIMELimits` that a message reached.
// Diagnostics: collected in `MIMEMessage.limitErrors`; thrown only by `MIMEParser.parseStrict`.
// Security notes: any of these makes the message unscannable; policy must not treat it as clean.

/// A limit of `MIMELimits` that a message reached. Each case names the limit it hit.
public enum MIMELimitError: Error, Hashable, Sendable, CustomStringConvertible {
    case nestingTooDeep(limit: Int)
    case tooManyParts(limit: Int)
    case headerTooLarge(limit: Int)
    case tooManyHeaderFields(limit: Int)
    case boundaryTooLong(length: Int, limit: Int)
    case lineTooLong(limit: Int)
    case decodedPartTooLarge(limit: Int)
    case textTruncated(limit: Int)
    case tooManyParameters(limit: Int)
    case tooManyParameterSegments(limit: Int)
    case tooManyAlternativeReadings(limit: Int)
    case tooManyAddresses(limit: Int)
    case tooManyURLs(limit: Int)
    case archiveTooDeep(limit: Int)
    case archiveTooManyEntries(limit: Int)
    case archiveTooLarge(limit: Int)
    case archiveUnpackedTooLarge(limit: Int)
    case archiveCompressionRatio(limit: Int)

    /// Whether reaching this limit means part of the message was not inspected. Only a
    /// long line (still decoded) and the URL cap (the text itself is still kept) do not.
    public var makesUnscannable: Bool {
        switch self {
        case .lineTooLong, .tooManyURLs, .tooManyAddresses: return false
        default: return true
        }
    }

    /// RFC 3463 enhanced status code for a rejection caused by this limit.
    /// Sizes map to 5.3.4 (message too big for system), structure to 5.6.0 (other media error).
    public var enhancedStatusCode: String {
        switch self {
        case .decodedPartTooLarge, .archiveTooLarge, .archiveUnpackedTooLarge, .headerTooLarge:
            return "5.3.4"
        default:
            return "5.6.0"
        }
    }

    public var description: String {
        switch self {
        case .nestingTooDeep(let l): return "MIME nesting exceeds safety limit (\(l))"
        case .tooManyParts(let l): return "too many MIME parts (limit \(l))"
        case .headerTooLarge(let l): return "header exceeds size limit (\(l) bytes)"
        case .tooManyHeaderFields(let l): return "too many header fields (limit \(l))"
        case .boundaryTooLong(let n, let l): return "boundary of \(n) bytes exceeds limit (\(l))"
        case .lineTooLong(let l): return "line exceeds length limit (\(l))"
        case .decodedPartTooLarge(let l): return "decoded part exceeds size limit (\(l) bytes)"
        case .textTruncated(let l): return "body text truncated at \(l) bytes"
        case .tooManyParameters(let l): return "too many header parameters (limit \(l))"
        case .tooManyParameterSegments(let l): return "RFC 2231 continuation index exceeds limit (\(l))"
        case .tooManyAlternativeReadings(let l): return "too many ambiguous readings (limit \(l))"
        case .tooManyAddresses(let l): return "too many addresses in one header (limit \(l))"
        case .tooManyURLs(let l): return "too many URLs (limit \(l))"
        case .archiveTooDeep(let l): return "archive nesting exceeds limit (\(l))"
        case .archiveTooManyEntries(let l): return "archive entries exceed limit (\(l))"
        case .archiveTooLarge(let l): return "archive exceeds size limit (\(l) bytes)"
        case .archiveUnpackedTooLarge(let l): return "unpacked size exceeds limit (\(l) bytes)"
        case .archiveCompressionRatio(let l): return "compression ratio exceeds limit (\(l):1)"
        }
    }
}
