// PCRE2MatchScratch.swift — the per-caller state of matching: match data, match context with the
// limits, and a JIT stack.
//
// What it does: holds what pcre2_match needs besides the compiled pattern, so that one scratch
// serves every rule of one message scan (creating match data and a JIT stack per call would cost
// more than many matches). See pcre2api(3) "The match context" and pcre2jit(3) "Controlling the JIT stack".
//
// Security notes: a JIT stack must never be used by two threads at once, so a scratch is not
// Sendable: each scan (each task) makes its own. The limits set here are what bound catastrophic
// backtracking (`PCRE2Limits`).
internal import CPCRE2

/// Match state for one caller at a time. Not Sendable: make one per task (one per message scan).
public final class PCRE2MatchScratch {
    public let limits: PCRE2Limits
    let matchData: OpaquePointer
    let context: OpaquePointer
    private let jitStack: OpaquePointer?

    public init(limits: PCRE2Limits = .default) {
        self.limits = limits
        // One ovector pair: only the whole match (group 0) is reported.
        guard let data = pcre2_match_data_create_8(1, nil), let context = pcre2_match_context_create_8(nil) else {
            fatalError("PCRE2: out of memory creating match data")
        }
        matchData = data
        self.context = context
        pcre2_set_match_limit_8(context, limits.matchLimit)
        pcre2_set_depth_limit_8(context, limits.depthLimit)
        pcre2_set_heap_limit_8(context, limits.heapLimitKiB)
        if PCRE2Regex.isJITAvailable {
            jitStack = pcre2_jit_stack_create_8(limits.jitStackStartBytes, limits.jitStackMaximumBytes, nil)
            if let jitStack { pcre2_jit_stack_assign_8(context, nil, UnsafeMutableRawPointer(jitStack)) }
        } else {
            jitStack = nil
        }
    }

    deinit {
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        pcre2_match_context_free_8(context)
        pcre2_match_data_free_8(matchData)
    }
}

@available(*, unavailable, message: "a scratch (its JIT stack) is used by one task at a time; make one per task")
extension PCRE2MatchScratch: Sendable {}
