// 7z archives: listing, limits, encryption. Unencrypted archives are written here, at test
// time, by libarchive's 7-Zip writer; libarchive cannot write encrypted 7z, so those two are
// committed fixtures made with py7zr (scripts/mime-fixtures.py). RAR: RARTests.swift, on archives
// made by WinRAR (see docs/mime.md).
import CArchive
import Testing
@testable import MIME

/// A 7z archive of `entries` written by libarchive (`compression`: copy, deflate, bzip2, lzma1,
/// lzma2, ppmd).
func sevenZip(_ entries: [(String, [UInt8])], compression: String = "lzma2") -> [UInt8] {
    guard let a = archive_write_new() else { return [] }
    defer { archive_write_free(a) }
    #expect(archive_write_set_format_7zip(a) == ARCHIVE_OK)
    #expect(archive_write_set_format_option(a, "7zip", "compression", compression) == ARCHIVE_OK)
    let capacity = entries.reduce(4096) { $0 + $1.1.count + $1.0.utf8.count + 64 }
    var buffer = [UInt8](repeating: 0, count: capacity)
    var used = 0
    buffer.withUnsafeMutableBytes { raw in
        #expect(archive_write_open_memory(a, raw.baseAddress, raw.count, &used) == ARCHIVE_OK)
        for (name, data) in entries {
            let e = archive_entry_new()
            archive_entry_set_pathname(e, name)
            archive_entry_set_size(e, la_int64_t(data.count))
            archive_entry_set_filetype(e, 0o100000)  // AE_IFREG
            archive_entry_set_perm(e, 0o644)
            archive_entry_set_mtime(e, 0, 0)
            #expect(archive_write_header(a, e) == ARCHIVE_OK)
            let written = data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            #expect(written == data.count)
            archive_entry_free(e)
        }
        #expect(archive_write_close(a) == ARCHIVE_OK)
    }
    return Array(buffer[0..<used])
}

/// A small PE (MZ header pointing at "PE\0\0").
let tinyPE: [UInt8] = Array("MZ".utf8) + [UInt8](repeating: 0x90, count: 58) + [64, 0, 0, 0] + Array("PE".utf8) + [0, 0, 0x4C, 0x01]
    + [UInt8](repeating: 0, count: 200)

@Suite struct SevenZipTests {
    @Test func writerMakesRealSevenZip() {
        let archive = sevenZip([("a.txt", Array("hello\n".utf8))])
        #expect(MIMEFileType.detect(archive) == .sevenZip)
    }

    @Test func entriesAreListedHashedAndTyped() {
        let readme = Array("read me\n".utf8)
        let archive = sevenZip([("docs/readme.txt", readme), ("invoice.exe", tinyPE)])
        let m = MIMEParser().parse(withAttachment(archive, type: "application/x-7z-compressed", filename: "files.7z"))
        #expect(m.parts[2].trueType == .sevenZip)
        #expect(m.parts[2].isArchive)
        let list = entries(m)
        #expect(list.map(\.filenames) == [["docs/readme.txt"], ["invoice.exe"]])
        #expect(list[0].sha256 == MIMEDigest.sha256(readme))
        #expect(list[0].decodedSize == readme.count)
        #expect(list[1].trueType == .pe)
        #expect(list.allSatisfy { $0.parent == 2 && !$0.isEncrypted })
        #expect(!m.isUnscannable)
    }

    @Test func everyCompressionMethodIsRead() {
        for method in ["copy", "deflate", "bzip2", "lzma1", "lzma2", "ppmd"] {
            let archive = sevenZip([("invoice.exe", tinyPE)], compression: method)
            let m = MIMEParser().parse(withAttachment(archive, filename: "x.7z"))
            #expect(entries(m).map(\.trueType) == [.pe], "\(method)")
            #expect(!m.isUnscannable, "\(method)")
        }
    }

    @Test func archiveLabelledAsPDFIsStillUnpacked() {
        let archive = sevenZip([("invoice.exe", tinyPE)])
        let m = MIMEParser().parse(withAttachment(archive, type: "application/pdf", filename: "invoice.pdf"))
        #expect(m.parts[2].hasTypeMismatch)
        #expect(entries(m).contains { $0.trueType == .pe })
    }

    @Test func sevenZipInsideZipInsideSevenZip() {
        let inner = sevenZip([("payload.exe", tinyPE)])
        let middle = zip([("inner.7z", inner)])
        let outer = sevenZip([("middle.zip", middle)])
        let m = MIMEParser().parse(withAttachment(outer, filename: "outer.7z"))
        let list = entries(m)
        #expect(list.map(\.filenames) == [["middle.zip"], ["inner.7z"], ["payload.exe"]])
        #expect(list[2].trueType == .pe)
        #expect(!m.isUnscannable)
        var limits = MIMELimits.default
        limits.maxArchiveDepth = 2
        let shallow = MIMEParser(limits: limits).parse(withAttachment(outer, filename: "outer.7z"))
        #expect(shallow.limitErrors.contains(.archiveTooDeep(limit: 2)))
        #expect(shallow.isUnscannable)
    }

    @Test func tooManyEntries() {
        let archive = sevenZip((0..<6).map { ("f\($0).txt", Array("file \($0)\n".utf8)) })
        var limits = MIMELimits.default
        limits.maxArchiveEntries = 4
        let m = MIMEParser(limits: limits).parse(withAttachment(archive, filename: "many.7z"))
        #expect(m.limitErrors.contains(.archiveTooManyEntries(limit: 4)))
        #expect(m.defects.contains(.archiveLimit))
        #expect(m.isUnscannable)
        #expect(entries(m).count == 4)
    }

    @Test func bombIsStopped() {
        // 16 MiB of zeros packs into a few KiB: over the ratio limit once past the threshold.
        let archive = sevenZip([("zeros.bin", [UInt8](repeating: 0, count: 16 * 1024 * 1024))])
        #expect(archive.count < 16 * 1024)
        let m = MIMEParser().parse(withAttachment(archive, filename: "zeros.7z"))
        #expect(m.limitErrors.contains(.archiveCompressionRatio(limit: MIMELimits.default.maxCompressionRatio)))
        #expect(m.isUnscannable)
        var limits = MIMELimits.default
        limits.maxArchiveTotalBytes = 1024 * 1024
        limits.maxCompressionRatio = Int.max
        let total = MIMEParser(limits: limits).parse(withAttachment(archive, filename: "zeros.7z"))
        #expect(total.limitErrors.contains(.archiveUnpackedTooLarge(limit: 1024 * 1024)))
        #expect(total.isUnscannable)
    }

    @Test func encryptedContentIsListedAndUnscannable() {
        let m = MIMEParser().parse(withAttachment(fixture("encrypted-content.7z"), filename: "secret.7z"))
        let list = entries(m)
        #expect(list.map(\.filenames) == [["secret.txt"], ["invoice.exe"]])
        #expect(list.allSatisfy { $0.isEncrypted && $0.defects.contains(.encryptedArchive) && $0.sha256 == nil })
        #expect(m.defects.contains(.encryptedArchive))
        #expect(m.isUnscannable)
    }

    @Test func encryptedHeaderIsUnscannable() {
        let m = MIMEParser().parse(withAttachment(fixture("encrypted-header.7z"), filename: "secret.7z"))
        #expect(m.parts[2].trueType == .sevenZip)
        #expect(entries(m).isEmpty)
        #expect(m.defects.contains(.encryptedArchive) || m.defects.contains(.unreadableArchive))
        #expect(m.isUnscannable)
    }

    @Test func truncatedArchiveIsUnscannable() {
        let archive = sevenZip([("invoice.exe", tinyPE), ("b.txt", Array("b".utf8))])
        let m = MIMEParser().parse(withAttachment(Array(archive.prefix(archive.count / 2)), filename: "cut.7z"))
        #expect(m.isUnscannable)
    }
}

/// A zip of `entries` (stored) written by libarchive.
func zip(_ entries: [(String, [UInt8])]) -> [UInt8] {
    guard let a = archive_write_new() else { return [] }
    defer { archive_write_free(a) }
    archive_write_set_format_zip(a)
    let capacity = entries.reduce(4096) { $0 + $1.1.count + 2 * $1.0.utf8.count + 128 }
    var buffer = [UInt8](repeating: 0, count: capacity)
    var used = 0
    buffer.withUnsafeMutableBytes { raw in
        _ = archive_write_open_memory(a, raw.baseAddress, raw.count, &used)
        for (name, data) in entries {
            let e = archive_entry_new()
            archive_entry_set_pathname(e, name)
            archive_entry_set_size(e, la_int64_t(data.count))
            archive_entry_set_filetype(e, 0o100000)
            archive_entry_set_perm(e, 0o644)
            _ = archive_write_header(a, e)
            _ = data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            archive_entry_free(e)
        }
        _ = archive_write_close(a)
    }
    return Array(buffer[0..<used])
}
