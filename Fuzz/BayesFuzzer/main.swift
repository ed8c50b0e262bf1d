// BayesFuzzer — libFuzzer entry point over the Bayesian classifier's readers: the token database
// file (damaged, cut short, hostile counts) and the tokenizer on any message (`TokenDatabase.fuzz`).
//
// Built and run for a bounded time by scripts/fuzz:
//   swift build --product BayesFuzzer -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic
// libFuzzer is started by `runLibFuzzer` (Fuzz/FuzzDriver). Any crash, hang or sanitizer report is a bug.

#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import SpamBayes

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    TokenDatabase.fuzz(bytes)
    return 0
}

runLibFuzzer("BayesFuzzer", fuzz)
