// MIMEContentType.swift — RFC 2045 §5 Content-Type.
//
// Grammar (RFC 2045 §5.1):
//   content := "Content-Type" ":" type "/" subtype *(";" parameter)
//
// Diagnostics: a value that is not `type/subtype` yields the RFC 2045 §5.2 default
// (text/plain; charset=us-ascii) and `malformedContentType`.
// Security notes: type and subtype are lower-cased; parameters keep every spelling.

/// A media type with its parameters.
public struct MIMEContentType: Sendable, Hashable, CustomStringConvertible {
    /// Lower-cased top-level type ("text", "multipart", …).
    public var type: String
    /// Lower-cased subtype.
    public var subtype: String
    public var parameters: MIMEParameters

    public init(type: String, subtype: String, parameters: MIMEParameters = MIMEParameters()) {
        self.type = type.lowercased()
        self.subtype = subtype.lowercased()
        self.parameters = parameters
    }

    /// "type/subtype".
    public var mimeType: String { type + "/" + subtype }
    public var description: String { mimeType }

    public var charset: String? { parameters["charset"] }
    public var boundary: String? { parameters["boundary"] }
    /// The (deprecated, RFC 2046 §4.5.1) `name` parameter.
    public var name: String? { parameters["name"] }

    public var isMultipart: Bool { type == "multipart" }
    /// message/rfc822 and message/global (RFC 6532 §3.7), and message/news: encapsulated messages.
    public var isEncapsulatedMessage: Bool {
        type == "message" && (subtype == "rfc822" || subtype == "global" || subtype == "news")
    }

    /// text/plain; charset=us-ascii (RFC 2045 §5.2).
    public static let defaultType = MIMEContentType(type: "text", subtype: "plain")
    /// message/rfc822, the default inside multipart/digest (RFC 2046 §5.1.5).
    public static let digestDefault = MIMEContentType(type: "message", subtype: "rfc822")

    /// Parses a Content-Type field value. Returns nil (and flags) when the type is unusable.
    static func parse(_ raw: [UInt8], limits: MIMELimits, defects: inout MIMEDefects,
                      limitErrors: inout [MIMELimitError]) -> MIMEContentType? {
        var cursor = StructuredCursor(raw)
        cursor.skipCFWS()
        let type = cursor.readToken()
        cursor.skipCFWS()
        guard !type.isEmpty, cursor.peek == 47 else {
            defects.insert(.malformedContentType)
            return nil
        }
        cursor.i += 1
        cursor.skipCFWS()
        let subtype = cursor.readToken()
        guard !subtype.isEmpty else {
            defects.insert(.malformedContentType)
            return nil
        }
        cursor.skipCFWS()
        if let c = cursor.peek, c != 59 {
            // Junk before the first ';' — tolerated, flagged.
            defects.insert(.malformedContentType)
            while let d = cursor.peek, d != 59 { cursor.i += 1 }
        }
        let params = MIMEParameterParser.parse(&cursor, limits: limits, defects: &defects, limitErrors: &limitErrors)
        return MIMEContentType(type: String(decoding: type, as: UTF8.self),
                               subtype: String(decoding: subtype, as: UTF8.self), parameters: params)
    }
}
