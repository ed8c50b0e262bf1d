// TestSupport.swift — helpers shared by the Delivery tests: a temporary directory, a spool in it
// with committed messages, and a scripted DNS resolver.

import Foundation
import Synchronization
import GatehouseCore
@testable import Spool
@testable import Delivery

/// A fresh directory under /tmp, removed (with everything in it) when the value goes.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/gatehouse-deliverytest-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw SpoolError.system(call: "mkdtemp", path: "/tmp", errno: errno) }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Every regular file under the directory, as paths relative to it, sorted.
    func files() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return [] }
        var out: [String] = []
        while let name = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                out.append(name)
            }
        }
        return out.sorted()
    }
}

/// A spool in a temporary directory.
final class TemporarySpool {
    let directory: TemporaryDirectory
    let spool: Spool

    init() throws {
        directory = try TemporaryDirectory()
        spool = try Spool(directory: directory.path + "/queue")
    }

    /// Writes and commits one message to incoming/, returning its id.
    @discardableResult
    func commit(_ envelope: Envelope = testEnvelope(), content: [UInt8] = Array("Subject: test\r\n\r\nbody\r\n".utf8)) throws -> String {
        let writer = try spool.beginMessage(envelope: envelope)
        try writer.append(content)
        try writer.commit()
        return envelope.queueID
    }

    /// Commits a message and moves it to `state`.
    @discardableResult
    func message(in state: QueueState, _ envelope: Envelope = testEnvelope()) throws -> String {
        let id = try commit(envelope)
        if state != .incoming { try spool.move(id, from: .incoming, to: state) }
        return id
    }

    /// The state of every message, by id.
    func states() throws -> [String: QueueState] {
        Dictionary(uniqueKeysWithValues: try spool.messages().map { ($0.1, $0.0) })
    }
}

func testEnvelope(id: String = Spool.newQueueID(), sender: String = "bob@foreign.example",
                  recipients: [QueuedRecipient] = [QueuedRecipient(address: "user@internal.example")]) -> Envelope {
    Envelope(queueID: id, arrival: 1_700_000_123, sender: sender, recipients: recipients,
             clientAddress: "192.0.2.1", clientName: "client.example", helo: "client.example", listener: "inbound",
             receivedProtocol: "ESMTPS", authenticatedUser: nil, body: nil, smtputf8: false, dsnReturn: nil, envelopeID: nil, flags: 0)
}

/// DNS answers from a table; every question asked is remembered. Names not in the table: no MX
/// (`.none`) and no such host (`.nameNotFound`).
final class ScriptedResolver: DeliveryResolver {
    let exchangers: [String: MXLookup]
    let hosts: [String: AddressLookup]
    private let asked = Mutex<[String]>([])

    init(mx: [String: MXLookup] = [:], hosts: [String: AddressLookup] = [:]) {
        exchangers = mx
        self.hosts = hosts
    }

    func mailExchangers(_ domain: String) async -> MXLookup {
        asked.withLock { $0.append("MX " + domain) }
        return exchangers[domain] ?? MXLookup.none
    }

    func addresses(_ host: String) async -> AddressLookup {
        asked.withLock { $0.append("A " + host) }
        return hosts[host] ?? .nameNotFound
    }

    /// The questions in the order asked, `MX name` or `A name`.
    var questions: [String] { asked.withLock { $0 } }
}
