// SpoolFuzzer — libFuzzer entry point over the spool's readers of files on disk: the queue file
// parser (`QueueFile.parse`) and the segment record scanner used by recovery after a crash, both
// over the bytes as they are and over a segment whose records are pieces of them behind valid
// headers (`SegmentLog.fuzz`).
//
// Built and run for a bounded time by scripts/fuzz:
//   swift build --product SpoolFuzzer -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic
// libFuzzer is started by `runLibFuzzer` (Fuzz/FuzzDriver). Any crash, hang or sanitizer report is a bug.

#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import Spool

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    SegmentLog.fuzz(bytes)
    return 0
}

runLibFuzzer("SpoolFuzzer", fuzz)
