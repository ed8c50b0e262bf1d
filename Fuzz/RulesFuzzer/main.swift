// RulesFuzzer — libFuzzer entry point over the rule readers and the rule compiler: our pack format
// (RulePackParser), SpamAssassin's .cf subset (SpamAssassinReader, with its `if` conditions and
// comment rules), meta expressions, PCRE2 compilation of whatever patterns the input holds, and
// a scan of a fixed message with whatever compiled (so match limits and evidence cutting run too).
//
// Built and run for a bounded time by scripts/fuzz:
//   swift build --product RulesFuzzer -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic
// SwiftPM renames an executable's main, so libFuzzer is started through LLVMFuzzerRunDriver from
// top-level code below, as in SMTPCommandFuzzer. Any crash, hang or sanitizer report is a bug.
//
// Besides crashes, it checks: every diagnostic of a rejected pack has a line inside the input;
// a lenient compile never throws; what a pack parses, a strict compile either accepts or rejects
// with diagnostics.
#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import SpamRules

/// Smaller caps keep each run fast without changing which code paths are reached.
let limits: RuleLimits = {
    var l = RuleLimits.default
    l.maxRules = 200
    l.maxLineLength = 4_096
    l.regex.matchLimit = 100_000
    return l
}()

let sample: [UInt8] = Array("""
From: "boss@example.com" <a@example.net>\r
To: b@example.org\r
Subject: =?utf-8?q?caf=C3=A9?= FREE\r
Content-Type: text/html\r
\r
<p>Hello <a href="http://192.0.2.1/x">https://example.com/</a> aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab</p>\r

""".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: size > 0 ? data : nil, count: size))
    let lineCount = bytes.reduce(1) { $0 + ($1 == 10 ? 1 : 0) }

    // Our format, strict (the version line is added half of the time, so the body is reached).
    let packBytes = size % 2 == 0 ? Array("gatehouse-rules 1\n".utf8) + bytes : bytes
    do {
        let set = try RulePackParser.parse(packBytes, file: "fuzz.rules", limits: limits)
        if let matcher = try? RuleMatcher(set, mode: .strict, limits: limits) { _ = matcher.scan(sample) }
    } catch {
        precondition(!error.diagnostics.isEmpty)
        for d in error.diagnostics { precondition(d.origin.line >= 1 && d.origin.line <= lineCount + 1) }
    }

    // SpamAssassin's format, lenient: never throws.
    var reader = SpamAssassinReader(limits: limits)
    reader.read(bytes, file: "fuzz.cf")
    let (set, report) = reader.finish()
    do {
        let matcher = try RuleMatcher(set, mode: .lenient, limits: limits, alreadySkipped: report.skipped)
        _ = matcher.scan(sample)
    } catch {
        preconditionFailure("lenient compilation threw: \(error)")
    }

    // The whole input as one meta expression.
    if let expression = try? MetaExpression.parse(String(decoding: bytes, as: UTF8.self), limits: limits) {
        _ = expression.ruleNames
    }
    return 0
}

runLibFuzzer("RulesFuzzer", fuzzRules)
