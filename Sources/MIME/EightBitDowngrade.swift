// EightBitDowngrade.swift — RFC 6152 downgrade of a message for a next hop without 8BITMIME.
//
// What it does: when the next hop does not offer 8BITMIME (RFC 6152 §3, RFC 5321 §2.4: only
// 7-bit US-ASCII may then be sent), every body that cannot travel as 7bit is re-encoded as
// quoted-printable (RFC 2045 §6.7) and its Content-Transfer-Encoding set to quoted-printable;
// multiparts and encapsulated messages are walked and their own 8bit/binary label set to 7bit
// (RFC 2045 §6.4: a composite entity carries no encoding but 7bit, 8bit or binary). A message
// without a byte ≥ 0x80 is returned as it is, without being parsed (the fast path).
//
// The structure is read in one pass with the same rules as `MIMEParser` (LF ends a line; open
// boundaries matched innermost first; a boundary closes every entity opened after its
// multipart; the first Content-Type and Content-Transfer-Encoding field is the reading), but
// nothing is decoded, hashed or classified: only byte ranges are recorded. The output is the
// input with edits spliced in, so every byte that needs no change (7-bit parts, other header
// fields, preambles) is copied as it is.
//
// What is re-encoded, part by part (a leaf is "7-bit clean" when it has no byte ≥ 0x80 and no
// NUL, CR and LF occur only as CRLF, and no line is longer than 998 octets: RFC 5321 §4.5.3.1.6,
// RFC 2045 §2.7):
//   7bit / 8bit / binary leaf, clean     body copied; an 8bit or binary label becomes 7bit
//   7bit / 8bit / binary leaf, not clean quoted-printable. Text (text/* or any 8bit body, whose
//                                        CR and LF are line breaks by RFC 2045 §2.8) keeps CRLF
//                                        as hard line breaks; a binary non-text body has CR and
//                                        LF encoded (=0D=0A) so that it decodes to the same octets
//   quoted-printable with 8-bit octets   decoded (8-bit octets are literal data) and encoded again
//   base64 with 8-bit octets             decoded (they are ignored, RFC 2045 §6.8) and encoded again
//   uuencode or unknown, with 8-bit      not convertible: a `Problem`
//   message/rfc822, message/news         the encapsulated message is walked (headers and body)
//   message/global*                      a leaf: RFC 6532 §3.5 and RFC 6533 allow an encoding
//   other message/*, or a multipart      not convertible when its body is not clean: a `Problem`
//   without a usable boundary
//   preamble / epilogue with 8-bit       each octet ≥ 0x80 replaced by "?" (RFC 2046 §5.1.1: they
//                                        are to be ignored; there is nothing to label)
//
// Header fields with raw 8-bit octets (RFC 6532 UTF-8, or legacy unlabelled charsets) cannot be
// fixed by a transfer encoding. Decision: a field that RFC 5322 or RFC 2045 define as
// unstructured text (Subject, Comments, Content-Description, and any name listed in
// `unstructuredFields`) whose octets are valid UTF-8 is rewritten as RFC 2047 encoded words
// (charset utf-8, B encoding, lines of at most 76 characters, §2); every other such field is left
// as it is and reported as a `Problem` (RFC 3463 5.6.3, conversion required but not supported),
// so that the caller can bounce or, if its policy says so, send anyway (as Postfix does).
// Encoded words are never guessed from a non-UTF-8 charset.
//
// Diagnostics: limits are thrown as `EightBitDowngradeError` (nothing is produced); everything
// else is returned in `Result` (`changed`, the counts, `problems`).
//
// Security notes: a quoted-printable line never starts with "-" (it is written =2D), so no
// re-encoded line can be read as a boundary of an enclosing multipart, whether the reader matches
// boundaries exactly or by prefix; "." and "From " at a line start are encoded as well (SMTP and
// mbox safety, RFC 2049 §3). The walk is bounded by `Limits`: depth, parts, header size, boundary
// length and input size. A header that did not end with an empty line gets one before a
// re-encoded body, so that an encoded first line cannot turn into a header field.

import Glibc

/// RFC 6152 downgrade of 8-bit content for a next hop that does not offer 8BITMIME. Pure: no I/O;
/// a value, safe to share.
public struct EightBitDowngrade: Sendable, Hashable {
    /// The bounds of one downgrade. The defaults follow `MIMELimits.default` where the parser has
    /// the same limit, so both read the same messages.
    public struct Limits: Sendable, Hashable {
        /// Deepest nesting of multiparts and encapsulated messages (top-level message is depth 0).
        ///
        /// Stops: stack and time exhaustion by "Russian doll" messages.
        public var maxNestingDepth: Int
        /// Most entities in one message.
        ///
        /// Stops: memory and time exhaustion by millions of empty parts.
        public var maxParts: Int
        /// Largest header block of one entity, in bytes.
        ///
        /// Stops: memory exhaustion by an endless header.
        public var maxHeaderBytes: Int
        /// Longest multipart boundary.
        ///
        /// Stops: quadratic boundary matching by a multi-kilobyte boundary compared on every line.
        public var maxBoundaryLength: Int
        /// Longest line considered for structure (longer lines never start a field or a boundary).
        ///
        /// Stops: boundary look-ups on giant lines.
        public var maxLineLength: Int
        /// Largest input converted. Quoted-printable can triple a body, so this bounds the output
        /// at about three times as much.
        ///
        /// Stops: memory exhaustion by converting a huge 8-bit message in memory.
        public var maxInputBytes: Int

        /// Limits taken from `mime`, with `maxInputBytes` (default 64 MiB, above the default
        /// SMTP SIZE of 50 MiB).
        public init(_ mime: MIMELimits = .default, maxInputBytes: Int = 64 * 1024 * 1024) {
            maxNestingDepth = mime.maxNestingDepth
            maxParts = mime.maxParts
            maxHeaderBytes = mime.maxHeaderBytes
            maxBoundaryLength = mime.maxBoundaryLength
            maxLineLength = mime.maxLineLength
            self.maxInputBytes = maxInputBytes
        }

        /// The defaults.
        public static let `default` = Limits()
    }

    /// Something the downgrade could not convert: the output still holds 8-bit data there.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// A header field with raw 8-bit octets that is not unstructured text, or is not UTF-8.
        /// `offset` is where the field starts in the input.
        case eightBitHeaderField(name: String, offset: Int)
        /// A body with 8-bit octets under an encoding that cannot be decoded here (uuencode, x-…).
        /// `offset` is where the entity starts.
        case unknownTransferEncoding(String, offset: Int)
        /// A body that is not 7-bit clean in an entity that may carry no transfer encoding and
        /// could not be walked (message/partial, message/delivery-status, a multipart without a
        /// usable boundary …).
        case unencodableEntity(mimeType: String, offset: Int)

        /// RFC 3463 code for a bounce: 5.6.3, conversion required but not supported (§3.7).
        public var enhancedStatusCode: String { "5.6.3" }

        public var description: String {
            switch self {
            case .eightBitHeaderField(let name, _): return "8-bit data in header field \(name) cannot be converted"
            case .unknownTransferEncoding(let e, _): return "8-bit data under transfer encoding \(e) cannot be converted"
            case .unencodableEntity(let t, _): return "8-bit data in \(t) cannot be converted"
            }
        }
    }

    /// What the downgrade did.
    public struct Result: Sendable {
        /// The converted message (the input itself when nothing changed).
        public var bytes: [UInt8]
        /// Whether `bytes` differs from the input.
        public var changed: Bool
        /// Bodies re-encoded as quoted-printable (or base64 again).
        public var reencodedParts = 0
        /// Header fields rewritten as RFC 2047 encoded words.
        public var encodedHeaderFields = 0
        /// What could not be converted; empty when `bytes` is 7-bit clean.
        public var problems: [Problem] = []

        /// Whether the result may be sent to a next hop without 8BITMIME.
        public var isSevenBit: Bool { problems.isEmpty }
    }

    public var limits: Limits
    /// Whether unstructured header fields with UTF-8 octets are rewritten as encoded words
    /// (otherwise they are reported as problems like every other 8-bit field).
    public var encodeUnstructuredHeaders = true
    /// Lower-cased names of the fields treated as unstructured text (RFC 5322 §3.6.5, RFC 2045 §8).
    public var unstructuredFields: Set<String> = ["subject", "comments", "content-description"]

    public init(limits: Limits = .default) { self.limits = limits }

    /// Whether `bytes` holds an octet ≥ 0x80 (eight bytes at a time).
    public static func containsEightBit(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { containsEightBit($0) }
    }

    static func containsEightBit(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = b.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        var i = 0
        let n = b.count
        while i + 32 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                | raw.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
            if x & 0x8080_8080_8080_8080 != 0 { return true }
            i += 32
        }
        while i < n {
            if base[i] >= 0x80 { return true }
            i += 1
        }
        return false
    }

    /// Converts `message` (the raw message, CRLF lines) for a next hop without 8BITMIME.
    public func downgrade(_ message: [UInt8]) throws(EightBitDowngradeError) -> Result {
        if !Self.containsEightBit(message) { return Result(bytes: message, changed: false) }
        if message.count > limits.maxInputBytes {
            throw .messageTooLarge(size: message.count, limit: limits.maxInputBytes)
        }
        let tree = try message.withUnsafeBufferPointer { (buffer) throws(EightBitDowngradeError) -> DowngradeTree in
            var walker = DowngradeWalker(buffer: buffer, limits: limits)
            try walker.run()
            return walker.tree
        }
        var planner = DowngradePlanner(input: message, tree: tree, options: self)
        planner.plan()
        let bytes = DowngradePlanner.splice(message, planner.edits)
        return Result(bytes: bytes, changed: bytes != message,
                      reencodedParts: planner.reencoded, encodedHeaderFields: planner.encodedFields,
                      problems: planner.problems)
    }
}

/// A limit of `EightBitDowngrade.Limits` that a message reached: it was not converted.
public enum EightBitDowngradeError: Error, Hashable, Sendable, CustomStringConvertible {
    case messageTooLarge(size: Int, limit: Int)
    case nestingTooDeep(limit: Int)
    case tooManyParts(limit: Int)
    case headerTooLarge(limit: Int)
    case boundaryTooLong(length: Int, limit: Int)

    /// RFC 3463 code for a bounce: 5.3.4 (message too big for system) for sizes, 5.6.3
    /// (conversion required but not supported) for structure.
    public var enhancedStatusCode: String {
        switch self {
        case .messageTooLarge, .headerTooLarge: return "5.3.4"
        default: return "5.6.3"
        }
    }

    public var description: String {
        switch self {
        case .messageTooLarge(let n, let l): return "message of \(n) bytes exceeds the 8-bit conversion limit (\(l))"
        case .nestingTooDeep(let l): return "MIME nesting exceeds safety limit (\(l))"
        case .tooManyParts(let l): return "too many MIME parts (limit \(l))"
        case .headerTooLarge(let l): return "header exceeds size limit (\(l) bytes)"
        case .boundaryTooLong(let n, let l): return "boundary of \(n) bytes exceeds limit (\(l))"
        }
    }
}

// MARK: - The structure

/// The entities of a message as byte ranges (no decoding).
struct DowngradeTree {
    struct Field {
        /// The name as written.
        var name: String
        /// The whole field with its line break(s).
        var range: Range<Int>
        /// Where the value starts (after the colon).
        var valueStart: Int
    }

    enum Kind { case leaf, multipart, message }

    struct Entity {
        var parent: Int?
        var depth: Int
        var kind: Kind = .leaf
        var headerStart: Int
        var fields: [Field] = []
        /// Where new fields go: after the last field (or at the header start).
        var fieldsEnd: Int
        /// Whether the header ended with an empty line.
        var headerTerminated = false
        var contentType = MIMEContentType.defaultType
        var encoding = MIMETransferEncoding.sevenBit
        /// Whether a Content-Transfer-Encoding field was present.
        var hasEncodingField = false
        var bodyRange: Range<Int> = 0..<0
        var preamble: Range<Int>?
        var epilogue: Range<Int>?
        var children: [Int] = []
    }

    var entities: [Entity] = []
}

/// The one-pass line walk (the rules of `LineMachine` in MIMEParser.swift, ranges only).
struct DowngradeWalker {
    struct Frame {
        var boundary: [UInt8]
        var entity: Int
    }

    enum Phase { case headers, body, preamble, epilogue }

    let buffer: UnsafeBufferPointer<UInt8>
    let limits: EightBitDowngrade.Limits
    var tree = DowngradeTree()
    var frames: [Frame] = []
    var cur = 0
    var phase = Phase.headers
    var sectionStart = 0
    var headerBytes = 0
    var fieldOpen = false

    init(buffer: UnsafeBufferPointer<UInt8>, limits: EightBitDowngrade.Limits) {
        self.buffer = buffer
        self.limits = limits
    }

    mutating func run() throws(EightBitDowngradeError) {
        _ = try addEntity(parent: nil, depth: 0, start: 0)
        var pos = 0
        let end = buffer.count
        while pos < end {
            var le = end
            var next = end
            if let base = buffer.baseAddress, let hit = memchr(base + pos, 10, end - pos) {
                le = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                next = le + 1
            }
            if le > pos && buffer[le - 1] == 13 { le -= 1 }
            try line(pos, le, next)
            pos = next
        }
        finish(at: end)
    }

    mutating func addEntity(parent: Int?, depth: Int, start: Int) throws(EightBitDowngradeError) -> Int {
        guard tree.entities.count < limits.maxParts else { throw .tooManyParts(limit: limits.maxParts) }
        let index = tree.entities.count
        tree.entities.append(DowngradeTree.Entity(parent: parent, depth: depth, headerStart: start, fieldsEnd: start))
        if let parent { tree.entities[parent].children.append(index) }
        cur = index
        phase = .headers
        headerBytes = 0
        fieldOpen = false
        return index
    }

    mutating func line(_ ls: Int, _ le: Int, _ next: Int) throws(EightBitDowngradeError) {
        if phase != .headers {
            if let (k, close) = matchBoundary(ls, le) { try boundary(k, close: close, ls, next) }
            return
        }
        if le == ls {
            tree.entities[cur].headerTerminated = true
            try finishHeader(bodyStart: next)
            return
        }
        if let (k, close) = matchBoundary(ls, le) {
            // A boundary ends the header: an entity with an empty body.
            interpretHeader(cur)
            tree.entities[cur].bodyRange = ls..<ls
            phase = .body
            sectionStart = ls
            try boundary(k, close: close, ls, next)
            return
        }
        headerBytes += next - ls
        guard headerBytes <= limits.maxHeaderBytes else { throw .headerTooLarge(limit: limits.maxHeaderBytes) }
        let first = buffer[ls]
        if first == 32 || first == 9 {
            if fieldOpen {
                let n = tree.entities[cur].fields.count - 1
                tree.entities[cur].fields[n].range = tree.entities[cur].fields[n].range.lowerBound..<next
            } else {
                // A continuation line with no field before it: kept, and checked like a field.
                tree.entities[cur].fields.append(.init(name: "", range: ls..<next, valueStart: ls))
                fieldOpen = true
            }
            tree.entities[cur].fieldsEnd = next
            return
        }
        // field-name = 1*ftext; ftext = %d33-57 / %d59-126 (RFC 5322 §3.6.8)
        var j = ls
        while j < le, buffer[j] > 32, buffer[j] < 127, buffer[j] != 58 { j += 1 }
        let nameEnd = j
        while j < le, buffer[j] == 32 || buffer[j] == 9 { j += 1 }
        if nameEnd > ls, j < le, buffer[j] == 58 {
            let name = String(decoding: UnsafeBufferPointer(rebasing: buffer[ls..<nameEnd]), as: UTF8.self)
            tree.entities[cur].fields.append(.init(name: name, range: ls..<next, valueStart: j + 1))
            tree.entities[cur].fieldsEnd = next
            fieldOpen = true
            return
        }
        if cur == 0 && ls == 0 && le - ls >= 5 && Array(UnsafeBufferPointer(rebasing: buffer[ls..<ls + 5])) == Array("From ".utf8) {
            // mbox "From " line before the header (as the parser skips it).
            tree.entities[0].headerStart = next
            tree.entities[0].fieldsEnd = next
            headerBytes = 0
            return
        }
        // A line that is not a field ends the header; it is the first body line.
        try finishHeader(bodyStart: ls)
        try line(ls, le, next)
    }

    /// Matches a line against the open boundaries, innermost first.
    func matchBoundary(_ ls: Int, _ le: Int) -> (Int, Bool)? {
        let length = le - ls
        guard !frames.isEmpty, length >= 2, length <= limits.maxLineLength, buffer[ls] == 45, buffer[ls + 1] == 45 else { return nil }
        var k = frames.count - 1
        while k >= 0 {
            let bd = frames[k].boundary
            if length - 2 >= bd.count && bd.withUnsafeBufferPointer({ memcmp(buffer.baseAddress! + ls + 2, $0.baseAddress!, bd.count) }) == 0 {
                var j = ls + 2 + bd.count
                var close = false
                if j + 2 <= le && buffer[j] == 45 && buffer[j + 1] == 45 { close = true; j += 2 }
                while j < le && (buffer[j] == 32 || buffer[j] == 9) { j += 1 }
                if j == le { return (k, close) }
            }
            k -= 1
        }
        return nil
    }

    /// Reads Content-Type and Content-Transfer-Encoding (the first of each, as the parser does).
    mutating func interpretHeader(_ p: Int) {
        var typeDone = false
        var encodingDone = false
        let parentIsDigest = tree.entities[p].parent.map {
            tree.entities[$0].kind == .multipart && tree.entities[$0].contentType.mimeType == "multipart/digest"
        } ?? false
        if parentIsDigest { tree.entities[p].contentType = .digestDefault }
        for field in tree.entities[p].fields {
            let kind = MIMEHeader.mimeFieldKind(field.name)
            guard kind == 1 || kind == 2 else { continue }
            let raw = unfoldedValue(field)
            if kind == 1 && !typeDone {
                typeDone = true
                var defects: MIMEDefects = []
                var errors: [MIMELimitError] = []
                if let type = MIMEContentType.parse(raw, limits: MIMELimits.default, defects: &defects, limitErrors: &errors) {
                    tree.entities[p].contentType = type
                }
            } else if kind == 2 {
                tree.entities[p].hasEncodingField = true
                if !encodingDone {
                    encodingDone = true
                    tree.entities[p].encoding = MIMETransferEncoding.parse(raw).encoding
                }
            }
        }
    }

    func unfoldedValue(_ field: DowngradeTree.Field) -> [UInt8] {
        var out = [UInt8]()
        var i = field.valueStart
        while i < field.range.upperBound {
            let c = buffer[i]
            if c != 13 && c != 10 { out.append(c) }
            i += 1
        }
        return out
    }

    /// Chooses what the entity is once its header is known, and enters its body.
    mutating func finishHeader(bodyStart: Int) throws(EightBitDowngradeError) {
        let p = cur
        interpretHeader(p)
        tree.entities[p].bodyRange = bodyStart..<bodyStart
        sectionStart = bodyStart
        phase = .body
        let entity = tree.entities[p]
        let type = entity.contentType
        if type.isMultipart, let boundary = type.boundary, !boundary.isEmpty {
            guard entity.depth < limits.maxNestingDepth else { throw .nestingTooDeep(limit: limits.maxNestingDepth) }
            let bytes = Array(boundary.utf8)
            guard bytes.count <= limits.maxBoundaryLength else {
                throw .boundaryTooLong(length: bytes.count, limit: limits.maxBoundaryLength)
            }
            tree.entities[p].kind = .multipart
            frames.append(Frame(boundary: bytes, entity: p))
            phase = .preamble
            return
        }
        if type.type == "message" && (type.subtype == "rfc822" || type.subtype == "news") && entity.encoding.isIdentity {
            guard entity.depth < limits.maxNestingDepth else { throw .nestingTooDeep(limit: limits.maxNestingDepth) }
            tree.entities[p].kind = .message
            _ = try addEntity(parent: p, depth: entity.depth + 1, start: bodyStart)
        }
    }

    /// The end of the body before a boundary line at `ls`: the line break before the delimiter
    /// belongs to the delimiter (RFC 2046 §5.1.1).
    func bodyEnd(before ls: Int) -> Int {
        var e = ls
        if e > sectionStart && buffer[e - 1] == 10 {
            e -= 1
            if e > sectionStart && buffer[e - 1] == 13 { e -= 1 }
        }
        return max(e, sectionStart)
    }

    mutating func boundary(_ k: Int, close: Bool, _ ls: Int, _ next: Int) throws(EightBitDowngradeError) {
        let target = frames[k].entity
        let end = bodyEnd(before: ls)
        frames.removeLast(frames.count - 1 - k)
        if cur == target {
            if phase == .preamble { tree.entities[target].preamble = sectionStart..<end }
        } else {
            var p = cur
            while p != target {
                finalize(p, end: end)
                guard let parent = tree.entities[p].parent else { break }
                p = parent
            }
        }
        if close {
            frames.removeLast()
            cur = target
            phase = .epilogue
            sectionStart = next
        } else {
            _ = try addEntity(parent: target, depth: tree.entities[target].depth + 1, start: next)
        }
    }

    /// Closes the entity `p` at `end`.
    mutating func finalize(_ p: Int, end: Int) {
        let lower = tree.entities[p].bodyRange.lowerBound
        tree.entities[p].bodyRange = lower..<max(lower, end)
        if tree.entities[p].kind == .multipart {
            if p == cur && phase == .epilogue { tree.entities[p].epilogue = sectionStart..<max(sectionStart, end) }
            if p == cur && phase == .preamble { tree.entities[p].preamble = sectionStart..<max(sectionStart, end) }
            if tree.entities[p].children.isEmpty {
                // No delimiter at all: one opaque body (the parser reads it as text).
                tree.entities[p].kind = .leaf
                tree.entities[p].preamble = nil
            }
        }
    }

    mutating func finish(at end: Int) {
        if phase == .headers {
            interpretHeader(cur)
            tree.entities[cur].bodyRange = end..<end
            phase = .body
            sectionStart = end
        }
        frames.removeAll()
        var p = cur
        while true {
            finalize(p, end: end)
            guard let parent = tree.entities[p].parent else { break }
            p = parent
        }
    }
}

// MARK: - The edits

struct DowngradePlanner {
    struct Edit {
        var range: Range<Int>
        var bytes: [UInt8]
    }

    let input: [UInt8]
    let tree: DowngradeTree
    let options: EightBitDowngrade
    let eol: [UInt8]
    var edits: [Edit] = []
    var problems: [EightBitDowngrade.Problem] = []
    var reencoded = 0
    var encodedFields = 0

    init(input: [UInt8], tree: DowngradeTree, options: EightBitDowngrade) {
        self.input = input
        self.tree = tree
        self.options = options
        if let lf = input.firstIndex(of: 10), lf > 0, input[lf - 1] != 13 {
            eol = [10]
        } else {
            eol = [13, 10]
        }
    }

    mutating func plan() {
        // Children before parents, so that a container knows whether its subtree came out clean.
        var clean = [Bool](repeating: true, count: tree.entities.count)
        for p in stride(from: tree.entities.count - 1, through: 0, by: -1) {
            let before = problems.count
            let entity = tree.entities[p]
            planHeader(entity)
            switch entity.kind {
            case .leaf:
                planLeaf(entity)
            case .multipart:
                for r in [entity.preamble, entity.epilogue].compactMap({ $0 }) where hasEightBit(r) {
                    edits.append(Edit(range: r, bytes: input[r].map { $0 >= 0x80 ? 63 : $0 }))
                }
                if entity.children.allSatisfy({ clean[$0] }) { relabelSevenBit(entity) }
            case .message:
                if entity.children.allSatisfy({ clean[$0] }) { relabelSevenBit(entity) }
            }
            clean[p] = problems.count == before && entity.children.allSatisfy { clean[$0] }
        }
    }

    // MARK: Headers

    mutating func planHeader(_ entity: DowngradeTree.Entity) {
        for field in entity.fields where hasEightBit(field.range) {
            if options.encodeUnstructuredHeaders, options.unstructuredFields.contains(field.name.lowercased()),
               let encoded = encodedField(field) {
                edits.append(Edit(range: field.range, bytes: encoded))
                encodedFields += 1
            } else {
                problems.append(.eightBitHeaderField(name: field.name, offset: field.range.lowerBound))
            }
        }
    }

    /// `field` with its value as RFC 2047 encoded words (RFC 2047 §5 (1): unstructured text), or nil
    /// when the value is not UTF-8. ASCII words stay as they are; each run of words with 8-bit
    /// octets (with the white space between them) becomes encoded words; lines are folded at
    /// white space to at most 76 characters where they hold encoded words (§2).
    func encodedField(_ field: DowngradeTree.Field) -> [UInt8]? {
        // Unfold (RFC 5322 §2.2.3) and trim.
        var value = [UInt8]()
        for c in input[field.valueStart..<field.range.upperBound] where c != 13 && c != 10 { value.append(c) }
        while let f = value.first, f == 32 || f == 9 { value.removeFirst() }
        while let l = value.last, l == 32 || l == 9 { value.removeLast() }
        guard String(validating: value, as: UTF8.self) != nil else { return nil }

        // Tokens: words with the white space before each.
        var tokens: [(space: [UInt8], word: [UInt8])] = []
        var i = 0
        while i < value.count {
            var s = i
            while s < value.count && (value[s] == 32 || value[s] == 9) { s += 1 }
            var e = s
            while e < value.count && value[e] != 32 && value[e] != 9 { e += 1 }
            tokens.append((Array(value[i..<s]), Array(value[s..<e])))
            i = e
        }
        func needsEncoding(_ w: [UInt8]) -> Bool {
            if w.contains(where: { $0 >= 0x80 }) { return true }
            // An ASCII word that looks like an encoded word would be decoded: encode it too.
            var k = 0
            while k + 1 < w.count { if w[k] == 61 && w[k + 1] == 63 { return true }; k += 1 }
            return false
        }

        var out = Array(field.name.utf8) + Array(":".utf8)
        var column = out.count
        func put(space: [UInt8], _ piece: [UInt8], limit: Int) {
            let sep = space.isEmpty ? [32] : space
            if column + sep.count + piece.count > limit && column > 0 {
                out += eol
                column = 0
            }
            out += sep
            out += piece
            column += sep.count + piece.count
        }
        var t = 0
        while t < tokens.count {
            if !needsEncoding(tokens[t].word) {
                put(space: tokens[t].space, tokens[t].word, limit: 76)
                t += 1
                continue
            }
            // A run of words to encode, with the white space inside it.
            let space = tokens[t].space
            var text = tokens[t].word
            var u = t + 1
            while u < tokens.count && needsEncoding(tokens[u].word) {
                text += tokens[u].space + tokens[u].word
                u += 1
            }
            var first = true
            for word in Self.encodedWords(String(decoding: text, as: UTF8.self), firstBudget: 76 - column - max(space.count, 1)) {
                put(space: first ? space : [32], Array(word.utf8), limit: 76)
                first = false
            }
            t = u
        }
        out += eol
        return out
    }

    /// `text` as UTF-8 B-encoded words of at most 75 characters (RFC 2047 §2); the first at most
    /// `firstBudget` long when it can hold a character. Characters are never split across words.
    static func encodedWords(_ text: String, firstBudget: Int) -> [String] {
        let prefix = "=?utf-8?B?"
        let overhead = prefix.utf8.count + 2
        var words: [String] = []
        var chunk = [UInt8]()
        var budget = min(75, firstBudget)
        func fits(_ bytes: [UInt8]) -> Bool { overhead + (bytes.count + 2) / 3 * 4 <= budget }
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append(prefix + String(decoding: Base64.encode(chunk, lineLength: 0), as: UTF8.self) + "?=")
            chunk.removeAll()
            budget = 75
        }
        for ch in text {
            let bytes = Array(String(ch).utf8)
            if !fits(chunk + bytes) {
                if chunk.isEmpty {
                    budget = 75  // not even one character fits the first line: it is folded first
                } else {
                    flush()
                }
            }
            chunk += bytes
        }
        flush()
        return words
    }

    // MARK: Bodies

    mutating func planLeaf(_ entity: DowngradeTree.Entity) {
        let body = entity.bodyRange
        let type = entity.contentType
        // RFC 2045 §6.4, relaxed by RFC 6532 §3.5 for message/global and RFC 6533 for its kin.
        let mayEncode = type.type != "multipart" && (type.type != "message" || type.subtype.hasPrefix("global"))
        switch entity.encoding {
        case .sevenBit, .eightBit, .binary:
            if isClean(body) {
                relabelSevenBit(entity)
                return
            }
            guard mayEncode else {
                problems.append(.unencodableEntity(mimeType: type.mimeType, offset: entity.headerStart))
                return
            }
            let binary = entity.encoding == .binary && type.type != "text"
            let encoded = input.withUnsafeBufferPointer {
                Self.quotedPrintable(UnsafeBufferPointer(rebasing: $0[body]), binary: binary, eol: eol)
            }
            replaceBody(entity, with: encoded, encoding: "quoted-printable")
        case .quotedPrintable:
            guard hasEightBit(body) else { return }
            let decoded = QuotedPrintable.decode(input[body]).bytes
            let encoded = decoded.withUnsafeBufferPointer { Self.quotedPrintable($0, binary: false, eol: eol) }
            replaceBody(entity, with: encoded, encoding: nil)
        case .base64:
            guard hasEightBit(body) else { return }
            let decoded = Base64.decode(input[body]).bytes
            replaceBody(entity, with: Base64.encode(decoded, lineBreak: eol), encoding: nil)
        case .uuencode, .unknown:
            guard hasEightBit(body) else { return }
            problems.append(.unknownTransferEncoding(entity.encoding.description, offset: entity.headerStart))
        }
    }

    /// Replaces the body of `entity` with `encoded`; sets its encoding field when `encoding` is given.
    mutating func replaceBody(_ entity: DowngradeTree.Entity, with encoded: [UInt8], encoding: String?) {
        var bytes = encoded
        if !entity.headerTerminated && !entity.bodyRange.isEmpty {
            bytes = eol + bytes  // the header now ends where the body starts
        }
        edits.append(Edit(range: entity.bodyRange, bytes: bytes))
        reencoded += 1
        guard let encoding else { return }
        setEncoding(entity, encoding)
        // A message (top level or encapsulated) needs MIME-Version for its encoding to be read (RFC 2045 §4).
        let isMessage = entity.parent.map { tree.entities[$0].kind == .message } ?? true
        if isMessage && !entity.fields.contains(where: { $0.name.lowercased() == "mime-version" }) {
            insertField(entity, "MIME-Version: 1.0")
        }
    }

    /// Sets an 8bit or binary label to 7bit (the body is 7-bit clean).
    mutating func relabelSevenBit(_ entity: DowngradeTree.Entity) {
        guard entity.hasEncodingField, entity.encoding == .eightBit || entity.encoding == .binary else { return }
        setEncoding(entity, "7bit")
    }

    /// Replaces every Content-Transfer-Encoding field of `entity` with one (where the first was).
    mutating func setEncoding(_ entity: DowngradeTree.Entity, _ value: String) {
        let field = Array("Content-Transfer-Encoding: \(value)".utf8) + eol
        var placed = false
        for f in entity.fields where MIMEHeader.mimeFieldKind(f.name) == 2 {
            edits.append(Edit(range: f.range, bytes: placed ? [] : field))
            placed = true
        }
        if !placed { insertField(entity, "Content-Transfer-Encoding: \(value)") }
    }

    mutating func insertField(_ entity: DowngradeTree.Entity, _ text: String) {
        let at = entity.fieldsEnd
        var bytes = Array(text.utf8) + eol
        if at > 0 && input[at - 1] != 10 { bytes = eol + bytes }  // the last field had no line break
        edits.append(Edit(range: at..<at, bytes: bytes))
    }

    // MARK: Scanning

    func hasEightBit(_ r: Range<Int>) -> Bool {
        input.withUnsafeBufferPointer { EightBitDowngrade.containsEightBit(UnsafeBufferPointer(rebasing: $0[r])) }
    }

    /// 7-bit clean: no octet ≥ 0x80 or NUL, CR and LF only as CRLF (or LF alone in an LF
    /// message), no line over 998 octets (RFC 5321 §4.5.3.1.6).
    func isClean(_ r: Range<Int>) -> Bool {
        let lfOnly = eol == [10]
        var column = 0
        var i = r.lowerBound
        while i < r.upperBound {
            let c = input[i]
            if c >= 0x80 || c == 0 { return false }
            if c == 13 {
                guard i + 1 < r.upperBound, input[i + 1] == 10, !lfOnly else { return false }
                column = 0
                i += 2
                continue
            }
            if c == 10 {
                guard lfOnly else { return false }
                column = 0
            } else {
                column += 1
                if column > 998 { return false }
            }
            i += 1
        }
        return true
    }

    // MARK: Quoted-printable

    /// RFC 2045 §6.7 quoted-printable: lines of at most 76 characters with the soft break "=";
    /// "=" and every octet outside 33–126 but space and tab encoded; space and tab before a line
    /// break (or at the end) encoded (rule 3). In text mode CRLF is a hard line break (LF too in an
    /// LF message) and a CR or LF alone is encoded; in binary mode every CR and LF is encoded.
    /// A "-" or "." at the start of an output line, and the "F" of "From ", are encoded (see
    /// the security notes at the top of the file).
    static func quotedPrintable(_ input: UnsafeBufferPointer<UInt8>, binary: Bool, eol: [UInt8]) -> [UInt8] {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        let lfIsBreak = eol == [10]
        var out = [UInt8]()
        out.reserveCapacity(input.count + input.count / 4 + 16)
        var column = 0
        var lastLiteralWhiteSpace = false
        let n = input.count

        func softBreak() {
            out.append(61)
            out += eol
            column = 0
        }
        func encoded(_ c: UInt8) {
            if column + 3 > 75 { softBreak() }
            out += [61, hex[Int(c >> 4)], hex[Int(c & 15)]]
            column += 3
            lastLiteralWhiteSpace = false
        }
        /// Encodes a trailing space or tab just written.
        func encodeTrailingWhiteSpace() {
            guard lastLiteralWhiteSpace, let last = out.last else { return }
            out.removeLast()
            column -= 1
            encoded(last)
        }

        var i = 0
        while i < n {
            let c = input[i]
            if !binary && ((c == 13 && i + 1 < n && input[i + 1] == 10) || (c == 10 && lfIsBreak)) {
                encodeTrailingWhiteSpace()
                out += eol
                column = 0
                lastLiteralWhiteSpace = false
                i += c == 13 ? 2 : 1
                continue
            }
            var literal = (c >= 33 && c <= 126 && c != 61) || c == 32 || c == 9
            if literal && (column == 0 || column + 1 > 75) {
                // This octet starts an output line (after a soft break if the line is full).
                let startsLine = column == 0 || column + 1 > 75
                if startsLine && (c == 45 || c == 46) { literal = false }
                if startsLine && c == 70 && i + 4 < n && input[i + 1] == 114 && input[i + 2] == 111
                    && input[i + 3] == 109 && input[i + 4] == 32 { literal = false }
            }
            if literal {
                if column + 1 > 75 { softBreak() }
                out.append(c)
                column += 1
                lastLiteralWhiteSpace = c == 32 || c == 9
            } else {
                encoded(c)
            }
            i += 1
        }
        encodeTrailingWhiteSpace()
        return out
    }

    /// Applies `edits` (disjoint, inserts before a replacement at the same place keep their order).
    static func splice(_ input: [UInt8], _ edits: [Edit]) -> [UInt8] {
        let ordered = edits.enumerated().sorted {
            ($0.element.range.lowerBound, $0.element.range.upperBound, $0.offset) < ($1.element.range.lowerBound, $1.element.range.upperBound, $1.offset)
        }.map(\.element)
        var out = [UInt8]()
        out.reserveCapacity(input.count + input.count / 3 + 1024)
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
}
