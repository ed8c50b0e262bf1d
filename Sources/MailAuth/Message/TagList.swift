// TagList.swift — the tag=value lists of DKIM signatures and key records (RFC 6376 §3.2), also
// used for DMARC records (RFC 7489 §6.4, which borrows the syntax).
//
// Grammar (RFC 6376 §3.2):
//   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//   tag-name  =  ALPHA *ALNUMPUNC            ; ALNUMPUNC = ALPHA / DIGIT / "_"
//   tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
//   tval      =  1*VALCHAR                   ; VALCHAR = %x21-3A / %x3C-7E
//
// What it does: returns the tags in order with the value's octet range in the input, so that a
// verifier can blank the b= value of the very octets it hashes (RFC 6376 §3.7).
//
// Diagnostics: typed `TagListError` with the offset. A tag given twice is an error (RFC 6376 §3.2:
// "Tags with duplicate names MUST NOT occur within a single tag-list"); names are compared
// case-sensitively, as the RFC says. An empty tag-spec between two semicolons ("a=1;;b=2") is
// accepted (a real-world deviation several signers produce; pinned by a test).
//
// Security notes: one pass, no backtracking; values are slices of the input.

/// One tag of a tag list.
public struct Tag: Sendable, Hashable {
    /// The tag name (case-sensitive, RFC 6376 §3.2).
    public var name: String
    /// The value with surrounding white space removed; internal folding white space kept.
    public var value: String
    /// Where the value (without the surrounding white space) sits in the parsed octets.
    public var valueRange: Range<Int>
}

/// Why a tag list was refused.
public enum TagListError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A tag name that does not start with a letter or holds other than letters, digits and "_".
    case badTagName(offset: Int)
    /// A tag-spec without "=".
    case missingEquals(offset: Int)
    /// An octet not allowed in a value (a control character or non-ASCII).
    case badValueCharacter(offset: Int)
    /// The same tag twice.
    case duplicateTag(String)

    public var description: String {
        switch self {
        case .badTagName(let offset): return "bad tag name at offset \(offset)"
        case .missingEquals(let offset): return "tag without '=' at offset \(offset)"
        case .badValueCharacter(let offset): return "invalid character in tag value at offset \(offset)"
        case .duplicateTag(let name): return "duplicate tag \(name)="
        }
    }
}

/// A parsed tag list.
public struct TagList: Sendable, Hashable {
    /// The tags in the order they were written.
    public var tags: [Tag]

    /// The value of tag `name`, nil when absent.
    public subscript(name: String) -> String? {
        tags.first { $0.name == name }?.value
    }

    /// The tag called `name`.
    public func tag(_ name: String) -> Tag? {
        tags.first { $0.name == name }
    }

    /// Parses `input` (octets; ranges in the result index into it).
    public init<C: Collection<UInt8>>(parsing input: C) throws(TagListError) where C.Index == Int {
        var tags: [Tag] = []
        var seen = Set<String>()
        var i = input.startIndex
        let end = input.endIndex
        while i < end {
            // [FWS] tag-name
            while i < end, isFWSOctet(input[i]) { i += 1 }
            if i == end { break }
            if input[i] == 59 { i += 1; continue }  // empty tag-spec (tolerated)
            let nameStart = i
            guard isAlpha(input[i]) else { throw .badTagName(offset: i) }
            while i < end, isAlpha(input[i]) || isDigit(input[i]) || input[i] == 95 { i += 1 }
            let name = String(decoding: input[nameStart..<i], as: UTF8.self)
            while i < end, isFWSOctet(input[i]) { i += 1 }
            guard i < end else { throw .missingEquals(offset: i) }
            guard input[i] == 61 else {
                if isAlpha(input[i]) || isDigit(input[i]) { throw .missingEquals(offset: i) }
                throw .badTagName(offset: i)
            }
            i += 1
            // [FWS] tag-value [FWS]
            while i < end, isFWSOctet(input[i]) { i += 1 }
            let valueStart = i
            var valueEnd = i
            while i < end, input[i] != 59 {
                let c = input[i]
                if isFWSOctet(c) {
                    i += 1
                    continue
                }
                guard c >= 0x21, c <= 0x7E else { throw .badValueCharacter(offset: i) }
                i += 1
                valueEnd = i
            }
            if i < end { i += 1 }  // the ";"
            guard seen.insert(name).inserted else { throw .duplicateTag(name) }
            tags.append(Tag(name: name, value: String(decoding: input[valueStart..<valueEnd], as: UTF8.self),
                            valueRange: valueStart..<valueEnd))
        }
        self.tags = tags
    }
}

extension String {
    /// The text with all folding white space (SP, HTAB, CR, LF) removed: base64 values in tags
    /// (b=, bh=, p=) may be folded anywhere (RFC 6376 §3.5).
    var withoutFWS: String {
        String(decoding: utf8.filter { !isFWSOctet($0) }, as: UTF8.self)
    }
}
