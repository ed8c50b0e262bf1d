import Testing
@testable import MIME

@Suite struct MIMEArchiveTests {
    @Test func encryptedFirstEntryThenExecutableAreBothListed() {
        let m = MIMEParser().parse(withAttachment(fixture("encrypted-then-exe.zip"), type: "application/zip", filename: "docs.zip"))
        let list = entries(m)
        #expect(list.map(\.filenames) == [["secret.txt"], ["invoice.exe"]])
        #expect(list[0].isEncrypted)
        #expect(list[0].defects.contains(.encryptedArchive))
        #expect(list[1].trueType == .pe)
        #expect(!list[1].isEncrypted)
        #expect(m.defects.contains(.encryptedArchive))
        #expect(m.isUnscannable)
    }

    @Test func zipBombIsUnscannable() {
        let m = MIMEParser().parse(withAttachment(fixture("bomb.zip"), type: "application/zip", filename: "bomb.zip"))
        #expect(m.defects.contains(.archiveLimit))
        #expect(m.limitErrors.contains(.archiveCompressionRatio(limit: MIMELimits.default.maxCompressionRatio)))
        #expect(m.isUnscannable)
    }

    @Test func deeplyNestedZipHitsDepthLimit() {
        let m = MIMEParser().parse(withAttachment(fixture("nested.zip"), type: "application/zip", filename: "nested.zip"))
        #expect(m.limitErrors.contains(.archiveTooDeep(limit: MIMELimits.default.maxArchiveDepth)))
        #expect(m.isUnscannable)
    }

    @Test func nestedZipWithinLimitIsUnpacked() {
        let m = MIMEParser().parse(withAttachment(fixture("nested-ok.zip"), type: "application/zip", filename: "ok.zip"))
        let list = entries(m)
        #expect(list.map(\.filenames) == [["level2.zip"], ["payload.exe"]])
        #expect(list[1].trueType == .pe)
        #expect(list[1].parent == list[0].index)
        #expect(!m.isUnscannable)
    }

    @Test func tarGzAndGzipStream() {
        let tgz = MIMEParser().parse(withAttachment(fixture("sample.tar.gz"), filename: "sample.tar.gz"))
        #expect(entries(tgz).map(\.filenames) == [["readme.txt"], ["bin/tool"]])
        #expect(entries(tgz)[1].trueType == .elf)
        let gz = MIMEParser().parse(withAttachment(fixture("payload.exe.gz"), filename: "payload.exe.gz"))
        #expect(entries(gz).map(\.filenames) == [["payload.exe"]])
        #expect(entries(gz).first?.trueType == .pe)
    }

    @Test func macroEnabledOfficeDocument() {
        let m = MIMEParser().parse(withAttachment(fixture("macro.docm"), type: "application/vnd.ms-word.document.macroEnabled.12", filename: "report.docm"))
        #expect(m.parts[2].trueType == .ooxmlMacroEnabled)
        #expect(entries(m).contains { $0.filenames == ["word/vbaProject.bin"] && $0.trueType == .ole })
    }

    @Test func archiveLabelledAsImageIsStillUnpacked() {
        let m = MIMEParser().parse(withAttachment(fixture("nested-ok.zip"), type: "image/gif", filename: "logo.gif"))
        #expect(m.parts[2].hasTypeMismatch)
        #expect(entries(m).contains { $0.trueType == .pe })
    }

    @Test func corruptArchiveIsUnreadable() {
        var zip = fixture("nested-ok.zip")
        zip.replaceSubrange(30..<zip.count, with: [UInt8](repeating: 0xAB, count: zip.count - 30))
        let m = MIMEParser().parse(withAttachment(zip, filename: "broken.zip"))
        #expect(m.defects.contains(.unreadableArchive))
        #expect(m.isUnscannable)
    }
}
