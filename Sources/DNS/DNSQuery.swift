// DNSQuery.swift — building a query (RFC 1035 §4.1, EDNS(0) per RFC 6891 §6.2.5) and deciding
// whether a message that arrives is the answer to it (RFC 5452 §4.1, §9.1).
//
// Security notes: over UDP anyone who can guess our source port and message id can send an
// answer first (the Kaminsky attack). The defences are the randomness of both, chosen fresh for
// each query from the system CSPRNG (ids here, ports by the kernel for each new socket), and this
// validator: a message is ours only if it is a response (QR), to a standard query, with our id,
// and echoes exactly our one question — name compared case-insensitively (RFC 4343), type and
// class. Anything else is ignored, not treated as an error, so a spoofed packet cannot even
// make a lookup fail; the real answer may still arrive before the timeout.

/// A query as sent, and the check of what comes back.
public struct DNSQuery: Hashable, Sendable {
    /// The message id (RFC 1035 §4.1.1).
    public let id: UInt16
    /// The one question asked.
    public let question: DNSQuestion
    /// The UDP payload size advertised in an OPT record; `nil` sends no OPT record.
    public let ednsPayloadSize: UInt16?

    public init(id: UInt16, question: DNSQuestion, ednsPayloadSize: UInt16? = DNSDefaults.ednsPayloadSize) {
        self.id = id
        self.question = question
        self.ednsPayloadSize = ednsPayloadSize
    }

    /// A query with a fresh id from the system's cryptographically secure generator.
    public static func random(_ question: DNSQuestion, ednsPayloadSize: UInt16? = DNSDefaults.ednsPayloadSize) -> DNSQuery {
        var generator = SystemRandomNumberGenerator()
        return DNSQuery(id: UInt16.random(in: .min ... .max, using: &generator), question: question, ednsPayloadSize: ednsPayloadSize)
    }

    /// The query message: RD set (we ask a recursive resolver), one question, an OPT record
    /// unless EDNS is off.
    public var message: DNSMessage {
        DNSMessage(header: DNSHeader(id: id, recursionDesired: true), questions: [question],
                   edns: ednsPayloadSize.map { DNSEDNS(udpPayloadSize: max($0, 512)) })
    }

    /// The wire form. A query always fits (one name of at most 255 octets), so this cannot fail.
    public func encoded() -> [UInt8] {
        do {
            return try message.encoded()
        } catch {
            preconditionFailure("a single-question query cannot exceed the message size: \(error)")
        }
    }

    /// Decodes `bytes` and checks that they answer this query.
    public func validate(_ bytes: [UInt8]) -> DNSResponseValidation {
        let message: DNSMessage
        do {
            message = try DNSMessage(decoding: bytes)
        } catch {
            return .malformed(error)
        }
        return validate(message)
    }

    /// Checks that `response` answers this query. A truncated (TC) response is accepted: the caller
    /// decides whether to ask again over TCP.
    public func validate(_ response: DNSMessage) -> DNSResponseValidation {
        guard response.header.id == id else { return .notOurs(.wrongID(response.header.id)) }
        guard response.header.isResponse else { return .notOurs(.notAResponse) }
        guard response.header.opcode == .query else { return .notOurs(.wrongOpcode(response.header.opcode)) }
        guard response.questions.count == 1, let echoed = response.questions.first,
              echoed.name == question.name, echoed.type == question.type, echoed.questionClass == question.questionClass
        else { return .notOurs(.wrongQuestion) }
        return .accepted(response)
    }
}

/// What a received message is to a query.
public enum DNSResponseValidation: Hashable, Sendable {
    /// The answer to the query (possibly truncated: check `header.isTruncated`).
    case accepted(DNSMessage)
    /// A well-formed message that is not the answer: ignore it (over UDP, keep waiting).
    case notOurs(DNSResponseMismatch)
    /// Octets that are not a DNS message.
    case malformed(DNSParseError)
}

/// Why a message is not the answer to a query.
public enum DNSResponseMismatch: Hashable, Sendable, CustomStringConvertible {
    case wrongID(UInt16)
    /// QR is clear: a query, not a response (perhaps our own, reflected).
    case notAResponse
    case wrongOpcode(DNSOpcode)
    /// No question, several, or not ours (name, type or class differ).
    case wrongQuestion

    public var description: String {
        switch self {
        case .wrongID(let id): return "response id \(id) is not the query's"
        case .notAResponse: return "message is not a response"
        case .wrongOpcode(let opcode): return "response opcode \(opcode)"
        case .wrongQuestion: return "response does not echo the question"
        }
    }
}
