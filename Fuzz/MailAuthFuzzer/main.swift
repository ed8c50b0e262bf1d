// MailAuthFuzzer — libFuzzer entry point over the sender-authentication parsers: SPF records and
// macro strings, DKIM-Signature fields and key records, canonicalization, DMARC records,
// Authentication-Results authserv-ids, the Public Suffix List (`MailAuthFuzz.fuzz`).
//
// Built and run for a bounded time by scripts/fuzz:
//   swift build --product MailAuthFuzzer -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic
// SwiftPM renames an executable's main, so libFuzzer is started through LLVMFuzzerRunDriver from
// top-level code below. Any crash, hang or sanitizer report is a bug.

#if canImport(Glibc)
import Glibc
#endif
import MailAuth

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    MailAuthFuzz.fuzz(bytes)
    return 0
}

// LLVMFuzzerRunDriver is looked up at run time (the fuzz build links with --export-dynamic), so that a
// plain `swift build` without -sanitize=fuzzer still links this target.
typealias FuzzerDriver = @convention(c) (
    UnsafeMutablePointer<CInt>,
    UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") else {
    print("MailAuthFuzzer: built without -sanitize=fuzzer; use scripts/fuzz")
    exit(2)
}
var arguments = CommandLine.argc
var vector = CommandLine.unsafeArgv
let status = unsafeBitCast(symbol, to: FuzzerDriver.self)(&arguments, &vector) { data, size in fuzz(data, size) }
exit(status)
