// ClientLimiter.swift — per-listener session caps and per-client connection and message rates
// (Postfix's anvil: smtpd_client_connection_count_limit, …_rate_limit, …_message_rate_limit).
//
// Each listener has its own limiter, so a flood on one listener cannot use up another's sessions.
// Rates use fixed one-minute windows. The table of clients is pruned of idle entries when it grows,
// so memory stays bounded under address-spraying floods.

#if canImport(Glibc)
import Glibc
#endif
import GatehouseCore
import Synchronization

final class ClientLimiter: Sendable {
    enum Admission: Equatable {
        case admitted
        case listenerFull
        case tooManySessions
        case connectionRate
    }

    struct Window {
        var start: Double
        var count: Int
    }

    struct Client {
        var sessions = 0
        var connections = Window(start: 0, count: 0)
        var messages = Window(start: 0, count: 0)
    }

    struct State {
        var total = 0
        var clients: [IPAddress: Client] = [:]
    }

    let limits: (sessions: Int, perClient: Int, connectionRate: Int, messageRate: Int)
    private let state = Mutex(State())
    private let now: @Sendable () -> Double
    static let pruneThreshold = 50_000

    init(sessions: Int, perClient: Int, connectionRate: Int, messageRate: Int,
         now: @escaping @Sendable () -> Double = ClientLimiter.monotonicSeconds) {
        self.limits = (sessions, perClient, connectionRate, messageRate)
        self.now = now
    }

    static func monotonicSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Admits a new session. Exempt clients bypass per-client limits but count towards the listener cap.
    func admit(_ client: IPAddress, exempt: Bool) -> Admission {
        let t = now()
        return state.withLock { s in
            guard s.total < limits.sessions else { return .listenerFull }
            var c = s.clients[client] ?? Client()
            if !exempt {
                guard c.sessions < limits.perClient else { return .tooManySessions }
                if t - c.connections.start >= 60 { c.connections = Window(start: t, count: 0) }
                guard c.connections.count < limits.connectionRate else { return .connectionRate }
                c.connections.count += 1
            }
            c.sessions += 1
            s.total += 1
            if s.clients.count > ClientLimiter.pruneThreshold { ClientLimiter.prune(&s, t) }
            s.clients[client] = c
            return .admitted
        }
    }

    /// The session ended.
    func release(_ client: IPAddress) {
        state.withLock { s in
            s.total -= 1
            s.clients[client]?.sessions -= 1
        }
    }

    /// True when the client may start another message now; counts it.
    func takeMessage(_ client: IPAddress, exempt: Bool) -> Bool {
        if exempt { return true }
        let t = now()
        return state.withLock { s in
            var c = s.clients[client] ?? Client()
            if t - c.messages.start >= 60 { c.messages = Window(start: t, count: 0) }
            guard c.messages.count < limits.messageRate else { return false }
            c.messages.count += 1
            s.clients[client] = c
            return true
        }
    }

    var activeSessions: Int { state.withLock { $0.total } }

    private static func prune(_ s: inout State, _ t: Double) {
        s.clients = s.clients.filter { _, c in
            c.sessions > 0 || t - c.connections.start < 60 || t - c.messages.start < 60
        }
    }
}
