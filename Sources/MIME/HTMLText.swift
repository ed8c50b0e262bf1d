// HTMLText.swift — HTML turned into the text a reader sees, for content rules.
//
// What it does: removes tags, skips script, style and comments, decodes character references
// (HTML5 numeric and the common named ones), collapses white space, breaks lines at block
// elements, and separates text the reader cannot see (display:none, visibility:hidden,
// zero font size, opacity 0, the hidden attribute, <title>) from the visible text. Collects
// every URL in href, src, action, background, formaction, poster, and meta refresh.
//
// Security notes: the tokenizer is a single forward pass with bounded state (the element stack
// is capped), so malformed or hostile HTML cannot make it loop or recurse. Zero-width and soft-
// hyphen characters are removed from the visible text, since they hide words from rules.
//
// Performance: one pass over bytes; names are looked up in byte tables, attribute values kept in
// one buffer per tag, so a tag costs no String. Where a String operation differs from its byte
// form (non-ASCII names and values: Unicode case mapping, grapheme clusters) the String form runs.
import Glibc

/// HTML rendering to plain text.
public enum HTMLText {
    /// The result of rendering.
    public struct Rendered: Sendable, Hashable {
        /// The visible text.
        public var text: String
        /// Text present in the HTML but hidden from the reader.
        public var hiddenText: String
        /// URLs in attributes and in the text (normalised).
        public var urls: [String]
        /// Whether styles or attributes hid text (the <title> alone does not count).
        public var hasHiddenText: Bool
    }

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

    /// A tag's lower-cased name, as the renderer compares it.
    private struct TagInfo {
        var block = false
        var void = false
        var br = false
        var cell = false  // td, th
        var img = false
        var meta = false
        var font = false
        var rawText = false  // script, style, title, xml
        var title = false
    }

    /// What an attribute name means to the renderer.
    private enum AttributeKind: UInt8 {
        case other, url, srcset, content, alt, hidden, style, size
    }

    private static let tagTable: ByteKeyTable<TagInfo> = {
        var names = Set(blockTags).union(voidTags)
        names.formUnion(["td", "th", "img", "meta", "font", "script", "style", "title", "xml"])
        return ByteKeyTable(names.map { ($0, tagInfo(ofUnicodeName: $0)) })
    }()

    private static let attributeTable: ByteKeyTable<AttributeKind> = {
        var names = Set(urlAttributes)
        names.formUnion(["content", "alt", "hidden", "style", "size"])
        return ByteKeyTable(names.map { ($0, attributeKind(ofUnicodeName: $0)) })
    }()

    private static let entityTable: ByteKeyTable<[UInt8]> = ByteKeyTable(entities.map { ($0.key, Array($0.value.utf8)) })

    /// The String form of the checks, for lower-cased names that are not ASCII (and to build
    /// the byte tables, so both agree by construction).
    private static func tagInfo(ofUnicodeName name: String) -> TagInfo {
        var info = TagInfo()
        info.block = blockTags.contains(name)
        info.void = voidTags.contains(name)
        info.br = name == "br"
        info.cell = name == "td" || name == "th"
        info.img = name == "img"
        info.meta = name == "meta"
        info.font = name == "font"
        info.rawText = name == "script" || name == "style" || name == "title" || name == "xml"
        info.title = name == "title"
        return info
    }

    private static func attributeKind(ofUnicodeName name: String) -> AttributeKind {
        if urlAttributes.contains(name) { return name == "srcset" ? .srcset : .url }
        switch name {
        case "content": return .content
        case "alt": return .alt
        case "hidden": return .hidden
        case "style": return .style
        case "size": return .size
        default: return .other
        }
    }

    private struct Element {
        var nameStart: Int
        var nameEnd: Int
        var ascii: Bool
        var hidden: Bool
    }

    private struct Attribute {
        var kind: AttributeKind
        /// The decoded value in the attribute buffer.
        var valueStart: Int
        var valueEnd: Int
    }

    /// Renders `html` (already decoded to a String).
    public static func render(_ html: String, maxURLs: Int = 10_000) -> Rendered {
        var index = URLIndex()
        return render(html, maxURLs: maxURLs, index: &index)
    }

    /// Renders `html`, its URLs in a new list of `index` (the message's, which then merges them
    /// into the message's list without hashing them again).
    static func render(_ html: String, maxURLs: Int, index: inout URLIndex) -> Rendered {
        var html = html
        return html.withUTF8 { render(utf8: $0, maxURLs: maxURLs, index: &index) }
    }

    /// Renders UTF-8 HTML. Works on bytes; the few steps whose String form differs from a byte
    /// form on non-ASCII input (Unicode case mapping, grapheme clusters) use the String form there.
    static func render(utf8 b: UnsafeBufferPointer<UInt8>, maxURLs: Int, index: inout URLIndex) -> Rendered {
        index.startList()
        guard b.baseAddress != nil else {
            return Rendered(text: "", hiddenText: "", urls: [], hasHiddenText: false)
        }
        var renderer = Renderer(b, maxURLs: maxURLs)
        // The index moves into the renderer and back (no copy of its storage).
        swap(&renderer.urls, &index)
        defer { swap(&renderer.urls, &index) }
        return renderer.run()
    }

    /// The state of one rendering (a struct with mutating methods rather than closures over
    /// local variables, which would need dynamic exclusivity checks on every access).
    private struct Renderer {
        let b: UnsafeBufferPointer<UInt8>
        let base: UnsafePointer<UInt8>
        let n: Int
        let maxURLs: Int
        var visible = [UInt8]()
        var hidden = [UInt8]()
        var urls = URLIndex()  // the list of this HTML's URLs
        var stack: [Element] = []
        var names = [UInt8]()  // the stack's names, back to back
        var hiddenDepth = 0
        var pendingSpace = false
        var styledHidden = false
        var scratch = [UInt8]()  // entity-decoded text
        var name = [UInt8]()  // the current tag's lower-cased name, when not ASCII
        var rawNameStart = 0
        var rawNameEnd = 0
        var rawNameASCII = true
        var attributeName = [UInt8]()
        var values = [UInt8]()  // this tag's decoded attribute values
        var attributes: [Attribute] = []

        init(_ b: UnsafeBufferPointer<UInt8>, maxURLs: Int) {
            self.b = b
            self.base = b.baseAddress!
            self.n = b.count
            self.maxURLs = maxURLs
            visible.reserveCapacity(n / 2)
        }

        mutating func emitDecoded(_ decoded: UnsafeBufferPointer<UInt8>) {
            if hiddenDepth > 0 {
                if decoded.contains(where: { $0 > 32 }) { styledHidden = true }
                hidden.append(contentsOf: decoded)
                hidden.append(32)
                return
            }
            // Runs of white space become one pending space; text in between is copied whole, a
            // single space between two words included (it is what the collapsing would write).
            @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 12 }
            var k = 0
            let count = decoded.count
            while k < count {
                if isSpace(decoded[k]) {
                    pendingSpace = true
                    k += 1
                    continue
                }
                var e = k + 1
                while e < count {
                    let c = decoded[e]
                    if !isSpace(c) { e += 1 } else if c == 32 && e + 1 < count && !isSpace(decoded[e + 1]) { e += 2 } else { break }
                }
                if pendingSpace, let last = visible.last, last != 10, last != 32 { visible.append(32) }
                pendingSpace = false
                visible.append(contentsOf: UnsafeBufferPointer(rebasing: decoded[k..<e]))
                k = e
            }
        }

        mutating func emitText(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let start = bytes.baseAddress, bytes.count > 0 else { return }
            if memchr(start, 38, bytes.count) == nil {
                emitDecoded(bytes)
            } else {
                var decoded = [UInt8]()
                swap(&decoded, &scratch)
                decoded.removeAll(keepingCapacity: true)
                decodeEntities(bytes, into: &decoded)
                decoded.withUnsafeBufferPointer { emitDecoded($0) }
                swap(&decoded, &scratch)
            }
        }

        mutating func newline() {
            guard hiddenDepth == 0 else { return }
            pendingSpace = false
            if let last = visible.last, last != 10 { visible.append(10) }
        }

        mutating func addURL(_ raw: UnsafeBufferPointer<UInt8>) {
            guard urls.list.count < maxURLs else { return }
            if let u = MIMEURL.normalize(raw) { urls.add(u) }
        }

        mutating func addURL(_ raw: String) {
            var raw = raw
            raw.withUTF8 { addURL($0) }
        }

        @inline(__always) func slice(_ from: Int, _ to: Int) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(start: base + from, count: to - from)
        }

        @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }

        /// The offset of the next `byte` at or after `from`, or `n`.
        @inline(__always) func next(_ byte: UInt8, from: Int) -> Int {
            guard from < n, let hit = memchr(base + from, Int32(byte), n - from) else { return n }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }

        /// Lower-cases a tag or attribute name into `out` as `String.lowercased()` does (bytes
        /// for ASCII); returns whether the lower-cased name is ASCII.
        func lowercaseName(_ from: Int, _ to: Int, into out: inout [UInt8]) -> Bool {
            out.removeAll(keepingCapacity: true)
            var ascii = true
            for k in from..<to where b[k] >= 0x80 { ascii = false; break }
            if ascii {
                out.append(contentsOf: slice(from, to))
                out.withUnsafeMutableBufferPointer { o in
                    for k in 0..<o.count where o[k] >= 65 && o[k] <= 90 { o[k] += 32 }
                }
                return true
            }
            out.append(contentsOf: String(decoding: slice(from, to), as: UTF8.self).lowercased().utf8)
            return !out.contains { $0 >= 0x80 }
        }

        /// Handles the attributes of an opening tag that carry URLs.
        mutating func collectURLs(_ info: TagInfo, _ v: UnsafeBufferPointer<UInt8>) {
            for a in attributes {
                let value = UnsafeBufferPointer(rebasing: v[a.valueStart..<a.valueEnd])
                switch a.kind {
                case .url:
                    addURL(value)
                case .srcset:
                    if value.contains(where: { $0 >= 0x80 }) {
                        for candidate in String(decoding: value, as: UTF8.self).split(separator: ",") {
                            if let u = candidate.split(separator: " ").first { addURL(String(u)) }
                        }
                    } else {
                        // Candidates split at commas, each one's first space-separated word.
                        var p = 0
                        while p < value.count {
                            var q = p
                            while q < value.count && value[q] != 44 { q += 1 }
                            var w = p
                            while w < q && value[w] == 32 { w += 1 }
                            if w < q {
                                var e = w
                                while e < q && value[e] != 32 { e += 1 }
                                addURL(UnsafeBufferPointer(rebasing: value[w..<e]))
                            }
                            p = q + 1
                        }
                    }
                case .content where info.meta:
                    if value.contains(where: { $0 >= 0x80 }) {
                        let text = String(decoding: value, as: UTF8.self)
                        if let r = text.lowercased().firstRange(of: "url=") {
                            let offset = text.lowercased().distance(from: text.lowercased().startIndex, to: r.upperBound)
                            addURL(String(text.dropFirst(offset)).trimmingCharacters(in: "'\" "))
                        }
                    } else {
                        var k = 0
                        while k + 4 <= value.count {
                            if lowerByte(value[k]) == 117 && lowerByte(value[k + 1]) == 114 && lowerByte(value[k + 2]) == 108 && value[k + 3] == 61 { break }
                            k += 1
                        }
                        if k + 4 <= value.count {
                            var s = k + 4
                            var e = value.count
                            @inline(__always) func trimmed(_ c: UInt8) -> Bool { c == 39 || c == 34 || c == 32 }
                            while s < e && trimmed(value[s]) { s += 1 }
                            while e > s && trimmed(value[e - 1]) { e -= 1 }
                            addURL(UnsafeBufferPointer(rebasing: value[s..<e]))
                        }
                    }
                default:
                    break
                }
            }
        }

        /// Whether the attributes of an opening tag hide its content.
        func hides(_ info: TagInfo, _ v: UnsafeBufferPointer<UInt8>) -> Bool {
            for a in attributes where a.kind == .hidden || (a.kind == .style && isHidingStyle(UnsafeBufferPointer(rebasing: v[a.valueStart..<a.valueEnd]))) {
                return true
            }
            guard info.font else { return false }
            return attributes.contains { a in
                a.kind == .size && ((a.valueEnd - a.valueStart == 1 && v[a.valueStart] == 48)
                    || (a.valueEnd - a.valueStart == 2 && v[a.valueStart] == 45 && v[a.valueStart + 1] == 55))
            }
        }

        /// Whether the open element `e` has the name in `name`.
        func sameName(_ e: Element, ascii: Bool) -> Bool {
            let count = nameCount
            if e.ascii && ascii {
                guard e.nameEnd - e.nameStart == count else { return false }
                for k in 0..<count where names[e.nameStart + k] != nameByte(k) { return false }
                return true
            }
            let current = rawNameASCII ? (0..<count).map { nameByte($0) } : name
            return String(decoding: names[e.nameStart..<e.nameEnd], as: UTF8.self) == String(decoding: current, as: UTF8.self)
        }

        /// The current tag's lower-cased name: its length and bytes.
        var nameCount: Int { rawNameASCII ? rawNameEnd - rawNameStart : name.count }
        @inline(__always) func nameByte(_ k: Int) -> UInt8 { rawNameASCII ? lowerByte(b[rawNameStart + k]) : name[k] }

        /// What the attribute name at `from..<to` means, lower-cased as `String.lowercased()` does.
        mutating func attributeKind(_ from: Int, _ to: Int) -> AttributeKind {
            var ascii = true
            for k in from..<to where b[k] >= 0x80 { ascii = false; break }
            if ascii { return attributeTable.lookup(lowercasing: slice(from, to)) ?? .other }
            var loweredName = [UInt8]()
            swap(&loweredName, &attributeName)
            defer { swap(&loweredName, &attributeName) }
            if lowercaseName(from, to, into: &loweredName) {
                return loweredName.withUnsafeBufferPointer { attributeTable.lookup($0) } ?? .other
            }
            return HTMLText.attributeKind(ofUnicodeName: String(decoding: loweredName, as: UTF8.self))
        }

        mutating func run() -> Rendered {
            var i = 0
            while i < n {
                if b[i] != 60 {
                    let j = next(60, from: i)
                    emitText(slice(i, j))
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
                    emitText(slice(i, i + 1))
                    i += 1
                    continue
                }
                // Parse a tag.
                var j = i + 1
                let closing = b[j] == 47
                if closing { j += 1 }
                let nameStart = j
                while j < n, !(b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13 || b[j] == 62 || b[j] == 47) { j += 1 }
                // An ASCII name is lower-cased on the fly where it is used; any other is
                // lower-cased once, as a String, into `name`.
                var rawASCII = true
                for k in nameStart..<j where b[k] >= 0x80 { rawASCII = false; break }
                rawNameStart = nameStart
                rawNameEnd = j
                rawNameASCII = rawASCII
                let nameASCII: Bool
                let info: TagInfo
                if rawASCII {
                    nameASCII = true
                    info = tagTable.lookup(lowercasing: slice(nameStart, j)) ?? TagInfo()
                } else {
                    var lowered = [UInt8]()
                    swap(&lowered, &name)
                    nameASCII = lowercaseName(nameStart, j, into: &lowered)
                    swap(&lowered, &name)
                    info = nameASCII
                        ? name.withUnsafeBufferPointer { tagTable.lookup($0) } ?? TagInfo()
                        : tagInfo(ofUnicodeName: String(decoding: name, as: UTF8.self))
                }
                if !values.isEmpty { values.removeAll(keepingCapacity: true) }
                if !attributes.isEmpty { attributes.removeAll(keepingCapacity: true) }
                // Attributes. Only those that mean something to the renderer (URLs, style,
                // hidden, alt, size, content) are kept, with their values decoded; the others
                // (class, width, ...) are skipped, and so are a closing tag's.
                var attributeCount = 0
                while j < n, b[j] != 62 {
                    let c = b[j]
                    if c == 32 || c == 9 || c == 10 || c == 13 || c == 47 { j += 1; continue }
                    let aStart = j
                    while j < n, !(b[j] == 61 || b[j] == 62 || b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13 || b[j] == 47) { j += 1 }
                    let aEnd = j
                    let kind = aEnd > aStart && !closing ? attributeKind(aStart, aEnd) : .other
                    while j < n, isSpace(b[j]) { j += 1 }
                    let valueStart = values.count
                    if j < n, b[j] == 61 {
                        j += 1
                        while j < n, isSpace(b[j]) { j += 1 }
                        if j < n, b[j] == 34 || b[j] == 39 {
                            let q = b[j]
                            j += 1
                            let vStart = j
                            j = next(q, from: j)
                            if kind != .other { decodeEntities(slice(vStart, j), into: &values) }
                            if j < n { j += 1 }
                        } else {
                            let vStart = j
                            while j < n, !(b[j] == 32 || b[j] == 9 || b[j] == 10 || b[j] == 13 || b[j] == 62) { j += 1 }
                            if kind != .other { decodeEntities(slice(vStart, j), into: &values) }
                        }
                    }
                    if aEnd > aStart {
                        attributeCount += 1
                        if kind != .other { attributes.append(Attribute(kind: kind, valueStart: valueStart, valueEnd: values.count)) }
                    }
                    if attributeCount > 256 { break }
                }
                i = min(n, j + 1)

                if closing {
                    if info.block { newline() }
                    var k = stack.count - 1
                    while k >= 0 && !sameName(stack[k], ascii: nameASCII) { k -= 1 }
                    if k >= 0 {
                        for e in stack[k...] where e.hidden { hiddenDepth -= 1 }
                        names.removeSubrange(stack[k].nameStart...)
                        stack.removeSubrange(k...)
                    }
                    continue
                }
                var v = [UInt8]()
                swap(&v, &values)
                if !attributes.isEmpty { v.withUnsafeBufferPointer { collectURLs(info, $0) } }
                if info.rawText {
                    swap(&v, &values)
                    // Raw text elements: skip to the matching end tag ("</" and the name, any case).
                    let nameLength = nameCount
                    let m = nameLength + 2
                    var k = i
                    var found = n
                    while k + m <= n, let hit = memchr(base + k, 60, n - m + 1 - k) {
                        k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                        if b[k + 1] == 47 {
                            var same = true
                            for t in 0..<nameLength where lowerByte(b[k + 2 + t]) != nameByte(t) { same = false; break }
                            if same { found = k; break }
                        }
                        k += 1
                    }
                    if info.title {
                        decodeEntities(slice(i, found), into: &hidden)
                        hidden.append(10)
                    }
                    let close = next(62, from: found)
                    i = close < n ? close + 1 : n
                    continue
                }
                if info.br || info.cell || info.block {
                    if info.cell { if hiddenDepth == 0 { pendingSpace = true } } else { newline() }
                }
                if info.img, hiddenDepth == 0, let alt = attributes.first(where: { $0.kind == .alt }), alt.valueEnd > alt.valueStart {
                    v.withUnsafeBufferPointer { emitText(UnsafeBufferPointer(rebasing: $0[alt.valueStart..<alt.valueEnd])) }
                }
                let isVoid = info.void || (j > 0 && j - 1 < n && b[j - 1] == 47)
                let isHidden = !isVoid && !attributes.isEmpty && v.withUnsafeBufferPointer { hides(info, $0) }
                swap(&v, &values)
                if isVoid { continue }
                if stack.count < 512 {
                    stack.append(Element(nameStart: names.count, nameEnd: names.count + nameCount, ascii: nameASCII, hidden: isHidden))
                    if rawNameASCII {
                        let from = names.count
                        names.append(contentsOf: slice(rawNameStart, rawNameEnd))
                        names.withUnsafeMutableBufferPointer { o in
                            for k in from..<o.count where o[k] >= 65 && o[k] <= 90 { o[k] += 32 }
                        }
                    } else {
                        names += name
                    }
                    if isHidden { hiddenDepth += 1 }
                }
            }
            var text = String(decoding: cleanInvisible(visible), as: UTF8.self)
            // URLs of the visible text after those of the attributes, in the same list.
            text.withUTF8 { MIMEURL.extract(from: $0, into: &urls, limit: maxURLs) }
            let hiddenString = String(decoding: hidden, as: UTF8.self).trimmingSpaces()
            return Rendered(text: text.trimmingSpaces(), hiddenText: hiddenString, urls: urls.list, hasHiddenText: styledHidden)
        }
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
            if c < 0xC2 {
                // A run that holds nothing to remove, copied whole.
                var e = i + 1
                while e < b.count && b[e] < 0xC2 { e += 1 }
                out.append(contentsOf: b[i..<e])
                i = e
                continue
            }
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

    /// Whether a style attribute's value hides the element's content (white space removed,
    /// lower-cased, then compared with the patterns; in a scratch buffer on the stack).
    static func isHidingStyle(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(value.count, 1)) { scratch in
            var count = 0
            for c in value where c != 32 && c != 9 && c != 10 && c != 13 { scratch[count] = lowerByte(c); count += 1 }
            let style = UnsafeBufferPointer(rebasing: scratch[0..<count])
            for pattern in hidingPatterns where contains(style, pattern) { return true }
            return ends(style, with: "opacity:0") || ends(style, with: "font-size:0")
        }
    }

    static func ends(_ hay: UnsafeBufferPointer<UInt8>, with suffix: StaticString) -> Bool {
        let m = suffix.utf8CodeUnitCount
        guard hay.count >= m else { return false }
        return memcmp(hay.baseAddress! + (hay.count - m), suffix.utf8Start, m) == 0
    }

    static func contains(_ hay: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
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

    /// Decodes character references (HTML5 §13.2.5.72, simplified), appending to `out`.
    static func decodeEntities(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        guard let base = bytes.baseAddress, memchr(base, 38, bytes.count) != nil else {
            out.append(contentsOf: bytes)
            return
        }
        let end = bytes.count
        var i = 0
        while i < end {
            guard bytes[i] == 38 else {
                // Copy up to the next '&'.
                let next = memchr(base + i, 38, end - i).map { base.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? end
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<next]))
                i = next
                continue
            }
            var j = i + 1
            if j < end, bytes[j] == 35 {
                j += 1
                var hex = false
                if j < end, bytes[j] == 120 || bytes[j] == 88 { hex = true; j += 1 }
                let start = j
                var value: UInt32 = 0
                while j < end, j - start < 8 {
                    let c = bytes[j]
                    if hex, let v = QuotedPrintable.hexValue(c) { value = value * 16 + UInt32(v) }
                    else if !hex, c >= 48, c <= 57 { value = value * 10 + UInt32(c - 48) }
                    else { break }
                    j += 1
                }
                if j > start {
                    if j < end, bytes[j] == 59 { j += 1 }
                    let scalar = (value == 0 || value > 0x10FFFF) ? Unicode.Scalar(0xFFFD)! : (Unicode.Scalar(value) ?? Unicode.Scalar(0xFFFD)!)
                    UTF8.encode(scalar) { out.append($0) }
                    i = j
                    continue
                }
            } else {
                let start = j
                while j < end, j - start < 10, (bytes[j] >= 65 && bytes[j] <= 90) || (bytes[j] >= 97 && bytes[j] <= 122) || (bytes[j] >= 48 && bytes[j] <= 57) { j += 1 }
                if j > start {
                    let name = UnsafeBufferPointer(rebasing: bytes[start..<j])
                    var value = entityTable.lookup(name)
                    if value == nil && name.contains(where: { $0 >= 65 && $0 <= 90 }) {
                        let lower = name.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
                        value = lower.withUnsafeBufferPointer { entityTable.lookup($0) }
                    }
                    if let value {
                        if j < end, bytes[j] == 59 { j += 1 }
                        out += value
                        i = j
                        continue
                    }
                }
            }
            out.append(38)
            i += 1
        }
    }
}

/// A read-only map from ASCII names to values, looked up by bytes without building Strings.
struct ByteKeyTable<Value: Sendable>: Sendable {
    private var slots: [Int]  // index into `entries`, or -1
    private var entries: [(start: Int, count: Int, value: Value)] = []
    private var storage: [UInt8] = []
    private let mask: Int
    /// For each key length (16 and more share the last), a bit per first byte (its low six bits)
    /// of the keys of that length: most names looked up are not keys, and fail on this test.
    private var firstBytes = [UInt64](repeating: 0, count: 17)

    init(_ pairs: [(String, Value)]) {
        var size = 16
        while size < pairs.count * 4 { size *= 2 }
        mask = size - 1
        slots = [Int](repeating: -1, count: size)
        for (key, value) in pairs {
            let bytes = Array(key.utf8)
            precondition(!bytes.isEmpty, "ByteKeyTable keys are not empty")
            var slot = bytes.withUnsafeBufferPointer { ByteKeyTable.hash($0) } & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = entries.count
            entries.append((storage.count, bytes.count, value))
            storage += bytes
            if let first = bytes.first { firstBytes[min(bytes.count, 16)] |= 1 << (first & 63) }
        }
    }

    /// Whether some key has `count` bytes and starts with `first` (false: no key is `key`).
    @inline(__always)
    private func mayHold(count: Int, first: UInt8) -> Bool {
        firstBytes[min(count, 16)] & (1 << (first & 63)) != 0
    }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt32 = 2_166_136_261
        for c in key { h = (h ^ UInt32(c)) &* 16_777_619 }
        return Int(h)
    }

    /// The value for `key` lower-cased (ASCII letters only); nil also when `key` is not ASCII.
    func lookup(lowercasing key: UnsafeBufferPointer<UInt8>) -> Value? {
        @inline(__always) func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
        guard let first = key.first, mayHold(count: key.count, first: lower(first)) else { return nil }
        var h: UInt32 = 2_166_136_261
        for c in key { h = (h ^ UInt32(lower(c))) &* 16_777_619 }
        var slot = Int(h) & mask
        return storage.withUnsafeBufferPointer { storage in
            while true {
                let e = slots[slot]
                if e < 0 { return nil }
                let entry = entries[e]
                if entry.count == key.count {
                    var same = true
                    for k in 0..<key.count where storage[entry.start + k] != lower(key[k]) { same = false; break }
                    if same { return entry.value }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Value? {
        guard let first = key.first, mayHold(count: key.count, first: first) else { return nil }
        var slot = ByteKeyTable.hash(key) & mask
        while true {
            let e = slots[slot]
            if e < 0 { return nil }
            let entry = entries[e]
            if entry.count == key.count {
                var same = true
                for k in 0..<key.count where storage[entry.start + k] != key[k] { same = false; break }
                if same { return entry.value }
            }
            slot = (slot + 1) & mask
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }

}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
