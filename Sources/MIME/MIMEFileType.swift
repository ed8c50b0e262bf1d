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
        let b = Array(head.prefix(40_000))
        if b.isEmpty { return .empty }
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            guard b.count >= offset + magic.count else { return false }
            for (i, m) in magic.enumerated() where b[offset + i] != m { return false }
            return true
        }
        func ascii(_ s: String, at offset: Int = 0) -> Bool { starts(Array(s.utf8), at: offset) }

        // Executables first.
        if ascii("MZ") {
            if b.count >= 0x40 {
                let peOffset = Int(b[0x3C]) | Int(b[0x3D]) << 8 | Int(b[0x3E]) << 16 | Int(b[0x3F]) << 24
                if peOffset >= 0, peOffset < b.count - 4, starts([0x50, 0x45, 0, 0], at: peOffset) { return .pe }
            }
            return .pe  // DOS MZ executable: treated as executable all the same.
        }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return .elf }
        if starts([0xFE, 0xED, 0xFA, 0xCE]) || starts([0xFE, 0xED, 0xFA, 0xCF]) || starts([0xCE, 0xFA, 0xED, 0xFE])
            || starts([0xCF, 0xFA, 0xED, 0xFE]) { return .machO }
        if starts([0xCA, 0xFE, 0xBA, 0xBE]) {
            // Mach-O universal binary or Java class: the universal header's arch count is small.
            if b.count >= 8 {
                let n = Int(b[4]) << 24 | Int(b[5]) << 16 | Int(b[6]) << 8 | Int(b[7])
                return n > 0 && n < 30 ? .machO : .javaClass
            }
            return .javaClass
        }
        if starts([0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0]) { return .windowsShortcut }
        if ascii("#!") { return .script }

        // Documents and containers.
        if starts([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { return .ole }
        if let pdf = indexOf(Array("%PDF-".utf8), in: b, limit: 1024), pdf >= 0 { return .pdf }
        if ascii("{\\rtf") { return .rtf }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) || starts([0x50, 0x4B, 0x07, 0x08]) {
            return zipFlavour(b)
        }
        if ascii("Rar!\u{1A}\u{07}") { return .rar }
        if starts([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { return .sevenZip }
        if starts([0x1F, 0x8B]) { return .gzip }
        if ascii("BZh") && b.count > 3 && b[3] >= 0x31 && b[3] <= 0x39 { return .bzip2 }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .xz }
        if ascii("MSCF") { return .cab }
        if ascii("ustar", at: 257) { return .tar }
        if ascii("CD001", at: 32_769) { return .iso }

        // Images.
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if ascii("GIF87a") || ascii("GIF89a") { return .gif }
        if ascii("BM") && b.count >= 14 && b[6] == 0 && b[7] == 0 && b[8] == 0 && b[9] == 0 { return .bmp }
        if ascii("II*\u{0}") || ascii("MM\u{0}*") { return .tiff }
        if ascii("RIFF") && ascii("WEBP", at: 8) { return .webp }
        if starts([0, 0, 1, 0]) && b.count >= 6 && b[4] > 0 && b[5] == 0 { return .icon }

        // Text kinds.
        let sample = b.prefix(4096)
        if sample.contains(0) { return .binary }
        var lowerHead = [UInt8]()
        for c in sample.prefix(1024) { lowerHead.append(c >= 65 && c <= 90 ? c + 32 : c) }
        // Skip a UTF-8 BOM and leading white space.
        var start = 0
        if lowerHead.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < lowerHead.count, [32, 9, 13, 10].contains(lowerHead[start]) { start += 1 }
        let rest = Array(lowerHead[start...])
        for tag in ["<!doctype html", "<html", "<head", "<body", "<meta", "<script", "<iframe", "<table", "<div", "<p>", "<a href", "<br", "<title", "<style", "<font", "<center", "<img"]
            where rest.starts(with: Array(tag.utf8)) { return .html }
        if rest.starts(with: Array("<?xml".utf8)) {
            return indexOf(Array("<html".utf8), in: lowerHead, limit: 1024) != nil ? .html : .xml
        }
        if rest.starts(with: Array("@echo off".utf8)) { return .script }
        let controls = sample.filter { $0 < 32 && $0 != 9 && $0 != 10 && $0 != 13 && $0 != 12 && $0 != 27 }.count
        if controls * 100 > max(sample.count, 1) * 5 { return .binary }
        return .text
    }

    static func indexOf(_ needle: [UInt8], in hay: [UInt8], limit: Int) -> Int? {
        let end = min(hay.count, limit + needle.count)
        guard end >= needle.count else { return nil }
        var i = 0
        while i + needle.count <= end {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// Tells OOXML, ODF and JAR from plain ZIP by the local file names that appear in `b`.
    static func zipFlavour(_ b: [UInt8]) -> MIMEFileType {
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
    static func expected(forExtension ext: String) -> Set<MIMEFileType>? {
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
    static func expected(forMediaType type: MIMEContentType) -> Set<MIMEFileType>? {
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
