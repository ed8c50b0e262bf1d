// MIMEParser.swift — the one-pass MIME parser (RFC 5322, RFC 2045–2049, RFC 6532).
//
// What it does: reads a message line by line, once, keeping a stack of open multipart
// boundaries (as Postfix's mime_state.c does). Each line is either part of a header block, a
// boundary of one of the open multiparts (innermost first), or body data. Entities record byte
// ranges into the input; a leaf is decoded, hashed and classified as soon as it closes, and
// only what is kept (text for content rules, archives to unpack) stays in memory.
//
// Grammar (RFC 2046 §5.1.1):
//   multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF body-part
//                     *encapsulation close-delimiter transport-padding [CRLF epilogue]
//   dash-boundary := "--" boundary
//   delimiter := CRLF dash-boundary;  close-delimiter := delimiter "--"
//
// Diagnostics: never throws; every problem is a `MIMEDefects` flag on the part where it is,
// every limit a `MIMELimitError` (see MIMEDefaults.swift).
//
// Security notes: a boundary line closes every entity opened after its multipart, so a
// missing close delimiter cannot swallow the rest of the message; ambiguous structure
// (duplicate Content-Type, conflicting boundaries, encodings on containers, unknown encodings)
// is parsed again under each other reading, bounded by `maxAlternativeReadings`. Line endings:
// LF ends a line, a CR before it is dropped; a bare CR is data.
import Glibc

/// The MIME parser. Pure: no I/O; thread-safe (a value).
public struct MIMEParser: Sendable {
    public var limits: MIMELimits

    public init(limits: MIMELimits = .default) { self.limits = limits }

    /// Parses a whole message.
    public func parse(_ bytes: [UInt8]) -> MIMEMessage {
        bytes.withUnsafeBufferPointer { parse($0) }
    }

    /// Parses a whole message held in `buffer` (not retained after the call).
    public func parse(_ buffer: UnsafeBufferPointer<UInt8>) -> MIMEMessage {
        let builder = MessageBuilder(limits: limits)
        builder.message.size = buffer.count
        let root = builder.addPart(parent: nil, depth: 0, origin: .mime, source: 0)!
        var machine = LineMachine(builder: builder, buffer: buffer, range: 0..<buffer.count, source: 0, root: root)
        machine.startWithHeader()
        machine.run()
        builder.runAlternativeReadings(input: buffer)
        return builder.finish()
    }

    /// Parses and throws the first limit that made the message unscannable.
    public func parseStrict(_ bytes: [UInt8]) throws(MIMELimitError) -> MIMEMessage {
        let message = parse(bytes)
        if let error = message.limitErrors.first(where: { $0.makesUnscannable }) { throw error }
        return message
    }
}

/// Shared state of one parse: the parts, the limits reached, the readings still to do.
final class MessageBuilder {
    enum Reading {
        case contentType(part: Int, MIMEContentType, reason: MIMEDefects)
        case transferEncoding(part: Int, MIMETransferEncoding, reason: MIMEDefects)
        case decodedContainer(part: Int)
    }

    let limits: MIMELimits
    var message = MIMEMessage()
    var partLimitReported = false
    var readings: [Reading] = []
    var urlIndex = URLIndex()

    init(limits: MIMELimits) { self.limits = limits }

    func addPart(parent: Int?, depth: Int, origin: MIMEPart.Origin, source: Int?) -> Int? {
        if message.parts.count >= limits.maxParts {
            if !partLimitReported {
                partLimitReported = true
                limit(.tooManyParts(limit: limits.maxParts))
                flag(parent ?? 0, .tooManyParts)
            }
            return nil
        }
        let index = message.parts.count
        message.parts.append(MIMEPart(index: index, parent: parent, depth: depth, origin: origin, source: source))
        if let parent { message.parts[parent].children.append(index) }
        return index
    }

    func flag(_ part: Int, _ defects: MIMEDefects) {
        message.parts[part].defects.formUnion(defects)
    }

    func limit(_ error: MIMELimitError) {
        if !message.limitErrors.contains(error) { message.limitErrors.append(error) }
    }

    /// Adds the URLs of the part just analysed (the index's current list) to the message's
    /// list: unique, in order of appearance, capped.
    func addURLs() {
        if !urlIndex.addList(to: &message.urls, limit: limits.maxURLs) { limit(.tooManyURLs(limit: limits.maxURLs)) }
    }

    func record(_ reading: Reading) { readings.append(reading) }

    /// Parses every recorded alternative reading (which may record more), up to the limit.
    func runAlternativeReadings(input: UnsafeBufferPointer<UInt8>) {
        var i = 0
        while i < readings.count {
            if i >= limits.maxAlternativeReadings {
                limit(.tooManyAlternativeReadings(limit: limits.maxAlternativeReadings))
                flag(0, .tooManyReadings)
                break
            }
            run(readings[i], input: input)
            i += 1
        }
    }

    private func run(_ reading: Reading, input: UnsafeBufferPointer<UInt8>) {
        let p: Int
        switch reading {
        case .contentType(let part, _, _), .transferEncoding(let part, _, _), .decodedContainer(let part): p = part
        }
        let original = message.parts[p]
        guard let source = original.source else { return }
        if original.depth + 1 > limits.maxNestingDepth {
            flag(p, .nestingTooDeep)
            limit(.nestingTooDeep(limit: limits.maxNestingDepth))
            return
        }
        switch reading {
        case .contentType(_, let type, let reason):
            var override = original
            override.contentType = type
            reread(p, as: override, reason: reason, source: source, input: input)
        case .transferEncoding(_, let encoding, let reason):
            var override = original
            override.transferEncoding = encoding
            reread(p, as: override, reason: reason, source: source, input: input)
        case .decodedContainer:
            var decoded = [UInt8]()
            var tooLarge = false
            withSource(source, input: input) { buffer in
                let body = UnsafeBufferPointer(rebasing: buffer[original.bodyRange])
                ContentDecoder.decode(body, encoding: original.transferEncoding) { chunk in
                    if decoded.count + chunk.count > limits.maxDecodedPartBytes { tooLarge = true; return }
                    decoded.append(contentsOf: chunk)
                }
            }
            if tooLarge {
                flag(p, .decodedPartTooLarge)
                limit(.decodedPartTooLarge(limit: limits.maxDecodedPartBytes))
                return
            }
            message.decodedSources.append(decoded)
            let newSource = message.decodedSources.count
            guard let q = addPart(parent: p, depth: original.depth + 1, origin: .alternativeReading(of: p, reason: .encodingDomain), source: newSource) else { return }
            var override = original
            override.transferEncoding = .binary
            copyInterpretation(from: override, to: q)
            withSource(newSource, input: input) { buffer in
                var machine = LineMachine(builder: self, buffer: buffer, range: 0..<buffer.count, source: newSource, root: q)
                machine.startAfterHeader(bodyStart: 0)
                machine.run()
            }
        }
    }

    /// Parses the body of `p` again as `override` says.
    private func reread(_ p: Int, as override: MIMEPart, reason: MIMEDefects, source: Int, input: UnsafeBufferPointer<UInt8>) {
        let original = message.parts[p]
        guard let q = addPart(parent: p, depth: original.depth + 1, origin: .alternativeReading(of: p, reason: reason), source: source) else { return }
        copyInterpretation(from: override, to: q)
        withSource(source, input: input) { buffer in
            var machine = LineMachine(builder: self, buffer: buffer, range: original.bodyRange, source: source, root: q)
            machine.startAfterHeader(bodyStart: original.bodyRange.lowerBound)
            machine.run()
        }
    }

    func copyInterpretation(from original: MIMEPart, to q: Int) {
        message.parts[q].header = original.header
        message.parts[q].headerRange = original.headerRange
        message.parts[q].contentType = original.contentType
        message.parts[q].hasContentType = original.hasContentType
        message.parts[q].transferEncoding = original.transferEncoding
        message.parts[q].disposition = original.disposition
        message.parts[q].filenames = original.filenames
    }

    func withSource(_ source: Int, input: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if source == 0 {
            body(input)
        } else {
            message.decodedSources[source - 1].withUnsafeBufferPointer { body($0) }
        }
    }

    func finish() -> MIMEMessage {
        var all: MIMEDefects = []
        for part in message.parts { all.formUnion(part.defects) }
        message.defects = all
        return message
    }
}

/// The line-by-line state machine over one buffer range.
struct LineMachine {
    struct Frame {
        var boundary: [UInt8]
        var part: Int
    }

    enum Phase { case headers, body, preamble, epilogue }

    let builder: MessageBuilder
    let buffer: UnsafeBufferPointer<UInt8>
    let range: Range<Int>
    let source: Int
    let root: Int
    let limits: MIMELimits

    var frames: [Frame] = []
    var cur: Int
    var phase: Phase = .headers
    var sectionStart: Int

    // Header block in progress.
    var headerStart: Int
    var fields: [MIMEHeaderField] = []
    var fieldStart = -1
    var fieldNameEnd = 0
    var fieldName = ""
    /// The current field's value, copied once the field is complete: it runs from `valueStart`
    /// (after the colon) over `valueLines` lines, the last ending at `valueEnd`, and holds
    /// `valueLength` bytes once the line breaks are left out (RFC 5322 §2.2.3 unfolding).
    var valueStart = 0
    var valueEnd = 0
    var valueLines = 0
    var valueLength = 0
    var fieldEnd = 0
    var headerBytes = 0
    var headerTruncated = false
    var headerLines = 0

    /// The leaf whose body lines are being read (phase `.body`), where its first line starts,
    /// and the first of its lines that starts with "begin " (an uuencoded file, maybe): noted
    /// here, while each line start is at hand, so the analysis need not look at every line again.
    var scannedLeaf = -1
    var scannedFrom = 0
    var firstBeginLine: Int?

    init(builder: MessageBuilder, buffer: UnsafeBufferPointer<UInt8>, range: Range<Int>, source: Int, root: Int) {
        self.builder = builder
        self.buffer = buffer
        self.range = range
        self.source = source
        self.root = root
        self.limits = builder.limits
        self.cur = root
        self.sectionStart = range.lowerBound
        self.headerStart = range.lowerBound
    }

    var parts: [MIMEPart] {
        get { builder.message.parts }
        nonmutating _modify { yield &builder.message.parts }
    }

    mutating func startWithHeader() {
        phase = .headers
        headerStart = range.lowerBound
        builder.message.parts[root].source = source
    }

    /// Starts in the body of `root`, whose interpretation is already set.
    mutating func startAfterHeader(bodyStart: Int) {
        decideKind(cur, bodyStart: bodyStart)
    }

    mutating func run() {
        guard let base = buffer.baseAddress else {
            finish(at: range.upperBound)
            return
        }
        var pos = range.lowerBound
        let end = range.upperBound
        while pos < end {
            let next: Int
            var le: Int
            if let hit = memchr(base + pos, 10, end - pos) {
                let lf = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                next = lf + 1
                le = lf
            } else {
                next = end
                le = end
            }
            if le > pos && base[le - 1] == 13 { le -= 1 }
            processLine(pos, le, next)
            pos = next
        }
        finish(at: end)
    }

    // MARK: Lines

    mutating func processLine(_ ls: Int, _ le: Int, _ next: Int) {
        switch phase {
        case .headers: headerLine(ls, le, next)
        case .body, .preamble, .epilogue: bodyLine(ls, le, next)
        }
    }

    /// Matches a line against the open boundaries, innermost first.
    mutating func matchBoundary(_ ls: Int, _ le: Int) -> (Int, Bool)? {
        let length = le - ls
        guard !frames.isEmpty, length >= 2, buffer[ls] == 45, buffer[ls + 1] == 45 else { return nil }
        if length > limits.maxLineLength { return nil }
        var k = frames.count - 1
        while k >= 0 {
            let bd = frames[k].boundary
            if length - 2 >= bd.count && bd.withUnsafeBufferPointer({ memcmp(buffer.baseAddress! + ls + 2, $0.baseAddress!, bd.count) }) == 0 {
                var j = ls + 2 + bd.count
                var close = false
                if j + 2 <= le && buffer[j] == 45 && buffer[j + 1] == 45 { close = true; j += 2 }
                while j < le && (buffer[j] == 32 || buffer[j] == 9) { j += 1 }
                if j == le { return (k, close) }
                builder.flag(frames[k].part, .boundaryPrefixLine)
            }
            k -= 1
        }
        return nil
    }

    mutating func bodyLine(_ ls: Int, _ le: Int, _ next: Int) {
        if phase == .body {
            if cur != scannedLeaf {
                scannedLeaf = cur
                scannedFrom = ls
                firstBeginLine = nil
            }
            if firstBeginLine == nil && le - ls >= 6 && buffer[ls] == 98 && buffer[ls + 1] == 101 && buffer[ls + 2] == 103
                && buffer[ls + 3] == 105 && buffer[ls + 4] == 110 && buffer[ls + 5] == 32 {
                firstBeginLine = ls
            }
        }
        if le - ls > 998 {
            builder.flag(cur, .lineTooLong)
            if le - ls > limits.maxLineLength { builder.limit(.lineTooLong(limit: limits.maxLineLength)) }
        }
        if let (k, close) = matchBoundary(ls, le) {
            handleBoundary(k, close: close, ls, next)
        }
    }

    mutating func headerLine(_ ls: Int, _ le: Int, _ next: Int) {
        headerLines += 1
        if le == ls {
            commitField()
            finishHeader(headerEnd: next, bodyStart: next)
            return
        }
        if let (k, close) = matchBoundary(ls, le) {
            commitField()
            builder.flag(cur, .headerNotEndedByEmptyLine)
            abortHeader(at: ls)
            handleBoundary(k, close: close, ls, next)
            return
        }
        // Account for size and look for control characters.
        headerBytes += next - ls
        if !headerTruncated && headerBytes > limits.maxHeaderBytes {
            headerTruncated = true
            builder.flag(cur, .headerTruncated)
            builder.limit(.headerTooLarge(limit: limits.maxHeaderBytes))
        }
        if le - ls > 998 { builder.flag(cur, .lineTooLong) }
        if Self.containsNULOrCR(buffer, ls, le) { builder.flag(cur, .controlCharacterInHeader) }
        let first = buffer[ls]
        if first == 32 || first == 9 {
            if fieldStart >= 0 {
                if !headerTruncated {
                    valueEnd = le
                    valueLines += 1
                    valueLength += le - ls
                }
                fieldEnd = next
            } else {
                builder.flag(cur, .leadingContinuationLine)
            }
            return
        }
        // field-name = 1*ftext; ftext = %d33-57 / %d59-126 (RFC 5322 §3.6.8)
        var j = ls
        while j < le, buffer[j] > 32, buffer[j] < 127, buffer[j] != 58 { j += 1 }
        let nameEnd = j
        while j < le, buffer[j] == 32 || buffer[j] == 9 { j += 1 }
        if nameEnd > ls, j < le, buffer[j] == 58 {
            commitField()
            if nameEnd != j { builder.flag(cur, .malformedHeaderLine) }  // obs: WSP before ':'
            fieldStart = ls
            fieldName = String(decoding: UnsafeBufferPointer(rebasing: buffer[ls..<nameEnd]), as: UTF8.self)
            var v = j + 1
            while v < le, buffer[v] == 32 || buffer[v] == 9 { v += 1 }
            valueStart = v
            valueEnd = le
            valueLines = headerTruncated ? 0 : 1
            valueLength = headerTruncated ? 0 : le - v
            fieldEnd = next
            return
        }
        if cur == 0 && source == 0 && ls == range.lowerBound && le - ls >= 5
            && buffer[ls] == 70 && buffer[ls + 1] == 114 && buffer[ls + 2] == 111 && buffer[ls + 3] == 109 && buffer[ls + 4] == 32 {
            // mbox "From " line before the header.
            builder.message.unixFrom = String(decoding: UnsafeBufferPointer(rebasing: buffer[ls..<le]), as: UTF8.self)
            headerStart = next
            headerBytes = 0
            return
        }
        // A line that is not a header field ends the header; it is the first body line.
        commitField()
        builder.flag(cur, .headerNotEndedByEmptyLine)
        if fields.isEmpty { builder.flag(cur, .malformedHeaderLine) }
        finishHeader(headerEnd: ls, bodyStart: ls)
        processLine(ls, le, next)
    }

    /// Whether `buffer[from..<to]` holds a NUL or a CR (eight bytes at a time; the zero-byte
    /// test is exact about whether a word holds one, so the last, overlapping word settles the
    /// few bytes left of a line of eight or more).
    static func containsNULOrCR(_ buffer: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        let raw = UnsafeRawPointer(buffer.baseAddress!)
        var i = from
        @inline(__always) func hasZero(_ x: UInt64) -> Bool { (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080 != 0 }
        @inline(__always) func hasNULOrCR(_ x: UInt64) -> Bool { hasZero(x) || hasZero(x ^ 0x0D0D_0D0D_0D0D_0D0D) }
        while i + 8 <= to {
            if hasNULOrCR(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return true }
            i += 8
        }
        if i < to && to - from >= 8 { return hasNULOrCR(raw.loadUnaligned(fromByteOffset: to - 8, as: UInt64.self)) }
        while i < to {
            let c = buffer[i]
            if c == 0 || c == 13 { return true }
            i += 1
        }
        return false
    }

    mutating func commitField() {
        guard fieldStart >= 0 else { return }
        defer { fieldStart = -1 }
        if headerTruncated && valueLength == 0 { return }
        if fields.count >= limits.maxHeaderFields {
            if !headerTruncated {
                headerTruncated = true
                builder.flag(cur, .headerTruncated)
                builder.limit(.tooManyHeaderFields(limit: limits.maxHeaderFields))
            }
            return
        }
        if fields.isEmpty { fields.reserveCapacity(8) }  // (a message's header has a few dozen fields, a part's a few)
        fields.append(MIMEHeaderField(name: fieldName, rawValue: fieldValue(), range: fieldStart..<fieldEnd))
    }

    /// The current field's value, unfolded: its lines without their line breaks (LF, and a CR
    /// just before it), in one array of the final size.
    func fieldValue() -> [UInt8] {
        if valueLines == 0 { return [] }
        if valueLines == 1 { return Array(UnsafeBufferPointer(rebasing: buffer[valueStart..<valueEnd])) }
        var value = [UInt8]()
        value.reserveCapacity(valueLength)
        let base = buffer.baseAddress!
        var lineStart = valueStart
        for _ in 1..<valueLines {
            // Every line but the last ends with an LF.
            let lf = base.distance(to: memchr(base + lineStart, 10, valueEnd - lineStart)!.assumingMemoryBound(to: UInt8.self))
            let end = lf > lineStart && base[lf - 1] == 13 ? lf - 1 : lf
            value.append(contentsOf: UnsafeBufferPointer(start: base + lineStart, count: end - lineStart))
            lineStart = lf + 1
        }
        value.append(contentsOf: UnsafeBufferPointer(start: base + lineStart, count: valueEnd - lineStart))
        return value
    }

    mutating func resetHeaderState(start: Int) {
        headerStart = start
        fields = []
        fieldStart = -1
        valueLines = 0
        valueLength = 0
        headerBytes = 0
        headerTruncated = false
        headerLines = 0
    }

    /// Ends a header block cut short by a boundary or the end of input: the entity is a leaf
    /// with an empty body.
    mutating func abortHeader(at position: Int) {
        let p = cur
        parts[p].header = MIMEHeader(fields)
        parts[p].headerRange = headerStart..<position
        interpretHeader(p)
        parts[p].kind = .leaf
        parts[p].bodyRange = position..<position
        phase = .body
        sectionStart = position
    }

    mutating func finishHeader(headerEnd: Int, bodyStart: Int) {
        let p = cur
        parts[p].header = MIMEHeader(fields)
        parts[p].headerRange = headerStart..<headerEnd
        interpretHeader(p)
        decideKind(p, bodyStart: bodyStart)
    }

    /// Chooses what the entity is once its header is known, and enters its body.
    mutating func decideKind(_ p: Int, bodyStart: Int) {
        parts[p].bodyRange = bodyStart..<bodyStart
        sectionStart = bodyStart
        phase = .body
        parts[p].kind = .leaf
        let type = parts[p].contentType
        let depth = parts[p].depth
        if type.isMultipart {
            guard depth < limits.maxNestingDepth else {
                builder.flag(p, .nestingTooDeep)
                builder.limit(.nestingTooDeep(limit: limits.maxNestingDepth))
                return
            }
            guard let boundary = type.boundary, !boundary.isEmpty else {
                builder.flag(p, .missingBoundary)
                return
            }
            let bytes = Array(boundary.utf8)
            if bytes.count > limits.maxBoundaryLength {
                builder.flag(p, .boundaryTooLong)
                builder.limit(.boundaryTooLong(length: bytes.count, limit: limits.maxBoundaryLength))
                return
            }
            // bchars (RFC 2046 §5.1.1): DIGIT / ALPHA / "'()+_,-./:=? " , at most 70.
            let bchars = Set("'()+_,-./:=? ".utf8)
            if bytes.count > 70 || bytes.last == 32 || !bytes.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || bchars.contains($0) }) {
                builder.flag(p, .invalidBoundary)
            }
            for frame in frames where frame.boundary.starts(with: bytes) || bytes.starts(with: frame.boundary) {
                builder.flag(p, .nestedBoundaryPrefix)
            }
            if !parts[p].transferEncoding.isIdentity {
                builder.flag(p, .encodingDomain)
                builder.record(.decodedContainer(part: p))
            }
            parts[p].kind = .multipart
            frames.append(Frame(boundary: bytes, part: p))
            phase = .preamble
            return
        }
        if type.isEncapsulatedMessage {
            guard depth < limits.maxNestingDepth else {
                builder.flag(p, .nestingTooDeep)
                builder.limit(.nestingTooDeep(limit: limits.maxNestingDepth))
                return
            }
            if !parts[p].transferEncoding.isIdentity {
                // Read as a leaf as written, and again decoded (what most programs show).
                builder.flag(p, .encodingDomain)
                builder.record(.decodedContainer(part: p))
                return
            }
            guard let c = builder.addPart(parent: p, depth: depth + 1, origin: .mime, source: source) else { return }
            parts[p].kind = .message
            cur = c
            phase = .headers
            resetHeaderState(start: bodyStart)
        }
    }

    /// Reads the MIME fields of a finished header block.
    mutating func interpretHeader(_ p: Int) {
        let header = parts[p].header
        var defects: MIMEDefects = []
        var limitErrors: [MIMELimitError] = []

        // The MIME fields, in one pass (as `header.fields(named:)` would find them).
        var typeFields: [MIMEHeaderField] = []
        var encodingFields: [MIMEHeaderField] = []
        var dispositionFields: [MIMEHeaderField] = []
        for field in header {
            switch MIMEHeader.mimeFieldKind(field.name) {
            case 1: typeFields.append(field)
            case 2: encodingFields.append(field)
            case 3: dispositionFields.append(field)
            default: break
            }
            defects.formUnion(Self.headerValueDefects(field.rawValue))
        }

        // Content-Type (RFC 2045 §5); the first field is the primary reading.
        let parentIsDigest = parts[p].parent.map { parts[$0].kind == .multipart && parts[$0].contentType.mimeType == "multipart/digest" } ?? false
        var type = parentIsDigest ? MIMEContentType.digestDefault : MIMEContentType.defaultType
        var hasType = false
        if let first = typeFields.first {
            if let parsed = MIMEContentType.parse(first.rawValue, limits: limits, defects: &defects, limitErrors: &limitErrors) {
                type = parsed
                hasType = true
            }
        }
        if typeFields.count > 1 {
            defects.insert(.duplicateContentType)
            for other in typeFields.dropFirst() {
                var ignored: MIMEDefects = []
                var ignoredErrors: [MIMELimitError] = []
                if let alt = MIMEContentType.parse(other.rawValue, limits: limits, defects: &ignored, limitErrors: &ignoredErrors),
                   alt.mimeType != type.mimeType || alt.boundary != type.boundary {
                    builder.record(.contentType(part: p, alt, reason: .duplicateContentType))
                }
            }
        }
        // Conflicting boundary parameters: read again with each other value.
        if type.isMultipart {
            let boundaries = type.parameters.values(named: "boundary")
            for other in boundaries.dropFirst() {
                var alt = type
                alt.parameters = MIMEParameters([MIMEParameter(name: "boundary", value: other, form: .plain)] + type.parameters.all.filter { $0.name != "boundary" })
                builder.record(.contentType(part: p, alt, reason: .conflictingBoundary))
            }
        }
        parts[p].contentType = type
        parts[p].hasContentType = hasType

        // Content-Transfer-Encoding (RFC 2045 §6).
        var encoding = MIMETransferEncoding.sevenBit
        if let first = encodingFields.first {
            let (parsed, exact) = MIMETransferEncoding.parse(first.rawValue)
            encoding = parsed
            if !exact {
                defects.insert(.unknownTransferEncoding)
                if case .unknown = parsed {} else {
                    builder.record(.transferEncoding(part: p, .sevenBit, reason: .unknownTransferEncoding))
                }
            }
        }
        if encodingFields.count > 1 {
            defects.insert(.duplicateTransferEncoding)
            for other in encodingFields.dropFirst() {
                let (alt, _) = MIMETransferEncoding.parse(other.rawValue)
                if alt != encoding && !(alt.isIdentity && encoding.isIdentity) {
                    builder.record(.transferEncoding(part: p, alt, reason: .duplicateTransferEncoding))
                }
            }
        }
        parts[p].transferEncoding = encoding

        // Content-Disposition (RFC 2183).
        if let first = dispositionFields.first {
            parts[p].disposition = MIMEContentDisposition.parse(first.rawValue, limits: limits, defects: &defects, limitErrors: &limitErrors)
        }
        if dispositionFields.count > 1 { defects.insert(.duplicateContentDisposition) }

        // Filenames: every spelling, the disposition's first.
        var names: [String] = []
        let fromDisposition = parts[p].disposition?.parameters.values(named: "filename") ?? []
        let fromType = type.parameters.values(named: "name")
        for name in fromDisposition + fromType where !name.isEmpty && !names.contains(name) { names.append(name) }
        for other in dispositionFields.dropFirst() {
            var ignored: MIMEDefects = []
            var ignoredErrors: [MIMELimitError] = []
            let d = MIMEContentDisposition.parse(other.rawValue, limits: limits, defects: &ignored, limitErrors: &ignoredErrors)
            for name in d.parameters.values(named: "filename") where !names.contains(name) {
                names.append(name)
                defects.insert(.conflictingFilenames)
            }
        }
        if let a = fromDisposition.first, let b = fromType.first, a != b { defects.insert(.filenameMismatch) }
        parts[p].filenames = names

        builder.flag(p, defects)
        for e in limitErrors { builder.limit(e) }
    }

    /// `EncodedWord.decode(raw).defects`, without decoding when it cannot find any: with no
    /// "=?" there are no words, and the only possible defect is 8-bit text that is not UTF-8.
    static func headerValueDefects(_ raw: [UInt8]) -> MIMEDefects {
        raw.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return [] }
            let n = b.count
            // "=?" anywhere: decode.
            var k = 0
            while k < n, let hit = memchr(base + k, 61, n - k) {
                k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + 1
                if k < n && base[k] == 63 { return EncodedWord.decode(raw).defects }
            }
            // 8-bit bytes (eight at a time): must be UTF-8.
            let raw8 = UnsafeRawPointer(base)
            var high = false
            k = 0
            while k + 8 <= n {
                if raw8.loadUnaligned(fromByteOffset: k, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { high = true; break }
                k += 8
            }
            if !high && k < n && n >= 8 {
                // The last eight bytes, overlapping the words already seen.
                high = raw8.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) & 0x8080_8080_8080_8080 != 0
                k = n
            }
            while !high && k < n {
                if base[k] >= 0x80 { high = true }
                k += 1
            }
            guard high else { return [] }
            return String(validating: b, as: UTF8.self) == nil ? .eightBitInHeader : []
        }
    }

    // MARK: Boundaries and closing

    /// The end of the body before a boundary line at `ls`: the line break before the
    /// delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    func bodyEnd(before ls: Int) -> Int {
        var e = ls
        if e > sectionStart && buffer[e - 1] == 10 {
            e -= 1
            if e > sectionStart && buffer[e - 1] == 13 { e -= 1 }
        }
        return max(e, sectionStart)
    }

    mutating func handleBoundary(_ k: Int, close: Bool, _ ls: Int, _ next: Int) {
        let target = frames[k].part
        let end = bodyEnd(before: ls)
        while frames.count - 1 > k {
            let open = frames.removeLast()
            builder.flag(open.part, .missingFinalBoundary)
        }
        if cur == target {
            if phase == .preamble { parts[target].preambleRange = sectionStart..<end }
        } else {
            var p = cur
            while p != target {
                finalize(p, end: end)
                guard let parent = parts[p].parent else { break }
                p = parent
            }
        }
        if close {
            frames.removeLast()
            cur = target
            phase = .epilogue
            sectionStart = next
            parts[target].epilogueRange = next..<next
        } else if let c = builder.addPart(parent: target, depth: parts[target].depth + 1, origin: .mime, source: source) {
            cur = c
            phase = .headers
            resetHeaderState(start: next)
        } else {
            // Over the part limit: the rest of this multipart is not parsed (unscannable).
            cur = target
            phase = .epilogue
            sectionStart = next
        }
    }

    /// Closes the entity `p` at `end`.
    mutating func finalize(_ p: Int, end: Int) {
        let lower = parts[p].bodyRange.lowerBound
        parts[p].bodyRange = lower..<max(lower, end)
        switch parts[p].kind {
        case .leaf:
            // Every line of the body was seen in `bodyLine` if it was read from its first line.
            let lines: BodyLines = p == scannedLeaf && scannedFrom == lower ? .seen(firstBegin: firstBeginLine.map { $0 - lower }) : .unknown
            builder.analyzeLeaf(p, buffer: buffer, lines: lines)
        case .message:
            break
        case .multipart:
            if p == cur {
                if phase == .epilogue { parts[p].epilogueRange = sectionStart..<max(sectionStart, end) }
                if phase == .preamble { parts[p].preambleRange = sectionStart..<max(sectionStart, end) }
            }
            if parts[p].children.allSatisfy({ if case .alternativeReading = parts[$0].origin { return true }; return false }) {
                // No delimiter at all: the body is scanned as text (what programs then show).
                builder.flag(p, .noStartBoundary)
                parts[p].kind = .leaf
                parts[p].preambleRange = nil
                builder.analyzeLeaf(p, buffer: buffer, asText: true)
            }
        }
    }

    mutating func finish(at end: Int) {
        if phase == .headers {
            commitField()
            if headerLines > 0 || !fields.isEmpty { builder.flag(cur, .headerNotEndedByEmptyLine) }
            abortHeader(at: end)
        }
        while let open = frames.popLast() {
            if parts[open.part].epilogueRange == nil { builder.flag(open.part, .missingFinalBoundary) }
        }
        var p = cur
        while true {
            finalize(p, end: end)
            if p == root { break }
            guard let parent = parts[p].parent else { break }
            p = parent
        }
    }
}
