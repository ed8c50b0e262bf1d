// DNSMessageTests.swift — decoding and encoding whole messages: a real compressed response, round
// trips, every record type, EDNS, and every way a hostile message is refused with its typed error.

import Testing
@testable import DNS

@Suite struct DNSMessageTests {
    /// A response from dnslib (compressed names): MX example.test → 10 mx1 and a null MX, SOA in
    /// authority, A, AAAA and a two-string TXT in additional, and an OPT record.
    static let fixture = hex("""
        123485800001000200010004076578616d706c65047465737400000f0001c00c000f00010000012c0008000a036d7831c00c
        c00c000f00010000012c0003000000c00c000600010000012c0027036e7331c00c0a686f73746d6173746572c00c00000001
        00000e1000000258000151800000003cc02c000100010000003c0004c0000201c02c001c00010000003c001020010db80000
        0000000000000000000103747874c00c001000010000003c000d07763d7370663120042d616c6c00002904d0000000000000
        """)

    @Test func decodesACompressedResponse() throws {
        let message = try DNSMessage(decoding: Self.fixture)
        #expect(message.header.id == 0x1234)
        #expect(message.header.isResponse)
        #expect(message.header.isAuthoritative)
        #expect(message.header.recursionDesired)
        #expect(message.header.recursionAvailable)
        #expect(!message.header.isTruncated)
        #expect(message.responseCode == .noError)
        #expect(message.questions == [DNSQuestion(name: "example.test", type: .mx)])
        #expect(message.answers == [
            DNSResourceRecord(name: "example.test", ttl: 300, data: .mx(MXRecord(preference: 10, exchange: "mx1.example.test"))),
            DNSResourceRecord(name: "example.test", ttl: 300, data: .mx(MXRecord(preference: 0, exchange: .root))),
        ])
        guard case .mx(let null) = message.answers[1].data else { Issue.record("not MX"); return }
        #expect(null.isNullMX)
        #expect(message.authority == [testSOA])
        #expect(message.additional.count == 3)
        #expect(message.additional[0].data == .a(IPv4Address(0xC000_0201)))
        #expect(message.additional[1].data == .aaaa(IPv6Address("2001:db8::1")!))
        guard case .txt(let txt) = message.additional[2].data else { Issue.record("not TXT"); return }
        #expect(txt.strings == [Array("v=spf1 ".utf8), Array("-all".utf8)])
        #expect(txt.text == "v=spf1 -all")
        #expect(message.edns == DNSEDNS(udpPayloadSize: 1232))
    }

    @Test func roundTripsTheFixture() throws {
        let message = try DNSMessage(decoding: Self.fixture)
        let encoded = try message.encoded()
        #expect(encoded.count > Self.fixture.count)  // written uncompressed
        #expect(try DNSMessage(decoding: encoded) == message)
    }

    @Test func encodesAQueryAsDnslibDoes() {
        let query = DNSQuery(id: 0x1234, question: DNSQuestion(name: "example.test", type: .mx))
        #expect(query.encoded() == hex("123401000001000000000001076578616d706c65047465737400000f000100002904d0000000000000"))
        let plain = DNSQuery(id: 0x1234, question: DNSQuestion(name: "example.test", type: .mx), ednsPayloadSize: nil)
        #expect(plain.encoded() == hex("123401000001000000000000076578616d706c65047465737400000f0001"))
    }

    @Test func roundTripsEveryRecordType() throws {
        let records: [DNSRecordData] = [
            .a(IPv4Address("203.0.113.9")!),
            .aaaa(IPv6Address("2001:db8::25")!),
            .ns("ns1.example.test"),
            .cname("target.example.test"),
            .ptr("host.example.test"),
            .mx(MXRecord(preference: 5, exchange: "mx.example.test")),
            .txt(TXTRecord(strings: [Array("one".utf8), [], Array(repeating: 0xFF, count: 255)])),
            .txt(TXTRecord(strings: [])),
            .soa(SOARecord(primaryNameserver: "ns.example.test", responsibleMailbox: "root.example.test",
                           serial: .max, refresh: 1, retry: 2, expire: 3, minimum: 4)),
            .unknown(type: DNSRecordType(rawValue: 52), data: [3, 1, 1, 0xAB]),  // TLSA
            .unknown(type: DNSRecordType(rawValue: 99), data: []),
        ]
        var message = DNSMessage(header: DNSHeader(id: 7, isResponse: true, authenticData: true, checkingDisabled: true))
        message.questions = [DNSQuestion(name: "q.example.test", type: .txt)]
        message.answers = records.map { DNSResourceRecord(name: "r.example.test", ttl: 60, data: $0) }
        message.authority = [testSOA]
        message.additional = [DNSResourceRecord(name: "x.example.test", recordClass: DNSClass(rawValue: 3), ttl: 0, data: .unknown(type: .a, data: [1, 2]))]
        message.edns = DNSEDNS(udpPayloadSize: 4096, extendedResponseCode: 0, version: 0, flags: 0x8000,
                               options: [DNSEDNS.Option(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])])
        let decoded = try DNSMessage(decoding: try message.encoded())
        #expect(decoded == message)
        #expect(decoded.edns?.dnssecOK == true)
        #expect(decoded.header.authenticData && decoded.header.checkingDisabled)
    }

    @Test func combinesTheExtendedResponseCode() throws {
        var message = DNSMessage(header: DNSHeader(id: 1, isResponse: true), edns: DNSEDNS())
        message.responseCode = .badVersion
        #expect(message.header.responseCodeLow == 0)
        #expect(message.edns?.extendedResponseCode == 1)
        #expect(try DNSMessage(decoding: try message.encoded()).responseCode == .badVersion)
    }

    @Test func refusesOversizedTXTStringsOnEncode() {
        let message = DNSMessage(header: DNSHeader(id: 1), answers: [
            DNSResourceRecord(name: "t.example", ttl: 1, data: .txt(TXTRecord(strings: [Array(repeating: 0x61, count: 256)]))),
        ])
        #expect(throws: DNSEncodeError.characterStringTooLong(length: 256)) { try message.encoded() }
        // TXTRecord(text:) splits long text into strings of 255.
        let long = TXTRecord(text: String(repeating: "a", count: 600))
        #expect(long.strings.map(\.count) == [255, 255, 90])
        #expect(long.text.count == 600)
    }

    // MARK: Hostile and broken messages

    /// A header with the given counts (id 1, response).
    static func header(questions: UInt16 = 0, answers: UInt16 = 0, authority: UInt16 = 0, additional: UInt16 = 0) -> [UInt8] {
        var writer = DNSWriter()
        writer.u16(1)
        writer.u16(0x8180)
        for count in [questions, answers, authority, additional] { writer.u16(count) }
        return writer.bytes
    }

    @Test func refusesEveryTruncation() {
        for length in 0..<Self.fixture.count {
            let prefix = Array(Self.fixture.prefix(length))
            #expect(throws: DNSParseError.self) { try DNSMessage(decoding: prefix) }
            do {
                _ = try DNSMessage(decoding: prefix)
            } catch {
                guard case .truncated(let offset) = error else {
                    Issue.record("prefix of \(length) octets: \(error), not truncated")
                    continue
                }
                #expect(offset <= length, "prefix of \(length) octets")
            }
        }
        #expect(throws: DNSParseError.truncated(offset: 0)) { try DNSMessage(decoding: []) }
        #expect(throws: DNSParseError.truncated(offset: 10)) { try DNSMessage(decoding: Array(Self.fixture.prefix(11))) }
    }

    @Test func refusesAPointerToItself() {
        let message = Self.header(questions: 1) + [0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01]
        #expect(throws: DNSParseError.pointerLoop(offset: 12, target: 12)) { try DNSMessage(decoding: message) }
    }

    @Test func refusesAPointerBackIntoItsOwnLabels() {
        // "a" then a pointer to the "a": a.a.a.a… without end.
        let message = Self.header(questions: 1) + [0x01, 0x61, 0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01]
        #expect(throws: DNSParseError.pointerLoop(offset: 14, target: 12)) { try DNSMessage(decoding: message) }
    }

    @Test func refusesATwoPointerLoop() {
        // Question name at 12 is root; the answer's owner at 17 points to 19, which points back to 17.
        let message = Self.header(questions: 1, answers: 1) + [0x00, 0x00, 0x01, 0x00, 0x01]
            + [0xC0, 0x13, 0xC0, 0x11] + [0x00, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x00]
        #expect(throws: DNSParseError.forwardPointer(offset: 17, target: 19)) { try DNSMessage(decoding: message) }
    }

    @Test func refusesForwardPointers() {
        let message = Self.header(questions: 1) + [0xC0, 0x0E, 0x00, 0x00, 0x01, 0x00, 0x01]
        #expect(throws: DNSParseError.forwardPointer(offset: 12, target: 14)) { try DNSMessage(decoding: message) }
        let beyond = Self.header(questions: 1) + [0xFF, 0xFF, 0x00, 0x01, 0x00, 0x01]
        #expect(throws: DNSParseError.forwardPointer(offset: 12, target: 0x3FFF)) { try DNSMessage(decoding: beyond) }
    }

    /// A message whose second answer's owner is a chain of `pointers` compression pointers, each to
    /// the one before it, the first to the question's root name at offset 12.
    static func pointerChain(_ pointers: Int) -> [UInt8] {
        var bytes = header(questions: 1, answers: 2) + [0x00, 0x00, 0x01, 0x00, 0x01]  // root IN A
        bytes += [0x00, 0xFF, 0x00, 0x00, 0x01, 0, 0, 0, 0]  // owner root, TYPE65280, IN, TTL 0
        let chainLength = pointers - 1
        bytes += [UInt8(chainLength * 2 >> 8), UInt8(chainLength * 2 & 0xFF)]
        var previous = 12
        for _ in 0..<chainLength {
            let here = bytes.count
            bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
            previous = here
        }
        bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]  // the owner of answer 2
        bytes += [0x00, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x04, 192, 0, 2, 1]
        return bytes
    }

    @Test func boundsPointerChains() throws {
        let limit = DNSDefaults.maximumCompressionPointers
        let fine = try DNSMessage(decoding: Self.pointerChain(limit))
        #expect(fine.answers[1].name == .root)
        #expect(fine.answers[1].data == .a(IPv4Address("192.0.2.1")!))
        let tooLong = Self.pointerChain(limit + 1)
        let ownerOffset = tooLong.count - 16
        #expect(throws: DNSParseError.tooManyPointers(offset: ownerOffset)) { try DNSMessage(decoding: tooLong) }
    }

    @Test func refusesNamesLongerThan255OnceDecompressed() throws {
        // In the RDATA of an unknown record: four runs of a 63-octet label, each pointing to the run
        // before; a name pointing to the last expands to 4 * 64 + 1 = 257 octets.
        var bytes = Self.header(questions: 1, answers: 2) + [0x00, 0x00, 0x01, 0x00, 0x01]
        bytes += [0x00, 0xFF, 0x00, 0x00, 0x01, 0, 0, 0, 0]
        let label = [UInt8(63)] + Array(repeating: UInt8(ascii: "a"), count: 63)
        bytes += [0x01, 0x07]  // RDLENGTH 263 = 64 + 1 + 3 * 66
        var starts: [Int] = [bytes.count]
        bytes += label + [0x00]
        for _ in 0..<3 {
            let previous = starts.last!
            starts.append(bytes.count)
            bytes += label + [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
        }
        let ownerOffset = bytes.count
        bytes += [0xC0 | UInt8(starts[3] >> 8), UInt8(starts[3] & 0xFF)]
        bytes += [0x00, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x04, 192, 0, 2, 1]
        #expect(throws: DNSParseError.nameTooLong(offset: ownerOffset)) { try DNSMessage(decoding: bytes) }
        // Pointing to the third run instead gives 3 * 64 + 1 = 193 octets: fine.
        bytes[ownerOffset + 1] = UInt8(starts[2] & 0xFF)
        bytes[ownerOffset] = 0xC0 | UInt8(starts[2] >> 8)
        #expect(try DNSMessage(decoding: bytes).answers[1].name.wireLength == 193)
    }

    @Test func refusesExtendedLabelTypes() {
        let message = Self.header(questions: 1) + [0x41, 0x61, 0x00, 0x00, 0x01, 0x00, 0x01]
        #expect(throws: DNSParseError.badLabelType(offset: 12)) { try DNSMessage(decoding: message) }
        let other = Self.header(questions: 1) + [0x80, 0x00, 0x00, 0x01, 0x00, 0x01]
        #expect(throws: DNSParseError.badLabelType(offset: 12)) { try DNSMessage(decoding: other) }
    }

    @Test func refusesTooManyRecordsBeforeReadingThem() {
        #expect(throws: DNSParseError.tooManyRecords(count: 1001)) { try DNSMessage(decoding: Self.header(answers: 1000, additional: 1)) }
        #expect(throws: DNSParseError.tooManyRecords(count: 3 * 65535)) {
            try DNSMessage(decoding: Self.header(answers: .max, authority: .max, additional: .max))
        }
        #expect(throws: DNSParseError.tooManyQuestions(count: 5)) { try DNSMessage(decoding: Self.header(questions: 5)) }
        #expect(throws: DNSParseError.messageTooLarge(size: 65536)) { try DNSMessage(decoding: Array(repeating: 0, count: 65536)) }
    }

    /// One answer record `owner root, type, IN, TTL 0, RDLENGTH, rdata` after a root IN A question.
    static func oneRecord(type: UInt16, rdata: [UInt8], rdlength: Int? = nil) -> [UInt8] {
        let length = rdlength ?? rdata.count
        return header(questions: 1, answers: 1) + [0x00, 0x00, 0x01, 0x00, 0x01]
            + [0x00, UInt8(type >> 8), UInt8(type & 0xFF), 0x00, 0x01, 0, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xFF)] + rdata
    }

    @Test func refusesRecordDataThatDoesNotFitItsLength() {
        // The record starts at offset 17.
        #expect(throws: DNSParseError.badRecordData(type: .a, offset: 17)) { try DNSMessage(decoding: Self.oneRecord(type: 1, rdata: [1, 2, 3])) }
        #expect(throws: DNSParseError.badRecordData(type: .a, offset: 17)) { try DNSMessage(decoding: Self.oneRecord(type: 1, rdata: [1, 2, 3, 4, 5])) }
        #expect(throws: DNSParseError.badRecordData(type: .aaaa, offset: 17)) { try DNSMessage(decoding: Self.oneRecord(type: 28, rdata: [1, 2, 3, 4])) }
        // MX whose name runs past RDLENGTH, and MX with an octet left over.
        #expect(throws: DNSParseError.badRecordData(type: .mx, offset: 17)) {
            try DNSMessage(decoding: Self.oneRecord(type: 15, rdata: [0, 10, 3, 0x61, 0x62], rdlength: 4) + [0x63, 0x00])
        }
        #expect(throws: DNSParseError.badRecordData(type: .mx, offset: 17)) { try DNSMessage(decoding: Self.oneRecord(type: 15, rdata: [0, 10, 0, 0])) }
        // TXT whose character-string claims more than the RDATA holds.
        #expect(throws: DNSParseError.badRecordData(type: .txt, offset: 17)) {
            try DNSMessage(decoding: Self.oneRecord(type: 16, rdata: [5, 0x61, 0x62], rdlength: 3) + [0x63, 0x64, 0x65])
        }
        // SOA cut short.
        #expect(throws: DNSParseError.badRecordData(type: .soa, offset: 17)) { try DNSMessage(decoding: Self.oneRecord(type: 6, rdata: [0, 0, 0, 0, 0, 1])) }
        // RDLENGTH beyond the message.
        #expect(throws: DNSParseError.truncated(offset: 26)) { try DNSMessage(decoding: Self.oneRecord(type: 1, rdata: [1, 2], rdlength: 4)) }
    }

    @Test func acceptsTrailingOctets() throws {
        // Deliberate deviation (see DNSMessage.swift): padding after the last record is ignored.
        let message = try DNSMessage(decoding: Self.fixture + [0, 0, 0])
        #expect(message == (try DNSMessage(decoding: Self.fixture)))
    }

    @Test func readsAAndAAAAOnlyInClassIN() throws {
        var bytes = Self.oneRecord(type: 1, rdata: [1, 2])
        bytes[21] = 0x03  // class CH: a two-octet "A" is legal there
        let message = try DNSMessage(decoding: bytes)
        #expect(message.answers[0].data == .unknown(type: .a, data: [1, 2]))
    }

    @Test func refusesMisplacedOrDuplicateOPT() {
        let opt: [UInt8] = [0x00, 0x00, 0x29, 0x04, 0xD0, 0, 0, 0, 0, 0x00, 0x00]
        let inAnswer = Self.header(questions: 1, answers: 1) + [0x00, 0x00, 0x01, 0x00, 0x01] + opt
        #expect(throws: DNSParseError.misplacedOPT(offset: 17)) { try DNSMessage(decoding: inAnswer) }
        let twice = Self.header(questions: 1, additional: 2) + [0x00, 0x00, 0x01, 0x00, 0x01] + opt + opt
        #expect(throws: DNSParseError.duplicateOPT(offset: 28)) { try DNSMessage(decoding: twice) }
        let notRoot = Self.header(questions: 1, additional: 1) + [0x00, 0x00, 0x01, 0x00, 0x01] + [0x01, 0x61] + opt
        #expect(throws: DNSParseError.misplacedOPT(offset: 17)) { try DNSMessage(decoding: notRoot) }
        let badOption = Self.header(questions: 1, additional: 1) + [0x00, 0x00, 0x01, 0x00, 0x01]
            + [0x00, 0x00, 0x29, 0x04, 0xD0, 0, 0, 0, 0, 0x00, 0x03, 0x00, 0x0A, 0x00]
        #expect(throws: DNSParseError.badRecordData(type: .opt, offset: 17)) { try DNSMessage(decoding: badOption) }
    }
}
