// AntiVirusDefaults.swift — every limit and default of the anti-virus connector, in one place.
//
// Each limit is enforced where the data arrives or leaves and surfaces as a typed error or a
// verdict (`ClamdReplyError`, `ClamdClientError`, `AntiVirusVerdict.error`), never as unbounded
// growth or an unbounded wait. The doc comment of each says what attack or accident it stops.

/// The built-in limits and defaults of the clamd client.
public enum AntiVirusDefaults {
    // MARK: Where clamd listens

    /// clamd's TCP port when none is given (clamd.conf(5) `TCPSocket`; the IANA-registered port).
    public static let port = 3310

    // MARK: The stream (clamd(8) INSTREAM)

    /// Largest chunk of message data sent in one INSTREAM frame, in octets. clamd reads each frame
    /// as it comes (the four-octet length allows up to 4 GiB); 64 KiB keeps one frame to one or two
    /// socket writes and the framing overhead under 0.01 %.
    public static let chunkSize = 64 * 1024

    /// Largest message streamed, in octets; a larger one is not sent and is `.error` ("too large"),
    /// which the policy maps to its unscannable action. Must not exceed clamd's `StreamMaxLength`
    /// (clamd.conf(5); 100M compiled in, 25M in Debian's packaged clamd.conf, whose value this is):
    /// past that clamd answers `INSTREAM size limit exceeded. ERROR` after reading the whole limit.
    /// Checking here first saves streaming 25 MiB to learn it. Note that the node's message size
    /// limit (`Defaults.messageSize`, 50 MiB) is larger: raise both this and clamd's limit to scan
    /// every message the node accepts.
    public static let maximumStreamSize = 25 * 1024 * 1024

    // MARK: Replies

    /// Longest reply read before its NUL terminator, in octets. Real replies are short: `PONG`,
    /// `ClamAV 1.4.6/27000/Mon Nov 23 09:00:00 2026`, `stream: <signature> FOUND` (signature names
    /// are well under 200 octets, 300 with `ExtendedDetectionInfo`'s hash and size). Stops a wrong
    /// peer (a web server, a tar pit) on clamd's port from growing memory without bound.
    public static let maximumReplyLength = 1024

    // MARK: Timeouts

    /// Seconds to wait for the connection to clamd (TCP handshake or unix socket). A scanner on the
    /// same host or LAN answers in milliseconds; a longer wait only delays the tempfail.
    public static let connectTimeoutSeconds = 5
    /// Seconds one chunk may take to be written (the socket stays full that long). Stops a peer that
    /// accepts and never reads from holding the SMTP session. clamd's own `ReadTimeout` is 120 s.
    public static let writeTimeoutSeconds = 30
    /// Seconds to wait for the verdict once the whole message is sent: clamd scans then, archives
    /// and all. A little above clamd's `MaxScanTime` (120 s compiled in), so that clamd's own limit
    /// answers first; well below the 10 minutes an SMTP client waits for the reply to the end of
    /// data (RFC 5321 §4.5.3.2.6), so the session can still be answered with a tempfail.
    public static let replyTimeoutSeconds = 130
}
