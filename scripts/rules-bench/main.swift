// rules-bench — measures rule matching on the shared corpus, one core, to choose the regex engine.
//
//   swift build -c release -j 1 --product rules-bench
//   .build/release/rules-bench [--corpus DIR] [--rules DIR] [--messages N] [--foundation-messages N] [--swift-regex-messages N]
//
// What it measures (docs/performance.md, "Rule matching"):
//   1. the product path: SpamAssassin's rules (all that load: header, body, rawbody, uri, full,
//      meta) compiled by `RuleMatcher`, scanning pre-parsed messages — PCRE2 with JIT and without;
//   2. the engines alone, on the same regular expressions (SpamAssassin's body, rawbody and header
//      rules) and the same subjects: PCRE2 JIT, PCRE2 interpreter, Foundation's
//      NSRegularExpression and Swift's Regex (the last two on a subset: they are much slower).
// MIME parsing is timed separately and excluded from the rule figures. Single-threaded; times are
// this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so other load on the machine does not count.
import Foundation
import MIME
import PCRE2
import SpamRules

// MARK: Arguments

var corpus = "/work/shared/corpus"
var rulesDirectory = "/usr/share/spamassassin"
var messageLimit = Int.max
var foundationMessages = 200
var swiftRegexMessages = 20
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    let value = arguments.popFirst() ?? ""
    switch flag {
    case "--corpus": corpus = value
    case "--rules": rulesDirectory = value
    case "--messages": messageLimit = Int(value) ?? messageLimit
    case "--foundation-messages": foundationMessages = Int(value) ?? foundationMessages
    case "--swift-regex-messages": swiftRegexMessages = Int(value) ?? swiftRegexMessages
    default:
        print("usage: rules-bench [--corpus DIR] [--rules DIR] [--messages N] [--foundation-messages N] [--swift-regex-messages N]")
        exit(2)
    }
}

/// CPU time of this thread: the machine is shared, so wall-clock time would measure the neighbours.
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func files(in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted().map { directory + "/" + $0 }
}

// MARK: Corpus

let hamPaths = files(in: corpus + "/ham")
let paths = (hamPaths + files(in: corpus + "/spam")).prefix(messageLimit)
let isSpam = paths.map { !$0.hasPrefix(corpus + "/ham/") }
guard !paths.isEmpty else {
    print("no messages under \(corpus)/ham and \(corpus)/spam")
    exit(1)
}
let raws: [[UInt8]] = paths.compactMap { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } }
let totalBytes = raws.reduce(0) { $0 + $1.count }
var start = now()
let parser = MIMEParser()
let messages = raws.map { parser.parse($0) }
let parseSeconds = now() - start
print("corpus: \(raws.count) messages, \(totalBytes / 1024) KiB; MIME parse \(String(format: "%.0f", Double(raws.count) / parseSeconds)) messages/s")

// MARK: Rules

var reader = SpamAssassinReader()
for path in files(in: rulesDirectory) where path.hasSuffix(".cf") {
    if let data = FileManager.default.contents(atPath: path) { reader.read([UInt8](data), file: (path as NSString).lastPathComponent) }
}
let (ruleSet, report) = reader.finish()
print("rules: \(report)")

func fmt(_ x: Double) -> String { String(format: x >= 100 ? "%.0f" : "%.1f", x) }

// MARK: 1. The product path

for jit in [true, false] {
    start = now()
    let matcher = try RuleMatcher(ruleSet, mode: .lenient, alreadySkipped: report.skipped, jit: jit)
    let compileSeconds = now() - start
    start = now()
    var spamOver5 = 0, hamOver5 = 0, failures = 0
    for (k, message) in messages.enumerated() {
        let result = matcher.scan(message, raw: raws[k])
        failures += result.failures.count
        if result.score >= 5 { if isSpam[k] { spamOver5 += 1 } else { hamOver5 += 1 } }
    }
    let seconds = now() - start
    let spamCount = isSpam.filter { $0 }.count
    print("RuleMatcher \(jit ? "PCRE2 JIT        " : "PCRE2 interpreter"): \(matcher.count) rules (\(matcher.activeCount) run per message), compile \(fmt(compileSeconds * 1000)) ms; "
          + "\(fmt(Double(messages.count) / seconds)) messages/s (\(fmt(seconds * 1000 / Double(messages.count))) ms/message); "
          + "score >= 5: spam \(spamOver5)/\(spamCount), ham \(hamOver5)/\(messages.count - spamCount); match-limit failures: \(failures)")
}

// MARK: 2. The engines alone

struct Pattern {
    var kind: RuleKind
    var selector: HeaderSelector?
    var source: RegexSource
}
var patterns: [Pattern] = []
for rule in ruleSet.rules {
    switch rule.test {
    case .body(let s): patterns.append(Pattern(kind: .body, selector: nil, source: s))
    case .rawbody(let s): patterns.append(Pattern(kind: .rawbody, selector: nil, source: s))
    case .header(let sel, let s, _, _): patterns.append(Pattern(kind: .header, selector: sel, source: s))
    default: break
    }
}

/// The subject of each pattern for each message, prepared once.
struct Prepared {
    var body: [UInt8]
    var rawbody: [UInt8]
    var headers: [HeaderSelector: [UInt8]]
}
let prepared: [Prepared] = messages.enumerated().map { k, m in
    let s = RuleSubjects(message: m, raw: raws[k])
    var headers: [HeaderSelector: [UInt8]] = [:]
    for p in patterns { if let sel = p.selector, headers[sel] == nil { headers[sel] = s.header(sel) ?? [] } }
    return Prepared(body: s.body, rawbody: s.rawbody, headers: headers)
}
/// The same sample for every engine: evenly spread over ham and spam.
func sample(_ n: Int) -> [Prepared] {
    let step = max(1, prepared.count / max(1, n))
    return Array(stride(from: 0, to: prepared.count, by: step).prefix(n).map { prepared[$0] })
}
func subject(_ p: Pattern, _ m: Prepared) -> [UInt8] {
    switch p.kind {
    case .body: return m.body
    case .rawbody: return m.rawbody
    default: return m.headers[p.selector!] ?? []
    }
}
print("engines alone: \(patterns.count) SpamAssassin body, rawbody and header regular expressions")

for (jit, set) in [(true, prepared), (false, prepared), (true, sample(foundationMessages)), (false, sample(foundationMessages)), (true, sample(swiftRegexMessages))] {
    let compiled = patterns.compactMap { p -> (Pattern, PCRE2Regex)? in
        let extra: PCRE2Regex.Options = p.kind == .header ? [] : .multiline
        return (try? PCRE2Regex(p.source.pattern, options: p.source.compileOptions.union(extra), jit: jit)).map { (p, $0) }
    }
    let scratch = PCRE2MatchScratch()
    var matches = 0
    start = now()
    for m in set {
        for (p, regex) in compiled {
            let s = subject(p, m)
            let found = s.withUnsafeBufferPointer { (try? regex.firstMatch(in: $0, subjectIsValidUTF8: true, scratch: scratch)) ?? nil }
            if found != nil { matches += 1 }
        }
    }
    let seconds = now() - start
    print("  PCRE2 \(jit ? "JIT        " : "interpreter"): \(compiled.count) patterns, \(set.count) messages: \(fmt(Double(set.count) / seconds)) messages/s, \(matches) matches")
}

// Foundation's NSRegularExpression (ICU) on a subset.
do {
    let subset = sample(foundationMessages)
    var compiled: [(Pattern, NSRegularExpression)] = []
    for p in patterns {
        var o: NSRegularExpression.Options = []
        if p.source.options.contains(.caseless) { o.insert(.caseInsensitive) }
        if p.source.options.contains(.multiline) || p.kind != .header { o.insert(.anchorsMatchLines) }
        if p.source.options.contains(.dotAll) { o.insert(.dotMatchesLineSeparators) }
        if p.source.options.contains(.extended) { o.insert(.allowCommentsAndWhitespace) }
        let text = String(decoding: p.source.pattern, as: UTF8.self)
        if let r = try? NSRegularExpression(pattern: text, options: o) { compiled.append((p, r)) }
    }
    let strings = subset.map { m in (String(decoding: m.body, as: UTF8.self), String(decoding: m.rawbody, as: UTF8.self), m.headers.mapValues { String(decoding: $0, as: UTF8.self) }) }
    var matches = 0
    start = now()
    for (body, rawbody, headers) in strings {
        let nsBody = body as NSString, nsRaw = rawbody as NSString
        let nsHeaders = headers.mapValues { $0 as NSString }
        for (p, r) in compiled {
            let s: NSString = p.kind == .body ? nsBody : p.kind == .rawbody ? nsRaw : nsHeaders[p.selector!] ?? ""
            if r.firstMatch(in: s as String, options: [], range: NSRange(location: 0, length: s.length)) != nil { matches += 1 }
        }
    }
    let seconds = now() - start
    print("  NSRegularExpression: \(compiled.count) of \(patterns.count) patterns compile, \(subset.count) messages: \(fmt(Double(subset.count) / seconds)) messages/s, \(matches) matches")
}

// Swift's Regex on a smaller subset.
do {
    let subset = sample(swiftRegexMessages)
    var compiled: [(Pattern, Regex<AnyRegexOutput>)] = []
    for p in patterns {
        guard var r = try? Regex(String(decoding: p.source.pattern, as: UTF8.self)) else { continue }
        if p.source.options.contains(.caseless) { r = r.ignoresCase() }
        if p.source.options.contains(.dotAll) { r = r.dotMatchesNewlines() }
        if p.source.options.contains(.multiline) || p.kind != .header { r = r.anchorsMatchLineEndings() }
        compiled.append((p, r))
    }
    let strings = subset.map { m in (String(decoding: m.body, as: UTF8.self), String(decoding: m.rawbody, as: UTF8.self), m.headers.mapValues { String(decoding: $0, as: UTF8.self) }) }
    var matches = 0
    start = now()
    for (body, rawbody, headers) in strings {
        for (p, r) in compiled {
            let s = p.kind == .body ? body : p.kind == .rawbody ? rawbody : headers[p.selector!] ?? ""
            if (try? r.firstMatch(in: s)) != nil { matches += 1 }
        }
    }
    let seconds = now() - start
    print("  Swift Regex: \(compiled.count) of \(patterns.count) patterns compile, \(subset.count) messages: \(fmt(Double(subset.count) / seconds)) messages/s, \(matches) matches")
}
