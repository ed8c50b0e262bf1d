// ListenerRuntime.swift — what every session of one listener shares: its configuration version,
// its limiter, and the node's services (spool, users, log, TLS, thread pool).
//
// A session takes the runtime in force when it is accepted and keeps it to the end, so a new
// configuration applies to new sessions while sessions in flight finish on the old one.

import Configuration
import GatehouseCore
import NIOPosix
import NIOSSL
import SMTPProtocol
import Spool
import Synchronization

/// Node-wide services, shared by all listeners.
final class NodeServices: Sendable {
    let spool: Spool
    let users: UserStore
    let log: any LogSink
    let threadPool: NIOThreadPool
    /// Updated by a periodic check: false when free space is under the configured minimum.
    let spoolHasSpace = Atomic<Bool>(true)

    init(spool: Spool, users: UserStore, log: any LogSink, threadPool: NIOThreadPool) {
        self.spool = spool
        self.users = users
        self.log = log
        self.threadPool = threadPool
    }
}

final class ListenerRuntime: Sendable {
    let listener: ListenerConfiguration
    let node: NodeConfiguration
    let settings: SMTPSessionSettings
    let limiter: ClientLimiter
    let services: NodeServices
    let tls: NIOSSLContext?
    /// Scans and decides each message before the reply to DATA; nil when there is no policy.
    let decider: MessageDecider?

    init(listener: ListenerConfiguration, node: NodeConfiguration, limiter: ClientLimiter, services: NodeServices, tls: NIOSSLContext?,
         decider: MessageDecider?) {
        self.decider = decider
        self.listener = listener
        self.node = node
        self.limiter = limiter
        self.services = services
        self.tls = tls
        self.settings = SMTPSessionSettings(
            hostname: node.hostname, banner: listener.banner, role: listener.role, tlsMode: listener.tls,
            tlsAvailable: tls != nil, authMode: listener.auth,
            relay: RelayControl(internalDomains: node.internalDomains, role: listener.role,
                                relayForeignSenders: listener.relayForeignSenders),
            validRecipients: node.validRecipients, maximumMessageSize: listener.limits.messageSize,
            maximumRecipients: listener.limits.recipients, maximumTextLineLength: listener.limits.lineLength,
            errorsBeforeDisconnect: listener.limits.errors)
    }
}
