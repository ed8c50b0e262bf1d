// ScanMemoryBudget.swift — how many bytes of message data the sessions of a node may hold in
// memory at once while their messages wait to be scanned and decided.
//
// With a policy, a message stays in memory from its first byte until the decision (the policy
// may reject it, so nothing is queued before). Without a shared bound, many sessions sending
// large messages at once would hold sessions × message size. Each session reserves what it
// holds, in steps, as the data arrives; a session that cannot reserve reads the rest of its data
// without keeping it and answers 452 4.3.1 at the end (RFC 5321 §4.2.3, RFC 3463 §3.4: the client
// retries later). Configuration makes sure one message of the largest accepted size always fits.

import Synchronization

/// A counter of reserved bytes under a fixed limit (`scanning.memory_limit`).
final class ScanMemoryBudget: Sendable {
    let limit: Int
    private let used = Mutex(0)

    init(limit: Int) { self.limit = limit }

    /// Reserves `bytes` if they fit under the limit.
    func reserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard bytes <= limit - used else { return false }
            used += bytes
            return true
        }
    }

    /// Gives back bytes reserved earlier.
    func release(_ bytes: Int) {
        used.withLock { $0 = max(0, $0 - bytes) }
    }
}
