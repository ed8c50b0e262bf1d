// Defaults.swift — every limit of the mail path and its default, in one place.
//
// Each limit is enforced where the data arrives and surfaces as a typed error or a reply, never as
// unbounded growth. The doc comment of each says what attack or accident it stops.

/// The built-in defaults. Configuration may override most of them per listener.
public enum Defaults {
    /// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4 says 512). Stops memory growth
    /// from endless lines before a CRLF arrives.
    public static let commandLineLength = 512
    /// Longest line of message text, CRLF included (RFC 5321 §4.5.3.1.6 says 1000). A longer line
    /// refuses the message: we never rewrap content silently.
    public static let textLineLength = 1000
    /// Longest AUTH exchange line (RFC 4954 §4 allows 12288 octets for SASL).
    public static let authLineLength = 12_288
    /// Largest message (the SIZE extension, RFC 1870), enforced while the data streams.
    public static let messageSize = 50 * 1024 * 1024
    /// Most recipients in one transaction (RFC 5321 §4.5.3.1.8 requires at least 100).
    public static let recipientsPerMessage = 100
    /// Most sessions a listener holds at once; more are answered 421 and closed.
    public static let sessionsPerListener = 1_000
    /// Most concurrent sessions from one client address.
    public static let sessionsPerClient = 50
    /// Most new connections from one client address per minute.
    public static let connectionsPerMinutePerClient = 600
    /// Most messages from one client address per minute.
    public static let messagesPerMinutePerClient = 6_000
    /// Seconds to wait for a command (RFC 5321 §4.5.3.2.7 says at least 5 minutes).
    public static let commandTimeoutSeconds = 300
    /// Seconds to wait for the next chunk of message data (RFC 5321 §4.5.3.2.6 wants 3 minutes of
    /// patience per chunk, 10 minutes for the final dot).
    public static let dataTimeoutSeconds = 600
    /// Errors (4xx/5xx replies to commands) before the session is dropped: stops dictionary and
    /// address-harvesting loops.
    public static let errorsBeforeDisconnect = 10
    /// Failed AUTH attempts before the session is dropped.
    public static let authFailuresBeforeDisconnect = 3
    /// Free disk space under which new mail is tempfailed at MAIL (452 4.3.1), so that a 250 is
    /// never given for a message the disk cannot hold.
    public static let minimumFreeSpace: Int64 = 100 * 1024 * 1024
    /// Bytes of message data buffered in memory per session before they are written to the spool
    /// file. Bounds memory per session whatever the message size.
    public static let spoolWriteChunk = 256 * 1024
    /// Size at which a segment file of the spool (small messages being delivered, many to a file)
    /// is closed to new records and a new one begun.
    public static let segmentBytes: Int64 = 64 * 1024 * 1024
    /// Longest ESMTP parameter value (ENVID/ORCPT are at most 100 and 500 octets: RFC 3461 §4.4, §4.2).
    public static let parameterLength = 500
    /// Longest address path (RFC 5321 §4.5.3.1.3: 256 octets).
    public static let pathLength = 256
    /// Longest local part (RFC 5321 §4.5.3.1.1: 64 octets). Longer ones are accepted for
    /// interoperability but counted towards `pathLength`.
    public static let localPartLength = 64
    /// Longest domain (RFC 5321 §4.5.3.1.2: 255 octets).
    public static let domainLength = 255
    /// Longest PROXY protocol header (v1: 107 octets; v2: 16 + 65535, we take 536 as HAProxy does
    /// for the address block plus a small TLV area).
    public static let proxyHeaderLength = 16 + 1024

    /// The queue manager and the SMTP client (Postfix's names in brackets).
    public enum Delivery {
        /// Deliveries in parallel over all destinations (default_process_limit).
        public static let concurrency = 100
        /// Deliveries in parallel to one destination (default_destination_concurrency_limit).
        public static let destinationConcurrency = 20
        /// Seconds an idle SMTP connection waits for the next message (smtp_connection_cache_time_limit).
        public static let connectionCache = 2.0
        /// Messages read into the active set at most (qmgr_message_active_limit); bounds memory.
        public static let activeLimit = 10_000
        /// First retry of a deferred message, seconds (minimal_backoff_time).
        public static let minimumBackoff = 300.0
        /// Longest interval between retries, seconds (maximal_backoff_time).
        public static let maximumBackoff = 3_600.0
        /// Seconds before the bookkeeping of a finished attempt is tried again when the disk
        /// refused it (a message from a segment that must become a queue file of its own).
        public static let settleRetry = 30.0
        /// After this long in the queue a message bounces, seconds (maximal_queue_lifetime: 5 days).
        public static let queueLifetime = 5.0 * 86_400
        /// Delay notice after this long, seconds; 0 = never (delay_warning_time).
        public static let delayWarning = 0.0
        /// RFC 5321 §4.5.3.2 timeouts, seconds.
        public static let connectTimeout = 30.0
        public static let greetingTimeout = 300.0
        public static let heloTimeout = 300.0
        public static let mailTimeout = 300.0
        public static let rcptTimeout = 300.0
        public static let dataInitiationTimeout = 120.0
        public static let dataBlockTimeout = 180.0
        public static let dataTerminationTimeout = 600.0
        /// DNS: seconds per try and tries per name server (resolv.conf's timeout and attempts).
        public static let dnsTimeout = 5.0
        public static let dnsAttempts = 2
        /// Addresses tried per delivery attempt over all next hops (smtp_mx_address_limit).
        public static let addressesPerAttempt = 5
        /// Longest reply line accepted from a next hop (line_length_limit); RFC 5321 says 512.
        public static let replyLineLength = 4_096
        /// Most lines in one multi-line reply.
        public static let replyLines = 100
        /// Messages sent over one connection before it is closed (smtp_connection_reuse_count_limit).
        public static let messagesPerConnection = 100
        /// Bytes of message content held by the active set at most; bounds memory with big messages.
        public static let activeBytes = 256 << 20
        /// Recipients sent in one transaction (default_destination_recipient_limit).
        public static let recipientsPerJob = 50
        /// How often incoming/ is scanned for messages nobody announced (seconds).
        public static let incomingScanInterval = 1.0
        /// Seconds a stopping gateway waits for delivery workers to close their connections.
        public static let stopGrace = 3.0
        /// Largest original returned whole in a bounce (RET=FULL); larger ones return headers only.
        public static let bounceReturnSize = 1 << 20
    }

    /// The scanning done in the session.
    public enum Scanning {
        /// Link domains asked of URI blocklists per message.
        public static let uriblDomains = 20
        /// Bytes of message data that all sessions together may hold in memory awaiting their
        /// scan and decision (`scanning.memory_limit`; raised to one largest message + 1 MiB).
        public static let memoryLimit = 256 << 20
        /// A session reserves memory for the message it holds in steps of at least this many bytes.
        public static let memoryReservationStep = 64 << 10
        /// Bytes of decision trace kept with a queued message (the rest is counted, not kept; the
        /// steps that fired are in the mail log whatever the size).
        public static let queuedTraceBytes = 32 << 10
        /// Days after which a Bayes token seen in one message only and used by no verdict since is
        /// pruned (`scanning.spam.bayes_prune_days`; 0: never by age).
        public static let bayesPruneDays = 60
        /// Seconds between two upkeep runs of the Bayes database (tokens used, pruning); one more
        /// runs when the node stops.
        public static let bayesMaintenanceInterval = 3_600.0
    }

    /// The quarantine store.
    public enum Quarantine {
        /// How long a quarantined message is kept when its folder names no retention (30 days).
        public static let retention = 30.0 * 86_400
        /// Largest quarantine record read back (JSON).
        public static let recordSize = 4 << 20
        /// Seconds between sweeps that remove expired entries.
        public static let sweepInterval = 600.0
    }
}
