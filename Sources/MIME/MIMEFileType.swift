// MIMEFileType.swift — true file types, recognised by content (magic numbers), not by label.
//
// What it does: `MIMEFileType.detect(_:)` looks at the first bytes of decoded content (and, for
// ZIP containers, at entry names) and names what the file really is: executables (PE, ELF,
// Mach-O, scripts, shortcuts), Office (OLE, OOXML, macro-enabled OOXML), PDF, RTF, archives
// (ZIP, RAR, 7z, gzip, bzip2, xz, tar, CAB, ISO), images, HTML, XML, text.
//
// Diagnostics: `mismatch(declared:filename:)` says when the declared type or the extension
// disagrees with the content; the parser turns it into `typeMismatch`.
//
// Security notes: detection never trusts the declared type or the name. The order of checks
// puts executables first, so a polyglot that is also a valid image is still called executable.

import Glibc

/// What a file is, by its content.
public enum MIMEFileType: String, Sendable, Hashable, CaseIterable {
    case empty
    case text
    case html
    case xml
    case script
    case pe
    case elf
    case machO = "mach-o"
    case javaClass = "java-class"
    case windowsShortcut = "lnk"
    case ole
    case ooxml
    case ooxmlMacroEnabled = "ooxml-macro"
    case openDocument = "odf"
    case pdf
    case rtf
    case zip
    case jar
    case rar
    case sevenZip = "7z"
    case gzip
    case bzip2
    case xz
    case tar
    case cab
    case iso
    case png
    case jpeg
    case gif
    case bmp
    case tiff
    case webp
    case icon
    case binary

    /// Broad families, for policy.
    public enum Category: String, Sendable, Hashable {
        case executable, document, archive, image, text, other
    }

    public var category: Category {
        switch self {
        case .pe, .elf, .machO, .javaClass, .windowsShortcut, .script: return .executable
        case .ole, .ooxml, .ooxmlMacroEnabled, .openDocument, .pdf, .rtf: return .document
        case .zip, .jar, .rar, .sevenZip, .gzip, .bzip2, .xz, .tar, .cab, .iso: return .archive
        case .png, .jpeg, .gif, .bmp, .tiff, .webp, .icon: return .image
        case .text, .html, .xml: return .text
        case .empty, .binary: return .other
        }
    }

    /// The types an administrator means by `name`: a type's own name (`pe`, `mach-o`, `zip`), an
    /// everyday spelling (`exe`, `dll`, `macho`, `7zip`, `doc`), or a family (`executable`,
    /// `document`, `archive`, `image`, `text`, `other`) for every type in it. Nil for anything else.
    public static func types(named name: String) -> Set<MIMEFileType>? {
        let aliases: [String: MIMEFileType] = ["exe": .pe, "dll": .pe, "scr": .pe, "macho": .machO, "7zip": .sevenZip,
                                               "class": .javaClass, "shortcut": .windowsShortcut, "doc": .ole, "docm": .ooxmlMacroEnabled]
        let lower = name.lowercased()
        if let type = MIMEFileType(rawValue: lower) ?? aliases[lower] { return [type] }
        if let family = Category(rawValue: lower) { return Set(allCases.filter { $0.category == family }) }
        return nil
    }

    /// Whether the unpacker should open this type.
    public var isArchive: Bool {
        switch self {
        case .zip, .jar, .rar, .sevenZip, .gzip, .bzip2, .xz, .tar, .cab, .iso, .ooxml, .ooxmlMacroEnabled, .openDocument: return true
        default: return false
        }
    }

    /// Detects the type of `head`, the first bytes of a file (4 KiB or more gives the best
    /// results; tar needs 512, ISO 9660 needs 32 KiB).
    public static func detect(_ head: some Collection<UInt8>) -> MIMEFileType {
        if let type = head.withContiguousStorageIfAvailable({ detect(buffer: $0) }) { return type }
        return Array(head.prefix(40_000)).withUnsafeBufferPointer { detect(buffer: $0) }
    }

    /// `detect(_:)` on contiguous bytes (only the first 40,000 are looked at).
    static func detect(buffer head: UnsafeBufferPointer<UInt8>) -> MIMEFileType {
        let b = UnsafeBufferPointer(rebasing: head.prefix(40_000))
        let count = b.count
        if count == 0 { return .empty }
        func starts(_ magic: StaticString, at offset: Int = 0) -> Bool {
            let m = magic.utf8CodeUnitCount
            guard count >= offset + m else { return false }
            let p = magic.utf8Start
            for i in 0..<m where b[offset + i] != p[i] { return false }
            return true
        }

        // Executables first.
        if starts("MZ") {
            if count >= 0x40 {
                let peOffset = Int(b[0x3C]) | Int(b[0x3D]) << 8 | Int(b[0x3E]) << 16 | Int(b[0x3F]) << 24
                if peOffset >= 0, peOffset < count - 4, starts("PE\0\0", at: peOffset) { return .pe }
            }
            return .pe  // DOS MZ executable: treated as executable all the same.
        }
        if starts("\u{7F}ELF") { return .elf }
        if count >= 4 {
            let m = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
            if m == 0xFEED_FACE || m == 0xFEED_FACF || m == 0xCEFA_EDFE || m == 0xCFFA_EDFE { return .machO }
            if m == 0xCAFE_BABE {
                // Mach-O universal binary or Java class: the universal header's arch count is small.
                if count >= 8 {
                    let n = Int(b[4]) << 24 | Int(b[5]) << 16 | Int(b[6]) << 8 | Int(b[7])
                    return n > 0 && n < 30 ? .machO : .javaClass
                }
                return .javaClass
            }
        }
        if count >= 8 && b[0] == 0x4C && b[1] == 0 && b[2] == 0 && b[3] == 0 && b[4] == 0x01 && b[5] == 0x14 && b[6] == 0x02 && b[7] == 0 {
            return .windowsShortcut
        }
        if starts("#!") { return .script }

        // Documents and containers.
        if count >= 8 && b[0] == 0xD0 && b[1] == 0xCF && b[2] == 0x11 && b[3] == 0xE0 && b[4] == 0xA1 && b[5] == 0xB1 && b[6] == 0x1A && b[7] == 0xE1 {
            return .ole
        }
        if indexOf("%PDF-", in: b, limit: 1024) != nil { return .pdf }
        if starts("{\\rtf") { return .rtf }
        if count >= 4 && b[0] == 0x50 && b[1] == 0x4B && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6) || (b[2] == 7 && b[3] == 8)) {
            return zipFlavour(b)
        }
        if starts("Rar!\u{1A}\u{07}") { return .rar }
        if count >= 6 && b[0] == 0x37 && b[1] == 0x7A && b[2] == 0xBC && b[3] == 0xAF && b[4] == 0x27 && b[5] == 0x1C { return .sevenZip }
        if count >= 2 && b[0] == 0x1F && b[1] == 0x8B { return .gzip }
        if starts("BZh") && count > 3 && b[3] >= 0x31 && b[3] <= 0x39 { return .bzip2 }
        if count >= 6 && b[0] == 0xFD && b[1] == 0x37 && b[2] == 0x7A && b[3] == 0x58 && b[4] == 0x5A && b[5] == 0x00 { return .xz }
        if starts("MSCF") { return .cab }
        if starts("ustar", at: 257) { return .tar }
        if starts("CD001", at: 32_769) { return .iso }

        // Images.
        if count >= 8 && b[0] == 0x89 && b[1] == 0x50 && b[2] == 0x4E && b[3] == 0x47 && b[4] == 0x0D && b[5] == 0x0A && b[6] == 0x1A && b[7] == 0x0A {
            return .png
        }
        if count >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF { return .jpeg }
        if starts("GIF87a") || starts("GIF89a") { return .gif }
        if starts("BM") && count >= 14 && b[6] == 0 && b[7] == 0 && b[8] == 0 && b[9] == 0 { return .bmp }
        if starts("II*\0") || starts("MM\0*") { return .tiff }
        if starts("RIFF") && starts("WEBP", at: 8) { return .webp }
        if count >= 6 && b[0] == 0 && b[1] == 0 && b[2] == 1 && b[3] == 0 && b[4] > 0 && b[5] == 0 { return .icon }

        // Text kinds.
        let sampleCount = min(count, 4096)
        if memchr(b.baseAddress!, 0, sampleCount) != nil { return .binary }
        let headCount = min(sampleCount, 1024)
        @inline(__always) func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
        // Skip a UTF-8 BOM and leading white space.
        var start = 0
        if headCount >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { start = 3 }
        while start < headCount, b[start] == 32 || b[start] == 9 || b[start] == 13 || b[start] == 10 { start += 1 }
        func restStarts(_ tag: StaticString) -> Bool {
            let m = tag.utf8CodeUnitCount
            guard headCount - start >= m else { return false }
            let p = tag.utf8Start
            for i in 0..<m where lower(b[start + i]) != p[i] { return false }
            return true
        }
        if start < headCount && b[start] == 60 {
            if restStarts("<!doctype html") || restStarts("<html") || restStarts("<head") || restStarts("<body") || restStarts("<meta")
                || restStarts("<script") || restStarts("<iframe") || restStarts("<table") || restStarts("<div") || restStarts("<p>")
                || restStarts("<a href") || restStarts("<br") || restStarts("<title") || restStarts("<style") || restStarts("<font")
                || restStarts("<center") || restStarts("<img") {
                return .html
            }
            if restStarts("<?xml") {
                // "<html" anywhere in the first KiB (case-insensitive).
                var i = 0
                while i + 5 <= headCount {
                    if b[i] == 60 && lower(b[i + 1]) == 104 && lower(b[i + 2]) == 116 && lower(b[i + 3]) == 109 && lower(b[i + 4]) == 108 { return .html }
                    i += 1
                }
                return .xml
            }
        }
        if restStarts("@echo off") { return .script }
        var controls = 0
        var i = 0
        let raw = UnsafeRawPointer(b.baseAddress!)
        @inline(__always) func isControl(_ c: UInt8) -> Bool { c < 32 && c != 9 && c != 10 && c != 13 && c != 12 && c != 27 }
        // Eight bytes at a time: the high bit of each byte below 32 is set in `below` (exactly:
        // (c & 0x7F) + 0x60 cannot carry into the next byte), and only those bytes are looked at.
        while i + 8 <= sampleCount {
            let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            var below = ~(((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x6060_6060_6060_6060) | x) & 0x8080_8080_8080_8080
            while below != 0 {
                if isControl(UInt8(truncatingIfNeeded: x >> UInt64(below.trailingZeroBitCount - 7))) { controls += 1 }
                below &= below - 1
            }
            i += 8
        }
        while i < sampleCount {
            if isControl(b[i]) { controls += 1 }
            i += 1
        }
        if controls * 100 > max(sampleCount, 1) * 5 { return .binary }
        return .text
    }

    /// The first offset, at most `limit`, where `needle` starts in `hay`.
    static func indexOf(_ needle: StaticString, in hay: UnsafeBufferPointer<UInt8>, limit: Int) -> Int? {
        let m = needle.utf8CodeUnitCount
        let p = needle.utf8Start
        let end = min(hay.count, limit + m)
        guard end >= m else { return nil }
        var i = 0
        while i + m <= end {
            guard let hit = memchr(hay.baseAddress! + i, Int32(p[0]), end - m + 1 - i) else { return nil }
            i = hay.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            var k = 1
            while k < m && hay[i + k] == p[k] { k += 1 }
            if k == m { return i }
            i += 1
        }
        return nil
    }

    /// Tells OOXML, ODF and JAR from plain ZIP by the local file names that appear in `b`.
    static func zipFlavour(_ b: UnsafeBufferPointer<UInt8>) -> MIMEFileType {
        var names: [String] = []
        var i = 0
        while i + 30 <= b.count, names.count < 64 {
            guard b[i] == 0x50, b[i + 1] == 0x4B, b[i + 2] == 3, b[i + 3] == 4 else { break }
            let flags = Int(b[i + 6]) | Int(b[i + 7]) << 8
            let compressed = Int(b[i + 18]) | Int(b[i + 19]) << 8 | Int(b[i + 20]) << 16 | Int(b[i + 21]) << 24
            let nameLength = Int(b[i + 26]) | Int(b[i + 27]) << 8
            let extraLength = Int(b[i + 28]) | Int(b[i + 29]) << 8
            guard i + 30 + nameLength <= b.count else { break }
            names.append(String(decoding: b[(i + 30)..<(i + 30 + nameLength)], as: UTF8.self))
            if flags & 8 != 0 { break }  // sizes in a data descriptor: cannot walk further cheaply
            i += 30 + nameLength + extraLength + compressed
        }
        return flavour(ofZipEntries: names) ?? .zip
    }

    /// Classifies a ZIP by its entry names.
    public static func flavour(ofZipEntries names: [String]) -> MIMEFileType? {
        if names.contains(where: { $0 == "mimetype" }) && names.contains(where: { $0 == "content.xml" || $0 == "META-INF/manifest.xml" }) {
            return .openDocument
        }
        let office = names.contains("[Content_Types].xml")
            || names.contains { $0.hasPrefix("word/") || $0.hasPrefix("xl/") || $0.hasPrefix("ppt/") }
        if office {
            return names.contains { $0.lowercased().hasSuffix("vbaproject.bin") } ? .ooxmlMacroEnabled : .ooxml
        }
        if names.contains("META-INF/MANIFEST.MF") || names.contains(where: { $0.hasSuffix(".class") }) { return .jar }
        return nil
    }

    /// The types a filename extension promises (nil: the extension promises nothing checkable).
    /// (Lists rather than sets: only membership is asked, of a handful of constants, and a set
    /// would be built and hashed for every part.)
    static func expected(forExtension ext: String) -> [MIMEFileType]? {
        switch ext {
        case "exe", "dll", "scr", "cpl", "sys", "com", "ocx", "efi": return [.pe]
        case "pdf": return [.pdf]
        case "rtf": return [.rtf]
        case "doc", "xls", "ppt", "msi", "msg", "pps", "dot", "xlt": return [.ole]
        case "docx", "xlsx", "pptx", "dotx", "xltx", "ppsx": return [.ooxml]
        case "docm", "xlsm", "pptm", "dotm", "xltm", "ppsm": return [.ooxml, .ooxmlMacroEnabled]
        case "odt", "ods", "odp": return [.openDocument]
        case "zip": return [.zip, .jar, .ooxml, .ooxmlMacroEnabled, .openDocument]
        case "jar": return [.jar, .zip]
        case "rar": return [.rar]
        case "7z": return [.sevenZip]
        case "gz", "tgz": return [.gzip]
        case "bz2", "tbz": return [.bzip2]
        case "xz", "txz": return [.xz]
        case "tar": return [.tar]
        case "cab": return [.cab]
        case "iso", "img": return [.iso]
        case "png": return [.png]
        case "jpg", "jpeg", "jpe", "jfif": return [.jpeg]
        case "gif": return [.gif]
        case "bmp": return [.bmp]
        case "tif", "tiff": return [.tiff]
        case "webp": return [.webp]
        case "ico": return [.icon]
        case "txt", "csv", "log", "ics", "vcf", "eml": return [.text, .empty, .html, .xml]
        case "htm", "html", "xhtml": return [.html, .text, .xml, .empty]
        case "xml": return [.xml, .text, .html, .empty]
        default: return nil
        }
    }

    /// The types a declared media type promises (nil: nothing checkable, e.g. octet-stream).
    static func expected(forMediaType type: MIMEContentType) -> [MIMEFileType]? {
        switch type.type {
        case "image":
            switch type.subtype {
            case "png": return [.png]
            case "jpeg", "jpg", "pjpeg": return [.jpeg]
            case "gif": return [.gif]
            case "bmp", "x-bmp", "x-ms-bmp": return [.bmp]
            case "tiff": return [.tiff]
            case "webp": return [.webp]
            default: return [.png, .jpeg, .gif, .bmp, .tiff, .webp, .icon, .xml, .text, .binary, .empty]
            }
        case "text":
            return [.text, .html, .xml, .empty, .rtf, .script]
        default:
            break
        }
        switch type.mimeType {
        case "application/pdf": return [.pdf]
        case "application/zip", "application/x-zip-compressed", "application/x-zip":
            return [.zip, .jar, .ooxml, .ooxmlMacroEnabled, .openDocument]
        case "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint": return [.ole, .rtf, .ooxml, .html, .xml]
        case "application/rtf": return [.rtf]
        case "application/gzip", "application/x-gzip": return [.gzip]
        default: return nil
        }
    }

    /// Whether `self`, the true type, contradicts the declared type or the filename extension.
    /// Unknown or unrecognised content never counts as a mismatch.
    public func mismatches(declared: MIMEContentType?, filenames: [String]) -> Bool {
        guard self != .binary, self != .empty else { return false }
        if let declared, let expected = MIMEFileType.expected(forMediaType: declared), !expected.contains(self) { return true }
        for name in filenames {
            guard let dot = name.lastIndex(of: ".") else { continue }
            let ext = name[name.index(after: dot)...].lowercased().trimmingSpaces()
            if let expected = MIMEFileType.expected(forExtension: ext), !expected.contains(self) {
                // Text files may legitimately look like text of another flavour.
                if category == .text && expected.contains(.text) { continue }
                return true
            }
        }
        return false
    }
}
