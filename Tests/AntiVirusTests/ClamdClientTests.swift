// ClamdClientTests.swift — the client against a real clamd (Debian's clamav-daemon) started by
// Resources/clamd-test.sh with only our own signature (gatehouse.ndb: an EICAR body signature):
// clean text, the EICAR string alone, inside a larger file and across chunk boundaries, inside a
// deflated zip and a MIME attachment (clamd unpacks both itself), the stream limits on both sides,
// a unix socket, PING and VERSION, parallel scans, and a clamd that has stopped.

import Foundation
import NIOPosix
import Testing
@testable import AntiVirus

@Suite(.serialized) struct ClamdClientTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func clamd() throws -> Clamd {
        try Clamd.shared.get()
    }

    func client(_ clamd: Clamd, _ endpoint: ClamdEndpoint? = nil, configure: (inout ClamdConfiguration) -> Void = { _ in }) -> ClamdClient {
        var configuration = clamd.configuration(endpoint)
        configure(&configuration)
        return ClamdClient(configuration: configuration, eventLoopGroup: group)
    }

    @Test func clamdStartsWithOurSignature() throws {
        let clamd = try clamd()
        #expect(clamd.startSeconds < 30)
        print("clamd answered PING \(clamd.startSeconds) s after launch")
        #expect(clamd.log.contains("Loaded 1 signatures"))
    }

    @Test func cleanTextIsClean() async throws {
        let verdict = await client(try clamd()).scan(Array("From: a@example.test\r\nSubject: hi\r\n\r\nHello.\r\n".utf8))
        #expect(verdict == .clean)
    }

    @Test func anEmptyMessageIsClean() async throws {
        #expect(await client(try clamd()).scan([]) == .clean)
    }

    @Test func theEICARStringIsFoundWithOurSignature() async throws {
        let verdict = await client(try clamd()).scan(EICAR.bytes)
        #expect(verdict == .infected(signatures: [EICAR.signature]))
    }

    @Test func theEICARStringIsFoundInsideALargerFileAcrossChunkBoundaries() async throws {
        let clamd = try clamd()
        let message = cleanText(200_000, seed: 7) + EICAR.bytes + cleanText(100_000, seed: 8)
        // Default chunks, and chunks so small that the string spans many frames.
        #expect(await client(clamd).scan(message) == .infected(signatures: [EICAR.signature]))
        let tiny = client(clamd) { $0.chunkSize = 7 }
        #expect(await tiny.scan(Array(message[199_000..<201_000])) == .infected(signatures: [EICAR.signature]))
        // A variant with other trailing octets: a body signature finds it (a hash would not).
        var variant = EICAR.bytes
        variant.replaceSubrange(63..., with: Array("$X+Y*".utf8))
        #expect(await client(clamd).scan(Array("prefix ".utf8) + variant) == .infected(signatures: [EICAR.signature]))
    }

    @Test func theEICARStringIsFoundInsideADeflatedZip() async throws {
        let archive = try zipArchive(["readme.txt": cleanText(5_000), "docs/eicar.com": EICAR.bytes])
        // Deflated: the raw octets do not hold the string, so only clamd's unpacking finds it.
        #expect(!archive.contains(EICAR.bytes))
        #expect(await client(try clamd()).scan(archive) == .infected(signatures: [EICAR.signature]))
    }

    @Test func theEICARStringIsFoundInABase64MIMEAttachment() async throws {
        let message = """
            From: a@example.test\r
            To: b@example.test\r
            Subject: report\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b1"\r
            \r
            --b1\r
            Content-Type: text/plain\r
            \r
            See attachment.\r
            --b1\r
            Content-Type: application/octet-stream; name="report.com"\r
            Content-Transfer-Encoding: base64\r
            Content-Disposition: attachment; filename="report.com"\r
            \r
            \(Data(EICAR.bytes).base64EncodedString(options: .lineLength76Characters))\r
            --b1--\r

            """
        #expect(!Array(message.utf8).contains(EICAR.bytes))
        #expect(await client(try clamd()).scan(Array(message.utf8)) == .infected(signatures: [EICAR.signature]))
    }

    @Test func aMessageOverOurLimitIsNotSent() async throws {
        let fake = try FakeClamd(.reply(Array("stream: OK\0".utf8), close: true))
        defer { fake.stop() }
        var configuration = fake.configuration()
        configuration.maximumStreamSize = 1_000
        let client = ClamdClient(configuration: configuration, eventLoopGroup: group)
        let verdict = await client.scan(cleanText(1_001))
        guard case .error(let reason) = verdict else { Issue.record("\(verdict)"); return }
        #expect(reason.hasPrefix("too large"))
        #expect(fake.connections == 0)
        #expect(await client.scan(cleanText(1_000)) == .clean)  // the limit itself is allowed
        #expect(AntiVirusPolicy().action(for: verdict) == .tempfail)
    }

    @Test func clamdsOwnStreamLimitIsAnError() async throws {
        let clamd = try clamd()
        // Our limit above clamd's StreamMaxLength (10M): clamd stops reading and says so.
        let over = client(clamd) { $0.maximumStreamSize = 64 * 1024 * 1024 }
        let verdict = await over.scan(cleanText(Clamd.streamMaxLength + 1_000_000))
        #expect(verdict == .error("INSTREAM size limit exceeded."))
        // Exactly at clamd's limit it scans.
        #expect(await over.scan(cleanText(Clamd.streamMaxLength)) == .clean)
    }

    @Test func scansOverTheUnixSocket() async throws {
        let clamd = try clamd()
        let local = client(clamd, .unixSocket(path: clamd.socketPath))
        #expect(await local.scan(Array("hello".utf8)) == .clean)
        #expect(await local.scan(cleanText(300_000) + EICAR.bytes) == .infected(signatures: [EICAR.signature]))
        try await local.ping()
    }

    @Test func pingsAndReadsTheVersion() async throws {
        let client = client(try clamd())
        try await client.ping()
        let version = try await client.version()
        #expect(version.engine.hasPrefix("1."))
        #expect(version.databaseVersion == nil)  // no official database: our signature only
    }

    @Test func scansInParallelEachOnItsOwnConnection() async throws {
        let client = client(try clamd())
        let verdicts = await withTaskGroup(of: (Int, AntiVirusVerdict).self) { tasks in
            for index in 0..<12 {
                tasks.addTask {
                    let infected = index % 3 == 0
                    let message = cleanText(50_000 + index * 1_000, seed: UInt64(index)) + (infected ? EICAR.bytes : [])
                    return (index, await client.scan(message))
                }
            }
            var verdicts: [Int: AntiVirusVerdict] = [:]
            for await (index, verdict) in tasks { verdicts[index] = verdict }
            return verdicts
        }
        for index in 0..<12 {
            #expect(verdicts[index] == (index % 3 == 0 ? .infected(signatures: [EICAR.signature]) : .clean), "scan \(index)")
        }
    }

    @Test func aStoppedClamdIsUnavailable() async throws {
        let own = try Clamd()
        defer { own.remove() }
        let tcp = client(own)
        let local = client(own, .unixSocket(path: own.socketPath))
        #expect(await tcp.scan(EICAR.bytes) == .infected(signatures: [EICAR.signature]))
        own.stop()
        let verdict = await tcp.scan(EICAR.bytes)
        #expect(verdict == .unavailable(.connectFailed("Connection refused")))
        #expect(AntiVirusPolicy().action(for: verdict) == .tempfail)
        let viaSocket = await local.scan(EICAR.bytes)
        guard case .unavailable(.connectFailed) = viaSocket else { Issue.record("\(viaSocket)"); return }
        await #expect(throws: ClamdClientError.connectFailed("Connection refused")) { try await tcp.ping() }
    }
}
