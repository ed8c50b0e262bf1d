// RawMessageTests.swift — splitting messages into raw header fields and body.

import Testing
@testable import MailAuth

@Suite struct RawMessageTests {
    @Test func splitsFieldsWithRanges() {
        let bytes = crlf("From: a@example.com\nSubject: one\n two\nX-Empty:\n\nbody\nmore\n")
        let message = RawMessage(bytes)
        #expect(message.fields.map(\.name) == ["From", "Subject", "X-Empty"])
        #expect(String(decoding: message.octets(of: message.fields[1]), as: UTF8.self) == "Subject: one\r\n two\r\n")
        #expect(String(decoding: message.value(of: message.fields[1]), as: UTF8.self) == " one\r\n two")
        #expect(message.value(of: message.fields[2]).isEmpty)
        #expect(String(decoding: message.body, as: UTF8.self) == "body\r\nmore\r\n")
        #expect(!message.headerUnterminated && message.malformedLines == 0)
        #expect(message.fields(named: "SUBJECT").count == 1)
    }

    @Test func oddHeaders() {
        let noBody = RawMessage(Array("From: a\r\nTo: b".utf8))
        #expect(noBody.fields.count == 2)
        #expect(noBody.headerUnterminated)
        #expect(noBody.body.isEmpty)
        #expect(String(decoding: noBody.value(of: noBody.fields[1]), as: UTF8.self) == " b")
        let malformed = RawMessage(crlf(" leading\nno colon here\nFrom : x\n\n"))
        #expect(malformed.malformedLines == 2)
        #expect(malformed.fields.map(\.name) == ["From"])
        let emptyMessage = RawMessage([])
        #expect(emptyMessage.fields.isEmpty && emptyMessage.body.isEmpty)
        let onlyBody = RawMessage(crlf("\nbody\n"))
        #expect(onlyBody.fields.isEmpty)
        #expect(String(decoding: onlyBody.body, as: UTF8.self) == "body\r\n")
    }

    @Test func limits() {
        let many = RawMessage(crlf(String(repeating: "X: y\n", count: 20) + "\nbody\n"), maximumHeaderFields: 10)
        #expect(many.limitExceeded)
        #expect(many.fields.count == 10)
        #expect(String(decoding: many.body, as: UTF8.self) == "body\r\n")
        let big = RawMessage(crlf(String(repeating: "X: \(String(repeating: "y", count: 100))\n", count: 20) + "\nbody\n"), maximumHeaderBytes: 500)
        #expect(big.limitExceeded)
        #expect(big.fields.count < 6)
        #expect(String(decoding: big.body, as: UTF8.self) == "body\r\n")
    }
}
