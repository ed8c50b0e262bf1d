import Testing
@testable import MIME

@Suite struct MIMEFileTypeTests {
    @Test func magicNumbers() {
        let cases: [([UInt8], MIMEFileType)] = [
            (Array("MZ".utf8) + [UInt8](repeating: 0, count: 62), .pe),
            ([0x7F, 0x45, 0x4C, 0x46, 2, 1], .elf),
            ([0xCF, 0xFA, 0xED, 0xFE, 7, 0, 0, 1], .machO),
            (Array("#!/bin/sh\necho hi\n".utf8), .script),
            ([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0], .ole),
            (Array("%PDF-1.7\n".utf8), .pdf),
            (Array("{\\rtf1\\ansi".utf8), .rtf),
            (Array("Rar!\u{1A}\u{07}\u{01}\u{00}".utf8), .rar),
            ([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C, 0, 4], .sevenZip),
            ([0x1F, 0x8B, 8, 0], .gzip),
            ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], .png),
            ([0xFF, 0xD8, 0xFF, 0xE0], .jpeg),
            (Array("GIF89a".utf8), .gif),
            (Array("  <!DOCTYPE html><html>".utf8), .html),
            (Array("plain words\n".utf8), .text),
            ([0, 1, 2, 3, 0, 0], .binary),
            ([], .empty),
        ]
        for (bytes, expected) in cases { #expect(MIMEFileType.detect(bytes) == expected, "\(expected)") }
        var tar = [UInt8](repeating: 0, count: 512)
        tar.replaceSubrange(257..<262, with: Array("ustar".utf8))
        #expect(MIMEFileType.detect(tar) == .tar)
    }

    @Test func zipFlavours() {
        #expect(MIMEFileType.detect(fixture("macro.docm")) == .ooxmlMacroEnabled)
        #expect(MIMEFileType.detect(fixture("nested-ok.zip")) == .zip)
    }

    @Test func mismatches() {
        let pdf = MIMEContentType(type: "application", subtype: "pdf")
        #expect(MIMEFileType.pe.mismatches(declared: pdf, filenames: []))
        #expect(MIMEFileType.pe.mismatches(declared: nil, filenames: ["invoice.pdf"]))
        #expect(!MIMEFileType.pdf.mismatches(declared: pdf, filenames: ["invoice.pdf"]))
        #expect(!MIMEFileType.binary.mismatches(declared: pdf, filenames: ["x.pdf"]))
        #expect(!MIMEFileType.pe.mismatches(declared: MIMEContentType(type: "application", subtype: "octet-stream"), filenames: ["setup.exe"]))
    }
}
