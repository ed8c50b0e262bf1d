// MIMERewriter.swift — a new message from a parsed one: parts stripped, headers edited,
// disclaimers appended, every untouched byte left exactly as it was.
//
// What it does: computes a list of byte-range edits against the original input (replace an
// entity by a short notice, remove or add header fields, insert a disclaimer at the end of a
// text body or before </body> of an HTML body) and splices them. Bytes outside the edits are
// copied as they are, so a DKIM signature (RFC 6376) over untouched fields and parts still
// verifies; a body that must be re-encoded (base64) is rewritten as one unit.
//
// Diagnostics: parts that cannot be edited in place (from a decoded source, archive entries,
// alternative readings) are skipped and reported in `Result.skipped`.
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
        /// Part indices that were asked for but could not be edited in place.
        public var skipped: [Int]
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

        // Stripped parts.
        var removedEntities: [Range<Int>] = []
        for p in removeParts.sorted() {
            guard p < message.parts.count else { continue }
            let part = message.parts[p]
            guard part.source == 0, part.origin == .mime else { skipped.append(p); continue }
            let notice = removalNotice.replacingFilename(part.filename ?? "(unnamed)")
            let noticeBody = Array(notice.utf8).filter { $0 < 0x80 && $0 != 13 && $0 != 10 }
            let noticeFields = Array("Content-Type: text/plain; charset=us-ascii".utf8) + eol
                + Array("Content-Transfer-Encoding: 7bit".utf8) + eol + Array("Content-Disposition: inline".utf8) + eol
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
                edits.append(Edit(range: start..<end, bytes: noticeFields + eol + noticeBody))
                removedEntities.append(start..<end)
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

        // Splice, in order; inserts at the same place keep their order.
        let ordered = edits.enumerated().sorted {
            ($0.element.range.lowerBound, $0.element.range.upperBound, $0.offset) < ($1.element.range.lowerBound, $1.element.range.upperBound, $1.offset)
        }.map(\.element)
        var out = [UInt8]()
        out.reserveCapacity(input.count + 1024)
        var pos = 0
        for edit in ordered {
            guard edit.range.lowerBound >= pos else { continue }  // overlapping edit: the first wins
            out += input[pos..<edit.range.lowerBound]
            out += edit.bytes
            pos = edit.range.upperBound
        }
        out += input[pos...]
        return Result(bytes: out, skipped: skipped)
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
            if isHTML, let at = lastBodyClose(body) {
                let insertion = QuotedPrintable.encode(encodedText, lineBreak: eol) + Array("=".utf8) + eol
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
