import Testing
import GatehouseCore
import Synchronization
@testable import Node

@Suite struct ClientLimiterTests {
    final class Clock: Sendable {
        let now = Mutex(1000.0)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
        var read: @Sendable () -> Double { { self.now.withLock { $0 } } }
    }

    let a = IPAddress(parsing: "192.0.2.1")!
    let b = IPAddress(parsing: "192.0.2.2")!

    @Test func listenerCapAppliesToEverybody() {
        let limiter = ClientLimiter(sessions: 2, perClient: 10, connectionRate: 100, messageRate: 100)
        #expect(limiter.admit(a, exempt: false) == .admitted)
        #expect(limiter.admit(b, exempt: true) == .admitted)
        #expect(limiter.admit(b, exempt: true) == .listenerFull)
        limiter.release(a)
        #expect(limiter.admit(b, exempt: false) == .admitted)
        #expect(limiter.activeSessions == 2)
    }

    @Test func perClientSessionsAndExemption() {
        let limiter = ClientLimiter(sessions: 100, perClient: 2, connectionRate: 100, messageRate: 100)
        #expect(limiter.admit(a, exempt: false) == .admitted)
        #expect(limiter.admit(a, exempt: false) == .admitted)
        #expect(limiter.admit(a, exempt: false) == .tooManySessions)
        #expect(limiter.admit(a, exempt: true) == .admitted)  // exempt bypasses per-client limits
        #expect(limiter.admit(b, exempt: false) == .admitted)  // another client is not affected
        limiter.release(a)
        #expect(limiter.admit(a, exempt: false) == .tooManySessions)  // still 2 non-exempt + 1 exempt
    }

    @Test func connectionRateWindow() {
        let clock = Clock()
        let limiter = ClientLimiter(sessions: 100, perClient: 100, connectionRate: 3, messageRate: 100, now: clock.read)
        for _ in 0..<3 {
            #expect(limiter.admit(a, exempt: false) == .admitted)
            limiter.release(a)
        }
        #expect(limiter.admit(a, exempt: false) == .connectionRate)
        clock.advance(59)
        #expect(limiter.admit(a, exempt: false) == .connectionRate)
        clock.advance(1)
        #expect(limiter.admit(a, exempt: false) == .admitted)
    }

    @Test func messageRateWindow() {
        let clock = Clock()
        let limiter = ClientLimiter(sessions: 100, perClient: 100, connectionRate: 100, messageRate: 2, now: clock.read)
        #expect(limiter.takeMessage(a, exempt: false))
        #expect(limiter.takeMessage(a, exempt: false))
        #expect(!limiter.takeMessage(a, exempt: false))
        #expect(limiter.takeMessage(a, exempt: true))
        #expect(limiter.takeMessage(b, exempt: false))
        clock.advance(60)
        #expect(limiter.takeMessage(a, exempt: false))
    }
}
