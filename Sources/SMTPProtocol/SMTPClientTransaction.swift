// SMTPClientTransaction.swift — one mail transaction as a client: MAIL, RCPT…, DATA or BDAT.
//
// A value-type state machine: the connection feeds it the server's replies and does what it returns.
// With PIPELINING (RFC 2920 §3.1) MAIL, every RCPT and DATA go in one write and the replies are
// read in order; without it each command waits for its reply. With CHUNKING (RFC 3030) the content
// is sent as one `BDAT n LAST` once at least one recipient was accepted, so no content is sent for
// a transaction that cannot succeed.
//
// The result gives each recipient its final reply: the MAIL reply if MAIL failed, its own RCPT
// reply if that failed, else the reply to the DATA command (if it failed) or to the content.

public import GatehouseCore

public struct SMTPClientTransaction: Sendable {
    /// A recipient with its RCPT parameters (`NOTIFY=…`, `ORCPT=…`).
    public struct Recipient: Hashable, Sendable {
        public var address: String
        public var parameters: [String]
        public init(address: String, parameters: [String] = []) {
            self.address = address
            self.parameters = parameters
        }
    }

    /// What the connection must do next.
    public enum Action: Equatable, Sendable {
        /// Write these command lines (each ends in CRLF), then read a reply.
        case send(String)
        /// Read the next reply.
        case read
        /// Write the content: after DATA's 354 dot-stuffed with the final ".", for CHUNKING as
        /// `BDAT <size> LAST` followed by the content. Then read a reply.
        case sendContent
        /// DATA got 354 although no recipient was accepted: write ".\r\n" alone (RFC 2920 §3.1), read.
        case sendEmptyContent
        /// Done: one final reply per recipient, in the order given.
        case finished([SMTPReply])
    }

    enum State: Sendable {
        case idle
        case awaitingMail
        case awaitingRecipient(Int)
        case awaitingData
        case awaitingContent
        case awaitingEmptyContent
        case done
    }

    public let sender: String
    public let mailParameters: [String]
    public let recipients: [Recipient]
    public let pipelining: Bool
    public let chunking: Bool
    private var state = State.idle
    private var mailReply: SMTPReply?
    private var recipientReplies: [SMTPReply?]
    private var dataReply: SMTPReply?
    private var contentReplied = false

    /// `sender` is the address without brackets ("" for the null sender).
    public init(sender: String, mailParameters: [String] = [], recipients: [Recipient], pipelining: Bool, chunking: Bool) {
        self.sender = sender
        self.mailParameters = mailParameters
        self.recipients = recipients
        self.pipelining = pipelining
        self.chunking = chunking
        recipientReplies = Array(repeating: nil, count: recipients.count)
    }

    var mailCommand: String { (["MAIL FROM:<\(sender)>"] + mailParameters).joined(separator: " ") + "\r\n" }
    func rcptCommand(_ i: Int) -> String { (["RCPT TO:<\(recipients[i].address)>"] + recipients[i].parameters).joined(separator: " ") + "\r\n" }

    /// The first writes of the transaction.
    public mutating func start() -> Action {
        precondition(!recipients.isEmpty, "a transaction needs a recipient")
        state = .awaitingMail
        guard pipelining else { return .send(mailCommand) }
        var text = mailCommand
        for i in recipients.indices { text += rcptCommand(i) }
        if !chunking { text += "DATA\r\n" }
        return .send(text)
    }

    var anyAccepted: Bool { recipientReplies.contains { $0?.isPositive == true } }

    /// Feeds the next reply in order.
    public mutating func receive(_ reply: SMTPReply) -> Action {
        switch state {
        case .idle, .done:
            return finish()
        case .awaitingMail:
            mailReply = reply
            state = .awaitingRecipient(0)
            if pipelining { return .read }
            if !reply.isPositive { return finish() }
            return .send(rcptCommand(0))
        case .awaitingRecipient(let i):
            recipientReplies[i] = reply
            if i + 1 < recipients.count {
                state = .awaitingRecipient(i + 1)
                return pipelining ? .read : .send(rcptCommand(i + 1))
            }
            if chunking {
                guard mailReply?.isPositive == true, anyAccepted else { return finish() }
                state = .awaitingContent
                return .sendContent
            }
            if pipelining {
                state = .awaitingData
                return .read
            }
            guard anyAccepted else { return finish() }
            state = .awaitingData
            return .send("DATA\r\n")
        case .awaitingData:
            if reply.code == 354 {
                guard mailReply?.isPositive == true, anyAccepted else {
                    state = .awaitingEmptyContent
                    return .sendEmptyContent
                }
                state = .awaitingContent
                return .sendContent
            }
            dataReply = reply
            return finish()
        case .awaitingContent:
            dataReply = reply
            contentReplied = true
            return finish()
        case .awaitingEmptyContent:
            return finish()
        }
    }

    /// Ends the transaction early: the connection failed. Recipients without a final reply get `reply`.
    public mutating func abort(_ reply: SMTPReply) -> [SMTPReply] {
        if mailReply == nil { mailReply = reply }
        if dataReply == nil { dataReply = reply }
        for i in recipientReplies.indices where recipientReplies[i] == nil { recipientReplies[i] = reply }
        if case .finished(let replies) = finish() { return replies }
        return []
    }

    /// Which reply the transaction waits for, to choose the RFC 5321 §4.5.3.2 timeout.
    public enum Phase: Sendable { case mail, recipient, data, content, done }

    public var phase: Phase {
        switch state {
        case .idle, .awaitingMail: return .mail
        case .awaitingRecipient: return .recipient
        case .awaitingData: return .data
        case .awaitingContent, .awaitingEmptyContent: return .content
        case .done: return .done
        }
    }

    /// Whether the server considers a transaction open (RSET needed before the next one).
    public var needsReset: Bool {
        guard let mailReply, mailReply.isPositive else { return false }
        return !contentReplied
    }

    private mutating func finish() -> Action {
        state = .done
        let fallback = SMTPReply(451, EnhancedStatusCode(4, 4, 2), "no reply from the next hop")
        var result: [SMTPReply] = []
        for i in recipients.indices {
            if let mailReply, !mailReply.isPositive { result.append(mailReply); continue }
            guard let r = recipientReplies[i] else { result.append(fallback); continue }
            if !r.isPositive { result.append(r); continue }
            result.append(dataReply ?? fallback)
        }
        return .finished(result)
    }
}
