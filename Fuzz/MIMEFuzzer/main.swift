// MIMEFuzzer — libFuzzer entry point over the MIME parser (the whole engine: decoders, charsets,
// HTML, archives). Built and run for a bounded time by scripts/fuzz-mime (and scripts/fuzz):
//   swift build --product MIMEFuzzer -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic
// SwiftPM renames an executable's main, so -parse-as-library cannot be used; as in
// SMTPCommandFuzzer, libFuzzer is started through LLVMFuzzerRunDriver from top-level code below,
// and `LLVMFuzzerTestOneInput` is also exported for other drivers.
//
// Besides crashes, it checks the invariants every parse must keep: parents precede children,
// depth follows the tree, ranges stay inside the input, limits hold; and it runs the rewriter
// (strip parts, disclaimer) on every input and parses its output again. The same input is also
// walked as the block headers of a RAR 5 archive (RAR5Headers).
#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import MIME

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: size > 0 ? data : nil, count: size)
    var limits = MIMELimits.default
    // Smaller caps keep each run fast without changing which code paths are reached.
    limits.maxParts = 200
    limits.maxArchiveTotalBytes = 8 * 1024 * 1024
    let message = MIMEParser(limits: limits).parse(input)
    precondition(!message.parts.isEmpty && message.parts.count <= limits.maxParts)
    for part in message.parts {
        if let parent = part.parent {
            precondition(parent < part.index && message.parts[parent].children.contains(part.index))
            precondition(part.depth == message.parts[parent].depth + 1)
        }
        if part.source == 0 {
            precondition(part.bodyRange.upperBound <= size && part.headerRange.upperBound <= size)
        }
    }
    _ = message.bodyText
    _ = message.allAddresses()
    // The rewriter on the same input: strip every third part (decoded containers, alternative
    // readings and archive entries included), add a disclaimer, and parse the result again.
    var rewriter = MIMERewriter()
    rewriter.removeParts = Set(message.parts.indices.filter { $0 % 3 == 1 })
    rewriter.disclaimer = .init(text: "disclaimer", html: "<p>disclaimer</p>")
    let rewritten = rewriter.rewrite(Array(input), message: message)
    let again = MIMEParser(limits: limits).parse(rewritten.bytes)
    precondition(!again.parts.isEmpty)
    // The RAR 5 header walk on the raw input (as an archive; the signature added if missing).
    let archive = RAR5Headers.isRAR5(Array(input)) ? Array(input) : RAR5Headers.signature + Array(input)
    let walk = RAR5Headers.encryption(of: archive)
    precondition(walk.encryptedNames.count <= walk.encryptedEntries)
    return 0
}

runLibFuzzer("MIMEFuzzer", fuzzMIME)
