// PCRE2Error.swift — the typed errors of the regular-expression wrapper.
//
// What it does: `PCRE2CompileError` is a pattern PCRE2 refused (with the offset and PCRE2's own
// message, as pcre2_get_error_message gives it); `PCRE2MatchError` is a match that could not be
// completed (a limit of `PCRE2Limits`, invalid UTF-8, memory).
//
// Diagnostics: both print as one line fit for an administrator ("offset 7: missing closing parenthesis").
// Security notes: a match error is not a miss. Callers must report it (a rule that could not be
// evaluated on a message is itself a signal; a sender who can make a rule time out must not thereby
// make it pass silently).
internal import CPCRE2

/// A pattern PCRE2 could not compile.
public struct PCRE2CompileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// PCRE2's error code (positive for compile errors, see pcre2api(3) "Compile errors").
    public var code: Int32
    /// Byte offset in the pattern where the error was found.
    public var offset: Int
    /// PCRE2's message.
    public var message: String

    public init(code: Int32, offset: Int, message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "offset \(offset): \(message)" }
}

/// A match that could not be completed. The subject was neither matched nor found not to match.
public enum PCRE2MatchError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `PCRE2Limits.matchLimit` reached: catastrophic backtracking.
    case matchLimit(limit: UInt32)
    /// `PCRE2Limits.depthLimit` reached (interpreter only).
    case depthLimit(limit: UInt32)
    /// `PCRE2Limits.heapLimitKiB` reached (interpreter only).
    case heapLimit(limitKiB: UInt32)
    /// The JIT stack (`PCRE2Limits.jitStackMaximumBytes`) was exhausted.
    case jitStackLimit(limitBytes: Int)
    /// The subject is not valid UTF-8 for a UTF pattern (only if the caller said it was valid).
    case invalidUTF8(code: Int32, offset: Int)
    /// Any other PCRE2 match error (out of memory, internal error).
    case failed(code: Int32, message: String)

    public var description: String {
        switch self {
        case .matchLimit(let l): return "match limit reached (\(l) steps): catastrophic backtracking"
        case .depthLimit(let l): return "backtracking depth limit reached (\(l))"
        case .heapLimit(let l): return "backtracking heap limit reached (\(l) KiB)"
        case .jitStackLimit(let l): return "JIT stack limit reached (\(l) bytes)"
        case .invalidUTF8(let c, let o): return "invalid UTF-8 in subject at offset \(o): \(PCRE2Regex.message(for: c))"
        case .failed(let c, let m): return "match failed (\(c)): \(m)"
        }
    }
}

extension PCRE2Regex {
    /// PCRE2's text for an error code.
    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBufferPointer { pcre2_get_error_message_8(code, $0.baseAddress, $0.count) }
        return n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "PCRE2 error \(code)"
    }
}
