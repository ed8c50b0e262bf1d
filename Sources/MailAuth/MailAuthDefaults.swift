// MailAuthDefaults.swift — every limit and default of sender authentication (SPF, DKIM, DMARC,
// Authentication-Results), in one place.
//
// Each limit is enforced where the data arrives and surfaces as a typed result or error (an SPF
// `permerror`, a DKIM `DKIMSignatureError`, a `MailAuthLimitError`), never as unbounded work. The
// doc comment of each says what attack or accident it stops. The SPF limits are the RFC's own and
// are not meant to be raised.

/// The built-in limits and defaults of sender authentication.
public enum MailAuthDefaults {
    // MARK: SPF (RFC 7208)

    /// Most mechanisms and modifiers that cause DNS queries (include, a, mx, ptr, exists, redirect)
    /// in one check_host() evaluation, recursion included (RFC 7208 §4.6.4: 10). Stops a record
    /// from turning one message into an amplification of DNS queries against a victim domain.
    public static let spfMaximumDNSMechanisms = 10
    /// Most "void" lookups (NXDOMAIN or no answer) in one evaluation (RFC 7208 §4.6.4: "SHOULD be
    /// limited to two"). Stops records that make receivers query random non-existent names.
    public static let spfMaximumVoidLookups = 2
    /// Most MX records an "mx" mechanism may yield before it is a permerror, and most PTR names a
    /// "ptr" mechanism or %{p} looks at (RFC 7208 §4.6.4: 10 each).
    public static let spfMaximumLookupsPerMechanism = 10
    /// Longest domain name after macro expansion (RFC 7208 §7.3: 253; longer ones lose labels on
    /// the left until they fit).
    public static let spfMaximumDomainLength = 253
    /// Longest SPF record accepted, in octets. DNS lets a TXT record hold ~64 KiB; a real SPF record
    /// is a few hundred octets (RFC 7208 §3.4 recommends fitting in 512-octet UDP answers). Stops
    /// parsing and evaluating a huge record.
    public static let spfMaximumRecordLength = 4_096
    /// Longest result of one macro expansion, in octets, before the §7.3 truncation of domains.
    /// `%{i}` of IPv6 is 63 octets and a local part at most 64, so only a record repeating macros
    /// reaches this; stops a small record from building megabytes of text.
    public static let spfMaximumExpansionLength = 8_192
    /// Longest explanation (exp=) text kept, in octets (RFC 7208 §6.2 gives it to the SMTP client).
    public static let spfMaximumExplanationLength = 512

    // MARK: DKIM (RFC 6376, RFC 8301, RFC 8463)

    /// Most DKIM-Signature fields verified in one message. Each costs a DNS query and a public-key
    /// operation; a message may carry hundreds of bogus signatures to waste both (RFC 6376 §8.4).
    /// Later signatures are reported as `neutral` ("not verified: too many signatures").
    public static let dkimMaximumSignatures = 8
    /// Smallest RSA key whose signatures may pass (RFC 8301 §3.2: verifiers MUST NOT consider
    /// signatures from keys of fewer than 1024 bits valid).
    public static let dkimMinimumRSAKeyBits = 1024
    /// Largest RSA key accepted. Verification cost grows with the modulus; RFC 8301 §3.2 requires
    /// keys up to 4096 bits to be verified. Keys beyond this are a permerror.
    public static let dkimMaximumRSAKeyBits = 8192
    /// Longest DKIM-Signature field value parsed, in octets. A real one is under 2 KiB even with a
    /// long h= and z= list.
    public static let dkimMaximumSignatureLength = 16_384
    /// Most header field names in one h= tag. Each is a search of the header block; stops a
    /// quadratic header selection.
    public static let dkimMaximumSignedHeaders = 256
    /// Longest key record (TXT at selector._domainkey.domain) parsed, in octets.
    public static let dkimMaximumKeyRecordLength = 8_192
    /// Seconds of clock difference tolerated when checking x= (RFC 6376 §3.5 allows "some
    /// leeway"). A signature is expired when x= + leeway is before now.
    public static let dkimExpiryLeewaySeconds: Int64 = 300

    // MARK: ARC (RFC 8617)

    /// Most ARC Sets in a chain (RFC 8617 §4.2.1: instance values are 1 to 50). A chain longer than
    /// this fails; it bounds the seals verified (a DNS query and a public-key operation each).
    public static let arcMaximumInstances = 50

    // MARK: Messages

    /// Most header fields read from one message. Stops a header of a million one-letter fields from
    /// making every h= lookup and canonicalization slow (MIME's limit is the same).
    public static let maximumHeaderFields = 1_000
    /// Most octets of header read from one message (MIME's limit is the same).
    public static let maximumHeaderBytes = 102_400

    // MARK: DMARC (RFC 7489)

    /// Longest DMARC record parsed, in octets.
    public static let dmarcMaximumRecordLength = 4_096
    /// Most distinct author domains evaluated for one message (several From fields or a From with
    /// several addresses, RFC 7489 §6.6.1). Each costs up to two DNS queries.
    public static let dmarcMaximumAuthorDomains = 4
    /// Where Debian's `publicsuffix` package puts the Public Suffix List.
    public static let publicSuffixListPath = "/usr/share/publicsuffix/public_suffix_list.dat"
    /// Largest Public Suffix List file read, in octets (the list is about 300 KiB).
    public static let publicSuffixListMaximumSize = 8 * 1024 * 1024

    // MARK: Authentication-Results (RFC 8601)

    /// Longest reason or comment text put in a rendered Authentication-Results field; longer text
    /// is cut. Keeps the header small and DNS-provided text (SPF explanations) short.
    public static let authResultsMaximumCommentLength = 200
    /// How many characters of a DKIM b= tag go into header.b (RFC 6008 §4: at least 8).
    public static let authResultsSignaturePrefixLength = 8
}
