// MailLog.swift — structured log records of the mail path, rendered as Postfix-style lines.
//
// Every event goes through `MailLog.record(_:)` as a `LogRecord`. Today the records are rendered as
// one line each (`QUEUEID: from=<…>, size=…, nrcpt=…`) to stderr or a file; later the follower
// ships the same records to the manager (DESIGN.md §4). Message content is never logged.

#if canImport(Glibc)
import Glibc
#endif
public import GatehouseCore
import Synchronization

/// Renders records as Postfix-style lines on a file descriptor.
public final class LineLogSink: LogSink {
    private let fd: Int32
    private let hostname: String
    private let pid = getpid()
    private let lock = Mutex(())

    /// Logs to stderr.
    public init(hostname: String) {
        self.fd = 2
        self.hostname = hostname
    }

    /// Logs to a file, appending.
    public init(path: String, hostname: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw ConfigurationFailure("cannot open log file \(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.hostname = hostname
    }

    public func record(_ record: LogRecord) {
        var line = LineLogSink.timestamp()
        line += " \(hostname) gatehouse/\(record.program)[\(pid)]: "
        if let id = record.queueID { line += id + ": " } else if record.noQueue { line += "NOQUEUE: " }
        line += record.text
        line += "\n"
        let bytes = Array(line.utf8)
        lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n <= 0 { if errno == EINTR { continue }; break }
                offset += n
            }
        }
    }

    /// RFC 3339 UTC time with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = now.tv_nsec / 1_000_000
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}

/// RFC 5322 §3.3 date-time for Received: headers, in UTC: `Mon, 23 Nov 2026 11:30:33 +0000`.
func rfc5322Date() -> String {
    var seconds = time(nil)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(days[Int(parts.tm_wday)]), \(parts.tm_mday) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
}
