// Reference implementations: the MIME engine's HTML renderer and type detection as they were
// before they were rewritten to work on bytes (commit 3442d48). The property tests check that the
// rewritten code gives exactly the same results; keep these unchanged.
@testable import MIME

/// HTML rendering to plain text.
enum ReferenceHTMLText {
    static let blockTags: Set<String> = [
        "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr", "blockquote", "pre",
        "ul", "ol", "dl", "dt", "dd", "section", "article", "header", "footer", "form", "center", "address",
        "tbody", "thead", "tfoot", "body", "html", "nav", "aside", "main", "figure", "figcaption", "caption",
    ]
    static let voidTags: Set<String> = [
        "br", "img", "meta", "link", "input", "hr", "area", "base", "col", "embed", "param", "source", "track", "wbr", "keygen",
    ]
    static let urlAttributes: Set<String> = [
        "href", "src", "action", "background", "formaction", "poster", "data", "cite", "longdesc", "lowsrc", "dynsrc", "srcset",
    ]
    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "copy": "©", "reg": "®",
        "trade": "™", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "sect": "§", "deg": "°", "plusmn": "±",
        "times": "×", "divide": "÷", "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’",
        "ldquo": "“", "rdquo": "”", "laquo": "«", "raquo": "»", "bull": "•", "middot": "·", "shy": "\u{AD}",
        "zwnj": "\u{200C}", "zwj": "\u{200D}", "iexcl": "¡", "iquest": "¿", "para": "¶", "micro": "µ",
        "eacute": "é", "egrave": "è", "ecirc": "ê", "aacute": "á", "agrave": "à", "acirc": "â", "auml": "ä",
        "ouml": "ö", "uuml": "ü", "Auml": "Ä", "Ouml": "Ö", "Uuml": "Ü", "szlig": "ß", "ccedil": "ç", "ntilde": "ñ",
        "oacute": "ó", "uacute": "ú", "iacute": "í", "Eacute": "É", "thinsp": "\u{2009}", "ensp": "\u{2002}", "emsp": "\u{2003}",
    ]

    private struct Element { var name: String; var hidden: Bool }

    /// Renders `html` (already decoded to a String).
    static func render(_ html: String, maxURLs: Int = 10_000) -> HTMLText.Rendered {
        let b = Array(html.utf8)
        let n = b.count
        var visible = [UInt8]()
        var hidden = [UInt8]()
        var urls: [String] = []
        var seenURLs = Set<String>()
        var stack: [Element] = []
        var hiddenDepth = 0
        var i = 0
        var pendingSpace = false
        var styledHidden = false

        func emitText(_ bytes: ArraySlice<UInt8>) {
            let decoded = decodeEntities(bytes)
            if hiddenDepth > 0 {
                if decoded.contains(where: { $0 > 32 }) { styledHidden = true }
                hidden += decoded
                hidden.append(32)
                return
            }
            for c in decoded {
                if c == 32 || c == 9 || c == 10 || c == 13 || c == 12 {
                    pendingSpace = true
                } else {
                    if pendingSpace, let last = visible.last, last != 10, last != 32 { visible.append(32) }
                    pendingSpace = false
                    visible.append(c)
                }
            }
        }
        func newline() {
            guard hiddenDepth == 0 else { return }
            pendingSpace = false
            if let last = visible.last, last != 10 { visible.append(10) }
        }
        func addURL(_ raw: String) {
            guard urls.count < maxURLs else { return }
            if let u = MIMEURL.normalize(raw), seenURLs.insert(u).inserted { urls.append(u) }
        }

        while i < n {
            if b[i] != 60 {
                var j = i
                while j < n, b[j] != 60 { j += 1 }
                emitText(b[i..<j])
                i = j
                continue
            }
            // '<'
            if i + 3 < n, b[i + 1] == 33, b[i + 2] == 45, b[i + 3] == 45 {
                // Comment: up to "-->".
                var j = i + 4
                while j + 2 < n, !(b[j] == 45 && b[j + 1] == 45 && b[j + 2] == 62) { j += 1 }
                i = min(n, j + 3)
                continue
            }
            guard i + 1 < n, isTagStart(b[i + 1]) else {
                emitText(b[i..<(i + 1)])
                i += 1
                continue
            }
            // Parse a tag.
            var j = i + 1
            let closing = b[j] == 47
            if closing { j += 1 }
            let nameStart = j
            while j < n, !(b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13 || b[j] == 62 || b[j] == 47) { j += 1 }
            let name = String(decoding: b[nameStart..<j], as: UTF8.self).lowercased()
            var attributes: [(String, String)] = []
            // Attributes.
            while j < n, b[j] != 62 {
                let c = b[j]
                if c == 32 || c == 9 || c == 10 || c == 13 || c == 47 { j += 1; continue }
                let aStart = j
                while j < n, !(b[j] == 61 || b[j] == 62 || b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13 || b[j] == 47) { j += 1 }
                let aName = String(decoding: b[aStart..<j], as: UTF8.self).lowercased()
                while j < n, b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13 { j += 1 }
                var value = ""
                if j < n, b[j] == 61 {
                    j += 1
                    while j < n, b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13 { j += 1 }
                    if j < n, b[j] == 34 || b[j] == 39 {
                        let q = b[j]
                        j += 1
                        let vStart = j
                        while j < n, b[j] != q { j += 1 }
                        value = String(decoding: decodeEntities(b[vStart..<j]), as: UTF8.self)
                        if j < n { j += 1 }
                    } else {
                        let vStart = j
                        while j < n, !(b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13 || b[j] == 62) { j += 1 }
                        value = String(decoding: decodeEntities(b[vStart..<j]), as: UTF8.self)
                    }
                }
                if !aName.isEmpty { attributes.append((aName, value)) }
                if attributes.count > 256 { break }
            }
            i = min(n, j + 1)

            if closing {
                if blockTags.contains(name) { newline() }
                if let k = stack.lastIndex(where: { $0.name == name }) {
                    for e in stack[k...] where e.hidden { hiddenDepth -= 1 }
                    stack.removeSubrange(k...)
                }
                continue
            }
            for (aName, value) in attributes {
                if urlAttributes.contains(aName) {
                    if aName == "srcset" {
                        for candidate in value.split(separator: ",") {
                            if let u = candidate.split(separator: " ").first { addURL(String(u)) }
                        }
                    } else {
                        addURL(value)
                    }
                }
                if aName == "content", name == "meta", let r = value.lowercased().firstRange(of: "url=") {
                    let offset = value.lowercased().distance(from: value.lowercased().startIndex, to: r.upperBound)
                    addURL(String(value.dropFirst(offset)).trimmingCharacters(in: "'\" "))
                }
            }
            if name == "script" || name == "style" || name == "title" || name == "xml" {
                // Raw text elements: skip to the matching end tag.
                let end = Array("</\(name)".utf8)
                var k = i
                var found = n
                while k + end.count <= n {
                    if b[k] == 60 && b[k + 1] == 47 {
                        var same = true
                        for t in 0..<end.count where lowerByte(b[k + t]) != end[t] { same = false; break }
                        if same { found = k; break }
                    }
                    k += 1
                }
                if name == "title" { hidden += decodeEntities(b[i..<found]); hidden.append(10) }
                if let close = b[found...].firstIndex(of: 62) { i = close + 1 } else { i = n }
                continue
            }
            if name == "br" || name == "td" || name == "th" || blockTags.contains(name) {
                if name == "td" || name == "th" { if hiddenDepth == 0 { pendingSpace = true } } else { newline() }
            }
            if name == "img", hiddenDepth == 0, let alt = attributes.first(where: { $0.0 == "alt" })?.1, !alt.isEmpty {
                emitText(ArraySlice(Array(alt.utf8)))
            }
            if voidTags.contains(name) || (j > 0 && j - 1 < n && b[j - 1] == 47) { continue }
            let isHidden = attributes.contains { isHiding($0.0, $0.1) } || (name == "font" && attributes.contains { $0.0 == "size" && ($0.1 == "0" || $0.1 == "-7") })
            if stack.count < 512 {
                stack.append(Element(name: name, hidden: isHidden))
                if isHidden { hiddenDepth += 1 }
            }
        }
        let text = String(decoding: cleanInvisible(visible), as: UTF8.self)
        for u in MIMEURL.extract(from: text) where urls.count < maxURLs && seenURLs.insert(u).inserted { urls.append(u) }
        let hiddenString = String(decoding: hidden, as: UTF8.self).trimmingSpaces()
        return HTMLText.Rendered(text: text.trimmingSpaces(), hiddenText: hiddenString, urls: urls, hasHiddenText: styledHidden)
    }

    static func lowerByte(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

    static func isTagStart(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 47 || c == 33 || c == 63
    }

    /// Removes zero-width characters, soft hyphens and BOMs, and turns no-break spaces into
    /// spaces, on UTF-8 bytes (U+200B–U+200D, U+2060, U+FEFF, U+00AD; U+00A0).
    static func cleanInvisible(_ b: [UInt8]) -> [UInt8] {
        guard b.contains(where: { $0 >= 0xC2 }) else { return b }
        var out = [UInt8]()
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == 0xC2, i + 1 < b.count {
                if b[i + 1] == 0xA0 { out.append(32); i += 2; continue }
                if b[i + 1] == 0xAD { i += 2; continue }
            } else if c == 0xE2, i + 2 < b.count,
                      (b[i + 1] == 0x80 && (b[i + 2] == 0x8B || b[i + 2] == 0x8C || b[i + 2] == 0x8D)) || (b[i + 1] == 0x81 && b[i + 2] == 0xA0) {
                i += 3; continue
            } else if c == 0xEF, i + 2 < b.count, b[i + 1] == 0xBB, b[i + 2] == 0xBF {
                i += 3; continue
            }
            out.append(c)
            i += 1
        }
        return out
    }

    static let hidingPatterns: [[UInt8]] = [
        "display:none", "visibility:hidden", "opacity:0;", "font-size:0;", "font-size:0px", "font-size:0pt",
        "font-size:0em", "font-size:0%", "font-size:1px", "max-height:0", "height:0px;overflow:hidden",
    ].map { Array($0.utf8) }

    /// Whether an attribute hides the element's content.
    static func isHiding(_ name: String, _ value: String) -> Bool {
        if name == "hidden" { return true }
        guard name == "style" else { return false }
        var style = [UInt8]()
        style.reserveCapacity(value.utf8.count)
        for c in value.utf8 where c != 32 && c != 9 && c != 10 && c != 13 { style.append(lowerByte(c)) }
        for pattern in hidingPatterns where contains(style, pattern) { return true }
        return style.ends(with: Array("opacity:0".utf8)) || style.ends(with: Array("font-size:0".utf8))
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count, let first = needle.first else { return false }
        var i = 0
        while i + needle.count <= hay.count {
            if hay[i] == first {
                var k = 1
                while k < needle.count && hay[i + k] == needle[k] { k += 1 }
                if k == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    /// Decodes character references (HTML5 §13.2.5.72, simplified).
    static func decodeEntities(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        guard bytes.contains(38) else { return Array(bytes) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            guard bytes[i] == 38 else { out.append(bytes[i]); i += 1; continue }
            var j = i + 1
            if j < bytes.endIndex, bytes[j] == 35 {
                j += 1
                var hex = false
                if j < bytes.endIndex, bytes[j] == 120 || bytes[j] == 88 { hex = true; j += 1 }
                let start = j
                var value: UInt32 = 0
                while j < bytes.endIndex, j - start < 8 {
                    let c = bytes[j]
                    if hex, let v = QuotedPrintable.hexValue(c) { value = value * 16 + UInt32(v) }
                    else if !hex, c >= 48, c <= 57 { value = value * 10 + UInt32(c - 48) }
                    else { break }
                    j += 1
                }
                if j > start {
                    if j < bytes.endIndex, bytes[j] == 59 { j += 1 }
                    let scalar = (value == 0 || value > 0x10FFFF) ? Unicode.Scalar(0xFFFD)! : (Unicode.Scalar(value) ?? Unicode.Scalar(0xFFFD)!)
                    out += Array(String(Character(scalar)).utf8)
                    i = j
                    continue
                }
            } else {
                let start = j
                while j < bytes.endIndex, j - start < 10, (bytes[j] >= 65 && bytes[j] <= 90) || (bytes[j] >= 97 && bytes[j] <= 122) || (bytes[j] >= 48 && bytes[j] <= 57) { j += 1 }
                let name = String(decoding: bytes[start..<j], as: UTF8.self)
                if let value = entities[name] ?? entities[name.lowercased()] {
                    if j < bytes.endIndex, bytes[j] == 59 { j += 1 }
                    out += Array(value.utf8)
                    i = j
                    continue
                }
            }
            out.append(38)
            i += 1
        }
        return out
    }
}


enum ReferenceFileType {
    /// Detects the type of `head`, the first bytes of a file (4 KiB or more gives the best
    /// results; tar needs 512, ISO 9660 needs 32 KiB).
    static func detect(_ head: some Collection<UInt8>) -> MIMEFileType {
        let b = Array(head.prefix(40_000))
        if b.isEmpty { return MIMEFileType.empty }
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            guard b.count >= offset + magic.count else { return false }
            for (i, m) in magic.enumerated() where b[offset + i] != m { return false }
            return true
        }
        func ascii(_ s: String, at offset: Int = 0) -> Bool { starts(Array(s.utf8), at: offset) }

        // Executables first.
        if ascii("MZ") {
            if b.count >= 0x40 {
                let peOffset = Int(b[0x3C]) | Int(b[0x3D]) << 8 | Int(b[0x3E]) << 16 | Int(b[0x3F]) << 24
                if peOffset >= 0, peOffset < b.count - 4, starts([0x50, 0x45, 0, 0], at: peOffset) { return MIMEFileType.pe }
            }
            return MIMEFileType.pe  // DOS MZ executable: treated as executable all the same.
        }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return MIMEFileType.elf }
        if starts([0xFE, 0xED, 0xFA, 0xCE]) || starts([0xFE, 0xED, 0xFA, 0xCF]) || starts([0xCE, 0xFA, 0xED, 0xFE])
            || starts([0xCF, 0xFA, 0xED, 0xFE]) { return MIMEFileType.machO }
        if starts([0xCA, 0xFE, 0xBA, 0xBE]) {
            // Mach-O universal binary or Java class: the universal header's arch count is small.
            if b.count >= 8 {
                let n = Int(b[4]) << 24 | Int(b[5]) << 16 | Int(b[6]) << 8 | Int(b[7])
                return n > 0 && n < 30 ? .machO : .javaClass
            }
            return MIMEFileType.javaClass
        }
        if starts([0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0]) { return MIMEFileType.windowsShortcut }
        if ascii("#!") { return MIMEFileType.script }

        // Documents and containers.
        if starts([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { return MIMEFileType.ole }
        if let pdf = indexOf(Array("%PDF-".utf8), in: b, limit: 1024), pdf >= 0 { return MIMEFileType.pdf }
        if ascii("{\\rtf") { return MIMEFileType.rtf }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) || starts([0x50, 0x4B, 0x07, 0x08]) {
            return MIMEFileType.flavour(ofZipEntries: zipNames(b)) ?? .zip
        }
        if ascii("Rar!\u{1A}\u{07}") { return MIMEFileType.rar }
        if starts([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { return MIMEFileType.sevenZip }
        if starts([0x1F, 0x8B]) { return MIMEFileType.gzip }
        if ascii("BZh") && b.count > 3 && b[3] >= 0x31 && b[3] <= 0x39 { return MIMEFileType.bzip2 }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return MIMEFileType.xz }
        if ascii("MSCF") { return MIMEFileType.cab }
        if ascii("ustar", at: 257) { return MIMEFileType.tar }
        if ascii("CD001", at: 32_769) { return MIMEFileType.iso }

        // Images.
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return MIMEFileType.png }
        if starts([0xFF, 0xD8, 0xFF]) { return MIMEFileType.jpeg }
        if ascii("GIF87a") || ascii("GIF89a") { return MIMEFileType.gif }
        if ascii("BM") && b.count >= 14 && b[6] == 0 && b[7] == 0 && b[8] == 0 && b[9] == 0 { return MIMEFileType.bmp }
        if ascii("II*\u{0}") || ascii("MM\u{0}*") { return MIMEFileType.tiff }
        if ascii("RIFF") && ascii("WEBP", at: 8) { return MIMEFileType.webp }
        if starts([0, 0, 1, 0]) && b.count >= 6 && b[4] > 0 && b[5] == 0 { return MIMEFileType.icon }

        // Text kinds.
        let sample = b.prefix(4096)
        if sample.contains(0) { return MIMEFileType.binary }
        var lowerHead = [UInt8]()
        for c in sample.prefix(1024) { lowerHead.append(c >= 65 && c <= 90 ? c + 32 : c) }
        // Skip a UTF-8 BOM and leading white space.
        var start = 0
        if lowerHead.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < lowerHead.count, [32, 9, 13, 10].contains(lowerHead[start]) { start += 1 }
        let rest = Array(lowerHead[start...])
        for tag in ["<!doctype html", "<html", "<head", "<body", "<meta", "<script", "<iframe", "<table", "<div", "<p>", "<a href", "<br", "<title", "<style", "<font", "<center", "<img"]
            where rest.starts(with: Array(tag.utf8)) { return MIMEFileType.html }
        if rest.starts(with: Array("<?xml".utf8)) {
            return indexOf(Array("<html".utf8), in: lowerHead, limit: 1024) != nil ? .html : .xml
        }
        if rest.starts(with: Array("@echo off".utf8)) { return MIMEFileType.script }
        let controls = sample.filter { $0 < 32 && $0 != 9 && $0 != 10 && $0 != 13 && $0 != 12 && $0 != 27 }.count
        if controls * 100 > max(sample.count, 1) * 5 { return MIMEFileType.binary }
        return MIMEFileType.text
    }

    static func indexOf(_ needle: [UInt8], in hay: [UInt8], limit: Int) -> Int? {
        let end = min(hay.count, limit + needle.count)
        guard end >= needle.count else { return nil }
        var i = 0
        while i + needle.count <= end {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// Tells OOXML, ODF and JAR from plain ZIP by the local file names that appear in `b`.
    static func zipNames(_ b: [UInt8]) -> [String] {
        var names: [String] = []
        var i = 0
        while i + 30 <= b.count, names.count < 64 {
            guard b[i] == 0x50, b[i + 1] == 0x4B, b[i + 2] == 3, b[i + 3] == 4 else { break }
            let flags = Int(b[i + 6]) | Int(b[i + 7]) << 8
            let compressed = Int(b[i + 18]) | Int(b[i + 19]) << 8 | Int(b[i + 20]) << 16 | Int(b[i + 21]) << 24
            let nameLength = Int(b[i + 26]) | Int(b[i + 27]) << 8
            let extraLength = Int(b[i + 28]) | Int(b[i + 29]) << 8
            guard i + 30 + nameLength <= b.count else { break }
            names.append(String(decoding: b[(i + 30)..<(i + 30 + nameLength)], as: UTF8.self))
            if flags & 8 != 0 { break }  // sizes in a data descriptor: cannot walk further cheaply
            i += 30 + nameLength + extraLength + compressed
        }
        return names
    }

}

/// URL extraction as a byte-by-byte scan (commit 41b9c60), before anchors were found with memchr.
enum ReferenceURL {
    static func extract(from text: String) -> [String] {
        let bytes = Array(text.utf8)
        var found: [String] = []
        var seen = Set<String>()
        var i = 0
        let n = bytes.count
        func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
        func matches(_ s: String, at k: Int) -> Bool {
            let p = Array(s.utf8)
            guard k + p.count <= n else { return false }
            for j in 0..<p.count where lower(bytes[k + j]) != p[j] { return false }
            return true
        }
        while i < n {
            let c = lower(bytes[i])
            var start = -1
            if c == 104 && (matches("http://", at: i) || matches("https://", at: i) || matches("http:\\\\", at: i) || matches("https:\\\\", at: i)) {
                start = i
            } else if c == 102 && matches("ftp://", at: i) {
                start = i
            } else if c == 119 && matches("www.", at: i) && (i == 0 || !MIMEURL.isURLByte(bytes[i - 1]) || bytes[i - 1] == 40) {
                start = i
            }
            if start < 0 { i += 1; continue }
            var e = start
            while e < n, MIMEURL.isURLByte(bytes[e]) { e += 1 }
            if let url = MIMEURL.normalize(String(decoding: bytes[start..<e], as: UTF8.self)), seen.insert(url).inserted { found.append(url) }
            i = max(e, i + 1)
        }
        return found
    }
}
