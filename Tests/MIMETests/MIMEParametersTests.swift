import Testing
@testable import MIME

@Suite struct MIMEParametersTests {
    func disposition(_ raw: String) -> (MIMEContentDisposition, MIMEDefects) {
        var defects: MIMEDefects = []
        var errors: [MIMELimitError] = []
        let d = MIMEContentDisposition.parse(Array(raw.utf8), limits: .default, defects: &defects, limitErrors: &errors)
        return (d, defects)
    }

    @Test func rfc2231ContinuationsYieldOneName() {
        let (d, _) = disposition(#"attachment; filename*0*="example3"; filename*1*=".exe""#)
        #expect(d.filename == "example3.exe")
    }

    @Test func rfc2231OutOfOrderAndCharset() {
        let (d, defects) = disposition(#"attachment; filename*1*=%E2%82%AC.exe; filename*0*=utf-8'en'price"#)
        #expect(d.filename == "price€.exe")
        #expect(d.parameters.all.first { $0.form == .extended }?.language == "en")
        #expect(!defects.contains(.malformedParameters))
    }

    @Test func rfc2231GapIsFlagged() {
        let (d, defects) = disposition(#"attachment; filename*0="a"; filename*2="c""#)
        #expect(d.filename == "ac")
        #expect(defects.contains(.malformedParameters))
    }

    @Test func extendedAndPlainAreBothKept() {
        let (d, defects) = disposition(#"attachment; filename="invoice.pdf"; filename*=utf-8''invoice.pdf.exe"#)
        #expect(d.filename == "invoice.pdf.exe")
        #expect(d.parameters.values(named: "filename") == ["invoice.pdf.exe", "invoice.pdf"])
        #expect(defects.contains(.conflictingFilenames))
    }

    @Test func encodedWordInQuotedValue() {
        let (d, _) = disposition(#"attachment; filename="=?UTF-8?B?cmVjaG51bmcuZXhl?=""#)
        #expect(d.filename == "rechnung.exe")
    }

    @Test func commentsAndUnquotedSpaces() {
        let (d, _) = disposition("attachment (note); filename=my file.txt")
        #expect(d.type == "attachment")
        #expect(d.filename == "my file.txt")
    }

    @Test func segmentLimit() {
        var defects: MIMEDefects = []
        var errors: [MIMELimitError] = []
        _ = MIMEContentDisposition.parse(Array("attachment; filename*99999999=x".utf8), limits: .default, defects: &defects, limitErrors: &errors)
        #expect(defects.contains(.tooManyParameters))
        #expect(errors == [.tooManyParameterSegments(limit: MIMELimits.default.maxParameterSegments)])
    }
}
