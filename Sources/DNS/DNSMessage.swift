// DNSMessage.swift — a whole DNS message (RFC 1035 §4.1): header, question, answer, authority and
// additional sections, with the EDNS(0) OPT pseudo-record (RFC 6891 §6) taken out of the additional
// section into `edns`.
//
//                                     1  1  1  1  1  1
//       0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
//     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//     |                      ID                       |
//     |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |   (AD, CD: RFC 4035 §3.2)
//     |                    QDCOUNT                    |
//     |                    ANCOUNT                    |
//     |                    NSCOUNT                    |
//     |                    ARCOUNT                    |
//     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//
// Decoding is one pass over the octets with every limit of DNSDefaults checked before the work it
// bounds. Encoding writes names uncompressed, so `DNSMessage(decoding: m.encoded()) == m` holds
// for every message that decodes (the fuzz entry point checks it).
//
// Deliberate deviation: octets after the last record are ignored rather than refused. Some
// middleboxes pad replies; refusing them would turn a harmless quirk into a failed lookup.

/// The fixed header of a message (RFC 1035 §4.1.1), without the section counts, which follow from
/// the sections.
public struct DNSHeader: Hashable, Sendable {
    public var id: UInt16
    /// QR: a response, not a query.
    public var isResponse: Bool
    public var opcode: DNSOpcode
    /// AA: the answer comes from a server authoritative for the name.
    public var isAuthoritative: Bool
    /// TC: the message was cut to fit the transport; ask again over TCP (RFC 7766 §5).
    public var isTruncated: Bool
    /// RD: the asker wants the server to recurse.
    public var recursionDesired: Bool
    /// RA: the server offers recursion.
    public var recursionAvailable: Bool
    /// Z: reserved, must be zero; kept so that a message encodes back unchanged.
    public var reservedBit: Bool
    /// AD: the server validated the answer with DNSSEC (RFC 4035 §3.2.3). Meaningful only from a
    /// trusted resolver over a trusted path (RFC 4035 §4.9.3), such as one on the loopback.
    public var authenticData: Bool
    /// CD: the asker does its own DNSSEC checking.
    public var checkingDisabled: Bool
    /// The low four bits of the response code; `DNSMessage.responseCode` adds EDNS's upper bits.
    public var responseCodeLow: UInt8

    public init(id: UInt16, isResponse: Bool = false, opcode: DNSOpcode = .query, isAuthoritative: Bool = false,
                isTruncated: Bool = false, recursionDesired: Bool = true, recursionAvailable: Bool = false,
                reservedBit: Bool = false, authenticData: Bool = false, checkingDisabled: Bool = false,
                responseCodeLow: UInt8 = 0) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.isAuthoritative = isAuthoritative
        self.isTruncated = isTruncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.reservedBit = reservedBit
        self.authenticData = authenticData
        self.checkingDisabled = checkingDisabled
        self.responseCodeLow = responseCodeLow & 0x0F
    }

    /// The second sixteen bits of the header.
    var flags: UInt16 {
        var f = UInt16(opcode.rawValue) << 11 | UInt16(responseCodeLow & 0x0F)
        if isResponse { f |= 0x8000 }
        if isAuthoritative { f |= 0x0400 }
        if isTruncated { f |= 0x0200 }
        if recursionDesired { f |= 0x0100 }
        if recursionAvailable { f |= 0x0080 }
        if reservedBit { f |= 0x0040 }
        if authenticData { f |= 0x0020 }
        if checkingDisabled { f |= 0x0010 }
        return f
    }

    init(id: UInt16, flags f: UInt16) {
        self.init(
            id: id, isResponse: f & 0x8000 != 0, opcode: DNSOpcode(rawValue: UInt8(f >> 11 & 0x0F)),
            isAuthoritative: f & 0x0400 != 0, isTruncated: f & 0x0200 != 0, recursionDesired: f & 0x0100 != 0,
            recursionAvailable: f & 0x0080 != 0, reservedBit: f & 0x0040 != 0, authenticData: f & 0x0020 != 0,
            checkingDisabled: f & 0x0010 != 0, responseCodeLow: UInt8(f & 0x000F))
    }
}

/// One entry of the question section (RFC 1035 §4.1.2).
public struct DNSQuestion: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var type: DNSRecordType
    public var questionClass: DNSClass

    public init(name: DNSName, type: DNSRecordType, questionClass: DNSClass = .internet) {
        self.name = name
        self.type = type
        self.questionClass = questionClass
    }

    public var description: String { "\(name). \(questionClass) \(type)" }
}

/// The EDNS(0) parameters a message carries in its OPT pseudo-record (RFC 6891 §6.1).
public struct DNSEDNS: Hashable, Sendable {
    /// The largest UDP payload the sender can receive (the OPT record's CLASS field).
    public var udpPayloadSize: UInt16
    /// The upper eight bits of the twelve-bit response code.
    public var extendedResponseCode: UInt8
    /// EDNS version; 0 is the only one defined.
    public var version: UInt8
    /// The sixteen flag bits; the top one is DO, "DNSSEC OK" (RFC 3225).
    public var flags: UInt16
    /// Options as (code, data) pairs, uninterpreted (RFC 6891 §6.1.2).
    public var options: [Option]

    public struct Option: Hashable, Sendable {
        public var code: UInt16
        public var data: [UInt8]

        public init(code: UInt16, data: [UInt8]) {
            self.code = code
            self.data = data
        }
    }

    public init(udpPayloadSize: UInt16 = DNSDefaults.ednsPayloadSize, extendedResponseCode: UInt8 = 0, version: UInt8 = 0, flags: UInt16 = 0, options: [Option] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedResponseCode = extendedResponseCode
        self.version = version
        self.flags = flags
        self.options = options
    }

    /// DO: DNSSEC records wanted (RFC 3225 §3).
    public var dnssecOK: Bool { flags & 0x8000 != 0 }
}

/// A DNS message.
public struct DNSMessage: Hashable, Sendable {
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authority: [DNSResourceRecord]
    /// The additional section without the OPT pseudo-record.
    public var additional: [DNSResourceRecord]
    /// The OPT pseudo-record's content, when the message has one.
    public var edns: DNSEDNS?

    public init(header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
                authority: [DNSResourceRecord] = [], additional: [DNSResourceRecord] = [], edns: DNSEDNS? = nil) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional
        self.edns = edns
    }

    /// The full response code: the header's four bits, with EDNS's eight upper bits (RFC 6891 §6.1.3).
    public var responseCode: DNSResponseCode {
        get { DNSResponseCode(rawValue: UInt16(edns?.extendedResponseCode ?? 0) << 4 | UInt16(header.responseCodeLow)) }
        set {
            header.responseCodeLow = UInt8(newValue.rawValue & 0x0F)
            if edns != nil {
                edns!.extendedResponseCode = UInt8(newValue.rawValue >> 4)
            }
        }
    }

    // MARK: Encoding

    /// The wire form, names uncompressed.
    public func encoded() throws(DNSEncodeError) -> [UInt8] {
        var writer = DNSWriter()
        writer.u16(header.id)
        writer.u16(header.flags)
        writer.u16(UInt16(truncatingIfNeeded: questions.count))
        writer.u16(UInt16(truncatingIfNeeded: answers.count))
        writer.u16(UInt16(truncatingIfNeeded: authority.count))
        writer.u16(UInt16(truncatingIfNeeded: additional.count + (edns == nil ? 0 : 1)))
        for question in questions {
            writer.name(question.name)
            writer.u16(question.type.rawValue)
            writer.u16(question.questionClass.rawValue)
            if writer.bytes.count > DNSDefaults.maximumMessageSize { throw .messageTooLarge(size: writer.bytes.count) }
        }
        for record in answers + authority + additional {
            try record.encode(into: &writer)
            if writer.bytes.count > DNSDefaults.maximumMessageSize { throw .messageTooLarge(size: writer.bytes.count) }
        }
        if let edns {
            writer.u8(0)  // root owner
            writer.u16(DNSRecordType.opt.rawValue)
            writer.u16(edns.udpPayloadSize)
            writer.u8(edns.extendedResponseCode)
            writer.u8(edns.version)
            writer.u16(edns.flags)
            try writer.lengthPrefixed(type: .opt) { (writer: inout DNSWriter) throws(DNSEncodeError) in
                for option in edns.options {
                    writer.u16(option.code)
                    guard option.data.count <= 0xFFFF else { throw .recordDataTooLong(type: .opt, length: option.data.count) }
                    writer.u16(UInt16(option.data.count))
                    writer.bytes.append(contentsOf: option.data)
                }
            }
        }
        if writer.bytes.count > DNSDefaults.maximumMessageSize { throw .messageTooLarge(size: writer.bytes.count) }
        return writer.bytes
    }

    // MARK: Decoding

    /// Decodes a whole message (for DNS over TCP, without its two-octet length prefix).
    public init(decoding bytes: [UInt8]) throws(DNSParseError) {
        guard bytes.count <= DNSDefaults.maximumMessageSize else { throw .messageTooLarge(size: bytes.count) }
        var reader = DNSReader(bytes)
        let id = try reader.u16()
        let flags = try reader.u16()
        let questionCount = Int(try reader.u16())
        let answerCount = Int(try reader.u16())
        let authorityCount = Int(try reader.u16())
        let additionalCount = Int(try reader.u16())
        guard questionCount <= DNSDefaults.maximumQuestions else { throw .tooManyQuestions(count: questionCount) }
        let recordCount = answerCount + authorityCount + additionalCount
        guard recordCount <= DNSDefaults.maximumRecords else { throw .tooManyRecords(count: recordCount) }

        var questions: [DNSQuestion] = []
        for _ in 0..<questionCount {
            let name = try reader.name()
            let type = DNSRecordType(rawValue: try reader.u16())
            let questionClass = DNSClass(rawValue: try reader.u16())
            questions.append(DNSQuestion(name: name, type: type, questionClass: questionClass))
        }

        enum Section { case answer, authority, additional }
        var answers: [DNSResourceRecord] = []
        var authority: [DNSResourceRecord] = []
        var additional: [DNSResourceRecord] = []
        var edns: DNSEDNS?
        for (section, count) in [(Section.answer, answerCount), (.authority, authorityCount), (.additional, additionalCount)] {
            for _ in 0..<count {
                let recordOffset = reader.offset
                let name = try reader.name()
                let type = DNSRecordType(rawValue: try reader.u16())
                let classField = try reader.u16()
                let ttl = try reader.u32()
                let lengthOffset = reader.offset
                let length = Int(try reader.u16())
                guard reader.remaining >= length else { throw .truncated(offset: lengthOffset) }
                if type == .opt {
                    guard section == .additional, name.isRoot else { throw .misplacedOPT(offset: recordOffset) }
                    guard edns == nil else { throw .duplicateOPT(offset: recordOffset) }
                    edns = try Self.decodeOPT(payloadSize: classField, ttl: ttl, length: length, from: &reader, recordOffset: recordOffset)
                    continue
                }
                let recordClass = DNSClass(rawValue: classField)
                let data = try DNSRecordData.decode(type: type, recordClass: recordClass, length: length, from: &reader, recordOffset: recordOffset)
                let record = DNSResourceRecord(name: name, recordClass: recordClass, ttl: ttl, data: data)
                switch section {
                case .answer: answers.append(record)
                case .authority: authority.append(record)
                case .additional: additional.append(record)
                }
            }
        }
        self.init(header: DNSHeader(id: id, flags: flags), questions: questions, answers: answers,
                  authority: authority, additional: additional, edns: edns)
    }

    private static func decodeOPT(payloadSize: UInt16, ttl: UInt32, length: Int, from reader: inout DNSReader, recordOffset: Int) throws(DNSParseError) -> DNSEDNS {
        let end = reader.offset + length
        var options: [DNSEDNS.Option] = []
        while reader.offset < end {
            guard end - reader.offset >= 4 else { throw .badRecordData(type: .opt, offset: recordOffset) }
            let code = try reader.u16()
            let optionLength = Int(try reader.u16())
            guard end - reader.offset >= optionLength else { throw .badRecordData(type: .opt, offset: recordOffset) }
            options.append(DNSEDNS.Option(code: code, data: try reader.bytes(optionLength)))
        }
        return DNSEDNS(udpPayloadSize: payloadSize, extendedResponseCode: UInt8(ttl >> 24), version: UInt8(ttl >> 16 & 0xFF),
                       flags: UInt16(ttl & 0xFFFF), options: options)
    }
}
