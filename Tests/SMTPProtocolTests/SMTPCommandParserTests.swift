// SMTPCommandParserTests.swift — one command line → SMTPCommand or a typed error
// (Sources/SMTPProtocol/SMTPCommandParser.swift, SMTPCommand.swift), for every verb and parameter.

import Testing
import GatehouseCore
@testable import SMTPProtocol

struct CommandFixture: Sendable, CustomTestStringConvertible {
    var line: String
    var smtputf8Allowed = true
    var expected: Result<SMTPCommand, SMTPCommandError>
    var testDescription: String { line.debugDescription }

    init(_ line: String, smtputf8Allowed: Bool = true, _ expected: Result<SMTPCommand, SMTPCommandError>) {
        self.line = line
        self.smtputf8Allowed = smtputf8Allowed
        self.expected = expected
    }
}

private func box(_ local: String, _ domain: String) -> Path {
    .mailbox(Mailbox(localPart: local, domain: .name(domain)), sourceRoute: [])
}

private func mail(_ path: Path, _ configure: (inout MailParameters) -> Void = { _ in }) -> Result<SMTPCommand, SMTPCommandError> {
    var parameters = MailParameters()
    configure(&parameters)
    return .success(.mail(path, parameters))
}

private func rcpt(_ path: Path, _ configure: (inout RecipientParameters) -> Void = { _ in }) -> Result<SMTPCommand, SMTPCommandError> {
    var parameters = RecipientParameters()
    configure(&parameters)
    return .success(.rcpt(path, parameters))
}

private let sender = box("a", "b.example")
private let recipient = box("u", "x.example")

@Suite("SMTPCommandParser")
struct SMTPCommandParserTests {
    static let greetings: [CommandFixture] = [
        CommandFixture("EHLO client.example", .success(.ehlo("client.example"))),
        CommandFixture("ehlo  client.example  ", .success(.ehlo("client.example"))),
        CommandFixture("EhLo [192.0.2.1]", .success(.ehlo("[192.0.2.1]"))),
        CommandFixture("EHLO", .failure(.syntax("EHLO hostname"))),
        CommandFixture("EHLO ", .failure(.syntax("EHLO hostname"))),
        CommandFixture("EHLO two words", .failure(.syntax("EHLO hostname"))),
        CommandFixture("HELO client.example", .success(.helo("client.example"))),
        CommandFixture("helo some old client", .success(.helo("some old client"))),
        CommandFixture("HELO", .failure(.syntax("HELO hostname"))),
    ]

    static let mailFixtures: [CommandFixture] = [
        CommandFixture("MAIL FROM:<a@b.example>", mail(sender)),
        CommandFixture("mail from:<a@b.example>", mail(sender)),
        CommandFixture("Mail From:<a@B.Example.>", mail(sender)),
        // Spaces after the colon and a missing pair of brackets are tolerated.
        CommandFixture("MAIL FROM: <a@b.example>", mail(sender)),
        CommandFixture("MAIL FROM:   <a@b.example>  SIZE=10", mail(sender) { $0.size = 10 }),
        CommandFixture("MAIL FROM:a@b.example", mail(sender)),
        CommandFixture("MAIL FROM:a@b.example SIZE=10", mail(sender) { $0.size = 10 }),
        CommandFixture("MAIL FROM:<>", mail(.null)),
        CommandFixture("MAIL FROM:<> BODY=8BITMIME", mail(.null) { $0.body = .eightBitMIME }),
        CommandFixture("MAIL FROM:<\"a>b\"@b.example>", mail(box("a>b", "b.example"))),
        CommandFixture("MAIL FROM:<\"a\\\">\"@b.example>", mail(box("a\">", "b.example"))),
        // SIZE
        CommandFixture("MAIL FROM:<a@b.example> SIZE=0", mail(sender) { $0.size = 0 }),
        CommandFixture("MAIL FROM:<a@b.example> size=52428800", mail(sender) { $0.size = 52_428_800 }),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=007", mail(sender) { $0.size = 7 }),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=999999999999999999", mail(sender) { $0.size = 999_999_999_999_999_999 }),
        // size-value = 1*20DIGIT (RFC 1870 §3): more than an Int holds means "too big", not a syntax error.
        CommandFixture("MAIL FROM:<a@b.example> SIZE=9223372036854775807", mail(sender) { $0.size = Int.max }),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=9223372036854775808", mail(sender) { $0.size = Int.max }),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=99999999999999999999", mail(sender) { $0.size = Int.max }),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=100000000000000000000", .failure(.badParameter("SIZE"))),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=-1", .failure(.badParameter("SIZE"))),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=+1", .failure(.badParameter("SIZE"))),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=١٢", .failure(.badParameter("SIZE"))),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=1k", .failure(.badParameter("SIZE"))),
        CommandFixture("MAIL FROM:<a@b.example> SIZE", .failure(.badParameter("SIZE"))),
        // BODY
        CommandFixture("MAIL FROM:<a@b.example> BODY=7BIT", mail(sender) { $0.body = .sevenBit }),
        CommandFixture("MAIL FROM:<a@b.example> body=8bitmime", mail(sender) { $0.body = .eightBitMIME }),
        CommandFixture("MAIL FROM:<a@b.example> BODY=BINARYMIME", .failure(.badParameter("BODY"))),
        CommandFixture("MAIL FROM:<a@b.example> BODY", .failure(.badParameter("BODY"))),
        // SMTPUTF8
        CommandFixture("MAIL FROM:<a@b.example> SMTPUTF8", mail(sender) { $0.smtputf8 = true }),
        CommandFixture("MAIL FROM:<josé@b.example> SMTPUTF8", mail(box("josé", "b.example")) { $0.smtputf8 = true }),
        CommandFixture("MAIL FROM:<a@bücher.example> SMTPUTF8", mail(box("a", "bücher.example")) { $0.smtputf8 = true }),
        CommandFixture("MAIL FROM:<josé@b.example>", .failure(.badAddress(.needsSMTPUTF8, sender: true))),
        CommandFixture("MAIL FROM:<a@b.example> SMTPUTF8", smtputf8Allowed: false, .failure(.badParameter("SMTPUTF8"))),
        CommandFixture("MAIL FROM:<a@b.example> SMTPUTF8=yes", .failure(.badParameter("SMTPUTF8"))),
        // RET
        CommandFixture("MAIL FROM:<a@b.example> RET=FULL", mail(sender) { $0.ret = .full }),
        CommandFixture("MAIL FROM:<a@b.example> ret=hdrs", mail(sender) { $0.ret = .headers }),
        CommandFixture("MAIL FROM:<a@b.example> RET=ALL", .failure(.badParameter("RET"))),
        CommandFixture("MAIL FROM:<a@b.example> RET=FULL RET=HDRS", .failure(.badParameter("RET"))),
        // ENVID (xtext, at most 100 octets)
        CommandFixture("MAIL FROM:<a@b.example> ENVID=QQ314159", mail(sender) { $0.envelopeID = "QQ314159" }),
        CommandFixture("MAIL FROM:<a@b.example> ENVID=a+2Bb+3D", mail(sender) { $0.envelopeID = "a+2Bb+3D" }),
        CommandFixture("MAIL FROM:<a@b.example> ENVID=" + String(repeating: "e", count: 100),
                       mail(sender) { $0.envelopeID = String(repeating: "e", count: 100) }),
        CommandFixture("MAIL FROM:<a@b.example> ENVID=" + String(repeating: "e", count: 101), .failure(.badParameter("ENVID"))),
        CommandFixture("MAIL FROM:<a@b.example> ENVID=a+2bb", .failure(.badParameter("ENVID"))),
        CommandFixture("MAIL FROM:<a@b.example> ENVID=a+2", .failure(.badParameter("ENVID"))),
        CommandFixture("MAIL FROM:<a@b.example> ENVID=a+", .failure(.badParameter("ENVID"))),
        CommandFixture("MAIL FROM:<a@b.example> ENVID=a+GG", .failure(.badParameter("ENVID"))),
        CommandFixture("MAIL FROM:<a@b.example> ENVID=é", .failure(.badParameter("ENVID"))),
        CommandFixture("MAIL FROM:<a@b.example> ENVID=x ENVID=y", .failure(.badParameter("ENVID"))),
        CommandFixture("MAIL FROM:<a@b.example> ENVID", .failure(.badParameter("ENVID"))),
        // AUTH= (kept verbatim, never trusted)
        CommandFixture("MAIL FROM:<a@b.example> AUTH=<>", mail(sender) { $0.auth = "<>" }),
        CommandFixture("MAIL FROM:<a@b.example> AUTH=alice+40b.example", mail(sender) { $0.auth = "alice+40b.example" }),
        CommandFixture("MAIL FROM:<a@b.example> AUTH", .failure(.badParameter("AUTH"))),
        // Everything together, in any order and case.
        CommandFixture("MAIL FROM:<a@b.example> SMTPUTF8 ret=HDRS SIZE=42 envid=ID1 BODY=8BITMIME AUTH=<>", mail(sender) {
            $0.smtputf8 = true; $0.ret = .headers; $0.size = 42; $0.envelopeID = "ID1"; $0.body = .eightBitMIME; $0.auth = "<>"
        }),
        // Unknown and malformed parameters.
        CommandFixture("MAIL FROM:<a@b.example> FOO=bar", .failure(.unknownParameter("FOO"))),
        CommandFixture("MAIL FROM:<a@b.example> x-custom", .failure(.unknownParameter("X-CUSTOM"))),
        CommandFixture("MAIL FROM:<a@b.example> NOTIFY=NEVER", .failure(.unknownParameter("NOTIFY"))),
        CommandFixture("MAIL FROM:<a@b.example> -FOO", .failure(.badParameter(""))),
        CommandFixture("MAIL FROM:<a@b.example> =1", .failure(.badParameter(""))),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=", .failure(.badParameter(""))),
        CommandFixture("MAIL FROM:<a@b.example> SIZE=1=2", .failure(.badParameter(""))),
        CommandFixture("MAIL FROM:<a@b.example> AUTH=" + String(repeating: "x", count: 501), .failure(.badParameter(""))),
        // Syntax and address errors.
        CommandFixture("MAIL", .failure(.syntax("MAIL FROM:<address>"))),
        CommandFixture("MAIL FROM", .failure(.syntax("MAIL FROM:<address>"))),
        CommandFixture("MAIL FROM:", .failure(.syntax("MAIL FROM:<address>"))),
        CommandFixture("MAIL FROM:   ", .failure(.syntax("MAIL FROM:<address>"))),
        CommandFixture("MAIL TO:<a@b.example>", .failure(.syntax("MAIL FROM:<address>"))),
        CommandFixture("MAIL FROM:<a@b.example", .failure(.syntax("MAIL FROM:<address>"))),
        CommandFixture("MAIL FROM:<a@b.example>SIZE=10", .failure(.syntax("MAIL FROM:<address>"))),
        CommandFixture("MAIL FROM :<a@b.example>", .failure(.syntax("MAIL FROM:<address>"))),
        CommandFixture("MAIL FROM:<postmaster>", .failure(.badAddress(.missingDomain, sender: true))),
        CommandFixture("MAIL FROM:<a b@c.example>", .failure(.badAddress(.badLocalPart, sender: true))),
        CommandFixture("MAIL FROM:<a@b..example>", .failure(.badAddress(.badDomain, sender: true))),
    ]

    static let rcptFixtures: [CommandFixture] = [
        CommandFixture("RCPT TO:<u@x.example>", rcpt(recipient)),
        CommandFixture("rcpt to:<u@X.EXAMPLE>", rcpt(recipient)),
        CommandFixture("RCPT TO:   <u@x.example>", rcpt(recipient)),
        CommandFixture("RCPT TO:u@x.example", rcpt(recipient)),
        CommandFixture("RCPT TO:<postmaster>", .success(.rcpt(.postmaster, RecipientParameters()))),
        CommandFixture("RCPT TO:<PostMaster>", .success(.rcpt(.postmaster, RecipientParameters()))),
        CommandFixture("RCPT TO:<@relay.example:u@x.example>",
                       .success(.rcpt(.mailbox(Mailbox(localPart: "u", domain: .name("x.example")), sourceRoute: ["relay.example"]),
                                      RecipientParameters()))),
        // UTF-8 paths are parsed here; the state machine checks them against the MAIL's SMTPUTF8.
        CommandFixture("RCPT TO:<josé@x.example>", rcpt(box("josé", "x.example"))),
        CommandFixture("RCPT TO:<josé@x.example>", smtputf8Allowed: false, .failure(.badAddress(.needsSMTPUTF8, sender: false))),
        // NOTIFY
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=NEVER", rcpt(recipient) { $0.notify = .never }),
        CommandFixture("RCPT TO:<u@x.example> notify=never", rcpt(recipient) { $0.notify = .never }),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=SUCCESS", rcpt(recipient) { $0.notify = .success }),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=SUCCESS,FAILURE", rcpt(recipient) { $0.notify = [.success, .failure] }),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=DELAY,FAILURE,SUCCESS", rcpt(recipient) { $0.notify = [.success, .failure, .delay] }),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=FAILURE,FAILURE", rcpt(recipient) { $0.notify = .failure }),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=NEVER,SUCCESS", .failure(.badParameter("NOTIFY"))),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=FAILURE,NEVER", .failure(.badParameter("NOTIFY"))),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=NEVER,NEVER", rcpt(recipient) { $0.notify = .never }),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=SOMETIMES", .failure(.badParameter("NOTIFY"))),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=SUCCESS,", .failure(.badParameter("NOTIFY"))),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=,SUCCESS", .failure(.badParameter("NOTIFY"))),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY", .failure(.badParameter("NOTIFY"))),
        CommandFixture("RCPT TO:<u@x.example> NOTIFY=SUCCESS NOTIFY=FAILURE", .failure(.badParameter("NOTIFY"))),
        // ORCPT
        CommandFixture("RCPT TO:<u@x.example> ORCPT=rfc822;u@x.example", rcpt(recipient) { $0.originalRecipient = "rfc822;u@x.example" }),
        CommandFixture("RCPT TO:<u@x.example> ORCPT=rfc822;u+2Bv@x.example NOTIFY=FAILURE", rcpt(recipient) {
            $0.originalRecipient = "rfc822;u+2Bv@x.example"; $0.notify = .failure
        }),
        CommandFixture("RCPT TO:<u@x.example> ORCPT=;u@x.example", .failure(.badParameter("ORCPT"))),
        CommandFixture("RCPT TO:<u@x.example> ORCPT=rfc822", .failure(.badParameter("ORCPT"))),
        CommandFixture("RCPT TO:<u@x.example> ORCPT=a;b ORCPT=a;c", .failure(.badParameter("ORCPT"))),
        CommandFixture("RCPT TO:<u@x.example> ORCPT", .failure(.badParameter("ORCPT"))),
        // Unknown parameters: 555 (RFC 5321 §4.1.1.11); MAIL's parameters are unknown on RCPT.
        CommandFixture("RCPT TO:<u@x.example> SIZE=10", .failure(.unknownParameter("SIZE"))),
        CommandFixture("RCPT TO:<u@x.example> XFORWARD=1", .failure(.unknownParameter("XFORWARD"))),
        CommandFixture("RCPT TO:<u@x.example> =", .failure(.badParameter(""))),
        // Syntax and address errors.
        CommandFixture("RCPT", .failure(.syntax("RCPT TO:<address>"))),
        CommandFixture("RCPT FROM:<u@x.example>", .failure(.syntax("RCPT TO:<address>"))),
        CommandFixture("RCPT TO:", .failure(.syntax("RCPT TO:<address>"))),
        CommandFixture("RCPT TO:<u@x.example>NOTIFY=NEVER", .failure(.syntax("RCPT TO:<address>"))),
        CommandFixture("RCPT TO:<>", .failure(.badAddress(.empty, sender: false))),
        CommandFixture("RCPT TO:<u>", .failure(.badAddress(.missingDomain, sender: false))),
        CommandFixture("RCPT TO:<u@x.example", .failure(.syntax("RCPT TO:<address>"))),
    ]

    static let otherFixtures: [CommandFixture] = [
        CommandFixture("DATA", .success(.data)),
        CommandFixture("data", .success(.data)),
        CommandFixture("DATA ", .success(.data)),
        CommandFixture("DATA now", .failure(.syntax("DATA"))),
        // BDAT (RFC 3030 §2)
        CommandFixture("BDAT 100", .success(.bdat(size: 100, last: false))),
        CommandFixture("BDAT 0 LAST", .success(.bdat(size: 0, last: true))),
        CommandFixture("bdat 5 last", .success(.bdat(size: 5, last: true))),
        CommandFixture("BDAT  5   LAST", .success(.bdat(size: 5, last: true))),
        CommandFixture("BDAT 007", .success(.bdat(size: 7, last: false))),
        CommandFixture("BDAT 999999999999999999", .success(.bdat(size: 999_999_999_999_999_999, last: false))),
        CommandFixture("BDAT 1000000000000000000", .failure(.syntax("BDAT size [LAST]"))),
        CommandFixture("BDAT", .failure(.syntax("BDAT size [LAST]"))),
        CommandFixture("BDAT LAST", .failure(.syntax("BDAT size [LAST]"))),
        CommandFixture("BDAT -1", .failure(.syntax("BDAT size [LAST]"))),
        CommandFixture("BDAT +5", .failure(.syntax("BDAT size [LAST]"))),
        CommandFixture("BDAT 1 2", .failure(.syntax("BDAT size [LAST]"))),
        CommandFixture("BDAT 1 LAST x", .failure(.syntax("BDAT size [LAST]"))),
        CommandFixture("BDAT 1 FIRST", .failure(.syntax("BDAT size [LAST]"))),
        CommandFixture("BDAT ١٢", .failure(.syntax("BDAT size [LAST]"))),
        // The rest of RFC 5321.
        CommandFixture("RSET", .success(.rset)),
        CommandFixture("rset  ", .success(.rset)),
        CommandFixture("RSET all", .failure(.syntax("RSET"))),
        CommandFixture("NOOP", .success(.noop)),
        CommandFixture("NOOP anything at all", .success(.noop)),
        CommandFixture("QUIT", .success(.quit)),
        CommandFixture("quit", .success(.quit)),
        CommandFixture("QUIT now", .failure(.syntax("QUIT"))),
        CommandFixture("VRFY postmaster", .success(.vrfy("postmaster"))),
        CommandFixture("VRFY", .failure(.syntax("VRFY address"))),
        CommandFixture("EXPN staff", .success(.expn("staff"))),
        CommandFixture("EXPN", .success(.expn(""))),
        CommandFixture("HELP", .success(.help)),
        CommandFixture("HELP MAIL", .success(.help)),
        CommandFixture("STARTTLS", .success(.startTLS)),
        CommandFixture("starttls", .success(.startTLS)),
        CommandFixture("STARTTLS now", .failure(.syntax("STARTTLS"))),
        // AUTH (RFC 4954 §4)
        CommandFixture("AUTH PLAIN", .success(.auth(mechanism: "PLAIN", initialResponse: nil))),
        CommandFixture("auth plain AGFsaWNlAHNlY3JldA==", .success(.auth(mechanism: "PLAIN", initialResponse: "AGFsaWNlAHNlY3JldA=="))),
        CommandFixture("AUTH LOGIN", .success(.auth(mechanism: "LOGIN", initialResponse: nil))),
        CommandFixture("AUTH LOGIN YWxpY2U=", .success(.auth(mechanism: "LOGIN", initialResponse: "YWxpY2U="))),
        CommandFixture("AUTH PLAIN =", .success(.auth(mechanism: "PLAIN", initialResponse: "="))),
        CommandFixture("AUTH  CRAM-MD5  ", .success(.auth(mechanism: "CRAM-MD5", initialResponse: nil))),
        CommandFixture("AUTH", .failure(.syntax("AUTH mechanism [initial-response]"))),
        CommandFixture("AUTH PLAIN a b", .failure(.syntax("AUTH mechanism [initial-response]"))),
        // Obsolete and unknown verbs.
        CommandFixture("TURN", .failure(.notImplemented)),
        CommandFixture("ETRN example.com", .failure(.notImplemented)),
        CommandFixture("ATRN", .failure(.notImplemented)),
        CommandFixture("SEND FROM:<a@b.example>", .failure(.notImplemented)),
        CommandFixture("SOML FROM:<a@b.example>", .failure(.notImplemented)),
        CommandFixture("SAML FROM:<a@b.example>", .failure(.notImplemented)),
        CommandFixture("", .failure(.unrecognized)),
        CommandFixture(" EHLO x", .failure(.unrecognized)),
        CommandFixture("GET / HTTP/1.1", .failure(.unrecognized)),
        CommandFixture("MAILFROM:<a@b.example>", .failure(.unrecognized)),
        CommandFixture("EHLO\tclient", .failure(.unrecognized)),
    ]

    @Test(arguments: greetings) func greeting(_ f: CommandFixture) { check(f) }
    @Test(arguments: mailFixtures) func mailFrom(_ f: CommandFixture) { check(f) }
    @Test(arguments: rcptFixtures) func rcptTo(_ f: CommandFixture) { check(f) }
    @Test(arguments: otherFixtures) func otherVerbs(_ f: CommandFixture) { check(f) }

    private func check(_ f: CommandFixture) {
        let result = SMTPCommandParser.parse(Array(f.line.utf8), smtputf8Allowed: f.smtputf8Allowed)
        #expect(result == f.expected, "\(f.line.debugDescription)")
    }

    @Test func invalidUTF8IsUnrecognized() {
        #expect(SMTPCommandParser.parse([0x45, 0x48, 0x4C, 0x4F, 0x20, 0xFF]) == .failure(.unrecognized))
        #expect(SMTPCommandParser.parse([0xC3]) == .failure(.unrecognized))
    }

    @Test func parsesAnyCollectionOfBytes() {
        // The handler passes ByteBuffer views; a slice with a non-zero start index must work too.
        let bytes = Array("xxNOOP".utf8)
        #expect(SMTPCommandParser.parse(bytes[2...]) == .success(.noop))
    }

    @Test func errorReplies() {
        #expect(SMTPCommandError.unrecognized.reply == .commandUnrecognized)
        #expect(SMTPCommandError.unrecognized.reply.code == 500)
        #expect(SMTPCommandError.syntax("DATA").reply == SMTPReply(501, EnhancedStatusCode(5, 5, 4), "Syntax: DATA"))
        #expect(SMTPCommandError.badAddress(.badDomain, sender: true).reply == .badSenderSyntax)
        #expect(SMTPCommandError.badAddress(.badDomain, sender: true).reply.enhanced == EnhancedStatusCode(5, 1, 7))
        #expect(SMTPCommandError.badAddress(.badDomain, sender: false).reply == .badAddressSyntax)
        #expect(SMTPCommandError.badAddress(.badDomain, sender: false).reply.enhanced == EnhancedStatusCode(5, 1, 3))
        #expect(SMTPCommandError.badAddress(.needsSMTPUTF8, sender: false).reply == .smtputf8Required)
        #expect(SMTPCommandError.needsSMTPUTF8.reply.code == 553)
        #expect(SMTPCommandError.unknownParameter("FOO").reply.code == 555)
        #expect(SMTPCommandError.unknownParameter("FOO").reply.enhanced == EnhancedStatusCode(5, 5, 4))
        #expect(SMTPCommandError.badParameter("SIZE").reply.code == 501)
        #expect(SMTPCommandError.notImplemented.reply.code == 502)
    }

    @Test func everyLineGetsAnAnswer() {
        // Totality: arbitrary lines of command-ish fragments never crash and always give a result.
        let pieces = ["MAIL", "RCPT", "FROM:", "TO:", "<", ">", "\"", "\\", "@", ":", ",", " ", "=", "SIZE", "NOTIFY", "a", ".",
                      "%", "!", "[", "]", "IPv6:", "é", "\t", "BDAT", "9", "LAST", "AUTH", "ORCPT", ";", "ENVID", "+"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let line = (0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            _ = SMTPCommandParser.parse(Array(line.utf8))
        }
    }
}

@Suite struct SMTPCommandParserRepeatedParameterTests {
    @Test(arguments: ["SIZE=1 SIZE=2", "BODY=7BIT BODY=8BITMIME", "SMTPUTF8 SMTPUTF8", "AUTH=<> AUTH=<>"])
    func repeatedMailParameterRefused(_ parameters: String) {
        let result = SMTPCommandParser.parse(Array("MAIL FROM:<a@b.example> \(parameters)".utf8))
        #expect(result == .failure(.badParameter(String(parameters.prefix { $0 != "=" && $0 != " " }))))
    }
}
