// MIMEArchive.swift — archives unpacked in memory through libarchive, with limits.
//
// What it does: lists and reads ZIP, RAR, 7z, tar, CAB, ISO 9660 and gzip/bzip2/xz streams
// (`archive_read_open_memory`), recursing into archives inside archives. Every entry becomes a
// part (origin `.archiveEntry`) with its path, size, SHA-256 and true type; encrypted entries
// are listed (with the size their header gives) and flagged, and the next entries are still read.
//
// Diagnostics: `encryptedArchive`, `unreadableArchive`, `archiveLimit` on the archive part and
// the entry; limit errors `archiveTooDeep`, `archiveTooManyEntries`, `archiveUnpackedTooLarge`,
// `archiveCompressionRatio`, `archiveTooLarge`.
//
// Security notes: the total unpacked size, the entry count, the depth and the ratio of
// unpacked to packed bytes are checked while reading, chunk by chunk, so a bomb is stopped
// before it is expanded; anything stopped is unscannable, never clean. No entry is written
// anywhere: entries are hashed and sniffed in memory.
import CArchive
import Glibc

/// The running totals of one top-level archive, shared by its nested archives.
struct ArchiveBudget {
    var entries = 0
    var unpacked = 0
    var stopped = false
}

extension MessageBuilder {
    /// Unpacks `data`, the content of part `p`, adding its entries as children.
    func unpackArchive(_ data: [UInt8], part p: Int, archiveDepth: Int, budget: inout ArchiveBudget) {
        guard !budget.stopped else { return }
        if archiveDepth > limits.maxArchiveDepth {
            flag(p, .archiveLimit)
            limit(.archiveTooDeep(limit: limits.maxArchiveDepth))
            return
        }
        message.parts[p].isArchive = true
        let compressedStream = [.gzip, .bzip2, .xz].contains(message.parts[p].trueType)
        if !readArchive(data, part: p, archiveDepth: archiveDepth, raw: false, budget: &budget) {
            if compressedStream {
                // A bare compressed stream: read it as one entry (flags unreadable itself).
                _ = readArchive(data, part: p, archiveDepth: archiveDepth, raw: true, budget: &budget)
            } else {
                // The content says archive but libarchive cannot open it (a truncated 7z, whose
                // header sits at the end, fails before any entry): not inspected, so unscannable.
                flag(p, .unreadableArchive)
            }
        }
        // Refine ZIP flavours (OOXML, ODF, JAR) from the entry names.
        if message.parts[p].trueType == .zip || message.parts[p].trueType == .ooxml {
            let names = message.parts[p].children.compactMap { c -> String? in
                if case .archiveEntry(let path) = message.parts[c].origin { return path }
                return nil
            }
            if let flavour = MIMEFileType.flavour(ofZipEntries: names) { message.parts[p].trueType = flavour }
        }
    }

    /// One pass of libarchive over `data`. Returns false if the format was not recognised
    /// before any entry was read.
    private func readArchive(_ data: [UInt8], part p: Int, archiveDepth: Int, raw: Bool, budget: inout ArchiveBudget) -> Bool {
        guard let a = archive_read_new() else { return true }
        defer { archive_read_free(a) }
        archive_read_support_filter_all(a)
        if raw {
            archive_read_support_format_raw(a)
        } else {
            archive_read_support_format_all(a)
        }
        var recognised = true
        // libarchive does not report RAR 5 encryption (and hands out the ciphertext of stored
        // entries as their content): the archive's own headers say which entries are encrypted.
        let rar5: RAR5Encryption? = !raw && RAR5Headers.isRAR5(data) ? RAR5Headers.encryption(of: data) : nil
        if let rar5 {
            if rar5.headersEncrypted || rar5.encryptedEntries > 0 { flag(p, .encryptedArchive) }
            if !rar5.complete { flag(p, .unreadableArchive) }
        }
        data.withUnsafeBytes { bytes in
            guard archive_read_open_memory(a, bytes.baseAddress, bytes.count) == ARCHIVE_OK else {
                recognised = false
                if raw { flag(p, .unreadableArchive) }
                return
            }
            var entry: OpaquePointer?
            var listed = 0
            let chunk = 65_536
            var scratch = [UInt8](repeating: 0, count: chunk)
            while !budget.stopped {
                let r = archive_read_next_header(a, &entry)
                if r == ARCHIVE_EOF { break }
                if r == ARCHIVE_FATAL || entry == nil {
                    if listed == 0 && !raw { recognised = false } else { flag(p, .unreadableArchive) }
                    if archive_read_has_encrypted_entries(a) > 0 { flag(p, .encryptedArchive) }
                    break
                }
                listed += 1
                budget.entries += 1
                if budget.entries > limits.maxArchiveEntries {
                    flag(p, .archiveLimit)
                    limit(.archiveTooManyEntries(limit: limits.maxArchiveEntries))
                    budget.stopped = true
                    break
                }
                var path = ""
                if let u = archive_entry_pathname_utf8(entry) { path = String(cString: u) }
                else if let c = archive_entry_pathname(entry) { path = String(decoding: Array(UnsafeBufferPointer(start: c, count: strlen(c))).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
                if raw && (path.isEmpty || path == "data") {
                    let outer = message.parts[p].filename ?? "data"
                    path = stripCompressionSuffix(outer)
                }
                let isDirectory = archive_entry_filetype(entry) & 0o170000 == 0o040000
                if isDirectory { continue }
                guard let q = addPart(parent: p, depth: message.parts[p].depth + 1, origin: .archiveEntry(path: path), source: nil) else {
                    budget.stopped = true
                    break
                }
                message.parts[q].filenames = [path]
                message.parts[q].contentType = MIMEContentType(type: "application", subtype: "octet-stream")
                let declaredSize = archive_entry_size_is_set(entry) != 0 ? Int(archive_entry_size(entry)) : 0
                let encryptedInRAR5 = rar5?.encryptedNames.contains(path) ?? false
                if archive_entry_is_encrypted(entry) != 0 || encryptedInRAR5 {
                    message.parts[q].isEncrypted = true
                    message.parts[q].decodedSize = declaredSize
                    message.parts[q].trueType = .binary
                    flag(q, .encryptedArchive)
                    flag(p, .encryptedArchive)
                    continue
                }
                var sink = ContentSink(textLimit: 0, archiveLimit: limits.maxArchiveBytes)
                var failed = false
                while true {
                    let n = scratch.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, chunk) }
                    if n == 0 { break }
                    if n < 0 {
                        failed = true
                        if archive_entry_is_encrypted(entry) != 0 {
                            message.parts[q].isEncrypted = true
                            flag(q, .encryptedArchive)
                            flag(p, .encryptedArchive)
                        } else {
                            flag(q, .unreadableArchive)
                            flag(p, .unreadableArchive)
                        }
                        break
                    }
                    scratch.withUnsafeBufferPointer { sink.write(UnsafeBufferPointer(rebasing: $0[0..<n])) }
                    budget.unpacked += n
                    if budget.unpacked > limits.maxArchiveTotalBytes {
                        flag(q, .archiveLimit); flag(p, .archiveLimit)
                        limit(.archiveUnpackedTooLarge(limit: limits.maxArchiveTotalBytes))
                        budget.stopped = true
                        break
                    }
                    if sink.size > limits.archiveRatioThreshold && sink.size / max(data.count, 1) > limits.maxCompressionRatio {
                        flag(q, .archiveLimit); flag(p, .archiveLimit)
                        limit(.archiveCompressionRatio(limit: limits.maxCompressionRatio))
                        budget.stopped = true
                        break
                    }
                }
                sink.decide()
                let content = sink.keptContent
                var part = message.parts[q]
                part.decodedSize = failed || budget.stopped ? max(sink.size, declaredSize) : sink.size
                part.sha256 = failed || budget.stopped ? nil : sink.hasher.finalize()
                part.trueType = sink.trueType
                if part.trueType.mismatches(declared: nil, filenames: [path]) { part.defects.insert(.typeMismatch) }
                message.parts[q] = part
                if !failed && !budget.stopped && part.trueType.isArchive {
                    if sink.overflowed {
                        flag(q, .archiveLimit)
                        limit(.archiveTooLarge(limit: limits.maxArchiveBytes))
                    } else {
                        unpackArchive(content, part: q, archiveDepth: archiveDepth + 1, budget: &budget)
                    }
                }
            }
            if archive_read_has_encrypted_entries(a) > 0 { flag(p, .encryptedArchive) }
        }
        return recognised
    }

    private func stripCompressionSuffix(_ name: String) -> String {
        for suffix in [".gz", ".bz2", ".xz", ".tgz", ".gzip"] where name.lowercased().hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            return suffix == ".tgz" ? base + ".tar" : base
        }
        return name
    }
}
