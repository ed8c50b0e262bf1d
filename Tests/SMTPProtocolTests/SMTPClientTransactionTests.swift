// SMTPClientTransactionTests.swift — one mail transaction as a client
// (Sources/SMTPProtocol/SMTPClientTransaction.swift), without a channel: the test plays the next
// hop, with and without PIPELINING (RFC 2920) and CHUNKING (RFC 3030), and checks the commands
// written, the final reply of every recipient, and whether RSET is needed afterwards.

import Testing
import GatehouseCore
import PropertyBased
@testable import SMTPProtocol

private typealias Transaction = SMTPClientTransaction
private typealias Action = SMTPClientTransaction.Action

private let mailOK = SMTPReply(250, EnhancedStatusCode(2, 1, 0), "Ok")
private let rcptOK = SMTPReply(250, EnhancedStatusCode(2, 1, 5), "Ok")
private let goAhead = SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>")
private let queued = SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok: queued as 4XyZ")
private let unknownUser = SMTPReply(550, EnhancedStatusCode(5, 1, 1), "User unknown")
private let greylisted = SMTPReply(451, EnhancedStatusCode(4, 7, 1), "Greylisted, try later")
private let senderRefused = SMTPReply(553, EnhancedStatusCode(5, 7, 1), "Sender address rejected")
private let needMail = SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Error: need MAIL command")
private let noValidRecipients = SMTPReply(554, EnhancedStatusCode(5, 5, 1), "Error: no valid recipients")
private let contentRefused = SMTPReply(554, EnhancedStatusCode(5, 7, 1), "Message rejected as spam")

private func transaction(_ addresses: [String] = ["a@example.net"], sender: String = "s@example.org", pipelining: Bool, chunking: Bool = false,
                         mailParameters: [String] = []) -> Transaction {
    Transaction(sender: sender, mailParameters: mailParameters, recipients: addresses.map { Transaction.Recipient(address: $0) },
                pipelining: pipelining, chunking: chunking)
}

@Suite("SMTPClientTransaction")
struct SMTPClientTransactionTests {
    // MARK: Everything accepted

    @Test func pipelinedAllAccepted() {
        var t = transaction(["a@example.net", "b@example.net"], pipelining: true)
        #expect(t.phase == .mail)
        #expect(t.start() == .send("MAIL FROM:<s@example.org>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"))
        #expect(t.phase == .mail)
        #expect(t.receive(mailOK) == .read)
        #expect(t.phase == .recipient)
        #expect(t.receive(rcptOK) == .read)
        #expect(t.receive(rcptOK) == .read)
        #expect(t.phase == .data)
        #expect(t.needsReset)
        #expect(t.receive(goAhead) == .sendContent)
        #expect(t.phase == .content)
        #expect(t.receive(queued) == .finished([queued, queued]))
        #expect(t.phase == .done)
        #expect(!t.needsReset)
    }

    @Test func lockStepAllAccepted() {
        var t = transaction(["a@example.net", "b@example.net"], pipelining: false)
        #expect(t.start() == .send("MAIL FROM:<s@example.org>\r\n"))
        #expect(t.receive(mailOK) == .send("RCPT TO:<a@example.net>\r\n"))
        #expect(t.phase == .recipient)
        #expect(t.receive(rcptOK) == .send("RCPT TO:<b@example.net>\r\n"))
        #expect(t.receive(rcptOK) == .send("DATA\r\n"))
        #expect(t.phase == .data)
        #expect(t.receive(goAhead) == .sendContent)
        #expect(t.receive(queued) == .finished([queued, queued]))
        #expect(!t.needsReset)
    }

    @Test func parametersAndTheNullSender() {
        var t = Transaction(sender: "", mailParameters: ["BODY=8BITMIME", "SIZE=1234", "RET=HDRS"],
                            recipients: [Transaction.Recipient(address: "a@example.net", parameters: ["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;A@example.net"]),
                                         Transaction.Recipient(address: "b@example.net")],
                            pipelining: false, chunking: false)
        #expect(t.start() == .send("MAIL FROM:<> BODY=8BITMIME SIZE=1234 RET=HDRS\r\n"))
        #expect(t.receive(mailOK) == .send("RCPT TO:<a@example.net> NOTIFY=FAILURE,DELAY ORCPT=rfc822;A@example.net\r\n"))
        #expect(t.receive(rcptOK) == .send("RCPT TO:<b@example.net>\r\n"))
        #expect(t.sender == "")
        #expect(t.recipients.count == 2)
    }

    // MARK: MAIL refused

    @Test func mailRejectedLockStep() {
        var t = transaction(["a@example.net", "b@example.net"], pipelining: false)
        _ = t.start()
        // Nothing more is sent: every recipient gets the MAIL reply.
        #expect(t.receive(senderRefused) == .finished([senderRefused, senderRefused]))
        #expect(t.phase == .done)
        #expect(!t.needsReset)
    }

    @Test func mailRejectedPipelined() {
        var t = transaction(["a@example.net", "b@example.net"], pipelining: true)
        _ = t.start()
        // The RCPTs and DATA were already sent: their replies are read, so the next command is in step.
        #expect(t.receive(senderRefused) == .read)
        #expect(t.receive(needMail) == .read)
        #expect(t.receive(needMail) == .read)
        #expect(t.receive(needMail) == .finished([senderRefused, senderRefused]))
        #expect(!t.needsReset)
    }

    @Test func mailRejectedButDATAGot354() {
        // A broken server answering DATA with 354 although MAIL failed: only the terminator goes out.
        var t = transaction(["a@example.net"], pipelining: true)
        _ = t.start()
        #expect(t.receive(senderRefused) == .read)
        #expect(t.receive(needMail) == .read)
        #expect(t.receive(goAhead) == .sendEmptyContent)
        #expect(t.receive(noValidRecipients) == .finished([senderRefused]))
    }

    // MARK: Recipients with different fates

    @Test(arguments: [true, false])
    func eachRecipientGetsItsOwnFinalReply(_ pipelining: Bool) {
        var t = transaction(["refused@example.net", "later@example.net", "ok@example.net"], pipelining: pipelining)
        _ = t.start()
        let next: Action = pipelining ? .read : .send("RCPT TO:<later@example.net>\r\n")
        #expect(t.receive(mailOK) == (pipelining ? .read : .send("RCPT TO:<refused@example.net>\r\n")))
        #expect(t.receive(unknownUser) == next)
        #expect(t.receive(greylisted) == (pipelining ? .read : .send("RCPT TO:<ok@example.net>\r\n")))
        #expect(t.receive(rcptOK) == (pipelining ? .read : .send("DATA\r\n")))
        #expect(t.receive(goAhead) == .sendContent)
        #expect(t.receive(queued) == .finished([unknownUser, greylisted, queued]))
        #expect(!t.needsReset)
    }

    @Test(arguments: [true, false])
    func contentRefusedGoesToTheAcceptedRecipientsOnly(_ pipelining: Bool) {
        var t = transaction(["refused@example.net", "ok@example.net"], pipelining: pipelining)
        _ = t.start()
        _ = t.receive(mailOK)
        _ = t.receive(unknownUser)
        _ = t.receive(rcptOK)
        #expect(t.receive(goAhead) == .sendContent)
        #expect(t.receive(contentRefused) == .finished([unknownUser, contentRefused]))
        // The content was answered: the transaction is over even though it failed.
        #expect(!t.needsReset)
    }

    @Test(arguments: [true, false])
    func dataRefusedGoesToTheAcceptedRecipients(_ pipelining: Bool) {
        var t = transaction(["ok@example.net", "refused@example.net"], pipelining: pipelining)
        _ = t.start()
        _ = t.receive(mailOK)
        _ = t.receive(rcptOK)
        _ = t.receive(unknownUser)
        let busy = SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Try again later")
        #expect(t.receive(busy) == .finished([busy, unknownUser]))
        // MAIL was accepted and no content was answered: the server still has a transaction open.
        #expect(t.needsReset)
    }

    // MARK: No recipient accepted

    @Test func dataGot354WithNoAcceptedRecipient() {
        // RFC 2920 §3.1: DATA was pipelined; a server that answers 354 anyway gets the terminator
        // alone, never the content.
        var t = transaction(["a@example.net", "b@example.net"], pipelining: true)
        _ = t.start()
        #expect(t.receive(mailOK) == .read)
        #expect(t.receive(unknownUser) == .read)
        #expect(t.receive(greylisted) == .read)
        #expect(t.receive(goAhead) == .sendEmptyContent)
        #expect(t.phase == .content)
        #expect(t.receive(noValidRecipients) == .finished([unknownUser, greylisted]))
    }

    @Test func pipelinedDATARefusedWithNoAcceptedRecipient() {
        var t = transaction(["a@example.net"], pipelining: true)
        _ = t.start()
        _ = t.receive(mailOK)
        _ = t.receive(unknownUser)
        #expect(t.receive(noValidRecipients) == .finished([unknownUser]))
        #expect(t.needsReset)
    }

    @Test func lockStepSendsNoDATAWhenNoRecipientWasAccepted() {
        var t = transaction(["a@example.net", "b@example.net"], pipelining: false)
        _ = t.start()
        _ = t.receive(mailOK)
        _ = t.receive(unknownUser)
        #expect(t.receive(greylisted) == .finished([unknownUser, greylisted]))
        // MAIL was accepted: RSET before the next transaction on this connection.
        #expect(t.needsReset)
    }

    // MARK: CHUNKING

    @Test func chunkingPipelinedSendsNoDATAAndContentAfterTheRecipients() {
        var t = transaction(["a@example.net", "b@example.net"], pipelining: true, chunking: true)
        #expect(t.start() == .send("MAIL FROM:<s@example.org>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\n"))
        #expect(t.receive(mailOK) == .read)
        #expect(t.receive(rcptOK) == .read)  // not yet: every RCPT reply first
        #expect(t.receive(unknownUser) == .sendContent)
        #expect(t.phase == .content)
        #expect(t.needsReset)
        #expect(t.receive(queued) == .finished([queued, unknownUser]))
        #expect(!t.needsReset)
    }

    @Test func chunkingLockStep() {
        var t = transaction(["a@example.net"], pipelining: false, chunking: true)
        #expect(t.start() == .send("MAIL FROM:<s@example.org>\r\n"))
        #expect(t.receive(mailOK) == .send("RCPT TO:<a@example.net>\r\n"))
        #expect(t.receive(rcptOK) == .sendContent)
        #expect(t.receive(contentRefused) == .finished([contentRefused]))
        #expect(!t.needsReset)
    }

    @Test(arguments: [true, false])
    func chunkingSendsNoContentWithoutAnAcceptedRecipient(_ pipelining: Bool) {
        var t = transaction(["a@example.net", "b@example.net"], pipelining: pipelining, chunking: true)
        _ = t.start()
        _ = t.receive(mailOK)
        _ = t.receive(unknownUser)
        #expect(t.receive(greylisted) == .finished([unknownUser, greylisted]))
        #expect(t.needsReset)
    }

    @Test func chunkingSendsNoContentWhenMAILFailed() {
        var t = transaction(["a@example.net"], pipelining: true, chunking: true)
        _ = t.start()
        #expect(t.receive(senderRefused) == .read)
        // The RCPT was accepted by a confused server; without MAIL there is no transaction.
        #expect(t.receive(rcptOK) == .finished([senderRefused]))
        #expect(!t.needsReset)
    }

    // MARK: Connection lost

    @Test func abortGivesTheReplyToEveryRecipientWithoutOne() {
        let lost = SMTPReply(421, EnhancedStatusCode(4, 4, 2), "lost connection with the next hop")
        var t = transaction(["a@example.net", "b@example.net", "c@example.net"], pipelining: false)
        _ = t.start()
        _ = t.receive(mailOK)
        _ = t.receive(unknownUser)
        _ = t.receive(rcptOK)
        // a was refused (its own reply); b was accepted but the content never answered; c was never asked.
        #expect(t.abort(lost) == [unknownUser, lost, lost])
        #expect(t.phase == .done)
    }

    @Test func abortBeforeAnyReply() {
        let lost = SMTPReply(421, EnhancedStatusCode(4, 4, 2), "timeout")
        var t = transaction(["a@example.net", "b@example.net"], pipelining: true)
        _ = t.start()
        #expect(t.abort(lost) == [lost, lost])
        #expect(!t.needsReset)
    }

    @Test func abortAfterMAILRefusedKeepsTheMAILReply() {
        var t = transaction(["a@example.net"], pipelining: true)
        _ = t.start()
        _ = t.receive(senderRefused)
        #expect(t.abort(SMTPReply(421, nil, "gone")) == [senderRefused])
    }

    @Test func abortDuringContentKeepsAcceptedRecipientsDeferred() {
        let lost = SMTPReply(421, EnhancedStatusCode(4, 4, 2), "timeout after END-OF-MESSAGE")
        var t = transaction(["a@example.net"], pipelining: true)
        _ = t.start()
        _ = t.receive(mailOK)
        _ = t.receive(rcptOK)
        #expect(t.receive(goAhead) == .sendContent)
        let replies = t.abort(lost)
        #expect(replies == [lost])
        #expect(replies.allSatisfy { !$0.isPositive })
    }

    @Test func repliesAfterTheEndChangeNothing() {
        var t = transaction(["a@example.net"], pipelining: false)
        _ = t.start()
        let done = t.receive(senderRefused)
        #expect(t.receive(mailOK) == done)
        #expect(t.phase == .done)
    }

    // MARK: Properties

    /// The next hop, scripted: a reply per command, in order, as a pipelining server gives them.
    struct ScriptedServer {
        var mail: SMTPReply
        var recipients: [SMTPReply]
        var data: SMTPReply
        var content: SMTPReply
        /// Answers DATA with 354 even when no recipient was accepted (RFC 2920 §3.1 allows it).
        var eagerData: Bool
        var rcptIndex = 0
        var acceptedAny = false

        mutating func answer(_ command: Substring) -> SMTPReply {
            if command.hasPrefix("MAIL ") { return mail }
            if command.hasPrefix("RCPT ") {
                defer { rcptIndex += 1 }
                guard mail.isPositive else { return needMail }
                let r = recipients[rcptIndex]
                if r.isPositive { acceptedAny = true }
                return r
            }
            if command == "DATA" {
                guard mail.isPositive else { return eagerData ? goAhead : needMail }
                guard acceptedAny else { return eagerData ? goAhead : noValidRecipients }
                return data
            }
            Issue.record("unexpected command \(command)")
            return SMTPReply(500, nil, "?")
        }
    }

    static let reply = Gen.int(in: 0...5).map { i -> SMTPReply in
        [SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok"), SMTPReply(251, nil, "forwarded"),
         SMTPReply(450, EnhancedStatusCode(4, 2, 0), "busy"), SMTPReply(451, EnhancedStatusCode(4, 7, 1), "grey"),
         SMTPReply(550, EnhancedStatusCode(5, 1, 1), "unknown"), SMTPReply(552, EnhancedStatusCode(5, 2, 2), "full")][i]
    }

    @Test func everyRecipientGetsExactlyTheRightReplyAndNoReplyIsLeftUnread() async {
        await propertyCheck(count: 1500, input: Self.reply.array(of: 1...6), Self.reply, Gen.int(in: 0...2), Self.reply, Gen.bool, Gen.bool, Gen.bool)
        { rcpt, mail, dataChoice, content, pipelining, chunking, eagerData in
            let data = [goAhead, SMTPReply(451, EnhancedStatusCode(4, 3, 0), "later"), SMTPReply(554, EnhancedStatusCode(5, 3, 0), "no")][dataChoice]
            var server = ScriptedServer(mail: mail, recipients: rcpt, data: data, content: content, eagerData: eagerData)
            var t = transaction((0..<rcpt.count).map { "r\($0)@example.net" }, pipelining: pipelining, chunking: chunking)
            var unread: [SMTPReply] = []
            var contentSent = false
            var finished: [SMTPReply]?
            var action = t.start()
            var steps = 0
            while finished == nil && steps < 100 {
                steps += 1
                switch action {
                case .send(let text):
                    #expect(text.hasSuffix("\r\n"))
                    let commands = text.split(separator: "\r\n")
                    if !pipelining { #expect(commands.count == 1, "lock-step sends one command at a time") }
                    if chunking { #expect(!commands.contains("DATA")) }
                    unread += commands.map { server.answer($0) }
                case .read:
                    break
                case .sendContent:
                    // Content only once every RCPT was answered, MAIL and at least one RCPT accepted.
                    #expect(server.rcptIndex == rcpt.count)
                    #expect(unread.isEmpty)
                    #expect(mail.isPositive && rcpt.contains { $0.isPositive })
                    #expect(!contentSent)
                    contentSent = true
                    unread.append(content)
                case .sendEmptyContent:
                    #expect(!(mail.isPositive && rcpt.contains { $0.isPositive }))
                    unread.append(noValidRecipients)
                case .finished(let replies):
                    finished = replies
                    continue
                }
                guard !unread.isEmpty else {
                    Issue.record("the transaction waits for a reply to a command it did not send")
                    return
                }
                action = t.receive(unread.removeFirst())
            }
            guard let finished else {
                Issue.record("no end after \(steps) steps")
                return
            }
            // Every reply to a command that was sent was read: the connection stays in step.
            #expect(unread.isEmpty)
            // The final reply of each recipient, worked out independently.
            let expected = rcpt.map { r -> SMTPReply in
                if !mail.isPositive { return mail }
                if !r.isPositive { return r }
                if chunking { return content }
                return data.code == 354 ? content : data
            }
            #expect(finished == expected)
            #expect(t.phase == .done)
            #expect(t.needsReset == (mail.isPositive && !contentSent))
        }
    }
}
