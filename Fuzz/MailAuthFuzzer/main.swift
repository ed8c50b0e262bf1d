// MailAuthFuzzer — libFuzzer entry point over the sender-authentication parsers: SPF records and
// macro strings, DKIM-Signature fields and key records, canonicalization, DMARC records,
// Authentication-Results authserv-ids, the Public Suffix List (`MailAuthFuzz.fuzz`).
//
// Built and run for a bounded time by scripts/fuzz:
//   swift build --product MailAuthFuzzer -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic
// libFuzzer is started by `runLibFuzzer` (Fuzz/FuzzDriver). Any crash, hang or sanitizer report is a bug.

#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import MailAuth

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    MailAuthFuzz.fuzz(bytes)
    return 0
}

runLibFuzzer("MailAuthFuzzer", fuzz)
