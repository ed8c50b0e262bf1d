// RuleMatcher.swift — a compiled rule set, and the scan of one message with it.
//
// What it does: compiles every rule of a `RuleSet` (regular expressions with PCRE2 and JIT, meta
// expressions to postfix programs), resolves meta references, refuses cycles, orders metas so
// that each runs after the rules it needs, and drops from the scan the rules nobody needs (score
// 0 and referenced by no scored meta). A scan evaluates every header, body, rawbody, uri, full
// and mime rule on the message's subjects (MessageView.swift), then the metas in dependency
// order, and sums the scores of the hits.
//
// Modes: `.strict` (our packs) throws every problem at once (`RulePackError`, with file:line);
// `.lenient` (SpamAssassin files) skips each bad rule, and the metas that need it, and reports
// them in `skipped`.
//
// Diagnostics: compile problems as `RuleDiagnostic`; match limits per message in
// `RuleScanResult.failures`; subjects cut at a limit in `RuleScanResult.truncated`.
//
// Security notes: immutable and Sendable once built — one matcher serves every session. Each scan
// makes its own `PCRE2MatchScratch`, so scans run in parallel safely. Every match is bounded by
// `RuleLimits.regex` (catastrophic backtracking ends in a reported failure, not a hung thread).
public import MIME
internal import GatehouseCore
internal import PCRE2

/// A compiled rule set. Immutable and thread-safe.
public struct RuleMatcher: Sendable {
    /// How problems in the rule set are handled.
    public enum Mode: Sendable, Hashable {
        /// Any problem is an error (`RulePackError` with every problem).
        case strict
        /// Problem rules are skipped and reported (`skipped`).
        case lenient
    }

    enum Test: Sendable {
        case header(target: Int, PCRE2Regex, negated: Bool, ifUnset: [UInt8]?)
        case exists(HeaderSelector.Field, name: String)
        case body(PCRE2Regex)
        case rawbody(PCRE2Regex)
        case uri(PCRE2Regex)
        case full(PCRE2Regex)
        case meta(MetaProgram)
        case mime(MIMECheck, PCRE2Regex?)
    }

    struct Rule: Sendable {
        let name: String
        let kind: RuleKind
        let score: Double
        let summary: String?
        let origin: RuleOrigin
        /// Scored and not a sub-rule: appears in hits.
        let reported: Bool
        let test: Test
    }

    public let limits: RuleLimits
    /// Rules not compiled, with the reason (in lenient mode; includes those passed in `alreadySkipped`).
    public let skipped: [RuleDiagnostic]
    let rules: [Rule]
    /// Non-meta rules evaluated on each message, in rule-set order.
    let evaluationOrder: [Int]
    /// Meta rules evaluated on each message, each after the rules it refers to.
    let metaOrder: [Int]
    let headerSelectors: [HeaderSelector]

    /// Number of rules compiled.
    public var count: Int { rules.count }
    /// Number of rules run on each message (the others have score 0 and no scored meta needs them).
    public var activeCount: Int { evaluationOrder.count + metaOrder.count }
    /// Names of the rules compiled, in order.
    public var ruleNames: [String] { rules.map(\.name) }
    /// How many compiled regular expressions run as JIT machine code, and how many in total.
    public var jitStatistics: (jit: Int, total: Int) {
        var jit = 0, total = 0
        for rule in rules {
            let regex: PCRE2Regex?
            switch rule.test {
            case .header(_, let r, _, _), .body(let r), .rawbody(let r), .uri(let r), .full(let r): regex = r
            case .mime(_, let r): regex = r
            case .exists, .meta: regex = nil
            }
            if let regex {
                total += 1
                if regex.isJITCompiled { jit += 1 }
            }
        }
        return (jit, total)
    }

    /// Compiles `set`.
    /// - Parameters:
    ///   - builtIns: add the built-in rules (GTUBE) unless the set defines them.
    ///   - alreadySkipped: rules a reader skipped (their names make metas that need them
    ///     "depends on skipped rule" rather than "unknown"); included in `skipped`.
    ///   - jit: JIT-compile patterns (false only to measure the interpreter).
    public init(_ set: RuleSet, mode: Mode = .strict, limits: RuleLimits = .default, builtIns: Bool = true,
                alreadySkipped: [RuleDiagnostic] = [], jit: Bool = true) throws(RulePackError) {
        self.limits = limits
        var set = set
        if builtIns {
            for (rule, score, summary) in BuiltInRules.all where set[rule.name] == nil {
                set.define(rule)
                if set.scores[rule.name] == nil { set.setScore(score, for: rule.name) }
                if set.descriptions[rule.name] == nil { set.setDescription(summary, for: rule.name) }
            }
        }
        var definitions = set.rules
        var problems: [RuleDiagnostic] = []
        var failed: [String: RuleDiagnostic] = [:]
        let skippedNames = Set(alreadySkipped.compactMap(\.rule))
        func fail(_ d: RuleDefinition, _ problem: RuleProblem) {
            let diagnostic = RuleDiagnostic(origin: d.origin, rule: d.name, problem: problem)
            if failed[d.name] == nil {
                failed[d.name] = diagnostic
                problems.append(diagnostic)
            }
        }
        if definitions.count > limits.maxRules {
            for d in definitions[limits.maxRules...] { fail(d, .tooManyRules(limit: limits.maxRules)) }
            definitions = Array(definitions[..<limits.maxRules])
        }

        // 1. Regular expressions.
        let pcre2Limits = limits.pcre2Limits
        var regexes: [String: PCRE2Regex] = [:]
        func compile(_ d: RuleDefinition, _ source: RegexSource, extra: PCRE2Regex.Options = []) {
            do {
                regexes[d.name] = try PCRE2Regex(source.pattern, options: source.compileOptions.union(extra), jit: jit, limits: pcre2Limits)
            } catch {
                fail(d, .invalidRegex(offset: error.offset, message: error.message))
            }
        }
        for d in definitions {
            switch d.test {
            case .header(_, let source, _, _), .uri(let source), .full(let source): compile(d, source)
            // Body and rawbody are matched as one text, one line per paragraph or source line;
            // ^ and $ work per line as in SpamAssassin, which matches line by line.
            case .body(let source), .rawbody(let source): compile(d, source, extra: .multiline)
            case .mime(.attachmentName(let source)): compile(d, source)
            case .headerExists, .meta, .mime: break
            }
        }

        // 2. Meta references, to a fixed point (a meta that needs a failed rule fails too).
        let defined = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        var changed = true
        while changed {
            changed = false
            for d in definitions where failed[d.name] == nil {
                guard case .meta(let expression) = d.test else { continue }
                for name in expression.ruleNames {
                    if defined[name] == nil {
                        fail(d, skippedNames.contains(name) ? .dependsOnSkippedRule(name) : .unknownReference(name))
                        changed = true
                        break
                    }
                    if failed[name] != nil {
                        fail(d, .dependsOnSkippedRule(name))
                        changed = true
                        break
                    }
                }
            }
        }

        // 3. Cycles among the remaining metas (iterative depth-first search).
        var metaEdges: [String: [String]] = [:]
        for d in definitions where failed[d.name] == nil {
            if case .meta(let e) = d.test { metaEdges[d.name] = e.ruleNames.filter { metaEdgesCandidate(defined[$0]) } }
        }
        func metaEdgesCandidate(_ d: RuleDefinition?) -> Bool {
            if let d, case .meta = d.test { return true }
            return false
        }
        var color: [String: Int] = [:]  // 0 new, 1 on the stack, 2 done
        for d in definitions where metaEdges[d.name] != nil && color[d.name, default: 0] == 0 {
            var stack: [(name: String, next: Int)] = [(d.name, 0)]
            color[d.name] = 1
            while let top = stack.last {
                let edges = metaEdges[top.name] ?? []
                if top.next < edges.count {
                    stack[stack.count - 1].next += 1
                    let child = edges[top.next]
                    switch color[child, default: 0] {
                    case 0:
                        color[child] = 1
                        stack.append((child, 0))
                    case 1:
                        let start = stack.firstIndex { $0.name == child }!
                        let cycle = stack[start...].map(\.name) + [child]
                        for member in Set(cycle) { if let m = defined[member] { fail(m, .metaCycle(cycle)) } }
                    default:
                        break
                    }
                } else {
                    color[top.name] = 2
                    stack.removeLast()
                }
            }
        }
        // Metas that need a rule in a cycle.
        changed = true
        while changed {
            changed = false
            for d in definitions where failed[d.name] == nil {
                guard case .meta(let expression) = d.test else { continue }
                if let bad = expression.ruleNames.first(where: { failed[$0] != nil }) {
                    fail(d, .dependsOnSkippedRule(bad))
                    changed = true
                }
            }
        }

        if mode == .strict && !problems.isEmpty {
            throw RulePackError(diagnostics: problems.sorted { ($0.origin.file, $0.origin.line) < ($1.origin.file, $1.origin.line) })
        }
        skipped = alreadySkipped + problems

        // 4. The compiled rules.
        let kept = definitions.filter { failed[$0.name] == nil }
        var index: [String: Int] = [:]
        for (k, d) in kept.enumerated() { index[d.name] = k }
        var selectors: [HeaderSelector] = []
        var selectorIndex: [HeaderSelector: Int] = [:]
        var compiled: [Rule] = []
        compiled.reserveCapacity(kept.count)
        for d in kept {
            let test: Test
            switch d.test {
            case .header(let selector, _, let negated, let ifUnset):
                let target: Int
                if let k = selectorIndex[selector] {
                    target = k
                } else {
                    target = selectors.count
                    selectorIndex[selector] = target
                    selectors.append(selector)
                }
                test = .header(target: target, regexes[d.name]!, negated: negated, ifUnset: ifUnset.map { Array($0.utf8) })
            case .headerExists(let name):
                // Checked when read: the selector parses.
                let field = (try? HeaderSelector(parsing: name))?.field ?? .named(name.lowercased())
                test = .exists(field, name: name)
            case .body: test = .body(regexes[d.name]!)
            case .rawbody: test = .rawbody(regexes[d.name]!)
            case .uri: test = .uri(regexes[d.name]!)
            case .full: test = .full(regexes[d.name]!)
            case .meta(let e): test = .meta(MetaProgram(e) { index[$0]! })
            case .mime(let check): test = .mime(check, regexes[d.name])
            }
            let score = set.score(of: d)
            compiled.append(Rule(name: d.name, kind: d.test.kind, score: score, summary: set.descriptions[d.name], origin: d.origin,
                                 reported: !d.isSubRule && score != 0, test: test))
        }
        rules = compiled
        headerSelectors = selectors

        // 5. Meta order (Kahn's algorithm; the graph is acyclic now) and the rules each scan needs.
        var dependents: [Int: [Int]] = [:]
        var pending: [Int: Int] = [:]
        for (k, rule) in compiled.enumerated() {
            guard case .meta(let program) = rule.test else { continue }
            let metaRefs = program.references.filter { if case .meta = compiled[$0].test { return true } else { return false } }
            pending[k] = metaRefs.count
            for r in metaRefs { dependents[r, default: []].append(k) }
        }
        var ready = pending.filter { $0.value == 0 }.map(\.key).sorted(by: >)
        var order: [Int] = []
        while let k = ready.popLast() {
            order.append(k)
            for dependent in dependents[k] ?? [] {
                pending[dependent]! -= 1
                if pending[dependent] == 0 { ready.append(dependent) }
            }
        }
        var needed = compiled.map(\.reported)
        for k in order.reversed() where needed[k] {
            if case .meta(let program) = compiled[k].test { for r in program.references { needed[r] = true } }
        }
        metaOrder = order.filter { needed[$0] }
        evaluationOrder = compiled.indices.filter { k in
            if case .meta = compiled[k].test { return false }
            return needed[k]
        }
    }

    /// Parses a pack in our format and compiles it strictly: every problem, syntax or regex or
    /// meta, is thrown with its file:line.
    public init(pack bytes: [UInt8], file: String, limits: RuleLimits = .default, builtIns: Bool = true) throws(RulePackError) {
        let set = try RulePackParser.parse(bytes, file: file, limits: limits)
        try self.init(set, mode: .strict, limits: limits, builtIns: builtIns)
    }

    // MARK: Scanning

    /// Scans a message the MIME engine parsed from `raw`.
    public func scan(_ message: MIMEMessage, raw: [UInt8]) -> RuleScanResult {
        let view = MessageView(message: message, raw: raw, limits: limits)
        let scratch = PCRE2MatchScratch(limits: limits.pcre2Limits)
        var values = [Double](repeating: 0, count: rules.count)
        var evidence = [Int: String]()
        var failures: [RuleFailure] = []

        func run(_ regex: PCRE2Regex, _ subject: some Collection<UInt8>, valid: Bool) -> Result<Range<Int>?, PCRE2MatchError> {
            // Every subject here is an Array or an ArraySlice: contiguous.
            subject.withContiguousStorageIfAvailable { buffer in
                Result { () throws(PCRE2MatchError) in try regex.firstMatch(in: buffer, subjectIsValidUTF8: valid, scratch: scratch) }
            } ?? .success(nil)
        }
        func record(_ k: Int, _ result: Result<Range<Int>?, PCRE2MatchError>, in subject: some Collection<UInt8>) -> Bool {
            switch result {
            case .success(let range?):
                values[k] = 1
                if rules[k].reported { evidence[k] = RuleMatcher.evidence(subject, range, limit: limits.maxEvidenceBytes) }
                return true
            case .success(nil):
                return false
            case .failure(let error):
                failures.append(RuleFailure(rule: rules[k].name, error: error))
                return false
            }
        }

        for k in evaluationOrder {
            switch rules[k].test {
            case .header(let target, let regex, let negated, let ifUnset):
                let subject = view.header(headerSelectors[target], index: target)
                let bytes = subject?.bytes ?? ifUnset ?? []
                let valid = subject?.validUTF8 ?? true
                if negated {
                    switch run(regex, bytes, valid: valid) {
                    case .success(nil):
                        values[k] = 1
                        if rules[k].reported { evidence[k] = "no match in \(headerSelectors[target].text)" }
                    case .success: break
                    case .failure(let error): failures.append(RuleFailure(rule: rules[k].name, error: error))
                    }
                } else if subject != nil || ifUnset != nil {
                    _ = record(k, run(regex, bytes, valid: valid), in: bytes)
                }
            case .exists(let field, let name):
                if view.fieldExists(field) {
                    values[k] = 1
                    evidence[k] = name
                }
            case .body(let regex):
                _ = record(k, run(regex, view.body, valid: true), in: view.body)
            case .rawbody(let regex):
                _ = record(k, run(regex, view.rawbody, valid: true), in: view.rawbody)
            case .full(let regex):
                let full = view.full
                let valid = regex.options.contains(.utf) ? view.fullIsValidUTF8 : false
                _ = record(k, run(regex, full, valid: valid), in: full)
            case .uri(let regex):
                for uri in view.uris where record(k, run(regex, uri, valid: true), in: uri) { break }
            case .mime(let check, let regex):
                let (hit, text, failure) = check.evaluate(message, regex: regex, scratch: scratch)
                if let failure { failures.append(RuleFailure(rule: rules[k].name, error: failure)) }
                if hit {
                    values[k] = 1
                    evidence[k] = text.map { RuleMatcher.evidence(Array($0.utf8), 0..<$0.utf8.count, limit: limits.maxEvidenceBytes) }
                }
            case .meta:
                break
            }
        }

        var stack: [Double] = []
        for k in metaOrder {
            guard case .meta(let program) = rules[k].test else { continue }
            let value = values.withUnsafeBufferPointer { program.evaluate($0, stack: &stack) }
            if value != 0 {
                values[k] = 1
                if rules[k].reported {
                    evidence[k] = program.references.filter { values[$0] != 0 }.map { rules[$0].name }.joined(separator: ", ")
                }
            }
        }

        var hits: [RuleHit] = []
        var score = 0.0
        for (k, rule) in rules.enumerated() where rule.reported && values[k] != 0 {
            hits.append(RuleHit(name: rule.name, kind: rule.kind, score: rule.score, summary: rule.summary, evidence: evidence[k]))
            score += rule.score
        }
        return RuleScanResult(score: RuleScore.sum(score), hits: hits, failures: failures, truncated: view.truncations)
    }

    /// Parses `raw` with the MIME engine and scans it.
    public func scan(_ raw: [UInt8], parser: MIMEParser = MIMEParser()) -> RuleScanResult {
        scan(parser.parse(raw), raw: raw)
    }

    /// The matched text, cut at a character boundary, control characters shown as spaces.
    static func evidence(_ subject: some Collection<UInt8>, _ range: Range<Int>, limit: Int) -> String {
        let bytes = Array(subject.dropFirst(range.lowerBound).prefix(range.count))
        let cut = MessageView.cut(bytes[...], to: limit)
        var text = String(decoding: cut, as: UTF8.self)
        text = String(text.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : Character($0) })
        return cut.count < bytes.count ? text + "…" : text
    }
}
