import Testing
@testable import MIME

@Suite struct MIMEURLTests {
    @Test func normalisation() {
        #expect(MIMEURL.normalize("HTTP://User:pw@Bank.Example.COM.:80/a%7Eb%2Fc?q=1#frag") == "http://bank.example.com/a~b%2Fc?q=1")
        #expect(MIMEURL.normalize("http://paypal.com@evil.example/") == "http://evil.example/")
        #expect(MIMEURL.normalize("http://0x7f.1/") == "http://127.0.0.1/")
        #expect(MIMEURL.normalize("http://3232235777/") == "http://192.168.1.1/")
        #expect(MIMEURL.normalize("http://0300.0250.1.1/") == "http://192.168.1.1/")
        #expect(MIMEURL.normalize("http:\\\\evil.example\\x") == "http://evil.example/x")
        #expect(MIMEURL.normalize("https://ex%61mple.com") == "https://example.com/")
        #expect(MIMEURL.normalize("javascript:alert(1)") == nil)
    }

    @Test func extraction() {
        let text = "Go to http://a.example/x, or (www.b.example) and https://c.example/p?x=1."
        #expect(MIMEURL.extract(from: text) == ["http://a.example/x", "http://www.b.example/", "https://c.example/p?x=1"])
    }
}
