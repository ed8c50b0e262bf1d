// PCRE2Regex.swift — a compiled Perl-compatible regular expression (PCRE2, 8-bit), safe to share.
//
// What it does: compiles a pattern (bytes, so that rule files in any charset can be read) with
// PCRE2 options or Perl `/…/imsx` modifiers, JIT-compiles it (pcre2_jit_compile, falling back to
// the interpreter where JIT is unavailable or refuses the pattern), and finds the first match in
// a subject under the bounds of `PCRE2Limits`. See pcre2api(3), pcre2jit(3), pcre2unicode(3).
//
// UTF-8: a pattern is compiled in UTF mode only when asked (`.utf`). PCRE2 must then be told
// whether the subject is valid UTF-8: a subject the caller has validated (every Swift String is)
// is matched with PCRE2_NO_UTF_CHECK; any other subject is matched by a second compilation of
// the same pattern with PCRE2_MATCH_INVALID_UTF, under which invalid sequences are barriers that
// no match crosses (pcre2unicode(3), "Matching in invalid UTF strings"). Patterns without `.utf`
// match bytes and need no check at all.
//
// Diagnostics: `PCRE2CompileError` with the offset and PCRE2's message; `PCRE2MatchError` for a
// match that hit a bound. A pattern that JIT refuses is still usable (`isJITCompiled` is false).
//
// Security notes: compiled code is immutable after `init` (JIT compilation happens there), so
// the value is Sendable and shared by every thread; all per-match state (match data, match
// context, JIT stack) lives in a `PCRE2MatchScratch` owned by one caller at a time.
internal import CPCRE2

/// A compiled regular expression. Immutable and thread-safe.
public struct PCRE2Regex: Sendable {
    /// Compile options (a subset of PCRE2's, named as Perl names them).
    public struct Options: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// `/i`: case-insensitive (ASCII only unless `.utf` and `.ucp`).
        public static let caseless = Options(rawValue: 1 << 0)
        /// `/m`: `^` and `$` match at line breaks.
        public static let multiline = Options(rawValue: 1 << 1)
        /// `/s`: `.` matches a line break too.
        public static let dotAll = Options(rawValue: 1 << 2)
        /// `/x`: white space and `#` comments in the pattern are ignored.
        public static let extended = Options(rawValue: 1 << 3)
        /// `/xx`: as `/x`, and white space inside character classes too.
        public static let extendedMore = Options(rawValue: 1 << 4)
        /// `/n`: plain parentheses do not capture.
        public static let noAutoCapture = Options(rawValue: 1 << 5)
        /// UTF-8 mode: the pattern and subjects are characters, not bytes.
        public static let utf = Options(rawValue: 1 << 6)
        /// Unicode properties for `\w`, `\d`, `\b` and case folding (with `.utf`).
        public static let ucp = Options(rawValue: 1 << 7)

        /// The PCRE2 compile flags. `\C` (one byte in UTF mode, which can split a character) is
        /// always refused.
        var pcre2Flags: UInt32 {
            var flags: UInt32 = PCRE2_NEVER_BACKSLASH_C
            if contains(.caseless) { flags |= PCRE2_CASELESS }
            if contains(.multiline) { flags |= PCRE2_MULTILINE }
            if contains(.dotAll) { flags |= PCRE2_DOTALL }
            if contains(.extended) { flags |= PCRE2_EXTENDED }
            if contains(.extendedMore) { flags |= PCRE2_EXTENDED_MORE }
            if contains(.noAutoCapture) { flags |= PCRE2_NO_AUTO_CAPTURE }
            if contains(.utf) { flags |= PCRE2_UTF }
            if contains(.ucp) { flags |= PCRE2_UCP }
            return flags
        }
    }

    /// The pattern as given (without Perl delimiters).
    public let pattern: [UInt8]
    public let options: Options
    private let code: CompiledCode
    /// For UTF patterns: the same pattern compiled with PCRE2_MATCH_INVALID_UTF, for subjects
    /// that are not known to be valid UTF-8.
    private let tolerantCode: CompiledCode?

    /// Whether matching runs JIT-compiled machine code (false: PCRE2's interpreter).
    public var isJITCompiled: Bool { code.isJIT }

    /// Number of capturing groups.
    public var captureCount: Int { code.captureCount }

    /// Whether this PCRE2 build has JIT support on this machine.
    public static let isJITAvailable: Bool = {
        var available: UInt32 = 0
        return pcre2_config_8(UInt32(PCRE2_CONFIG_JIT), &available) >= 0 && available == 1
    }()

    /// Compiles `pattern` (bytes; UTF-8 if `options` has `.utf`).
    /// - Parameter jit: JIT-compile if PCRE2 can (set false to measure or debug the interpreter).
    public init(_ pattern: some Collection<UInt8>, options: Options = [], jit: Bool = true, limits: PCRE2Limits = .default) throws(PCRE2CompileError) {
        self.pattern = Array(pattern)
        self.options = options
        code = try CompiledCode(self.pattern, flags: options.pcre2Flags, jit: jit, limits: limits)
        if options.contains(.utf) {
            tolerantCode = try CompiledCode(self.pattern, flags: options.pcre2Flags | PCRE2_MATCH_INVALID_UTF, jit: jit, limits: limits)
        } else {
            tolerantCode = nil
        }
    }

    /// Compiles a pattern given as a String (UTF-8 bytes).
    public init(_ pattern: String, options: Options = [], jit: Bool = true, limits: PCRE2Limits = .default) throws(PCRE2CompileError) {
        try self.init(Array(pattern.utf8), options: options, jit: jit, limits: limits)
    }

    /// Compiles a Perl regular-expression literal: `/re/imsx`, `m{re}i`, `m!re!`, … (see `PerlRegexLiteral`).
    public init(perlLiteral: some Collection<UInt8>, extraOptions: Options = [], jit: Bool = true, limits: PCRE2Limits = .default) throws(PCRE2CompileError) {
        let literal: PerlRegexLiteral
        do {
            literal = try PerlRegexLiteral(perlLiteral)
        } catch {
            throw PCRE2CompileError(code: 0, offset: error.offset, message: error.description)
        }
        try self.init(literal.pattern, options: literal.options.union(extraOptions), jit: jit, limits: limits)
    }

    /// The first match in `subject` at or after `start`, as a byte range, or nil if there is none.
    ///
    /// - Parameter subjectIsValidUTF8: true only if the caller has validated the subject (or it
    ///   comes from a Swift String). Ignored for byte patterns.
    /// - Throws: `PCRE2MatchError` when a bound of `scratch.limits` is reached.
    public func firstMatch(in subject: UnsafeBufferPointer<UInt8>, from start: Int = 0, subjectIsValidUTF8: Bool, scratch: PCRE2MatchScratch) throws(PCRE2MatchError) -> Range<Int>? {
        precondition(start >= 0 && start <= subject.count, "start outside the subject")
        var matchOptions: UInt32 = 0
        var compiled = code
        if let tolerantCode {
            if subjectIsValidUTF8 { matchOptions |= PCRE2_NO_UTF_CHECK } else { compiled = tolerantCode }
        }
        let rc: Int32
        if let base = subject.baseAddress {
            rc = pcre2_match_8(compiled.pointer, base, subject.count, start, matchOptions, scratch.matchData, scratch.context)
        } else {
            // PCRE2 10.42 wants a non-null subject even when it is empty.
            var empty: UInt8 = 0
            rc = pcre2_match_8(compiled.pointer, &empty, 0, 0, matchOptions, scratch.matchData, scratch.context)
        }
        if rc >= 0 || rc == PCRE2_ERROR_PARTIAL {
            let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
            let lower = ovector[0], upper = ovector[1]
            // \K in a lookahead can put the start after the end (pcre2api(3)); report an empty range.
            return lower <= upper ? lower..<upper : upper..<upper
        }
        if rc == PCRE2_ERROR_NOMATCH { return nil }
        throw PCRE2Regex.matchError(rc, scratch: scratch)
    }

    /// Whether `subject` matches.
    public func matches(_ subject: UnsafeBufferPointer<UInt8>, subjectIsValidUTF8: Bool, scratch: PCRE2MatchScratch) throws(PCRE2MatchError) -> Bool {
        try firstMatch(in: subject, subjectIsValidUTF8: subjectIsValidUTF8, scratch: scratch) != nil
    }

    /// The first match in a String (always valid UTF-8), as a UTF-8 byte range.
    public func firstMatch(in subject: String, scratch: PCRE2MatchScratch? = nil) throws(PCRE2MatchError) -> Range<Int>? {
        let scratch = scratch ?? PCRE2MatchScratch()
        var subject = subject
        let result = subject.withUTF8 { buffer in
            Result { () throws(PCRE2MatchError) in try firstMatch(in: buffer, subjectIsValidUTF8: true, scratch: scratch) }
        }
        return try result.get()
    }

    /// The first match in bytes of unknown validity (validated here if the pattern is UTF).
    public func firstMatch(in subject: [UInt8], scratch: PCRE2MatchScratch? = nil) throws(PCRE2MatchError) -> Range<Int>? {
        let scratch = scratch ?? PCRE2MatchScratch()
        let valid = tolerantCode != nil && PCRE2Regex.isValidUTF8(subject)
        let result = subject.withUnsafeBufferPointer { buffer in
            Result { () throws(PCRE2MatchError) in try firstMatch(in: buffer, subjectIsValidUTF8: valid, scratch: scratch) }
        }
        return try result.get()
    }

    /// Whether `bytes` are valid UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
    public static func isValidUTF8(_ bytes: some Collection<UInt8>) -> Bool {
        // String(validating:) applies exactly RFC 3629's rules.
        String(validating: bytes, as: UTF8.self) != nil
    }

    private static func matchError(_ rc: Int32, scratch: PCRE2MatchScratch) -> PCRE2MatchError {
        switch rc {
        case PCRE2_ERROR_MATCHLIMIT: return .matchLimit(limit: scratch.limits.matchLimit)
        case PCRE2_ERROR_DEPTHLIMIT: return .depthLimit(limit: scratch.limits.depthLimit)
        case PCRE2_ERROR_HEAPLIMIT: return .heapLimit(limitKiB: scratch.limits.heapLimitKiB)
        case PCRE2_ERROR_JIT_STACKLIMIT: return .jitStackLimit(limitBytes: scratch.limits.jitStackMaximumBytes)
        case PCRE2_ERROR_UTF8_ERR21...PCRE2_ERROR_UTF8_ERR1:
            return .invalidUTF8(code: rc, offset: Int(pcre2_get_startchar_8(scratch.matchData)))
        default: return .failed(code: rc, message: message(for: rc))
        }
    }
}

/// One pcre2_code, freed with its owner. Never mutated after init (JIT compilation included),
/// which PCRE2 documents as safe to use from several threads at once (pcre2api(3), "Multithreading").
private final class CompiledCode: @unchecked Sendable {
    let pointer: OpaquePointer
    let isJIT: Bool
    let captureCount: Int

    init(_ pattern: [UInt8], flags: UInt32, jit: Bool, limits: PCRE2Limits) throws(PCRE2CompileError) {
        guard let context = pcre2_compile_context_create_8(nil) else {
            throw PCRE2CompileError(code: PCRE2_ERROR_NOMEMORY, offset: 0, message: "out of memory")
        }
        defer { pcre2_compile_context_free_8(context) }
        pcre2_set_max_pattern_length_8(context, limits.maxPatternLength)
        pcre2_set_parens_nest_limit_8(context, limits.maxParenthesesNesting)
        var errorCode: Int32 = 0
        var errorOffset = 0
        let compiled: OpaquePointer? = pattern.withUnsafeBufferPointer { buffer in
            // A zero-length pattern still needs a non-null pointer.
            let base = buffer.baseAddress ?? UnsafePointer<UInt8>(bitPattern: 1)!
            return pcre2_compile_8(base, buffer.count, flags, &errorCode, &errorOffset, context)
        }
        guard let compiled else {
            throw PCRE2CompileError(code: errorCode, offset: errorOffset, message: PCRE2Regex.message(for: errorCode))
        }
        pointer = compiled
        isJIT = jit && PCRE2Regex.isJITAvailable && pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE) == 0
        var count: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        captureCount = Int(count)
    }

    deinit { pcre2_code_free_8(pointer) }
}
