// RAR archives (RAR 2.9/4 and RAR 5), read by libarchive: listing, unpacking, solid archives,
// encrypted contents and encrypted headers. What libarchive 3.6 (Debian 12) cannot read — RAR 4
// solid archives past their first entry, RAR 4 encryption — must come out unscannable, never
// clean; RAR 5 encryption, which libarchive does not report, is read from the archive's headers
// (RAR5Headers). Nothing here writes RAR (only WinRAR does); the
// fixtures under Fixtures/rar are archives made with WinRAR from the test corpus of the Python
// `rarfile` package 4.5 (ISC licence, Fixtures/rar/LICENSE), whose own listings (`*.rar.exp` in
// that package) give the names, sizes and checksums expected below.
import Testing
@testable import MIME

@Suite struct RARTests {
    func parse(_ name: String) -> MIMEMessage {
        let archive = fixture("rar/" + name)
        #expect(archive.count > 100, "fixture rar/\(name) missing")
        return MIMEParser().parse(withAttachment(archive, type: "application/vnd.rar", filename: name))
    }

    @Test(arguments: ["rar3-comment-plain.rar", "rar5-crc.rar", "rar3-solid.rar", "rar5-solid.rar"])
    func detectedByContent(name: String) {
        #expect(MIMEFileType.detect(fixture("rar/" + name)) == .rar)
        let m = MIMEParser().parse(withAttachment(fixture("rar/" + name), type: "application/pdf", filename: "report.pdf"))
        #expect(m.parts[2].trueType == .rar)
        #expect(m.parts[2].hasTypeMismatch)
    }

    /// RAR 5: stest1.txt compressed (LZ), stest2.txt stored, both the same 2,048 bytes
    /// (CRC32 0xba28eeea in the archive): equal digests prove the compressed one was unpacked.
    @Test(arguments: ["rar5-crc.rar", "rar5-solid.rar"])
    func entriesAreUnpackedAndHashed(name: String) {
        let m = parse(name)
        let list = entries(m)
        #expect(list.map(\.filenames) == [["stest1.txt"], ["stest2.txt"]])
        #expect(list.allSatisfy { $0.decodedSize == 2048 && !$0.isEncrypted && $0.sha256 != nil })
        #expect(list.count == 2 && list[0].sha256 == list[1].sha256)
        #expect(list.allSatisfy { $0.trueType.category == .text || $0.trueType.category == .other })
        #expect(!m.isUnscannable, "\(m.limitErrors) \(m.defects)")
    }

    /// RAR 4 solid archives (and RAR 2.9 archives with comments, which WinRAR writes solid):
    /// libarchive 3.6 reads the first entry and then stops ("RAR solid archive support
    /// unavailable"). What could not be read makes the message unscannable.
    @Test(arguments: [("rar3-solid.rar", "stest1.txt"), ("rar3-comment-plain.rar", "file1.txt")])
    func rar4SolidArchivesAreUnscannablePastTheFirstEntry(name: String, first: String) {
        let m = parse(name)
        #expect(entries(m).first?.filenames == [first])
        #expect(m.parts[2].defects.contains(.unreadableArchive))
        #expect(m.isUnscannable)
    }

    /// Encrypted contents, names readable: the entries read are marked encrypted, nothing of
    /// them is hashed, and the message is unscannable (never clean).
    @Test func rar4EncryptedContentIsUnscannable() {
        let m = parse("rar3-comment-psw.rar")
        let list = entries(m)
        #expect(list.first?.filenames == ["file1.txt"])
        #expect(list.allSatisfy { $0.isEncrypted && $0.sha256 == nil })
        #expect(m.defects.contains(.encryptedArchive))
        #expect(m.isUnscannable)
    }

    /// RAR 5 with encrypted contents: libarchive reports no encryption and returns the
    /// ciphertext of the stored entry (stest2.txt) as its content; the file encryption records
    /// in the headers mark both entries encrypted, nothing of them is hashed.
    @Test func rar5EncryptedContentIsListedAndUnscannable() {
        let walk = RAR5Headers.encryption(of: fixture("rar/rar5-psw.rar"))
        #expect(walk.encryptedNames == ["stest1.txt", "stest2.txt"] && walk.encryptedEntries == 2 && walk.complete && !walk.headersEncrypted)
        let m = parse("rar5-psw.rar")
        let list = entries(m)
        #expect(list.map(\.filenames) == [["stest1.txt"], ["stest2.txt"]])
        #expect(list.allSatisfy { $0.isEncrypted && $0.sha256 == nil && $0.defects.contains(.encryptedArchive) })
        #expect(m.defects.contains(.encryptedArchive))
        #expect(m.isUnscannable)
    }

    /// Encrypted headers: not even the names can be read.
    @Test(arguments: ["rar3-comment-hpsw.rar", "rar5-hpsw.rar"])
    func encryptedHeadersAreUnscannable(name: String) {
        let m = parse(name)
        #expect(m.parts[2].trueType == .rar)
        #expect(entries(m).isEmpty)
        #expect(m.defects.contains(.encryptedArchive) || m.defects.contains(.unreadableArchive))
        #expect(m.isUnscannable)
    }

    @Test func rar5HeaderWalk() {
        let plain = RAR5Headers.encryption(of: fixture("rar/rar5-crc.rar"))
        #expect(plain.complete && plain.encryptedEntries == 0 && !plain.headersEncrypted)
        let headers = RAR5Headers.encryption(of: fixture("rar/rar5-hpsw.rar"))
        #expect(headers.complete && headers.headersEncrypted)
        #expect(!RAR5Headers.isRAR5(fixture("rar/rar3-comment-psw.rar")))
        // A cut archive never reaches its end-of-archive block: not complete, so unreadable.
        let psw = fixture("rar/rar5-psw.rar")
        for cut in stride(from: 8, to: psw.count, by: 7) {
            #expect(!RAR5Headers.encryption(of: Array(psw.prefix(cut))).complete, "cut at \(cut)")
        }
        let m = MIMEParser().parse(withAttachment(Array(psw.prefix(psw.count - 20)), filename: "cut.rar"))
        #expect(m.isUnscannable)
    }

    /// A file header (type 2) with an extra area holding one file encryption record, built by
    /// hand: `nameLength` is written as given (a vint), followed by `name`.
    func craftedRAR5(nameLength: [UInt8], name: [UInt8]) -> [UInt8] {
        let extra: [UInt8] = [0x02, 0x01, 0x00]  // record size 2: type 1 (encryption), one byte
        var header: [UInt8] = [0x02, 0x01, UInt8(extra.count)]  // type 2, flags: extra area; its size
        header += [0x00, 0x00, 0x00, 0x00, 0x00]  // file flags, unpacked size, attributes, compression, host OS
        header += nameLength + name + extra
        var block: [UInt8] = [0, 0, 0, 0, UInt8(header.count)] + header  // CRC32 (not checked), size
        block += [0, 0, 0, 0, 0x03, 0x05, 0x00, 0x00]  // end of archive: type 5, flags 0, archive flags 0
        return RAR5Headers.signature + block
    }

    @Test func rar5HostileNames() {
        // A name length of Int.max: no overflow, the record still counts.
        let huge = RAR5Headers.encryption(of: craftedRAR5(nameLength: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], name: []))
        #expect(huge.encryptedEntries == 1 && huge.encryptedNames.isEmpty)
        // A NUL in the name: matched as libarchive reads it (up to the NUL).
        let nul = RAR5Headers.encryption(of: craftedRAR5(nameLength: [7], name: Array("a.exe".utf8) + [0, 0x78]))
        #expect(nul.encryptedEntries == 1 && nul.encryptedNames == ["a.exe"] && nul.complete)
        // Either way the archive is flagged encrypted: unscannable, never clean.
        let m = MIMEParser().parse(withAttachment(craftedRAR5(nameLength: [7], name: Array("a.exe".utf8) + [0, 0x78]), filename: "x.rar"))
        #expect(m.parts[2].defects.contains(.encryptedArchive))
        #expect(m.isUnscannable)
    }

    /// Hostile headers: random bytes after the signature and random mutations of a real archive
    /// never crash the walk or the parser, and never make an archive with unreadable parts clean.
    @Test func rar5HeaderWalkOnMutations() {
        var rng = SystemRandomNumberGenerator()
        let base = fixture("rar/rar5-psw.rar")
        for _ in 0..<500 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                bytes[Int.random(in: 8..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = RAR5Headers.encryption(of: bytes)
            let random = RAR5Headers.signature + (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = RAR5Headers.encryption(of: random)
        }
        // Vints: ten bytes at most, no overflow.
        var r = RAR5Headers.Reader(data: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], position: 0)
        #expect(r.vint() == nil)  // 2^63 does not fit in Int
        r = RAR5Headers.Reader(data: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], position: 0)
        #expect(r.vint() == Int.max)
        r = RAR5Headers.Reader(data: [UInt8](repeating: 0x80, count: 11) + [0], position: 0)
        #expect(r.vint() == nil)
        r = RAR5Headers.Reader(data: [0x96, 0x01], position: 0)
        #expect(r.vint() == 150)
    }

    @Test func truncatedArchiveIsUnscannable() {
        let archive = fixture("rar/rar5-crc.rar")
        let m = MIMEParser().parse(withAttachment(Array(archive.prefix(archive.count / 2)), filename: "cut.rar"))
        #expect(m.isUnscannable)
    }
}
