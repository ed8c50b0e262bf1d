// SMTPReplyTests.swift — reply encoding with and without enhanced codes, multi-line replies and the
// reply table (Sources/GatehouseCore/SMTPReply.swift).

import Testing
@testable import GatehouseCore

@Suite("SMTPReply")
struct SMTPReplyTests {
    @Test func singleLineWithAndWithoutEnhancedCode() {
        let reply = SMTPReply(250, EnhancedStatusCode(2, 1, 5), "Ok")
        #expect(reply.encoded() == "250 2.1.5 Ok\r\n")
        #expect(reply.encoded(withEnhanced: true) == "250 2.1.5 Ok\r\n")
        #expect(reply.encoded(withEnhanced: false) == "250 Ok\r\n")
        #expect(SMTPReply(354, nil, "Go ahead").encoded() == "354 Go ahead\r\n")
        #expect(SMTPReply(354, nil, "Go ahead").encoded(withEnhanced: false) == "354 Go ahead\r\n")
    }

    @Test func multiLine() {
        let reply = SMTPReply(code: 250, enhanced: nil, lines: ["mx.example", "PIPELINING", "SIZE 1000"])
        #expect(reply.encoded() == "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n")
        #expect(SMTPReply.help().encoded()
                == "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n214 2.0.0 See RFC 5321\r\n")
        #expect(SMTPReply.help().encoded(withEnhanced: false)
                == "214-Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n214 See RFC 5321\r\n")
    }

    @Test func emptyText() {
        let reply = SMTPReply(code: 250, enhanced: EnhancedStatusCode(2, 0, 0), lines: [])
        #expect(reply.lines == [""])
        #expect(reply.encoded() == "250 2.0.0\r\n")
        #expect(reply.encoded(withEnhanced: false) == "250 \r\n")
        #expect(reply.description == "250 2.0.0")
    }

    @Test func descriptionIsTheFirstLine() {
        #expect(SMTPReply.relayDenied.description == "554 5.7.1 Relay access denied")
        #expect(SMTPReply(code: 250, enhanced: nil, lines: ["a", "b"]).description == "250 a")
        #expect(SMTPReply.queued("ABC").description == "250 2.0.0 Ok: queued as ABC")
        #expect(EnhancedStatusCode(4, 7, 0).description == "4.7.0")
    }

    @Test func classes() {
        #expect(SMTPReply.ok.isPositive && !SMTPReply.ok.isTransient && !SMTPReply.ok.isPermanent)
        #expect(SMTPReply.startData.isPositive)
        #expect(SMTPReply.insufficientStorage.isTransient && !SMTPReply.insufficientStorage.isPermanent)
        #expect(SMTPReply.relayDenied.isPermanent && !SMTPReply.relayDenied.isPositive)
    }

    @Test func codesOfTheRepliesTheDesignNames() {
        #expect(SMTPReply.greeting("mx.example", banner: "ESMTP Gatehouse").encoded() == "220 mx.example ESMTP Gatehouse\r\n")
        #expect(SMTPReply.closing("mx.example").encoded() == "221 2.0.0 mx.example closing connection\r\n")
        #expect(SMTPReply.insufficientStorage.encoded() == "452 4.3.1 Insufficient system storage\r\n")
        #expect(SMTPReply.tooManyRecipients.encoded() == "452 4.5.3 Error: too many recipients\r\n")
        #expect(SMTPReply.messageTooBig.encoded() == "552 5.3.4 Error: message file too big\r\n")
        #expect(SMTPReply.unknownRecipient.encoded().hasPrefix("550 5.1.1 "))
        #expect(SMTPReply.senderNotOwned.encoded().hasPrefix("553 5.7.1 "))
        #expect(SMTPReply.authFailed.encoded().hasPrefix("535 5.7.8 "))
        #expect(SMTPReply.textLineTooLong.encoded().hasPrefix("554 5.6.0 "))
        #expect(SMTPReply.tooManyErrors.encoded().hasPrefix("421 4.7.0 "))
        #expect(SMTPReply.parameterNotRecognized.encoded().hasPrefix("555 5.5.4 "))
    }

    @Test func repliesDoNotLeakConfiguration() {
        // Refusals say what, never which list or network: no addresses or CIDRs in the text.
        for reply in [SMTPReply.relayDenied, .accessDenied, .senderNotOwned, .unknownRecipient, .proxyRefused] {
            let text = reply.encoded()
            #expect(!text.contains("/"), "\(text)")
            #expect(!text.contains("@"), "\(text)")
        }
    }
}
