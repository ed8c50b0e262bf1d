// ContentAnalyzer.swift — what happens when a leaf closes: decode, hash, classify, extract.
//
// What it does: decodes the body (transfer encoding) into a `ContentSink`; records size,
// SHA-256 and true type; for body text converts the charset to UTF-8 (HTML rendered, hidden
// text and URLs collected); finds uuencoded blocks in text; unpacks archives; compares the
// declared type and filename with the true type.
//
// Diagnostics: malformed encodings, 8-bit data in a 7bit body, charset fallback, text cut at
// `maxTextBytes`, type mismatches, archive problems — all as defect flags.
//
// Security notes: runs on bounded, already-delimited input; all keeping is capped by limits.

import Glibc

/// What the line machine saw of a leaf's body lines.
enum BodyLines {
    /// Every line, the first that starts with "begin " at offset `firstBegin` of the body.
    case seen(firstBegin: Int?)
    case unknown
}

extension MessageBuilder {
    func analyzeLeaf(_ p: Int, buffer: UnsafeBufferPointer<UInt8>, asText: Bool = false, lines: BodyLines = .unknown) {
        var part = message.parts[p]
        let body = UnsafeBufferPointer(rebasing: buffer[part.bodyRange])
        let type = part.contentType
        let textual = asText || (type.type == "text" && (type.subtype == "plain" || type.subtype == "html"))
        let isHTML = !asText && type.mimeType == "text/html"
        let attachment = part.disposition?.isAttachment ?? false
        switch part.origin {
        case .mime, .alternativeReading: part.isBodyText = textual && !attachment
        default: part.isBodyText = false
        }
        let wantsText = part.isBodyText || type.type == "text"

        // 8-bit data in a body declared 7bit (RFC 2045 §2.7).
        if part.transferEncoding == .sevenBit && containsHighBit(body) { part.defects.insert(.eightBitIn7BitBody) }

        var sink = ContentSink(textLimit: wantsText ? limits.maxTextBytes : 0, archiveLimit: limits.maxArchiveBytes)
        let report = ContentDecoder.decode(body, encoding: part.transferEncoding) { sink.write($0) }
        sink.decide()
        if report.malformedBase64 { part.defects.insert(.malformedBase64) }
        if report.malformedQuotedPrintable { part.defects.insert(.malformedQuotedPrintable) }
        if report.malformedUUEncode { part.defects.insert(.malformedUUEncode) }
        part.decodedSize = sink.size
        let content = sink.keptContent
        part.trueType = sink.trueType
        if sink.size > limits.maxDecodedPartBytes {
            part.defects.insert(.decodedPartTooLarge)
            limit(.decodedPartTooLarge(limit: limits.maxDecodedPartBytes))
        }
        part.sha256 = sink.hasher.finalize()

        // Text for content rules.
        if part.isBodyText {
            if sink.overflowed {
                part.defects.insert(.textTruncated)
                limit(.textTruncated(limit: limits.maxTextBytes))
            }
            let converted = MIMECharset.decode(content, charset: type.charset)
            if converted.usedFallback { part.defects.insert(.charsetFallback) }
            if isHTML {
                let rendered = HTMLText.render(converted.text, maxURLs: limits.maxURLs, index: &urlIndex)
                part.html = converted.text
                part.text = rendered.text
                part.hiddenText = rendered.hiddenText
                part.urls = rendered.urls
                if rendered.hasHiddenText { part.defects.insert(.hiddenHTMLText) }
            } else {
                part.text = converted.text
                var text = converted.text
                urlIndex.startList()
                text.withUTF8 { MIMEURL.extract(from: $0, into: &urlIndex) }
                part.urls = urlIndex.list
            }
            addURLs()
        }

        // Type checks.
        if part.trueType.mismatches(declared: part.hasContentType ? type : nil, filenames: part.filenames) {
            part.defects.insert(.typeMismatch)
        }
        message.parts[p] = part

        // Uuencoded files inside text. With an identity encoding the content is a prefix of the
        // body, whose lines the line machine has looked at already.
        let hasBegin: Bool
        if part.transferEncoding.isIdentity, case .seen(let firstBegin) = lines {
            hasBegin = firstBegin.map { $0 + 6 <= content.count } ?? false
        } else {
            hasBegin = wantsText && part.transferEncoding != .uuencode && containsBegin(content)
        }
        if wantsText && part.transferEncoding != .uuencode && hasBegin {
            let blocks = UUEncode.blocks(in: content, limit: limits.maxUUEncodedBlocks)
            for block in blocks {
                flag(p, .uuencodedContent)
                if block.malformed { flag(p, .malformedUUEncode) }
                guard let q = addPart(parent: p, depth: part.depth + 1, origin: .uuencoded, source: nil) else { break }
                analyzeDetached(q, data: block.data, filename: block.filename)
            }
        }

        // Archives.
        if part.trueType.isArchive {
            if sink.overflowed || sink.size > limits.maxArchiveBytes {
                flag(p, .archiveLimit)
                limit(.archiveTooLarge(limit: limits.maxArchiveBytes))
            } else {
                var budget = ArchiveBudget()
                unpackArchive(content, part: p, archiveDepth: 1, budget: &budget)
            }
        }
    }

    /// Analyses content that has no MIME body of its own (an uuencoded file).
    func analyzeDetached(_ q: Int, data: [UInt8], filename: String) {
        message.parts[q].filenames = filename.isEmpty ? [] : [filename]
        message.parts[q].contentType = MIMEContentType(type: "application", subtype: "octet-stream")
        message.parts[q].decodedSize = data.count
        message.parts[q].sha256 = MIMEDigest.sha256(data)
        let type = MIMEFileType.detect(data.prefix(ContentSink.headLimit))
        message.parts[q].trueType = type
        if type.mismatches(declared: nil, filenames: message.parts[q].filenames) { flag(q, .typeMismatch) }
        if type.isArchive {
            if data.count > limits.maxArchiveBytes {
                flag(q, .archiveLimit)
                limit(.archiveTooLarge(limit: limits.maxArchiveBytes))
            } else {
                var budget = ArchiveBudget()
                unpackArchive(data, part: q, archiveDepth: 1, budget: &budget)
            }
        }
    }

    private func containsHighBit(_ body: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = body.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        var i = 0
        let n = body.count
        while i + 8 <= n {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return true }
            i += 8
        }
        while i < n {
            if base[i] >= 0x80 { return true }
            i += 1
        }
        return false
    }

    /// Whether some line starts with "begin " (cheap pre-check before the uuencode scan).
    private func containsBegin(_ content: [UInt8]) -> Bool {
        content.withUnsafeBufferPointer { b in
            let n = b.count
            var i = 0
            while i + 6 <= n {
                if b[i] == 98 && b[i + 1] == 101 && b[i + 2] == 103 && b[i + 3] == 105 && b[i + 4] == 110 && b[i + 5] == 32 {
                    return true
                }
                // Skip to the next line.
                guard let lf = memchr(b.baseAddress! + i, 10, n - i) else { return false }
                i = b.baseAddress!.distance(to: lf.assumingMemoryBound(to: UInt8.self)) + 1
            }
            return false
        }
    }
}
