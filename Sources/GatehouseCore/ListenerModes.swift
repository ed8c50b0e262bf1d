// ListenerModes.swift — how a listener treats TLS and authentication (DESIGN.md §6).

/// TLS on a listener.
public enum TLSMode: String, Hashable, Sendable, CaseIterable {
    /// Plain text only; STARTTLS not offered.
    case none
    /// STARTTLS offered (RFC 3207); clients may stay in plain text.
    case starttls
    /// STARTTLS offered and required before any mail transaction or AUTH.
    case starttlsRequired = "starttls_required"
    /// TLS from the first byte (RFC 8314 §3, port 465).
    case implicit
}

/// Authentication on a listener. AUTH is only ever offered and accepted inside TLS.
public enum AuthMode: String, Hashable, Sendable, CaseIterable {
    case off
    /// Offered; clients may send without it (and are then judged by address).
    case optional
    /// Required before MAIL.
    case required
}
