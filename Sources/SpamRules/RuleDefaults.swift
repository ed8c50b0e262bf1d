// RuleDefaults.swift — every limit of the rule engine, in one place.
//
// What it does: `RuleLimits` carries each bound the rule readers, the compiler and the matcher
// respect; `RuleLimits.default` holds the defaults. Nothing else in the target hard-codes a limit.
//
// Diagnostics: a limit reached while reading or compiling rules is a `RuleDiagnostic` (an error
// for our pack format, a skipped rule for SpamAssassin files); a limit reached while scanning a
// message is recorded in `RuleScanResult` (`truncated`, `failures`), never thrown.
//
// Security notes: rule files may come from third parties and messages from anyone. Every limit
// names the attack it stops. The scan sizes follow SpamAssassin 4.0's `body_part_scan_size` and
// `rawbody_part_scan_size` (Mail::SpamAssassin::Conf), so SpamAssassin's rules see what they were
// tuned on; text past them is recorded as truncated, so padding a payload past the cap is visible.
public import PCRE2

/// The bounds of reading, compiling and matching rules. Use `RuleLimits.default` unless a policy says otherwise.
public struct RuleLimits: Sendable, Hashable {
    // MARK: Reading

    /// Largest rule file read, in bytes.
    ///
    /// Stops: memory exhaustion by a huge (or endless) rule file. SpamAssassin's largest shipped
    /// file (72_active.cf) is about 400 KB.
    public var maxRuleFileBytes: Int = 16 * 1024 * 1024

    /// Longest line of a rule file, in bytes.
    ///
    /// Stops: quadratic work and memory use on a single multi-megabyte line.
    public var maxLineLength: Int = 64 * 1024

    /// Most rules in one rule set (every kind, sub-rules included).
    ///
    /// Stops: a rule set so large that every message takes seconds; SpamAssassin's full set has
    /// about 3,000 rules.
    public var maxRules: Int = 20_000

    /// Longest rule name.
    public var maxNameLength: Int = 128

    /// Longest regular expression, in bytes (also passed to PCRE2 as its pattern-length limit).
    ///
    /// Stops: compile-time and memory exhaustion by giant patterns (SpamAssassin's longest is about 4 KB).
    public var maxPatternLength: Int = 16_384

    /// Deepest nesting of parentheses and unary operators in a meta expression.
    ///
    /// Stops: stack exhaustion of the (recursive-descent) meta parser by "((((((…".
    public var maxMetaDepth: Int = 64

    /// Most operands and operators in one meta expression.
    ///
    /// Stops: time exhaustion by a meta of millions of terms evaluated on every message.
    public var maxMetaTerms: Int = 4_096

    /// Deepest nesting of `if`/`ifplugin` blocks in a SpamAssassin file.
    public var maxConditionalDepth: Int = 64

    // MARK: Scanning (per message)

    /// Most bytes of one text part's visible text given to body rules
    /// (SpamAssassin 4.0 `body_part_scan_size`, 50,000).
    ///
    /// Stops: time exhaustion by a huge text part: every body rule scans the whole body.
    public var maxBodyBytesPerPart: Int = 50_000

    /// Most bytes of one text part's decoded source given to rawbody rules
    /// (SpamAssassin 4.0 `rawbody_part_scan_size`, 500,000).
    public var maxRawBodyBytesPerPart: Int = 500_000

    /// Most bytes of body text (all parts together) given to body rules, and the same for rawbody rules.
    ///
    /// Stops: a message of thousands of small text parts multiplying the per-part caps.
    public var maxBodyBytes: Int = 1_000_000

    /// Most bytes of the raw message given to full rules (spamc's default `--max-size` is 500 KB).
    public var maxFullBytes: Int = 512_000

    /// Most bytes of one header subject (all instances of a field, or ALL).
    ///
    /// Stops: time exhaustion by many or long header fields (the MIME engine caps the header at
    /// `MIMELimits.maxHeaderBytes` too).
    public var maxHeaderSubjectBytes: Int = 256 * 1024

    /// Most URLs given to uri rules (each uri rule runs once per URL).
    ///
    /// Stops: time exhaustion by a body of nothing but links (uri rules × URLs matches).
    public var maxURIs: Int = 1_000

    /// Longest evidence (matched text) kept per hit, in bytes; longer matches are cut at a
    /// character boundary and marked with "…".
    ///
    /// Stops: a verdict trace holding megabytes of message text (evidence is message content:
    /// log it only in decision traces, never in the normal log).
    public var maxEvidenceBytes: Int = 120

    /// Bounds of each regular-expression compile and match (catastrophic backtracking, JIT stack).
    public var regex = PCRE2Limits.default

    public init() {}

    /// The defaults.
    public static let `default` = RuleLimits()

    /// The PCRE2 limits with this rule set's pattern-length bound.
    var pcre2Limits: PCRE2Limits {
        var limits = regex
        limits.maxPatternLength = maxPatternLength
        return limits
    }
}
