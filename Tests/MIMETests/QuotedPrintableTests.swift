import Testing
import PropertyBased
@testable import MIME

@Suite struct QuotedPrintableTests {
    @Test func softBreaksHexAndTrailingSpace() {
        let (out, malformed) = QuotedPrintable.decode(Array("caf=C3=A9 =\r\nbar   \r\nx=3d=\r\n".utf8))
        #expect(string(out) == "café bar\r\nx=")
        #expect(!malformed)
    }

    @Test func malformedEqualsIsKeptLiterally() {
        let (out, malformed) = QuotedPrintable.decode(Array("a=ZZb=4".utf8))
        #expect(string(out) == "a=ZZb=4")
        #expect(malformed)
    }

    @Test func binaryRoundTrip() async {
        await propertyCheck(input: Gen<UInt8>.value(in: 0...255).array(of: 0...400)) { data in
            let encoded = QuotedPrintable.encode(data, binary: true)
            #expect(encoded.split(separator: 10).allSatisfy { $0.count <= 77 })
            let (decoded, malformed) = QuotedPrintable.decode(encoded)
            #expect(decoded == data)
            #expect(!malformed)
        }
    }

    @Test func textRoundTrip() async {
        let line = Gen.unicodeScalar(in: " "..."~").map { Character($0) }.string(of: 0...120)
        await propertyCheck(input: line.array(of: 1...5)) { lines in
            let text = lines.joined(separator: "\r\n")
            let (decoded, _) = QuotedPrintable.decode(QuotedPrintable.encode(Array(text.utf8)))
            #expect(string(decoded) == text)
        }
    }
}
