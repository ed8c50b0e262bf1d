// Helpers shared by the rule tests: message literals with CRLF, fixtures, files on disk.
import Glibc
import MIME
@testable import SpamRules

/// A message from a literal: "\n" becomes CRLF (as on the wire).
func message(_ text: String) -> [UInt8] {
    var out = [UInt8]()
    for b in text.utf8 {
        if b == 10 { out.append(13) }
        out.append(b)
    }
    return out
}

func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return out
}

func listDirectory(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        if name != "." && name != ".." { names.append(path + "/" + name) }
    }
    return names.sorted()
}

/// The directory of this test target, symlinks resolved.
let testDirectory: String = {
    let file = #filePath
    var dir = String(file[..<file.lastIndex(of: "/")!])
    if let real = realpath(dir, nil) { dir = String(cString: real); free(real) }
    return dir
}()

func fixture(_ name: String) -> [UInt8] {
    readFile(testDirectory + "/Fixtures/" + name) ?? []
}

/// The project's shared/ directory (beside the repository), found by walking up.
let sharedDirectory: String? = {
    var dir = testDirectory
    while dir.count > 1 {
        if let d = opendir(dir + "/shared/corpus") { closedir(d); return dir + "/shared" }
        dir = String(dir[..<dir.lastIndex(of: "/")!])
        if dir.isEmpty { break }
    }
    return nil
}()

/// Debian's spamassassin package puts its rules here.
let spamAssassinRulesDirectory = "/usr/share/spamassassin"

/// Reads every .cf file of `directory` in SpamAssassin's order.
func readSpamAssassin(_ directory: String, configuration: SpamAssassinReader.Configuration = .init()) -> (RuleSet, SpamAssassinReport) {
    var reader = SpamAssassinReader(configuration: configuration)
    for path in listDirectory(directory) where path.hasSuffix(".cf") {
        if let bytes = readFile(path) { reader.read(bytes, file: String(path[path.index(after: path.lastIndex(of: "/")!)...])) }
    }
    return reader.finish()
}

/// Parses a pack written as a literal, with a version line added.
func pack(_ text: String, file: String = "test.rules") throws(RulePackError) -> RuleSet {
    try RulePackParser.parse(Array(("gatehouse-rules 1\n" + text).utf8), file: file)
}

/// Compiles a pack literal (version line added) strictly, without built-ins unless asked.
func matcher(_ text: String, builtIns: Bool = false, limits: RuleLimits = .default) throws(RulePackError) -> RuleMatcher {
    try RuleMatcher(pack(text), mode: .strict, limits: limits, builtIns: builtIns)
}

func scan(_ matcher: RuleMatcher, _ text: String) -> RuleScanResult {
    matcher.scan(message(text))
}
