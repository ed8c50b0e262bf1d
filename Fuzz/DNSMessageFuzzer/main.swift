// DNSMessageFuzzer — libFuzzer entry point over the DNS pure core: message decoding with name
// compression, re-encoding round trips, the response validator and interpreter, the cache, name
// text and resolv.conf parsing (`DNSMessage.fuzz`).
//
// Built and run for a bounded time by scripts/fuzz:
//   swift build --product DNSMessageFuzzer -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic
// libFuzzer is started by `runLibFuzzer` (Fuzz/FuzzDriver). Any crash, hang or sanitizer report is a bug.

#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import DNS

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    DNSMessage.fuzz(bytes)
    return 0
}

runLibFuzzer("DNSMessageFuzzer", fuzz)
