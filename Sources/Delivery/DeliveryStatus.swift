// DeliveryStatus.swift — what the queue manager remembers about a deferred message, and when it
// tries again.
//
// Kept beside the queue file in `queue/status/ID` as `key=value` lines, replaced atomically
// (write, rename). It is advisory: losing it loses the reasons shown by `queue show` and the
// attempt count, never a recipient, because recipient states live in the queue file itself.

#if canImport(Glibc)
import Glibc
#endif
public import GatehouseCore

/// The outcome of one delivery attempt for one recipient.
public struct RecipientOutcome: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case delivered, deferred, failed
    }
    public var kind: Kind
    /// RFC 3463 status, e.g. 5.1.1.
    public var status: EnhancedStatusCode
    /// RFC 3464 diagnostic, e.g. `smtp; 550 5.1.1 user unknown`, or our own words for local problems.
    public var diagnostic: String
    /// The next hop that answered, `dns; mx.example.net`-style name, if any.
    public var remoteMTA: String?
    /// `name[address]:port` of the hop, for the log (not kept).
    public var relay: String?

    public init(kind: Kind, status: EnhancedStatusCode, diagnostic: String, remoteMTA: String? = nil) {
        self.kind = kind
        self.status = status
        self.diagnostic = diagnostic
        self.remoteMTA = remoteMTA
    }

    /// The outcome a reply from a next hop means.
    public static func from(reply: SMTPReply, remoteMTA: String?) -> RecipientOutcome {
        let kind: Kind = reply.isPositive ? .delivered : reply.isPermanent ? .failed : .deferred
        let fallback = reply.isPositive ? EnhancedStatusCode(2, 0, 0) : reply.isPermanent ? EnhancedStatusCode(5, 0, 0) : EnhancedStatusCode(4, 0, 0)
        return RecipientOutcome(kind: kind, status: reply.enhanced ?? fallback, diagnostic: "smtp; " + reply.singleLine, remoteMTA: remoteMTA)
    }

    public static func deferred(_ status: EnhancedStatusCode, _ text: String, remoteMTA: String? = nil) -> RecipientOutcome {
        RecipientOutcome(kind: .deferred, status: status, diagnostic: text, remoteMTA: remoteMTA)
    }

    public static func failed(_ status: EnhancedStatusCode, _ text: String, remoteMTA: String? = nil) -> RecipientOutcome {
        RecipientOutcome(kind: .failed, status: status, diagnostic: text, remoteMTA: remoteMTA)
    }
}

/// The status file of one message.
public struct DeliveryStatus: Hashable, Sendable {
    /// Delivery attempts so far.
    public var attempts = 0
    /// Seconds since 1970.
    public var lastAttempt: Int64 = 0
    public var nextAttempt: Int64 = 0
    /// Whether the delay notice was sent.
    public var delayWarned = false
    /// The last outcome per recipient index (envelope order).
    public var recipients: [Int: RecipientOutcome] = [:]

    public init() {}

    public func encoded() -> String {
        var out = "attempts=\(attempts)\nlast=\(lastAttempt)\nnext=\(nextAttempt)\nwarned=\(delayWarned ? 1 : 0)\n"
        for index in recipients.keys.sorted() {
            let r = recipients[index]!
            let fields = [String(index), r.kind.rawValue, r.status.description, r.remoteMTA ?? "", r.diagnostic]
            out += "r=" + fields.map(DeliveryStatus.clean).joined(separator: "\t") + "\n"
        }
        return out
    }

    static func clean(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }

    /// Reads a status file; unknown or damaged lines are skipped (the file is advisory).
    public init(parsing text: String) {
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq], value = line[line.index(after: eq)...]
            switch key {
            case "attempts": attempts = Int(value) ?? 0
            case "last": lastAttempt = Int64(value) ?? 0
            case "next": nextAttempt = Int64(value) ?? 0
            case "warned": delayWarned = value == "1"
            case "r":
                let f = value.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
                guard f.count == 5, let index = Int(f[0]), let kind = RecipientOutcome.Kind(rawValue: String(f[1])) else { continue }
                let code = f[2].split(separator: ".").compactMap { Int($0) }
                guard code.count == 3, [2, 4, 5].contains(code[0]) else { continue }
                recipients[index] = RecipientOutcome(kind: kind, status: EnhancedStatusCode(UInt8(code[0]), UInt16(clamping: code[1]), UInt16(clamping: code[2])),
                                                     diagnostic: String(f[4]), remoteMTA: f[3].isEmpty ? nil : String(f[3]))
            default: continue
            }
        }
    }

    /// Reads `path`; an empty status when it is missing or unreadable.
    public static func load(_ path: String) -> DeliveryStatus {
        guard let file = fopen(path, "r") else { return DeliveryStatus() }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while bytes.count < 1 << 20 {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return DeliveryStatus(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// Replaces `path` atomically (temporary file, rename). Not synced: the file is advisory.
    public func store(_ path: String) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let bytes = Array(encoded().utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { if errno == EINTR { continue }; break }
            offset += n
        }
        close(fd)
        rename(temporary, path)
    }
}

/// When to try again (Postfix's back-off: the wait doubles from the minimum up to the maximum).
public enum RetrySchedule {
    /// Seconds to wait after the `attempts`-th failed attempt (1 = the first).
    public static func backoff(attempts: Int, minimum: Double, maximum: Double) -> Double {
        let exponent = Double(max(0, min(attempts - 1, 30)))
        return min(maximum, minimum * pow(2, exponent))
    }
}
