// ClamdConfiguration.swift — where clamd listens, and the client's limits and timeouts.
//
// Endpoints are written as clamd.conf(5) configures them: `TCPSocket`/`TCPAddr` as `host:port`
// (`[v6]:port` for an IPv6 literal, port 3310 when left out), `LocalSocket` as an absolute path
// (`unix:` in front is accepted too). Debian's clamav-daemon listens on /run/clamav/clamd.ctl.

/// Where clamd listens.
public enum ClamdEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// A TCP socket: a host name or an IP address literal, and a port.
    case tcp(host: String, port: Int)
    /// A unix domain socket (clamd's `LocalSocket`).
    case unixSocket(path: String)

    /// Reads `host:port`, `host` (port 3310), `[v6]:port`, `/path` or `unix:/path`; nil if malformed.
    public init?(_ text: String) {
        var text = Substring(text)
        let unix = text.hasPrefix("unix:")
        if unix { text = text.dropFirst("unix:".count) }
        if unix || text.hasPrefix("/") {
            guard text.hasPrefix("/"), !text.contains("\0") else { return nil }
            self = .unixSocket(path: String(text))
            return
        }
        var host: Substring
        var port = AntiVirusDefaults.port
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let value = Self.port(rest.dropFirst()) else { return nil }
                port = value
            }
            guard host.contains(":") else { return nil }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            host = parts[0]
            if parts.count == 2 {
                guard let value = Self.port(parts[1]) else { return nil }
                port = value
            }
        }
        guard !host.isEmpty,
              host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_") })
        else { return nil }
        self = .tcp(host: String(host), port: port)
    }

    private static func port(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = Int(text), (1...65_535).contains(value)
        else { return nil }
        return value
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let path): return path
        }
    }
}

/// How to reach clamd and how long to wait for it.
public struct ClamdConfiguration: Hashable, Sendable {
    /// Where clamd listens.
    public var endpoint: ClamdEndpoint
    /// Longest wait for the connection.
    public var connectTimeout: Duration
    /// Longest wait for one chunk to be written.
    public var writeTimeout: Duration
    /// Longest wait for the reply once everything is sent (clamd scans in that time).
    public var replyTimeout: Duration
    /// Largest message streamed; larger ones are `.error` ("too large") without being sent. Keep it
    /// at or below clamd's `StreamMaxLength`.
    public var maximumStreamSize: Int
    /// Largest INSTREAM chunk.
    public var chunkSize: Int
    /// Longest reply accepted.
    public var maximumReplyLength: Int

    public init(
        endpoint: ClamdEndpoint,
        connectTimeout: Duration = .seconds(AntiVirusDefaults.connectTimeoutSeconds),
        writeTimeout: Duration = .seconds(AntiVirusDefaults.writeTimeoutSeconds),
        replyTimeout: Duration = .seconds(AntiVirusDefaults.replyTimeoutSeconds),
        maximumStreamSize: Int = AntiVirusDefaults.maximumStreamSize,
        chunkSize: Int = AntiVirusDefaults.chunkSize,
        maximumReplyLength: Int = AntiVirusDefaults.maximumReplyLength
    ) {
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
        self.writeTimeout = writeTimeout
        self.replyTimeout = replyTimeout
        self.maximumStreamSize = maximumStreamSize
        self.chunkSize = chunkSize
        self.maximumReplyLength = maximumReplyLength
    }
}

/// Why clamd gave no verdict. The message is tempfailed unless the policy says otherwise.
public enum ClamdClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The connection could not be made (refused, no such socket, unknown host…), with the system's text.
    case connectFailed(String)
    /// No progress within the timeout of this phase.
    case timeout(ClamdPhase)
    /// clamd closed the connection (or it broke) before a reply; with the system's text if any.
    case connectionClosed(String?)
    /// The reply could not be read or is not one the command can have.
    case badReply(ClamdReplyError)
    /// The task waiting for the scan was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .connectFailed(let why): return "cannot connect to clamd: \(why)"
        case .timeout(let phase): return "clamd timed out while \(phase)"
        case .connectionClosed(let why): return "clamd closed the connection" + (why.map { ": \($0)" } ?? "")
        case .badReply(let error): return "bad reply from clamd: \(error)"
        case .cancelled: return "scan cancelled"
        }
    }
}

/// The phases of one exchange with clamd, for timeouts.
public enum ClamdPhase: Hashable, Sendable, CustomStringConvertible {
    case connecting
    case sending
    case waitingForReply

    public var description: String {
        switch self {
        case .connecting: return "connecting"
        case .sending: return "sending"
        case .waitingForReply: return "waiting for the reply"
        }
    }
}
