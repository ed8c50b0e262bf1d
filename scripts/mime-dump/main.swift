// mime-dump — development tool for the MIME engine: JSON dump, benchmark, big-message memory.
//
//   mime-dump FILE...            one JSON object per line per message (for scripts/mime-differential.py)
//   mime-dump --bench N DIR...   parse + decode + text extraction of every file, N rounds, one core
//   mime-dump --big MB           peak memory while parsing a generated MB-megabyte single-attachment message
//   mime-dump --full FILE...     as the first form, with each part's text, hidden text, HTML and URLs
//                                and the message's URLs (to compare the engine's output before and after a change)
//
// Built in the developers' private package (see docs/mime.md); not part of the gatehouse binary.
import Glibc
import MIME

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

func listDir(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        if name != "." && name != ".." { names.append(path + "/" + name) }
    }
    return names.sorted()
}

func json(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16) }
            else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

func dump(_ path: String, _ bytes: [UInt8], full: Bool = false) -> String {
    let m = MIMEParser().parse(bytes)
    var parts: [String] = []
    for p in m.parts {
        let origin: String
        switch p.origin {
        case .mime: origin = "mime"
        case .alternativeReading(let of, let reason): origin = "alternative:\(of):\(reason.names.joined(separator: "+"))"
        case .uuencoded: origin = "uuencoded"
        case .archiveEntry: origin = "archive-entry"
        }
        let kind: String
        switch p.kind {
        case .leaf: kind = "leaf"
        case .multipart: kind = "multipart"
        case .message: kind = "message"
        }
        parts.append("{\"index\":\(p.index),\"parent\":\(p.parent.map(String.init) ?? "null"),\"kind\":\"\(kind)\",\"origin\":\(json(origin)),"
            + "\"type\":\(json(p.contentType.mimeType)),\"encoding\":\(json(p.transferEncoding.description)),"
            + "\"filenames\":[\(p.filenames.map(json).joined(separator: ","))],\"size\":\(p.decodedSize),"
            + "\"sha256\":\(p.sha256.map { json($0.hex) } ?? "null"),\"trueType\":\"\(p.trueType.rawValue)\",\"bodyText\":\(p.isBodyText),"
            + "\"defects\":[\(p.defects.names.map(json).joined(separator: ","))]"
            + (full ? ",\"text\":\(p.text.map(json) ?? "null"),\"hidden\":\(p.hiddenText.map(json) ?? "null"),\"html\":\(p.html.map(json) ?? "null"),"
                + "\"partURLs\":[\(p.urls.map(json).joined(separator: ","))]" : "")
            + "}")
    }
    return "{\"file\":\(json(path)),\"size\":\(bytes.count),\"unscannable\":\(m.isUnscannable),"
        + "\"defects\":[\(m.defects.names.map(json).joined(separator: ","))],"
        + "\"limits\":[\(m.limitErrors.map { json($0.description) }.joined(separator: ","))],"
        + "\"urls\":\(m.urls.count),\"parts\":[\(parts.joined(separator: ","))]"
        + (full ? ",\"allURLs\":[\(m.urls.map(json).joined(separator: ","))],\"bodyText\":\(json(m.bodyText))" : "") + "}"
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func status(_ key: String) -> Int {
    guard let s = readFile("/proc/self/status") else { return 0 }
    for line in String(decoding: s, as: UTF8.self).split(separator: "\n") where line.hasPrefix(key + ":") {
        return Int(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0") ?? 0
    }
    return 0
}

var args = Array(CommandLine.arguments.dropFirst())
if args.first == "--bench" {
    let rounds = Int(args[1]) ?? 3
    var files: [[UInt8]] = []
    for dir in args.dropFirst(2) { for f in listDir(dir) { if let b = readFile(f) { files.append(b) } } }
    let total = files.reduce(0) { $0 + $1.count }
    let parser = MIMEParser()
    var best = Double.infinity
    var sink = 0
    for _ in 0..<rounds {
        let t0 = now()
        for f in files {
            let m = parser.parse(f)
            sink &+= m.parts.count &+ m.bodyText.utf8.count &+ m.urls.count
        }
        best = min(best, now() - t0)
    }
    let mb = Double(total) / 1_048_576
    print("messages: \(files.count), bytes: \(total) (\(String(format2(mb))) MiB), best of \(rounds): \(format2(best)) s")
    print("throughput: \(format2(mb / best)) MiB/s, \(format2(Double(files.count) / best)) messages/s (checksum \(sink))")
} else if args.first == "--big" {
    let megabytes = Int(args[1]) ?? 50
    // A single base64 attachment of pseudo-random bytes, ~megabytes in total.
    var rng: UInt64 = 0x9E3779B97F4A7C15
    let rawSize = megabytes * 1_048_576 * 3 / 4
    var raw = [UInt8](repeating: 0, count: rawSize)
    for i in 0..<rawSize {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        raw[i] = UInt8(truncatingIfNeeded: rng)
    }
    var msg = Array("From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--XYZ\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n\r\n".utf8)
    msg += MIMEBase64Shim.encode(raw)
    msg += Array("\r\n--XYZ--\r\n".utf8)
    raw = []
    // Reset the peak-RSS mark (Linux: "5" to /proc/self/clear_refs), so the peak below is the parse's.
    if let f = fopen("/proc/self/clear_refs", "w") { fputs("5", f); fclose(f) }
    let before = status("VmRSS")
    let hwmBefore = status("VmHWM")
    let t0 = now()
    let m = MIMEParser().parse(msg)
    let dt = now() - t0
    let after = status("VmHWM")
    print("message: \(msg.count) bytes, parts: \(m.parts.count), attachment sha256: \(m.parts.last?.sha256?.hex ?? "-")")
    print("parse: \(format2(dt)) s (\(format2(Double(msg.count) / 1_048_576 / dt)) MiB/s); RSS before parse \(before) kB, peak before \(hwmBefore) kB, peak after \(after) kB; extra peak: \(max(0, after - before)) kB")
} else {
    let full = args.first == "--full"
    for path in args.dropFirst(full ? 1 : 0) {
        guard let bytes = readFile(path) else { continue }
        print(dump(path, bytes, full: full))
    }
}

func format2(_ v: Double) -> String {
    let scaled = (v * 100).rounded() / 100
    return String(scaled)
}

enum MIMEBase64Shim {
    static func encode(_ b: [UInt8]) -> [UInt8] { Base64.encode(b) }
}
