// MIMERewriter.swift — a new message from a parsed one: parts stripped, headers edited,
// disclaimers appended, every untouched byte left exactly as it was.
//
// What it does: computes a list of byte-range edits against the original input (replace an
// entity by a short notice, remove or add header fields, insert a disclaimer at the end of a
// text body or before </body> of an HTML body) and splices them. Bytes outside the edits are
// copied as they are, so a DKIM signature (RFC 6376) over untouched fields and parts still
// verifies; a body that must be re-encoded (base64) is rewritten as one unit.
//
// Stripping where there are no bytes of the part's own to cut: a part inside a decoded container
// (a base64 or quoted-printable message/rfc822 or multipart) is cut from the decoded bytes, which
// are encoded again as the container's body; an alternative reading, an archive entry or an
// uuencoded file is stripped by stripping the entity it comes from (`Result.strippedInstead`).
//
// Diagnostics: parts that still cannot be stripped (in a container whose encoding is not base64
// or quoted-printable) are reported in `Result.skipped`.
//
// Security notes: a removed part is replaced as a whole entity (header and body), so no
// fragment of it survives; the notice is plain ASCII text/plain. Added field values that are
// not ASCII are written as RFC 2047 encoded words; CR and LF in values are removed, so an edit
// cannot inject header fields.

/// Rewrites messages.
public struct MIMERewriter: Sendable {
    /// An edit of the top-level header.
    public enum HeaderEdit: Sendable, Hashable {
        /// Adds a field at the top of the header (where trace and result fields go).
        case add(name: String, value: String)
        /// Removes every field of that name and adds one.
        case set(name: String, value: String)
        /// Removes every field of that name.
        case remove(name: String)
    }

    /// A disclaimer in both forms.
    public struct Disclaimer: Sendable, Hashable {
        public var text: String
        public var html: String
        public init(text: String, html: String) {
            self.text = text
            self.html = html
        }
    }

    /// What was done.
    public struct Result: Sendable {
        public var bytes: [UInt8]
        /// Part indices that were asked for but could not be stripped.
        public var skipped: [Int]
        /// Parts asked for that have no bytes of their own (alternative readings, archive entries,
        /// uuencoded files), with the entity stripped in their place (the part read again, the
        /// archive's part, the text part holding the uuencoded file).
        public var strippedInstead: [Int: Int] = [:]
    }

    public var headerEdits: [HeaderEdit] = []
    /// Indices (in `MIMEMessage.parts`) of parts to strip.
    public var removeParts: Set<Int> = []
    /// The notice left in place of a stripped part; "{filename}" is replaced by its name.
    public var removalNotice = "The attachment {filename} was removed by the mail gateway."
    /// Appended to the body text (text/plain and text/html) of the top-level message.
    public var disclaimer: Disclaimer?

    public init() {}

    private struct Edit {
        var range: Range<Int>
        var bytes: [UInt8]
    }

    /// Produces the rewritten message. `input` must be the bytes `message` was parsed from.
    public func rewrite(_ input: [UInt8], message: MIMEMessage) -> Result {
        var edits: [Edit] = []
        var skipped: [Int] = []
        let eol: [UInt8] = lineBreak(input, message.root)
        let root = message.root

        // Header fields.
        var removedFields = Set<Range<Int>>()
        var added: [UInt8] = []
        for edit in headerEdits {
            switch edit {
            case .add(let name, let value):
                added += field(name, value, eol)
            case .set(let name, let value):
                for f in root.header.fields(named: name) { removedFields.insert(f.range) }
                added += field(name, value, eol)
            case .remove(let name):
                for f in root.header.fields(named: name) { removedFields.insert(f.range) }
            }
        }

        // Stripped parts: each asked part resolved to the entity that holds its bytes.
        var removedEntities: [Range<Int>] = []
        var strippedInstead: [Int: Int] = [:]
        var decodedEdits: [Int: [Edit]] = [:]  // by decoded source
        var askedIn: [Int: [Int]] = [:]  // asked parts behind each decoded source
        for asked in removeParts.sorted() {
            guard asked < message.parts.count, let p = strippableEntity(asked, message) else { skipped.append(asked); continue }
            if p != asked { strippedInstead[asked] = p }
            let part = message.parts[p]
            guard let source = part.source else { skipped.append(asked); continue }
            let sourceEOL = source == 0 ? eol : lineBreak(message.decodedSources[source - 1], message.root)
            let notice = removalNotice.replacingFilename(part.filename ?? "(unnamed)")
            let noticeBody = Array(notice.utf8).filter { $0 < 0x80 && $0 != 13 && $0 != 10 }
            let noticeFields = Array("Content-Type: text/plain; charset=us-ascii".utf8) + sourceEOL
                + Array("Content-Transfer-Encoding: 7bit".utf8) + sourceEOL + Array("Content-Disposition: inline".utf8) + sourceEOL
            if p == 0 {
                for f in root.header where ["content-type", "content-transfer-encoding", "content-disposition"].contains(f.lowercasedName) {
                    removedFields.insert(f.range)
                }
                added += noticeFields
                edits.append(Edit(range: root.bodyRange.lowerBound..<max(root.bodyRange.upperBound, root.epilogueRange?.upperBound ?? 0), bytes: noticeBody + eol))
                removedEntities.append(0..<input.count)
            } else {
                let start = part.headerRange.lowerBound
                let end = part.bodyRange.upperBound
                let edit = Edit(range: start..<end, bytes: noticeFields + sourceEOL + noticeBody)
                if source == 0 {
                    edits.append(edit)
                    removedEntities.append(start..<end)
                } else {
                    decodedEdits[source, default: []].append(edit)
                    askedIn[source, default: []].append(asked)
                }
            }
        }
        // Decoded sources, innermost (created last) first: splice, encode again as the
        // container's body, and hand that on as an edit of the container's own source.
        while let source = decodedEdits.keys.max() {
            let sourceEdits = decodedEdits.removeValue(forKey: source) ?? []
            guard let reading = message.parts.first(where: { $0.source == source && $0.origin != .mime }),
                  case .alternativeReading(let c, _) = reading.origin, (message.parts[c].source ?? 0) < source else {
                skipped += askedIn[source] ?? []
                continue
            }
            let container = message.parts[c]
            let decoded = splice(message.decodedSources[source - 1], sourceEdits)
            let outerEOL = (container.source ?? 0) == 0 ? eol : lineBreak(message.decodedSources[container.source! - 1], message.root)
            let body: [UInt8]
            switch container.transferEncoding {
            case .base64: body = Base64.encode(decoded, lineBreak: outerEOL)
            case .quotedPrintable: body = QuotedPrintable.encode(decoded, lineBreak: outerEOL)
            default:
                skipped += askedIn[source] ?? []
                continue
            }
            let edit = Edit(range: container.bodyRange, bytes: body)
            if let outer = container.source, outer > 0 {
                decodedEdits[outer, default: []].append(edit)
                askedIn[outer, default: []] += askedIn[source] ?? []
            } else {
                edits.append(edit)
            }
        }
        for r in removedFields { edits.append(Edit(range: r, bytes: [])) }
        if !added.isEmpty {
            let at = root.header.fields.first?.range.lowerBound ?? root.headerRange.lowerBound
            edits.append(Edit(range: at..<at, bytes: added))
        }

        // Disclaimers on the top-level body text.
        if let disclaimer {
            for part in message.parts where part.isBodyText && part.source == 0 && part.origin == .mime {
                if removedEntities.contains(where: { $0.contains(part.bodyRange.lowerBound) || $0 == 0..<input.count }) { continue }
                if hasMessageAncestor(part, message) { continue }
                if let edit = disclaimerEdit(part, input: input, disclaimer: disclaimer, eol: eol) { edits.append(edit) }
            }
        }

        return Result(bytes: splice(input, edits), skipped: skipped.sorted(), strippedInstead: strippedInstead)
    }

    /// Applies `edits` to `input`, in order; inserts at the same place keep their order; of two
    /// overlapping edits the first wins.
    private func splice(_ input: [UInt8], _ edits: [Edit]) -> [UInt8] {
        let ordered = edits.enumerated().sorted {
            ($0.element.range.lowerBound, $0.element.range.upperBound, $0.offset) < ($1.element.range.lowerBound, $1.element.range.upperBound, $1.offset)
        }.map(\.element)
        var out = [UInt8]()
        out.reserveCapacity(input.count + 1024)
        var pos = 0
        for edit in ordered {
            guard edit.range.lowerBound >= pos, edit.range.upperBound <= input.count else { continue }
            out += input[pos..<edit.range.lowerBound]
            out += edit.bytes
            pos = edit.range.upperBound
        }
        out += input[pos...]
        return out
    }

    /// The entity to strip for part `p`: itself for a MIME entity; for an alternative reading,
    /// the part it reads again; for an archive entry or an uuencoded file, the nearest enclosing
    /// MIME entity.
    private func strippableEntity(_ p: Int, _ message: MIMEMessage) -> Int? {
        var q = p
        for _ in 0..<message.parts.count {
            let part = message.parts[q]
            switch part.origin {
            case .mime:
                return q
            case .alternativeReading(let of, _):
                q = of
            case .archiveEntry, .uuencoded:
                guard let parent = part.parent else { return nil }
                q = parent
            }
        }
        return nil
    }

    private func hasMessageAncestor(_ part: MIMEPart, _ message: MIMEMessage) -> Bool {
        var p = part.parent
        while let q = p {
            if message.parts[q].kind == .message { return true }
            p = message.parts[q].parent
        }
        return false
    }

    private func lineBreak(_ input: [UInt8], _ root: MIMEPart) -> [UInt8] {
        if let lf = input.firstIndex(of: 10), lf > 0, input[lf - 1] == 13 { return [13, 10] }
        return input.contains(10) ? [10] : [13, 10]
    }

    private func field(_ name: String, _ value: String, _ eol: [UInt8]) -> [UInt8] {
        // Filter scalars, not Characters: "\r\n" is one Character and would slip through.
        var cleanName = String.UnicodeScalarView()
        for s in name.unicodeScalars where s.value > 32 && s.value < 127 && s != ":" { cleanName.append(s) }
        var cleanScalars = String.UnicodeScalarView()
        for s in value.unicodeScalars where s != "\r" && s != "\n" && s != "\0" { cleanScalars.append(s) }
        let cleanValue = String(cleanScalars)
        let encoded = cleanValue.unicodeScalars.allSatisfy(\.isASCII) ? cleanValue : EncodedWord.encode(cleanValue)
        return Array("\(String(cleanName)): \(encoded)".utf8) + eol
    }

    private func disclaimerEdit(_ part: MIMEPart, input: [UInt8], disclaimer: Disclaimer, eol: [UInt8]) -> Edit? {
        let isHTML = part.contentType.mimeType == "text/html"
        let charset = MIMECharset.canonicalName(part.contentType.charset ?? "us-ascii")
        let textForm = isHTML ? disclaimer.html : disclaimer.text
        guard let encodedText = MIMECharset.encode(textForm, charset: charset) else { return nil }
        let body = Array(input[part.bodyRange])
        switch part.transferEncoding {
        case .base64:
            var decoded = Base64.decode(body).bytes
            insert(encodedText, into: &decoded, html: isHTML, eol: eol)
            return Edit(range: part.bodyRange, bytes: Base64.encode(decoded, lineBreak: eol))
        case .quotedPrintable:
            if isHTML, let at = lastBodyCloseInQuotedPrintable(body) {
                // Soft line breaks around the inserted text, so that neither it nor "</body"
                // lengthens a line; they decode to nothing.
                let lead: [UInt8] = at == 0 || body[at - 1] == 10 ? [] : Array("=".utf8) + eol
                let insertion = lead + QuotedPrintable.encode(encodedText, lineBreak: eol) + Array("=".utf8) + eol
                return Edit(range: (part.bodyRange.lowerBound + at)..<(part.bodyRange.lowerBound + at), bytes: insertion)
            }
            let prefix: [UInt8] = body.last == 10 || body.isEmpty ? [] : eol
            let insertion = prefix + QuotedPrintable.encode(eol + (isHTML ? [] : Array("-- ".utf8) + eol) + encodedText, lineBreak: eol)
            return Edit(range: part.bodyRange.upperBound..<part.bodyRange.upperBound, bytes: insertion)
        case .uuencode:
            return nil
        default:
            if isHTML, let at = lastBodyClose(body) {
                return Edit(range: (part.bodyRange.lowerBound + at)..<(part.bodyRange.lowerBound + at), bytes: encodedText)
            }
            let lead: [UInt8] = body.isEmpty || body.last == 10 ? [] : eol
            let sig: [UInt8] = isHTML ? [] : Array("-- ".utf8) + eol
            return Edit(range: part.bodyRange.upperBound..<part.bodyRange.upperBound, bytes: lead + eol + sig + encodedText)
        }
    }

    private func insert(_ text: [UInt8], into body: inout [UInt8], html: Bool, eol: [UInt8]) {
        if html, let at = lastBodyClose(body) {
            body.insert(contentsOf: text, at: at)
        } else {
            if let last = body.last, last != 10 { body += eol }
            body += eol + (html ? [] : Array("-- ".utf8) + eol) + text + eol
        }
    }

    /// Offset in the encoded `body` where the last "</body" (any case) of the decoded text
    /// starts: "</body" may be split by a soft line break or have encoded characters, so the
    /// body is decoded (as `QuotedPrintable.decode` does) keeping where each byte came from.
    private func lastBodyCloseInQuotedPrintable(_ body: [UInt8]) -> Int? {
        var decoded = [UInt8]()
        var origin = [Int]()
        decoded.reserveCapacity(body.count)
        origin.reserveCapacity(body.count)
        var lineStart = 0
        let count = body.count
        while lineStart < count {
            var lineEnd = lineStart
            while lineEnd < count && body[lineEnd] != 10 { lineEnd += 1 }
            let hasLF = lineEnd < count
            var contentEnd = lineEnd
            let hadCR = contentEnd > lineStart && body[contentEnd - 1] == 13
            if hadCR { contentEnd -= 1 }
            while contentEnd > lineStart && (body[contentEnd - 1] == 32 || body[contentEnd - 1] == 9) { contentEnd -= 1 }
            var softBreak = false
            var i = lineStart
            while i < contentEnd {
                let c = body[i]
                if c == 61 {
                    if i + 1 == contentEnd { softBreak = true; i += 1; continue }
                    if i + 2 < contentEnd, let hi = QuotedPrintable.hexValue(body[i + 1]), let lo = QuotedPrintable.hexValue(body[i + 2]) {
                        decoded.append(hi << 4 | lo); origin.append(i)
                        i += 3
                        continue
                    }
                }
                decoded.append(c); origin.append(i)
                i += 1
            }
            if hasLF && !softBreak {
                if hadCR { decoded.append(13); origin.append(contentEnd) }
                decoded.append(10); origin.append(lineEnd)
            }
            lineStart = hasLF ? lineEnd + 1 : count
        }
        return lastBodyClose(decoded).map { origin[$0] }
    }

    /// Offset of the last "</body" (any case).
    private func lastBodyClose(_ body: [UInt8]) -> Int? {
        let needle = Array("</body".utf8)
        guard body.count >= needle.count else { return nil }
        var i = body.count - needle.count
        while i >= 0 {
            if body[i] == 60 {
                var ok = true
                for k in 0..<needle.count where HTMLText.lowerByte(body[i + k]) != needle[k] { ok = false; break }
                if ok { return i }
            }
            i -= 1
        }
        return nil
    }
}

extension String {
    func replacingFilename(_ name: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: "{filename}") {
            out += rest[rest.startIndex..<r.lowerBound]
            out += name
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
