// DNSMessageFuzzer — libFuzzer entry point over the DNS pure core: message decoding with name
// compression, re-encoding round trips, the response validator and interpreter, the cache, name
// text and resolv.conf parsing (`DNSMessage.fuzz`).
//
// Built and run for a bounded time by scripts/fuzz:
//   swift build --product DNSMessageFuzzer -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic
// SwiftPM renames an executable's main, so libFuzzer is started through LLVMFuzzerRunDriver from
// top-level code below. Any crash, hang or sanitizer report is a bug.

#if canImport(Glibc)
import Glibc
#endif
import DNS

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    DNSMessage.fuzz(bytes)
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
    print("DNSMessageFuzzer: built without -sanitize=fuzzer; use scripts/fuzz")
    exit(2)
}
var arguments = CommandLine.argc
var vector = CommandLine.unsafeArgv
let status = unsafeBitCast(symbol, to: FuzzerDriver.self)(&arguments, &vector) { data, size in fuzz(data, size) }
exit(status)
