import Testing
import NIOCore
@testable import Node

@Suite struct SMTPServerHandlerTests {
    func buffer(_ bytes: [UInt8]) -> ByteBuffer {
        var b = ByteBufferAllocator().buffer(capacity: bytes.count)
        b.writeBytes(bytes)
        return b
    }

    @Test func recognisesForgedProxyHeaders() {
        #expect(SMTPServerHandler.looksLikeProxyHeader(buffer(Array("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n".utf8))))
        #expect(SMTPServerHandler.looksLikeProxyHeader(buffer([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11])))
        #expect(!SMTPServerHandler.looksLikeProxyHeader(buffer(Array("EHLO client.example\r\n".utf8))))
        #expect(!SMTPServerHandler.looksLikeProxyHeader(buffer(Array("QUIT\r\n".utf8))))
    }

    @Test func headerTextIsSanitised() {
        #expect(SMTPServerHandler.sanitize("evil\r\nBcc: x") == "evil__Bcc: x")
        #expect(SMTPServerHandler.sanitize("a(b);c") == "a_b__c")
        #expect(SMTPServerHandler.sanitize(String(repeating: "x", count: 1000)).count == 255)
    }
}
