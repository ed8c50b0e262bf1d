// ClamdReply.swift — what clamd's replies mean: the INSTREAM result, PONG, the version.
//
// clamd(8) and clamd/scanner.c, clamd/session.c (ClamAV 1.4): the reply to INSTREAM is one of
//
//   stream: OK
//   stream: <signature> FOUND                 e.g. stream: Win.Test.EICAR_HDB-1 FOUND
//   stream: <signature>(<hash>:<size>) FOUND  with ExtendedDetectionInfo yes in clamd.conf
//   stream: <text> ERROR                      the scan failed (cl_strerror text)
//   <text> ERROR                              e.g. INSTREAM size limit exceeded. ERROR
//
// Anything else is `ClamdReplyError.unexpected`: never read as "clean". A reply must be printable
// ASCII; a signature name is everything between "stream: " and " FOUND" (unofficial databases,
// ours included, add ".UNOFFICIAL"). INSTREAM stops at the first match, so clamd names one
// signature; `signatures` is a list so that verdicts of several scans or engines can be merged.

/// The outcome clamd reported for one stream.
public enum ClamdScanResult: Hashable, Sendable {
    /// No signature matched.
    case clean
    /// These signatures matched (clamd's INSTREAM reports the first match only).
    case infected(signatures: [String])
    /// clamd answered that it could not scan the stream, with its reason
    /// (`INSTREAM size limit exceeded.`, `Can't allocate memory`…).
    case error(String)

    private static let prefix = "stream: "
    private static let found = " FOUND"
    private static let errorSuffix = " ERROR"

    /// Reads the reply to INSTREAM (without its NUL).
    public static func parse(_ reply: [UInt8]) throws(ClamdReplyError) -> ClamdScanResult {
        let text = try ClamdReplyText.printable(reply)
        if text.hasPrefix(prefix) {
            let rest = text.dropFirst(prefix.count)
            if rest == "OK" { return .clean }
            if rest.hasSuffix(found) {
                let name = signatureName(rest.dropLast(found.count))
                guard !name.isEmpty else { throw .unexpected(text) }
                return .infected(signatures: [name])
            }
            if rest.hasSuffix(errorSuffix) {
                return .error(String(rest.dropLast(errorSuffix.count)))
            }
            throw .unexpected(text)
        }
        if text.hasSuffix(errorSuffix) {
            // Errors clamd reports before scanning carry no "stream: " (the size limit, a read
            // timeout, a failed poll).
            return .error(String(text.dropLast(errorSuffix.count)))
        }
        throw .unexpected(text)
    }

    /// The signature name with ExtendedDetectionInfo's "(hash:size)" taken off.
    static func signatureName(_ text: Substring) -> String {
        guard text.hasSuffix(")"), let open = text.lastIndex(of: "(") else { return String(text) }
        let inside = text[text.index(after: open)..<text.index(before: text.endIndex)]
        let parts = inside.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2,
              !parts[0].isEmpty, parts[0].allSatisfy(\.isHexDigit),
              !parts[1].isEmpty, parts[1].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isNumber),
              open > text.startIndex
        else { return String(text) }
        return String(text[..<open])
    }
}

/// The reply to PING.
public enum ClamdPong {
    /// Checks that `reply` is `PONG`.
    public static func parse(_ reply: [UInt8]) throws(ClamdReplyError) {
        let text = try ClamdReplyText.printable(reply)
        guard text == "PONG" else { throw .unexpected(text) }
    }
}

/// The reply to VERSION: `ClamAV <engine>[/<database version>/<database date>]`.
public struct ClamdVersion: Hashable, Sendable, CustomStringConvertible {
    /// The engine's version, `1.4.6`.
    public var engine: String
    /// The signature database's version (daily.cvd's), when clamd loaded official databases.
    public var databaseVersion: Int?
    /// The signature database's build date as clamd prints it, `Mon Nov 23 09:00:00 2026`.
    public var databaseDate: String?

    public init(engine: String, databaseVersion: Int? = nil, databaseDate: String? = nil) {
        self.engine = engine
        self.databaseVersion = databaseVersion
        self.databaseDate = databaseDate
    }

    /// Reads the reply to VERSION.
    public static func parse(_ reply: [UInt8]) throws(ClamdReplyError) -> ClamdVersion {
        let text = try ClamdReplyText.printable(reply)
        guard text.hasPrefix("ClamAV ") else { throw .unexpected(text) }
        let parts = text.dropFirst("ClamAV ".count).split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard let engine = parts.first, !engine.isEmpty, !engine.contains(" ") else { throw .unexpected(text) }
        var version = ClamdVersion(engine: String(engine))
        if parts.count > 1 {
            guard let database = Int(parts[1]) else { throw .unexpected(text) }
            version.databaseVersion = database
        }
        if parts.count > 2 { version.databaseDate = String(parts[2]) }
        return version
    }

    public var description: String {
        var text = "ClamAV \(engine)"
        if let databaseVersion { text += "/\(databaseVersion)" }
        if let databaseDate { text += "/\(databaseDate)" }
        return text
    }
}

enum ClamdReplyText {
    /// The reply as text, if every octet is printable ASCII (0x20–0x7E).
    static func printable(_ reply: [UInt8]) throws(ClamdReplyError) -> String {
        if let offset = reply.firstIndex(where: { $0 < 0x20 || $0 > 0x7E }) { throw .notPrintable(offset: offset) }
        return String(decoding: reply, as: UTF8.self)
    }
}
