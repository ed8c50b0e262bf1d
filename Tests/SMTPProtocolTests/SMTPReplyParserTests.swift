// SMTPReplyParserTests.swift — reading a next hop's replies (Sources/SMTPProtocol/SMTPReplyParser.swift):
// single and multi-line replies, enhanced status codes, incremental feeding at every split, the
// line-length and line-count limits, and every kind of malformed reply.

import Testing
import NIOCore
import GatehouseCore
@testable import SMTPProtocol

/// What one parser made of a sequence of reads: the replies it returned, then how it stopped.
private struct ReplyOutcome: Equatable, CustomStringConvertible {
    var replies: [SMTPReply]
    /// nil when every byte was consumed or is waiting for more (see `unread`).
    var error: SMTPReplyParseError?
    /// Bytes not consumed when the reads ran out.
    var unread: String

    var description: String { "\(replies.map(\.singleLine)) error=\(String(describing: error)) unread=\(unread.debugDescription)" }
}

/// Feeds the reads one by one, taking every complete reply after each, as a connection does.
private func parseReplies(_ chunks: [[UInt8]], parser: SMTPReplyParser = SMTPReplyParser()) -> ReplyOutcome {
    var parser = parser
    var buffer = ByteBufferAllocator().buffer(capacity: 64)
    var replies: [SMTPReply] = []
    for chunk in chunks {
        buffer.writeBytes(chunk)
        do {
            while let reply = try parser.next(&buffer) { replies.append(reply) }
        } catch {
            return ReplyOutcome(replies: replies, error: error, unread: buffer.text)
        }
    }
    return ReplyOutcome(replies: replies, error: nil, unread: buffer.text)
}

private func parseReplies(_ text: String, feeding: Feeding = .whole, parser: SMTPReplyParser = SMTPReplyParser()) -> ReplyOutcome {
    parseReplies(feeding.chunks(Array(text.utf8)), parser: parser)
}

private func reply(_ code: Int, _ enhanced: EnhancedStatusCode?, _ lines: String...) -> SMTPReply {
    SMTPReply(code: code, enhanced: enhanced, lines: lines)
}

struct ReplyFixture: Sendable, CustomTestStringConvertible {
    var input: String
    var replies: [SMTPReply]
    var unread: String = ""
    var testDescription: String { input.debugDescription }
}

@Suite("SMTPReplyParser")
struct SMTPReplyParserTests {
    static let fixtures: [ReplyFixture] = [
        ReplyFixture(input: "220 mx.example.net ESMTP\r\n", replies: [reply(220, nil, "mx.example.net ESMTP")]),
        // Multi-line: the same code on every line, hyphen on all but the last.
        ReplyFixture(input: "250-mx.example.net Hello\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n",
                     replies: [reply(250, nil, "mx.example.net Hello", "PIPELINING", "SIZE 10240000")]),
        // A bare code, and a code with an empty text, are a reply with one empty line.
        ReplyFixture(input: "250\r\n", replies: [reply(250, nil, "")]),
        ReplyFixture(input: "250 \r\n", replies: [reply(250, nil, "")]),
        ReplyFixture(input: "250-\r\n250 last\r\n", replies: [reply(250, nil, "", "last")]),
        // Enhanced status codes (RFC 2034) come off the text of every line that carries one.
        ReplyFixture(input: "550 5.1.1 <u@example.net>: User unknown\r\n",
                     replies: [reply(550, EnhancedStatusCode(5, 1, 1), "<u@example.net>: User unknown")]),
        ReplyFixture(input: "550-5.7.1 Blocked, see\r\n550 5.7.1 https://example.net/why\r\n",
                     replies: [reply(550, EnhancedStatusCode(5, 7, 1), "Blocked, see", "https://example.net/why")]),
        ReplyFixture(input: "451-4.3.0 first\r\n451 no code here\r\n", replies: [reply(451, EnhancedStatusCode(4, 3, 0), "first", "no code here")]),
        ReplyFixture(input: "250 2.0.0\r\n", replies: [reply(250, EnhancedStatusCode(2, 0, 0), "")]),
        ReplyFixture(input: "550 5.1.10 null MX\r\n", replies: [reply(550, EnhancedStatusCode(5, 1, 10), "null MX")]),
        ReplyFixture(input: "554 5.123.456 x\r\n", replies: [reply(554, EnhancedStatusCode(5, 123, 456), "x")]),
        // Not an enhanced code: class not matching the reply, wrong shape, too many digits, 3xx replies.
        ReplyFixture(input: "250 5.1.1 odd but fine\r\n", replies: [reply(250, nil, "5.1.1 odd but fine")]),
        ReplyFixture(input: "550 3.1.1 x\r\n", replies: [reply(550, nil, "3.1.1 x")]),
        ReplyFixture(input: "550 5.1 x\r\n", replies: [reply(550, nil, "5.1 x")]),
        ReplyFixture(input: "550 5.1.1.1 x\r\n", replies: [reply(550, nil, "5.1.1.1 x")]),
        ReplyFixture(input: "550 5.1234.1 x\r\n", replies: [reply(550, nil, "5.1234.1 x")]),
        ReplyFixture(input: "550 55.1.1 x\r\n", replies: [reply(550, nil, "55.1.1 x")]),
        ReplyFixture(input: "550 5.1.1x\r\n", replies: [reply(550, nil, "5.1.1x")]),
        ReplyFixture(input: "550 5..1 x\r\n", replies: [reply(550, nil, "5..1 x")]),
        ReplyFixture(input: "354 End data with <CR><LF>.<CR><LF>\r\n", replies: [reply(354, nil, "End data with <CR><LF>.<CR><LF>")]),
        // A bare LF ends a line too (replies carry no message data).
        ReplyFixture(input: "250 ok\n", replies: [reply(250, nil, "ok")]),
        ReplyFixture(input: "250-a\n250 b\r\n", replies: [reply(250, nil, "a", "b")]),
        // Pipelined replies: each one whole, in order; a partial one stays in the buffer.
        ReplyFixture(input: "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n",
                     replies: [reply(250, EnhancedStatusCode(2, 1, 0), "Ok"), reply(250, EnhancedStatusCode(2, 1, 5), "Ok"), reply(354, nil, "go")]),
        ReplyFixture(input: "250 Ok\r\n550 5.1", replies: [reply(250, nil, "Ok")], unread: "550 5.1"),
        ReplyFixture(input: "250-first line\r\n", replies: []),
        ReplyFixture(input: "", replies: []),
        // Text is UTF-8 (RFC 6531 servers), kept as it is.
        ReplyFixture(input: "550 5.1.1 Empfänger unbekannt\r\n", replies: [reply(550, EnhancedStatusCode(5, 1, 1), "Empfänger unbekannt")]),
    ]

    @Test(arguments: fixtures, Feeding.allCases)
    func fixture(_ fixture: ReplyFixture, _ feeding: Feeding) {
        let outcome = parseReplies(fixture.input, feeding: feeding)
        #expect(outcome.error == nil)
        #expect(outcome.replies == fixture.replies)
        // A multi-line reply in progress has consumed its complete lines; only a partial line stays.
        if fixture.replies.isEmpty && fixture.input.hasSuffix("\r\n") {
            #expect(outcome.unread == "")
        } else {
            #expect(outcome.unread == fixture.unread)
        }
    }

    @Test func aReplySplitAcrossReadsIsCompletedLater() throws {
        var parser = SMTPReplyParser()
        var buffer = ByteBuffer("250-mx.example.net\r\n250-8BITMIME\r")
        #expect(try parser.next(&buffer) == nil)
        buffer.writeString("\n250 SMTPUTF8\r\n221 bye\r\n")
        #expect(try parser.next(&buffer) == reply(250, nil, "mx.example.net", "8BITMIME", "SMTPUTF8"))
        #expect(try parser.next(&buffer) == reply(221, nil, "bye"))
        #expect(try parser.next(&buffer) == nil)
        #expect(buffer.readableBytes == 0)
    }

    @Test func parseOneReplyFromText() throws {
        #expect(try SMTPReplyParser.parse("421 4.4.2 timeout\r\n") == reply(421, EnhancedStatusCode(4, 4, 2), "timeout"))
        #expect(try SMTPReplyParser.parse("421 4.4.2 timeout") == nil)
        #expect(throws: SMTPReplyParseError.malformed("hello")) { try SMTPReplyParser.parse("hello\r\n") }
    }

    // MARK: Malformed replies

    @Test(arguments: [
        "hello\r\n", "25\r\n", "2\r\n", "\r\n", "2500 x\r\n", "250x\r\n", "25a ok\r\n", " 250 ok\r\n",
        // Only 2xx to 5xx are replies; 1xx and 6xx-9xx are not (RFC 5321 §4.2.1), nor is 0xx.
        "150 x\r\n", "600 x\r\n", "999 x\r\n", "050 x\r\n",
        "250_ok\r\n", "250\tok\r\n",
    ])
    func malformedLinesAreRefused(_ input: String) {
        let outcome = parseReplies(input)
        #expect(outcome.replies.isEmpty)
        guard case .malformed? = outcome.error else {
            Issue.record("expected malformed, got \(outcome)")
            return
        }
    }

    @Test func malformedErrorCarriesTheLineWithoutItsEnd() {
        #expect(parseReplies("EHLO? no\r\n").error == .malformed("EHLO? no"))
        // The description is bounded: a next hop cannot flood the log.
        let long = String(repeating: "x", count: 500)
        let description = SMTPReplyParseError.malformed(long).description
        #expect(description.count < 120)
    }

    @Test func aMalformedContinuationLineEndsTheReply() {
        let outcome = parseReplies("250-mx.example.net\r\nPIPELINING\r\n250 OK\r\n")
        #expect(outcome.replies.isEmpty)
        #expect(outcome.error == .malformed("PIPELINING"))
    }

    @Test(arguments: Feeding.allCases)
    func theCodeMustNotChangeWithinAReply(_ feeding: Feeding) {
        let outcome = parseReplies("250-first\r\n251 second\r\n", feeding: feeding)
        #expect(outcome.replies.isEmpty)
        #expect(outcome.error == .inconsistentCode(first: 250, later: 251))
        #expect(SMTPReplyParseError.inconsistentCode(first: 250, later: 251).description.contains("250"))
    }

    @Test func aNewReplyMayHaveAnotherCode() {
        // After a complete reply the code is forgotten.
        let outcome = parseReplies("250 a\r\n550-b\r\n550 c\r\n")
        #expect(outcome.error == nil)
        #expect(outcome.replies == [reply(250, nil, "a"), reply(550, nil, "b", "c")])
    }

    // MARK: Limits

    @Test(arguments: Feeding.allCases)
    func aLineOfExactlyTheLimitIsAccepted(_ feeding: Feeding) {
        // The limit counts the whole line with its CRLF.
        let parser = SMTPReplyParser(maximumLineLength: 16, maximumLines: 10)
        let line = "250 " + String(repeating: "a", count: 10) + "\r\n"
        #expect(line.utf8.count == 16)
        let outcome = parseReplies(line, feeding: feeding, parser: parser)
        #expect(outcome.error == nil)
        #expect(outcome.replies == [reply(250, nil, String(repeating: "a", count: 10))])
    }

    @Test(arguments: Feeding.allCases)
    func aLongerLineIsRefused(_ feeding: Feeding) {
        let parser = SMTPReplyParser(maximumLineLength: 16, maximumLines: 10)
        let outcome = parseReplies("250 " + String(repeating: "a", count: 11) + "\r\n", feeding: feeding, parser: parser)
        #expect(outcome.replies.isEmpty)
        #expect(outcome.error == .lineTooLong(limit: 16))
    }

    @Test func anEndlessLineIsRefusedBeforeItEnds() {
        // A next hop that never sends a line end cannot make the buffer grow without bound.
        let parser = SMTPReplyParser(maximumLineLength: 64, maximumLines: 10)
        let outcome = parseReplies(Array(repeating: Array("2".utf8), count: 65), parser: parser)
        #expect(outcome.error == .lineTooLong(limit: 64))
        // At the limit it still waits for more.
        let waiting = parseReplies(Array(repeating: Array("2".utf8), count: 64), parser: parser)
        #expect(waiting.error == nil)
        #expect(waiting.replies.isEmpty)
    }

    @Test func theDefaultLimitsComeFromDefaults() {
        let parser = SMTPReplyParser()
        #expect(parser.maximumLineLength == Defaults.Delivery.replyLineLength)
        #expect(parser.maximumLines == Defaults.Delivery.replyLines)
        // RFC 5321 §4.5.3.1.5: 512 octets; real servers send longer lines, so the default is above it.
        #expect(parser.maximumLineLength >= 512)
    }

    @Test(arguments: Feeding.allCases)
    func tooManyLinesAreRefused(_ feeding: Feeding) {
        let parser = SMTPReplyParser(maximumLineLength: 100, maximumLines: 3)
        let three = "250-a\r\n250-b\r\n250 c\r\n"
        #expect(parseReplies(three, feeding: feeding, parser: parser).replies == [reply(250, nil, "a", "b", "c")])
        let four = "250-a\r\n250-b\r\n250-c\r\n250 d\r\n"
        let outcome = parseReplies(four, feeding: feeding, parser: parser)
        #expect(outcome.replies.isEmpty)
        #expect(outcome.error == .tooManyLines(limit: 3))
    }

    @Test func endlessContinuationLinesAreRefused() {
        // A hostile hop sending `250-` forever is stopped at the line limit, not at memory exhaustion.
        let parser = SMTPReplyParser(maximumLineLength: 100, maximumLines: 100)
        let outcome = parseReplies(String(repeating: "250-more\r\n", count: 1_000), parser: parser)
        #expect(outcome.error == .tooManyLines(limit: 100))
    }

    @Test func errorDescriptionsNameTheLimit() {
        #expect(SMTPReplyParseError.lineTooLong(limit: 4096).description.contains("4096"))
        #expect(SMTPReplyParseError.tooManyLines(limit: 100).description.contains("100"))
    }

    // MARK: One-line form

    @Test func singleLineJoinsTheReply() {
        #expect(reply(550, EnhancedStatusCode(5, 1, 1), "user unknown", "see the docs").singleLine == "550 5.1.1 user unknown see the docs")
        #expect(reply(250, nil, "").singleLine == "250")
        #expect(reply(421, nil, "bye").singleLine == "421 bye")
        #expect(reply(250, EnhancedStatusCode(2, 0, 0), "").singleLine == "250 2.0.0")
    }

    @Test func encodedRepliesParseBack() throws {
        // What our own server writes, the client reads back to the same value.
        for original in [SMTPReply.ok, .recipientOK, .unknownRecipient, .help(), .messageTooBig, .startData, .serviceNotAvailable("mx.test")] {
            let parsed = try SMTPReplyParser.parse(original.encoded(withEnhanced: true))
            #expect(parsed == original, "\(original)")
        }
    }
}
