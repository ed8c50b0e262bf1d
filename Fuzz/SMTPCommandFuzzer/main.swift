// SMTPCommandFuzzer — libFuzzer entry point over the SMTP protocol core: the line decoder, the
// command parser, the session state machine, the DATA decoder and the PROXY header decoder (server
// side), and the reply parser, EHLO capabilities, client transaction and data encoder (client side:
// the bytes a next hop sends us are just as hostile).
//
// Built and run for a bounded time by scripts/fuzz:
//   swift build --product SMTPCommandFuzzer -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic
// libFuzzer is started by `runLibFuzzer` (Fuzz/FuzzDriver). Any crash, hang or sanitizer report is a bug.

#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import GatehouseCore
import NIOCore
import SMTPProtocol

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    var buffer = ByteBufferAllocator().buffer(capacity: count)
    buffer.writeBytes(bytes)

    // Client side: the input as a next hop's replies.
    var replies = SMTPReplyParser(maximumLineLength: 512, maximumLines: 20)
    var replyInput = buffer
    var transaction = SMTPClientTransaction(sender: "a@example.test", recipients: [.init(address: "b@example.test"), .init(address: "c@example.test")],
                                            pipelining: count % 2 == 0, chunking: count % 3 == 0)
    _ = transaction.start()
    var replyCount = 0
    while replyCount < 1_000, let reply = try? replies.next(&replyInput) {
        replyCount += 1
        _ = SMTPServerCapabilities(ehloReply: reply)
        if case .finished = transaction.receive(reply) { break }
    }
    var wire = ByteBufferAllocator().buffer(capacity: count + 8)
    SMTPDataEncoder.encode(bytes, into: &wire, dotStuffing: true)

    // PROXY header on a copy.
    var proxyInput = buffer
    _ = try? ProxyProtocolDecoder.decode(&proxyInput)

    // Commands through the session state machine.
    let settings = SMTPSessionSettings(
        hostname: "mx.example.test", role: .inbound, tlsMode: .starttls, tlsAvailable: true, authMode: .optional,
        relay: RelayControl(internalDomains: ["example.test"], role: .inbound), validRecipients: ["bob@example.test"])
    var machine = SMTPServerStateMachine(settings: settings, clientAddress: .v4(0x7F000001), inRelayNetworks: false)
    _ = machine.greeting()
    var lines = SMTPLineDecoder(maximumLineLength: 512)
    var commandInput = buffer
    var steps = 0
    loop: while steps < 10_000 {
        steps += 1
        let event: SMTPLineDecoder.Event
        do { event = try lines.next(&commandInput) } catch { _ = machine.framingViolation(error); break }
        switch event {
        case .needMoreData:
            break loop
        case .lineTooLong:
            _ = machine.lineTooLong()
        case .line(let line):
            if machine.expectsAuthResponse {
                _ = machine.authResponse(String(decoding: line.readableBytesView, as: UTF8.self))
                continue
            }
            let parsed = SMTPCommandParser.parse(line.readableBytesView)
            let action = machine.command(parsed, conditions: SMTPSessionConditions(bytesFollowCommand: commandInput.readableBytes > 0))
            switch action {
            case .startTLS:
                machine.tlsEstablished()
            case .verifyCredentials(_, let user, _):
                _ = machine.credentialsChecked(user: user.count % 2 == 0 ? user : nil, addresses: [])
            case .startData:
                var decoder = SMTPDataDecoder(dotTransparency: true, maximumLineLength: 1000, maximumSize: 1 << 16)
                var content = ByteBufferAllocator().buffer(capacity: 0)
                guard let event = try? decoder.decode(&commandInput, into: &content) else { break loop }
                if event == .endOfData, case .commit = machine.dataEnded(decoder) {
                    _ = machine.committed(queueID: "0000000000000000")
                }
            case .receiveChunk(let size, let last, let discard):
                let n = min(size, commandInput.readableBytes)
                var chunk = commandInput.readSlice(length: n)!
                var decoder = SMTPDataDecoder(dotTransparency: false, maximumLineLength: 1000, maximumSize: 1 << 16)
                var content = ByteBufferAllocator().buffer(capacity: 0)
                _ = try? decoder.decode(&chunk, into: &content)
                if last { _ = try? decoder.finishChunks(into: &content) }
                _ = machine.chunkEnded(discard ? nil : decoder)
            case .commit:
                _ = machine.committed(queueID: "0000000000000000")
            case .replyAndClose:
                break loop
            default:
                break
            }
        }
    }
    return 0
}

runLibFuzzer("SMTPCommandFuzzer", fuzz)
