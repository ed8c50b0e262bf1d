import Testing
import PropertyBased
@testable import MIME

@Suite struct Base64Tests {
    @Test func decodesWithLineBreaksAndJunk() {
        let (clean, report) = Base64.decode(Array("aGVs\r\nbG8=".utf8))
        #expect(string(clean) == "hello")
        #expect(report.isClean)
        let (junk, junkReport) = Base64.decode(Array("aGV*sbG8=".utf8))
        #expect(string(junk) == "hello")
        #expect(junkReport.junkCharacters)
    }

    @Test func dataAfterPaddingIsDecodedAndFlagged() {
        let (out, report) = Base64.decode(Array("aGk=aGk=".utf8))
        #expect(string(out) == "hihi")
        #expect(report.dataAfterPadding)
    }

    @Test func missingPaddingIsTolerated() {
        let (out, report) = Base64.decode(Array("aGk".utf8))
        #expect(string(out) == "hi")
        #expect(report.badPadding)
    }

    @Test func roundTrip() async {
        await propertyCheck(input: Gen<UInt8>.value(in: 0...255).array(of: 0...500)) { data in
            let encoded = Base64.encode(data)
            let (decoded, report) = Base64.decode(encoded)
            #expect(decoded == data)
            #expect(report.isClean)
        }
    }
}
