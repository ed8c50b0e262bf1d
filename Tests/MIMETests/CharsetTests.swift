import Testing
@testable import MIME

@Suite struct CharsetTests {
    @Test func fastPathsAndIconv() {
        #expect(MIMECharset.decode([0x63, 0x61, 0x66, 0xE9], charset: "ISO-8859-1").text == "café")
        #expect(MIMECharset.decode([0x80], charset: "windows-1252").text == "€")
        #expect(MIMECharset.decode([0xA4], charset: "iso-8859-15").text == "€")
        #expect(MIMECharset.decode([0xB0, 0xA1], charset: "gb2312").text == "啊")
    }

    @Test func unknownCharsetFallsBackWithoutFailing() {
        let r = MIMECharset.decode([0x68, 0xE9], charset: "x-no-such-charset")
        #expect(r.text == "hé")
        #expect(r.usedFallback)
        let unsafe = MIMECharset.decode(Array("abc".utf8), charset: "utf-8//TRANSLIT")
        #expect(unsafe.text == "abc")
    }

    @Test func invalidBytesInACharsetAreReplaced() {
        let r = MIMECharset.decode([0x61, 0xFF, 0x62], charset: "shift_jis")
        #expect(r.text.hasPrefix("a"))
        #expect(r.text.hasSuffix("b"))
        #expect(r.usedFallback)
    }
}
