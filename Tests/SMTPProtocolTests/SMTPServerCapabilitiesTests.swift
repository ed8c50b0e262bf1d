// SMTPServerCapabilitiesTests.swift — what a next hop's EHLO reply offers
// (Sources/SMTPProtocol/SMTPServerCapabilities.swift): every keyword we use, case, SIZE values,
// both AUTH forms, and real EHLO replies read through the reply parser.

import Testing
import GatehouseCore
@testable import SMTPProtocol

/// The capabilities of an EHLO reply whose lines after the greeting are `keywords`.
private func capabilities(_ keywords: String...) -> SMTPServerCapabilities {
    SMTPServerCapabilities(ehloReply: SMTPReply(code: 250, enhanced: nil, lines: ["mx.example.net Hello client.example"] + keywords))
}

@Suite("SMTPServerCapabilities")
struct SMTPServerCapabilitiesTests {
    @Test func nothingOfferedMeansNothing() {
        let none = SMTPServerCapabilities()
        #expect(capabilities() == none)
        #expect(!none.pipelining && !none.size && !none.eightBitMIME && !none.smtputf8 && !none.dsn)
        #expect(!none.chunking && !none.starttls && !none.enhancedStatusCodes)
        #expect(none.maximumSize == nil)
        #expect(none.authMechanisms.isEmpty)
        // A HELO-style one-line reply offers nothing either.
        #expect(SMTPServerCapabilities(ehloReply: SMTPReply(250, nil, "mx.example.net")) == none)
    }

    @Test func everyKeyword() {
        let c = capabilities("PIPELINING", "SIZE 52428800", "8BITMIME", "SMTPUTF8", "DSN", "CHUNKING", "STARTTLS",
                             "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN")
        #expect(c.pipelining)
        #expect(c.size)
        #expect(c.maximumSize == 52_428_800)
        #expect(c.eightBitMIME)
        #expect(c.smtputf8)
        #expect(c.dsn)
        #expect(c.chunking)
        #expect(c.starttls)
        #expect(c.enhancedStatusCodes)
        #expect(c.authMechanisms == ["PLAIN", "LOGIN"])
    }

    @Test(arguments: ["PIPELINING", "8BITMIME", "SMTPUTF8", "DSN", "CHUNKING", "STARTTLS", "ENHANCEDSTATUSCODES"])
    func eachKeywordAlone(_ keyword: String) {
        var expected = SMTPServerCapabilities()
        switch keyword {
        case "PIPELINING": expected.pipelining = true
        case "8BITMIME": expected.eightBitMIME = true
        case "SMTPUTF8": expected.smtputf8 = true
        case "DSN": expected.dsn = true
        case "CHUNKING": expected.chunking = true
        case "STARTTLS": expected.starttls = true
        default: expected.enhancedStatusCodes = true
        }
        // That one and only that one.
        #expect(capabilities(keyword) == expected)
        // Keywords are case-insensitive (RFC 5321 §2.4); extra spaces do not matter.
        #expect(capabilities(keyword.lowercased()) == expected)
        #expect(capabilities("  " + keyword + "  ") == expected)
    }

    @Test func theGreetingLineIsNotAKeyword() {
        // The first line is the server's name and greeting, even when it looks like a keyword.
        let c = SMTPServerCapabilities(ehloReply: SMTPReply(code: 250, enhanced: nil, lines: ["PIPELINING", "SIZE"]))
        #expect(!c.pipelining)
        #expect(c.size)
    }

    @Test(arguments: [
        ("SIZE", nil), ("SIZE 0", nil), ("SIZE 1000", 1000), ("size 35882577", 35_882_577), ("SIZE -5", nil), ("SIZE lots", nil),
        ("SIZE 10 20", 10),
    ] as [(String, Int?)])
    func sizeLimit(_ line: String, _ limit: Int?) {
        let c = capabilities(line)
        #expect(c.size)
        #expect(c.maximumSize == limit)
    }

    @Test func authMechanismsInBothForms() {
        #expect(capabilities("AUTH plain Login CRAM-MD5").authMechanisms == ["PLAIN", "LOGIN", "CRAM-MD5"])
        // The old `AUTH=` form (some servers still send it, often beside the standard one).
        #expect(capabilities("AUTH=LOGIN PLAIN").authMechanisms == ["LOGIN", "PLAIN"])
        #expect(capabilities("auth=login").authMechanisms == ["LOGIN"])
        #expect(capabilities("AUTH PLAIN", "AUTH=LOGIN").authMechanisms == ["PLAIN", "LOGIN"])
        #expect(capabilities("AUTH").authMechanisms.isEmpty)
        // Other keywords starting with AUTH are not AUTH.
        #expect(capabilities("AUTHENTICATE PLAIN").authMechanisms.isEmpty)
    }

    @Test func unknownKeywordsAndEmptyLinesAreIgnored() {
        let c = capabilities("", "X-EXPS GSSAPI NTLM", "VRFY", "ETRN", "XCLIENT NAME ADDR", "BINARYMIME", "DELIVERBY", "PIPELINING")
        var expected = SMTPServerCapabilities()
        expected.pipelining = true
        #expect(c == expected)
    }

    @Test func realEHLORepliesThroughTheParser() throws {
        // Postfix.
        let postfix = try #require(try SMTPReplyParser.parse("""
            250-mail.example.org\r
            250-PIPELINING\r
            250-SIZE 10240000\r
            250-VRFY\r
            250-ETRN\r
            250-STARTTLS\r
            250-ENHANCEDSTATUSCODES\r
            250-8BITMIME\r
            250-DSN\r
            250-SMTPUTF8\r
            250 CHUNKING\r

            """))
        let p = SMTPServerCapabilities(ehloReply: postfix)
        #expect(p.pipelining && p.starttls && p.enhancedStatusCodes && p.eightBitMIME && p.dsn && p.smtputf8 && p.chunking)
        #expect(p.maximumSize == 10_240_000)
        #expect(p.authMechanisms.isEmpty)

        // Exchange Online.
        let exchange = try #require(try SMTPReplyParser.parse("""
            250-BN8NAM11FT066.mail.protection.outlook.com Hello [192.0.2.1]\r
            250-SIZE 157286400\r
            250-PIPELINING\r
            250-DSN\r
            250-ENHANCEDSTATUSCODES\r
            250-STARTTLS\r
            250-8BITMIME\r
            250-BINARYMIME\r
            250-CHUNKING\r
            250 SMTPUTF8\r

            """))
        let e = SMTPServerCapabilities(ehloReply: exchange)
        #expect(e.maximumSize == 157_286_400)
        #expect(e.pipelining && e.chunking && e.smtputf8 && e.starttls)

        // A submission server after STARTTLS.
        let submission = try #require(try SMTPReplyParser.parse("250-smtp.example.com\r\n250-AUTH=PLAIN LOGIN\r\n250-AUTH PLAIN LOGIN XOAUTH2\r\n250 8BITMIME\r\n"))
        let s = SMTPServerCapabilities(ehloReply: submission)
        #expect(s.authMechanisms == ["PLAIN", "LOGIN", "XOAUTH2"])
        #expect(!s.starttls)
    }
}
