// DNSQueryTests.swift — the response validator: only the answer to our query is accepted; a
// spoof with the wrong id or question, a reflected query or garbage are told apart.

import Testing
@testable import DNS

@Suite struct DNSQueryTests {
    let query = DNSQuery(id: 0xBEEF, question: DNSQuestion(name: "mx1.example.test", type: .a))
    let answer = DNSResourceRecord(name: "mx1.example.test", ttl: 300, data: .a(IPv4Address("192.0.2.1")!))

    @Test func acceptsTheAnswer() throws {
        let response = DNSMessage.response(to: query, answers: [answer])
        #expect(query.validate(response) == .accepted(response))
        #expect(query.validate(try response.encoded()) == .accepted(response))
    }

    @Test func acceptsTheQuestionEchoedInAnotherCase() {
        // RFC 4343: servers may echo the name in any case (and 0x20-randomising ones do).
        var response = DNSMessage.response(to: query, answers: [answer])
        response.questions[0].name = "MX1.Example.TEST"
        #expect(query.validate(response) == .accepted(response))
    }

    @Test func acceptsTruncatedAnswersForTheCallerToRetry() {
        let response = DNSMessage.response(to: query, truncated: true)
        guard case .accepted(let message) = query.validate(response) else { Issue.record("refused"); return }
        #expect(message.header.isTruncated)
    }

    @Test func ignoresAWrongID() {
        var spoof = DNSMessage.response(to: query, answers: [answer])
        spoof.header.id = 0xBEEE
        #expect(query.validate(spoof) == .notOurs(.wrongID(0xBEEE)))
    }

    @Test func ignoresAWrongQuestion() {
        var spoof = DNSMessage.response(to: query, answers: [answer])
        spoof.questions[0].name = "mx2.example.test"
        #expect(query.validate(spoof) == .notOurs(.wrongQuestion))
        spoof = DNSMessage.response(to: query, answers: [answer])
        spoof.questions[0].type = .aaaa
        #expect(query.validate(spoof) == .notOurs(.wrongQuestion))
        spoof = DNSMessage.response(to: query, answers: [answer])
        spoof.questions[0].questionClass = DNSClass(rawValue: 3)
        #expect(query.validate(spoof) == .notOurs(.wrongQuestion))
        spoof = DNSMessage.response(to: query, answers: [answer])
        spoof.questions = []
        #expect(query.validate(spoof) == .notOurs(.wrongQuestion))
        spoof.questions = [query.question, query.question]
        #expect(query.validate(spoof) == .notOurs(.wrongQuestion))
        // A name that differs beyond ASCII case is another name.
        spoof.questions = [DNSQuestion(name: try! DNSName(labels: [Array("mx1".utf8) + [0xC0], Array("example".utf8), Array("test".utf8)]), type: .a)]
        #expect(query.validate(spoof) == .notOurs(.wrongQuestion))
    }

    @Test func ignoresAReflectedQueryAndOtherOpcodes() {
        #expect(query.validate(query.message) == .notOurs(.notAResponse))
        var notify = DNSMessage.response(to: query)
        notify.header.opcode = DNSOpcode(rawValue: 4)
        #expect(query.validate(notify) == .notOurs(.wrongOpcode(DNSOpcode(rawValue: 4))))
    }

    @Test func reportsGarbage() {
        #expect(query.validate([0xBE, 0xEF, 0x81]) == .malformed(.truncated(offset: 2)))
    }

    @Test func randomIDsVary() {
        let ids = Set((0..<64).map { _ in DNSQuery.random(query.question).id })
        #expect(ids.count > 32)
    }

    @Test func advertisesEDNSAtLeast512() {
        #expect(DNSQuery(id: 1, question: query.question).message.edns?.udpPayloadSize == 1232)
        #expect(DNSQuery(id: 1, question: query.question, ednsPayloadSize: 100).message.edns?.udpPayloadSize == 512)
        #expect(DNSQuery(id: 1, question: query.question, ednsPayloadSize: nil).message.edns == nil)
        #expect(query.message.header.recursionDesired)
    }
}
