// ProxyProtocolTests.swift — the HAProxy PROXY header, v1 and v2 (Sources/SMTPProtocol/ProxyProtocol.swift):
// complete headers, truncated ones (nil, nothing consumed, at every length), garbage and limits.

import Testing
import NIOCore
import GatehouseCore
@testable import SMTPProtocol

private func ip(_ s: String) -> IPAddress { IPAddress(parsing: s)! }

private let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

/// A v2 header: signature, version/command, family, length, body.
private func v2(command: UInt8 = 0x21, family: UInt8, body: [UInt8], declaredLength: Int? = nil) -> [UInt8] {
    let length = declaredLength ?? body.count
    return signature + [command, family, UInt8(length >> 8), UInt8(length & 0xFF)] + body
}

private let tcp4Body: [UInt8] = [192, 0, 2, 1, 198, 51, 100, 7, 0xDC, 0x04, 0x00, 0x19]  // 56324 → 25
private let tcp6Body: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
    + [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [2] + [0x04, 0xD2, 0x02, 0x4B]  // 1234 → 587

private func decode(_ bytes: [UInt8]) -> (Result<ProxyHeader?, ProxyProtocolError>, ByteBuffer) {
    var buffer = ByteBuffer(bytes: bytes)
    let result = Result(catching: { () throws(ProxyProtocolError) -> ProxyHeader? in try ProxyProtocolDecoder.decode(&buffer) })
    return (result, buffer)
}

@Suite("ProxyProtocol v1")
struct ProxyProtocolV1Tests {
    @Test func tcp4() {
        let (result, rest) = decode(Array("PROXY TCP4 192.0.2.1 198.51.100.7 56324 25\r\nEHLO x\r\n".utf8))
        #expect(result == .success(.proxied(source: ip("192.0.2.1"), sourcePort: 56324, destination: ip("198.51.100.7"), destinationPort: 25)))
        #expect(rest.text == "EHLO x\r\n")
    }

    @Test func tcp6() {
        let (result, rest) = decode(Array("PROXY TCP6 2001:db8::1 2001:db8::2 1234 587\r\n".utf8))
        #expect(result == .success(.proxied(source: ip("2001:db8::1"), sourcePort: 1234, destination: ip("2001:db8::2"), destinationPort: 587)))
        #expect(rest.readableBytes == 0)
    }

    @Test func portBounds() {
        let (low, _) = decode(Array("PROXY TCP4 192.0.2.1 198.51.100.7 0 65535\r\n".utf8))
        #expect(low == .success(.proxied(source: ip("192.0.2.1"), sourcePort: 0, destination: ip("198.51.100.7"), destinationPort: 65535)))
    }

    @Test func unknownIsLocal() {
        let (bare, rest) = decode(Array("PROXY UNKNOWN\r\nEHLO".utf8))
        #expect(bare == .success(.local))
        #expect(rest.text == "EHLO")
        let (withAddresses, _) = decode(Array("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n".utf8))
        #expect(withAddresses == .success(.local))
    }

    @Test func truncatedNeedsMoreAndConsumesNothing() {
        let header = Array("PROXY TCP4 192.0.2.1 198.51.100.7 56324 25\r\n".utf8)
        for length in 0..<header.count {
            let (result, rest) = decode(Array(header[..<length]))
            #expect(result == .success(nil), "length \(length)")
            #expect(rest.readableBytes == length)
        }
    }

    @Test(arguments: [
        ("PROXX TCP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyProtocolError.notProxyProtocol),
        ("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", .notProxyProtocol),
        ("PROXY\r\n", .notProxyProtocol),
        ("EHLO client.example\r\n", .notProxyProtocol),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", .malformed),
        ("PROXY \r\n", .malformed),
        ("PROXY TCP4\r\n", .malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", .malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", .malformed),
        ("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", .malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", .malformed),
        ("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", .malformed),
        ("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", .malformed),
        ("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", .malformed),
        ("PROXY TCP4 1.2.3.4 example.com 1 2\r\n", .malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", .malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", .malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", .malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n", .malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n", .malformed),
    ])
    func garbageIsRefused(_ input: String, _ error: ProxyProtocolError) {
        let (result, _) = decode(Array(input.utf8))
        #expect(result == .failure(error), "\(input.debugDescription)")
    }

    @Test func tooLong() {
        // 108 bytes and still no line end: not a v1 header (v1 is at most 107 bytes).
        let (noEnd, _) = decode(Array(("PROXY TCP4 " + String(repeating: "1", count: 97)).utf8))
        #expect(noEnd == .failure(.tooLong))
        // 107 bytes without an end yet: wait.
        let (fits, _) = decode(Array(("PROXY TCP4 " + String(repeating: "1", count: 96)).utf8))
        #expect(fits == .success(nil))
        // A line end past 107 bytes is refused too.
        let (late, _) = decode(Array(("PROXY TCP4 " + String(repeating: "1", count: 200) + "\r\n").utf8))
        #expect(late != .success(nil))
        if case .success = late { Issue.record("an over-long v1 header was accepted") }
    }
}

@Suite("ProxyProtocol v2")
struct ProxyProtocolV2Tests {
    @Test func tcp4() {
        let (result, rest) = decode(v2(family: 0x11, body: tcp4Body) + Array("EHLO".utf8))
        #expect(result == .success(.proxied(source: ip("192.0.2.1"), sourcePort: 56324, destination: ip("198.51.100.7"), destinationPort: 25)))
        #expect(rest.text == "EHLO")
    }

    @Test func tcp6() {
        let (result, rest) = decode(v2(family: 0x21, body: tcp6Body))
        #expect(result == .success(.proxied(source: ip("2001:db8::1"), sourcePort: 1234, destination: ip("2001:db8::2"), destinationPort: 587)))
        #expect(rest.readableBytes == 0)
    }

    @Test func tcp6MappedFoldsToIPv4() {
        let mapped: [UInt8] = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 192, 0, 2, 1]
        let (result, _) = decode(v2(family: 0x21, body: mapped + mapped + [0, 1, 0, 2]))
        #expect(result == .success(.proxied(source: ip("192.0.2.1"), sourcePort: 1, destination: ip("192.0.2.1"), destinationPort: 2)))
    }

    @Test func tlvsAfterTheAddressesAreSkipped() {
        let tlv: [UInt8] = [0x20, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00]  // PP2_TYPE_SSL
        let (result, rest) = decode(v2(family: 0x11, body: tcp4Body + tlv) + Array("QUIT".utf8))
        #expect(result == .success(.proxied(source: ip("192.0.2.1"), sourcePort: 56324, destination: ip("198.51.100.7"), destinationPort: 25)))
        #expect(rest.text == "QUIT")
    }

    @Test func localCommand() {
        // LOCAL: health checks from the balancer itself, any family, the block is skipped.
        let (bare, rest) = decode(v2(command: 0x20, family: 0x00, body: []) + Array("EHLO".utf8))
        #expect(bare == .success(.local))
        #expect(rest.text == "EHLO")
        let (withBlock, rest2) = decode(v2(command: 0x20, family: 0x11, body: tcp4Body))
        #expect(withBlock == .success(.local))
        #expect(rest2.readableBytes == 0)
    }

    @Test func unspecifiedFamilyIsLocal() {
        let (result, _) = decode(v2(family: 0x00, body: []))
        #expect(result == .success(.local))
    }

    @Test func truncatedNeedsMoreAndConsumesNothing() {
        let header = v2(family: 0x11, body: tcp4Body)
        for length in 1..<header.count {
            let (result, rest) = decode(Array(header[..<length]))
            #expect(result == .success(nil), "length \(length)")
            #expect(rest.readableBytes == length)
        }
        #expect(decode([]).0 == .success(nil))
    }

    @Test func garbageIsRefused() {
        var badSignature = v2(family: 0x11, body: tcp4Body)
        badSignature[7] = 0x52  // "QUIT" → "RUIT"
        #expect(decode(badSignature).0 == .failure(.notProxyProtocol))
        #expect(decode([0x0D, 0x0A, 0x0D, 0x0A, 0x01]).0 == .failure(.notProxyProtocol))
        #expect(decode([0x16, 0x03, 0x01]).0 == .failure(.notProxyProtocol))  // a TLS ClientHello
        #expect(decode(v2(command: 0x11, family: 0x11, body: tcp4Body)).0 == .failure(.unsupportedVersion))
        #expect(decode(v2(command: 0x31, family: 0x11, body: tcp4Body)).0 == .failure(.unsupportedVersion))
        #expect(decode(v2(command: 0x22, family: 0x11, body: tcp4Body)).0 == .failure(.malformed))
        #expect(decode(v2(family: 0x12, body: tcp4Body)).0 == .failure(.malformed))  // UDP
        #expect(decode(v2(family: 0x31, body: [UInt8](repeating: 0, count: 216))).0 == .failure(.malformed))  // unix
        #expect(decode(v2(family: 0x11, body: Array(tcp4Body[..<8]))).0 == .failure(.malformed))  // block too short
        #expect(decode(v2(family: 0x21, body: tcp4Body)).0 == .failure(.malformed))
    }

    @Test func tooLong() {
        // The declared length is judged before waiting for the bytes.
        #expect(decode(v2(family: 0x11, body: [], declaredLength: 0xFFFF)).0 == .failure(.tooLong))
        #expect(decode(v2(family: 0x11, body: [], declaredLength: 1024 + 1)).0 == .failure(.tooLong))
        #expect(decode(v2(family: 0x11, body: [], declaredLength: 1024)).0 == .success(nil))
        let largest = v2(family: 0x11, body: tcp4Body + [UInt8](repeating: 0, count: 1024 - tcp4Body.count))
        #expect(decode(largest).0 == .success(.proxied(source: ip("192.0.2.1"), sourcePort: 56324,
                                                        destination: ip("198.51.100.7"), destinationPort: 25)))
    }
}

@Suite struct ProxyProtocolFamilyTests {
    @Test(arguments: ["PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n", "PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n"])
    func familyMustMatchAddresses(_ header: String) {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        buffer.writeString(header)
        #expect(throws: ProxyProtocolError.malformed) { try ProxyProtocolDecoder.decode(&buffer) }
    }
}
