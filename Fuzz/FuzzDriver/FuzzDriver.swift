// FuzzDriver.swift — starts libFuzzer for the fuzz targets in Fuzz/.
//
// SwiftPM renames an executable's main, so libFuzzer's own main never runs; the targets call
// `runLibFuzzer` from their top-level code instead. LLVMFuzzerRunDriver is looked up at run time
// (scripts/fuzz links with -sanitize=fuzzer and --export-dynamic), so that a plain `swift build`
// without the sanitizer still links every target.

#if canImport(Glibc)
import Glibc
#endif

/// The function libFuzzer calls with each input.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

typealias FuzzerDriver = @convention(c) (
    UnsafeMutablePointer<CInt>,
    UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    FuzzTarget
) -> CInt

/// Runs libFuzzer over `target` with the process's arguments and exits with its status.
public func runLibFuzzer(_ name: String, _ target: FuzzTarget) -> Never {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") else {
        print("\(name): built without -sanitize=fuzzer; use scripts/fuzz")
        exit(2)
    }
    var arguments = CommandLine.argc
    var vector = CommandLine.unsafeArgv
    exit(unsafeBitCast(symbol, to: FuzzerDriver.self)(&arguments, &vector, target))
}
