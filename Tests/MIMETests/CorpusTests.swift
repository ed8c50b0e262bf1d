// Corpus-wide tests: every real message parses without a crash or a broken limit, a sample's
// structure is pinned, and random mutations of real messages never crash or hang.
import Testing
import PropertyBased
@testable import MIME

/// Checks the invariants every parse must keep, whatever the input.
func checkInvariants(_ m: MIMEMessage, size: Int) {
    #expect(!m.parts.isEmpty)
    #expect(m.parts.count <= MIMELimits.default.maxParts)
    for p in m.parts {
        if let parent = p.parent {
            #expect(parent < p.index)
            #expect(m.parts[parent].children.contains(p.index))
            #expect(p.depth == m.parts[parent].depth + 1)
        }
        #expect(p.depth <= MIMELimits.default.maxNestingDepth + MIMELimits.default.maxArchiveDepth + 2)
        if p.source == 0 {
            #expect(p.bodyRange.lowerBound >= 0 && p.bodyRange.upperBound <= size)
            #expect(p.headerRange.upperBound <= p.bodyRange.lowerBound || p.headerRange.isEmpty)
        }
        if p.kind == .leaf && p.sha256 == nil { #expect(p.isEncrypted || p.defects.contains(.archiveLimit) || p.defects.contains(.unreadableArchive)) }
    }
}

/// The structure signature of the MIME tree as written: "depth:type[filename]" per entity.
func signature(_ m: MIMEMessage) -> String {
    m.parts.filter { $0.origin == .mime }.map { p in
        "\(p.depth):\(p.contentType.mimeType)" + (p.filename.map { "[\($0)]" } ?? "")
    }.joined(separator: " ")
}

@Suite struct CorpusTests {
    static var corpusFiles: [String] {
        guard let shared = sharedDirectory else { return [] }
        return listDirectory(shared + "/corpus/ham") + listDirectory(shared + "/corpus/spam") + listDirectory(shared + "/testdata/mime-cpython")
    }

    @Test func everyMessageParses() throws {
        let files = CorpusTests.corpusFiles
        try #require(files.count > 3000, "shared/corpus not found beside the repository")
        let parser = MIMEParser()
        var unscannable: [String] = []
        for file in files {
            guard let bytes = readFile(file) else { continue }
            let m = parser.parse(bytes)
            checkInvariants(m, size: bytes.count)
            if m.isUnscannable || !m.limitErrors.isEmpty { unscannable.append(file) }
        }
        #expect(unscannable.isEmpty)
    }

    @Test func sampleStructureIsPinned() throws {
        guard let shared = sharedDirectory else { Issue.record("shared/ not found"); return }
        let pinned = string(fixture("corpus-structure.txt")).split(separator: "\n")
        try #require(pinned.count >= 40)
        for line in pinned {
            let fields = line.split(separator: "\t", maxSplits: 1)
            guard fields.count == 2, let bytes = readFile(shared + "/" + fields[0]) else {
                Issue.record("missing \(fields.first ?? "")")
                continue
            }
            #expect(signature(MIMEParser().parse(bytes)) == String(fields[1]), "\(fields[0])")
        }
    }

    @Test func mutationsNeverCrashOrHang() async throws {
        let files = CorpusTests.corpusFiles.filter { !$0.contains("/ham/") }
        try #require(!files.isEmpty)
        let samples: [[UInt8]] = stride(from: 0, to: files.count, by: max(1, files.count / 40)).compactMap { readFile(files[$0]) }
        let tokens: [[UInt8]] = ["\r\n", "--", "\r\n\r\n", "Content-Type: multipart/mixed; boundary=", "=?utf-8?B?", "?=", "\"", ";", "begin 644 x\r\n", "Content-Transfer-Encoding: base64\r\n", "\u{0}", "=\r\n", "*0*=", "<a href=", "&#x"].map { Array($0.utf8) }
        let mutation = Gen.int(in: 0...3).array(of: 1...8)
        let positions = Gen.int(in: 0...1_000_000).array(of: 8)
        await propertyCheck(count: 200, input: Gen.int(in: 0...(samples.count - 1)), mutation, positions) { which, ops, pos in
            var bytes = samples[which]
            for (k, op) in ops.enumerated() where !bytes.isEmpty {
                let at = pos[k] % bytes.count
                switch op {
                case 0: bytes[at] ^= UInt8(truncatingIfNeeded: pos[(k + 1) % 8])
                case 1: bytes.insert(contentsOf: tokens[pos[(k + 1) % 8] % tokens.count], at: at)
                case 2: bytes.removeSubrange(at..<min(bytes.count, at + pos[(k + 1) % 8] % 200))
                default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 300)], at: at)
                }
            }
            let m = MIMEParser().parse(bytes)
            checkInvariants(m, size: bytes.count)
        }
    }
}
