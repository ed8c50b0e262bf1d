// DNSFuzzTests.swift — property tests over the fuzz entry point: random octets, random mutations
// of a real response and random well-formed messages never crash the parser, and every message
// that decodes encodes and decodes back to itself (DNSMessage.fuzz checks with preconditions).

import Testing
import PropertyBased
@testable import DNS

@Suite struct DNSFuzzTests {
    @Test func randomOctetsNeverCrashTheParser() async {
        await propertyCheck(count: 2_000, input: Gen<UInt8>.value(in: 0...255).array(of: 0...600)) { bytes in
            DNSMessage.fuzz(bytes)
        }
    }

    @Test func randomOctetsAfterAValidHeaderNeverCrashTheParser() async {
        // Counts of 1–3 per section keep the parser going into names and records.
        let tail = Gen<UInt8>.value(in: 0...255).array(of: 0...300)
        let counts = Gen<UInt8>.value(in: 0...3).array(of: 4)
        await propertyCheck(count: 3_000, input: counts, tail) { counts, tail in
            let header: [UInt8] = [0x12, 0x34, 0x81, 0x80] + counts.flatMap { [0, $0] }
            DNSMessage.fuzz(header + tail)
        }
    }

    @Test func mutationsOfARealResponseNeverCrashTheParser() async {
        let fixture = DNSMessageTests.fixture
        let positions = Gen.int(in: 0...(fixture.count - 1)).array(of: 1...8)
        let values = Gen<UInt8>.value(in: 0...255).array(of: 8)
        await propertyCheck(count: 3_000, input: positions, values, Gen.int(in: 0...fixture.count)) { positions, values, cut in
            var bytes = fixture
            for (index, position) in positions.enumerated() { bytes[position] = values[index] }
            DNSMessage.fuzz(Array(bytes.prefix(cut)))
            DNSMessage.fuzz(bytes)
        }
    }

    @Test func randomMessagesRoundTrip() async {
        await propertyCheck(count: 500, input: Gen<UInt64>.value()) { seed in
            var random = SplitMix(seed: seed)
            let message = Self.randomMessage(&random)
            let encoded = try #require(try? message.encoded())
            let decoded = try DNSMessage(decoding: encoded)
            #expect(decoded == message)
            DNSMessage.fuzz(encoded)
        }
    }

    @Test func randomTextNeverCrashesNameOrResolvConfParsing() async {
        let text = Gen<UInt8?>.element(of: Array(" .\\\n#;:0123456789abcXYZ-_\t\u{7F}".utf8) + [0, 0xC3, 0xBC]).map { $0! }.array(of: 0...120)
        await propertyCheck(count: 2_000, input: text) { bytes in
            DNSMessage.fuzz(bytes)
        }
    }

    // MARK: Random well-formed messages

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomName(_ random: inout SplitMix) -> DNSName {
        let count = Int.random(in: 0...4, using: &random)
        let labels = (0..<count).map { _ in (0..<Int.random(in: 1...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) } }
        return try! DNSName(labels: labels)
    }

    static func randomData(_ random: inout SplitMix) -> DNSRecordData {
        switch Int.random(in: 0...9, using: &random) {
        case 0: return .a(IPv4Address(UInt32.random(in: 0...UInt32.max, using: &random)))
        case 1: return .aaaa(IPv6Address(bytes: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })!)
        case 2: return .ns(randomName(&random))
        case 3: return .cname(randomName(&random))
        case 4: return .ptr(randomName(&random))
        case 5: return .mx(MXRecord(preference: UInt16.random(in: 0...UInt16.max, using: &random), exchange: randomName(&random)))
        case 6:
            let strings = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                (0..<Int.random(in: 0...255, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            return .txt(TXTRecord(strings: strings))
        case 7:
            return .soa(SOARecord(primaryNameserver: randomName(&random), responsibleMailbox: randomName(&random),
                                  serial: .random(in: 0...UInt32.max, using: &random), refresh: 1, retry: 2, expire: 3,
                                  minimum: .random(in: 0...UInt32.max, using: &random)))
        default:
            let type = DNSRecordType(rawValue: UInt16.random(in: 256...65000, using: &random))
            return .unknown(type: type, data: (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
    }

    static func randomMessage(_ random: inout SplitMix) -> DNSMessage {
        func records() -> [DNSResourceRecord] {
            (0..<Int.random(in: 0...4, using: &random)).map { _ in
                DNSResourceRecord(name: randomName(&random), ttl: .random(in: 0...UInt32.max, using: &random), data: randomData(&random))
            }
        }
        let header = DNSHeader(id: .random(in: 0...UInt16.max, using: &random),
                               flags: UInt16.random(in: 0...UInt16.max, using: &random) & 0xFFFF)
        let questions = (0..<Int.random(in: 0...2, using: &random)).map { _ in
            DNSQuestion(name: randomName(&random), type: DNSRecordType(rawValue: .random(in: 0...300, using: &random)))
        }
        let edns = Bool.random(using: &random) ? DNSEDNS(udpPayloadSize: .random(in: 0...UInt16.max, using: &random),
                                                         extendedResponseCode: .random(in: 0...255, using: &random),
                                                         flags: .random(in: 0...UInt16.max, using: &random),
                                                         options: [DNSEDNS.Option(code: 8, data: [0, 1, 24, 0, 192, 0, 2])]) : nil
        return DNSMessage(header: header, questions: questions, answers: records(), authority: records(), additional: records(), edns: edns)
    }
}
