import Testing
import PropertyBased
@testable import MIME

@Suite struct EncodedWordTests {
    @Test func decodesBAndQ() {
        #expect(EncodedWord.decode(Array("=?utf-8?B?Y2Fmw6k=?=".utf8)).text == "café")
        #expect(EncodedWord.decode(Array("=?iso-8859-1?q?caf=E9_au_lait?=".utf8)).text == "café au lait")
        #expect(EncodedWord.decode(Array("Re: =?ISO-8859-1?Q?Andr=E9?= Pirard".utf8)).text == "Re: André Pirard")
    }

    @Test func whitespaceBetweenWordsIsDropped() {
        // RFC 2047 §8 examples.
        #expect(EncodedWord.decode(Array("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)".utf8)).text == "(ab)")
        #expect(EncodedWord.decode(Array("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)".utf8)).text == "(ab)")
        #expect(EncodedWord.decode(Array("(=?ISO-8859-1?Q?a_b?=)".utf8)).text == "(a b)")
        #expect(EncodedWord.decode(Array("(=?ISO-8859-1?Q?a?= b)".utf8)).text == "(a b)")
    }

    @Test func splitMultibyteCharacterAcrossWords() {
        // "é" = C3 A9 split over two words.
        #expect(EncodedWord.decode(Array("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=".utf8)).text == "café")
    }

    @Test func languageSuffixAndIconvCharsets() {
        #expect(EncodedWord.decode(Array("=?US-ASCII*EN?Q?Keith_Moore?=".utf8)).text == "Keith Moore")
        #expect(EncodedWord.decode(Array("=?koi8-r?B?8NLJ18XU?=".utf8)).text == "Привет")
        #expect(EncodedWord.decode(Array("=?shift_jis?B?g2WDWINn?=".utf8)).text == "テスト")
    }

    @Test func malformedWordsStayLiteral() {
        let d = EncodedWord.decode(Array("=?utf-8?X?abc?= ok".utf8))
        #expect(d.text == "=?utf-8?X?abc?= ok")
        #expect(d.defects.contains(.malformedEncodedWord))
    }

    @Test func eightBitHeaders() {
        #expect(EncodedWord.decode(Array("Grüße".utf8)).defects.isEmpty)
        let latin = EncodedWord.decode([0x47, 0x72, 0xFC, 0xDF, 0x65])
        #expect(latin.text == "Grüße")
        #expect(latin.defects.contains(.eightBitInHeader))
    }

    @Test func roundTrip() async {
        let text = Gen.unicodeScalar(in: " "..."\u{2FFF}").map { Character($0) }.string(of: 0...80)
        await propertyCheck(input: text, Gen.int(in: 0...1)) { s, which in
            let encoding: EncodedWord.Encoding = which == 0 ? .base64 : .q
            let encoded = EncodedWord.encode(s, encoding: encoding)
            for word in encoded.split(separator: " ") { #expect(word.utf8.count <= 75) }
            #expect(EncodedWord.decode(Array(encoded.utf8)).text == s)
        }
    }
}
