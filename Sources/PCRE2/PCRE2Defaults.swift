// PCRE2Defaults.swift — every bound of the regular-expression wrapper, in one place.
//
// What it does: `PCRE2Limits` carries the compile-time and match-time bounds that `PCRE2Regex`
// and `PCRE2MatchScratch` pass to PCRE2; `PCRE2Limits.default` holds the defaults. Nothing else in
// the target hard-codes a limit.
//
// Diagnostics: a compile-time bound is reported as a `PCRE2CompileError` (PCRE2's own message); a
// match-time bound as a `PCRE2MatchError` (`.matchLimit`, `.depthLimit`, `.heapLimit`, `.jitStackLimit`).
//
// Security notes: rule patterns come from administrators and from third-party rule files, and
// subjects come from hostile senders. A pattern such as `^(a+)+$` against "aaaa…b" backtracks
// exponentially; without these bounds one message could hold a scanning thread for hours
// (ReDoS). Each bound below names what it stops. See pcre2api(3), "The match context", and
// pcre2jit(3), "Controlling the JIT stack".

/// The bounds of compiling and matching. Use `PCRE2Limits.default` unless a policy says otherwise.
public struct PCRE2Limits: Sendable, Hashable {
    /// Longest pattern, in bytes (`pcre2_set_max_pattern_length`).
    ///
    /// Stops: memory and compile-time exhaustion by a multi-megabyte pattern in a rule file.
    public var maxPatternLength: Int = 16_384

    /// Deepest nesting of parentheses in a pattern (`pcre2_set_parens_nest_limit`, PCRE2's default 250).
    ///
    /// Stops: compile-time stack exhaustion by "((((((…".
    public var maxParenthesesNesting: UInt32 = 250

    /// Most backtracking steps of one match call, all start positions together
    /// (`pcre2_set_match_limit`; PCRE2's default is 10,000,000). Applies to JIT and interpreter alike.
    ///
    /// Stops: catastrophic backtracking (ReDoS). A match that reaches it fails with
    /// `PCRE2MatchError.matchLimit` and the rule is reported as not evaluated, not as a miss.
    public var matchLimit: UInt32 = 5_000_000

    /// Deepest backtracking of the interpreter (`pcre2_set_depth_limit`; JIT ignores it and is
    /// bounded by `jitStackMaximumBytes` instead).
    ///
    /// Stops: memory exhaustion by deeply nested backtracking, e.g. `(a|b)*` over a long subject.
    public var depthLimit: UInt32 = 100_000

    /// Most heap the interpreter may use for backtracking frames, in KiB (`pcre2_set_heap_limit`;
    /// PCRE2's default 20,000,000 KiB is effectively unbounded).
    ///
    /// Stops: one match allocating gigabytes.
    public var heapLimitKiB: UInt32 = 20_480

    /// Initial and largest JIT stack of one `PCRE2MatchScratch` (`pcre2_jit_stack_create`).
    /// PCRE2's built-in JIT stack is 32 KiB on the machine stack, which some long alternations exhaust.
    ///
    /// Stops: memory exhaustion by JIT recursion; reaching it is `PCRE2MatchError.jitStackLimit`.
    public var jitStackStartBytes: Int = 32 * 1024
    public var jitStackMaximumBytes: Int = 1024 * 1024

    public init() {}

    /// The defaults.
    public static let `default` = PCRE2Limits()
}
