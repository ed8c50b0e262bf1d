// Helpers shared by the MIME tests: message literals with CRLF, fixtures, the shared corpus.
import Glibc
@testable import MIME

/// A message from a literal: "\n" becomes CRLF (as on the wire).
func message(_ text: String) -> [UInt8] {
    var out = [UInt8]()
    for b in text.utf8 {
        if b == 10 { out.append(13) }
        out.append(b)
    }
    return out
}

func parse(_ text: String, limits: MIMELimits = .default) -> MIMEMessage {
    MIMEParser(limits: limits).parse(message(text))
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
        if opendir(dir + "/shared/corpus") != nil { return dir + "/shared" }
        dir = String(dir[..<dir.lastIndex(of: "/")!])
        if dir.isEmpty { break }
    }
    return nil
}()

/// A message with one attachment.
func withAttachment(_ data: [UInt8], type: String = "application/octet-stream", filename: String = "file.bin") -> [UInt8] {
    var m = message("""
    From: a@example.com
    To: b@example.com
    Subject: files
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="b1"

    --b1
    Content-Type: text/plain

    see attached
    --b1
    Content-Type: \(type); name="\(filename)"
    Content-Transfer-Encoding: base64
    Content-Disposition: attachment; filename="\(filename)"


    """)
    m += Base64.encode(data)
    m += message("\n--b1--\n")
    return m
}

func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// The parts of `m` that are archive entries, in order.
func entries(_ m: MIMEMessage) -> [MIMEPart] {
    m.parts.filter { if case .archiveEntry = $0.origin { return true }; return false }
}
