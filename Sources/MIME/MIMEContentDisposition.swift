// MIMEContentDisposition.swift — RFC 2183 Content-Disposition.
//
// Grammar (RFC 2183 §2):
//   disposition := "Content-Disposition" ":" disposition-type *(";" disposition-parm)
//   disposition-type := "inline" / "attachment" / extension-token
//
// Diagnostics: parameter problems as in `MIMEParameters`.
// Security notes: an unknown disposition type is treated as "attachment" (RFC 2183 §2.8).

/// The disposition of a part.
public struct MIMEContentDisposition: Sendable, Hashable {
    /// Lower-cased disposition type ("inline", "attachment", …).
    public var type: String
    public var parameters: MIMEParameters

    public init(type: String, parameters: MIMEParameters = MIMEParameters()) {
        self.type = type.lowercased()
        self.parameters = parameters
    }

    public var isAttachment: Bool { type != "inline" }
    public var filename: String? { parameters["filename"] }

    static func parse(_ raw: [UInt8], limits: MIMELimits, defects: inout MIMEDefects,
                      limitErrors: inout [MIMELimitError]) -> MIMEContentDisposition {
        var cursor = StructuredCursor(raw)
        cursor.skipCFWS()
        let type = cursor.readToken()
        cursor.skipCFWS()
        if let c = cursor.peek, c != 59 {
            defects.insert(.malformedParameters)
            while let d = cursor.peek, d != 59 { cursor.i += 1 }
        }
        let params = MIMEParameterParser.parse(&cursor, limits: limits, defects: &defects, limitErrors: &limitErrors)
        return MIMEContentDisposition(type: type.isEmpty ? "attachment" : String(decoding: type, as: UTF8.self), parameters: params)
    }
}
