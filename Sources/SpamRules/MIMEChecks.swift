// MIMEChecks.swift — `mime` rules: structural facts the MIME engine reports (our format only).
//
// What it does: evaluates a `MIMECheck` against a parsed message — true attachment types (by
// content, never by name), attachment names, MIME defects, HTML-only bodies, short visible text,
// type mismatches, unscannable content, addresses in From display names, URL counts — and gives
// the evidence (a filename, a type, a defect name).
//
// Security notes: these read what the MIME engine already computed under its own limits; nothing
// here re-parses the message except the From field's address list (bounded by `MIMELimits`).
internal import MIME
internal import PCRE2

/// The names `mime` rules accept.
enum MIMEFileTypeNames {
    static let all: Set<String> = Set(MIMEFileType.allCases.map(\.rawValue))
    static let defects: Set<String> = Set(MIMEDefects.allFlags.map(\.1))
}

extension MIMECheck {
    /// Whether the check holds, with evidence.
    func evaluate(_ message: MIMEMessage, regex: PCRE2Regex?, scratch: PCRE2MatchScratch) -> (hit: Bool, evidence: String?, failure: PCRE2MatchError?) {
        switch self {
        case .attachmentType(let name):
            for part in message.attachments where part.trueType.rawValue == name || part.trueType.category.rawValue == name {
                return (true, (part.filename.map { $0 + ": " } ?? "") + part.trueType.rawValue, nil)
            }
            return (false, nil, nil)
        case .attachmentName:
            guard let regex else { return (false, nil, nil) }
            for part in message.attachments {
                for name in part.filenames {
                    do {
                        if try regex.firstMatch(in: name, scratch: scratch) != nil { return (true, name, nil) }
                    } catch {
                        return (false, nil, error)
                    }
                }
            }
            return (false, nil, nil)
        case .defect(let name):
            guard let flag = MIMEDefects.allFlags.first(where: { $0.1 == name })?.0 else { return (false, nil, nil) }
            return message.defects.contains(flag) ? (true, name, nil) : (false, nil, nil)
        case .htmlOnly:
            let parts = message.bodyTextParts.filter { $0.origin == .mime }
            let hit = !parts.isEmpty && parts.allSatisfy { $0.contentType.mimeType == "text/html" }
            return (hit, hit ? "text/html only" : nil, nil)
        case .textShorterThan(let n):
            var count = 0
            for part in message.bodyTextParts where part.origin == .mime {
                for scalar in (part.text ?? "").unicodeScalars where !scalar.properties.isWhitespace {
                    count += 1
                    if count >= n { return (false, nil, nil) }
                }
            }
            return (true, "\(count) characters", nil)
        case .typeMismatch:
            for part in message.parts where part.hasTypeMismatch {
                return (true, (part.filename.map { $0 + ": " } ?? "") + "declared \(part.contentType.mimeType), is \(part.trueType.rawValue)", nil)
            }
            return (false, nil, nil)
        case .unscannable:
            return message.isUnscannable ? (true, message.limitErrors.first?.description ?? message.defects.description, nil) : (false, nil, nil)
        case .displayNameAddress:
            for field in message.header.fields(named: "from") {
                let addresses = MIMEAddressParser.parse(field.rawValue).addresses
                let real = Set(addresses.filter { !$0.fromDisplayName }.map { $0.address.lowercased() })
                if let shown = addresses.first(where: { $0.fromDisplayName && !real.contains($0.address.lowercased()) }) {
                    return (true, shown.address, nil)
                }
            }
            return (false, nil, nil)
        case .urlCountAbove(let n):
            return message.urls.count > n ? (true, "\(message.urls.count) URLs", nil) : (false, nil, nil)
        }
    }
}
