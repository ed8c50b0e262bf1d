// DNSAnswerTests.swift — what a validated response means: records, NODATA, NXDOMAIN, CNAME chains
// inside the answer, the TTLs of RFC 2308, and response codes as temporary failures.

import Testing
@testable import DNS

@Suite struct DNSAnswerTests {
    let question = DNSQuestion(name: "www.example.test", type: .a)
    var query: DNSQuery { DNSQuery(id: 1, question: question) }

    func record(_ name: DNSName, ttl: UInt32 = 300, _ data: DNSRecordData) -> DNSResourceRecord {
        DNSResourceRecord(name: name, ttl: ttl, data: data)
    }

    @Test func followsACNAMEChainInsideTheAnswer() {
        let response = DNSMessage.response(to: query, answers: [
            record("alias.example.test", ttl: 100, .cname("mx1.example.test")),
            record("WWW.example.test", ttl: 200, .cname("alias.example.test")),
            record("mx1.example.test", ttl: 50, .a(IPv4Address("192.0.2.1")!)),
            record("evil.example.test", .a(IPv4Address("6.6.6.6")!)),  // not on the chain: ignored
        ])
        guard case .answer(let answer) = DNSResolution.interpret(response, for: question) else { Issue.record("no answer"); return }
        #expect(answer.records == [record("mx1.example.test", ttl: 50, .a(IPv4Address("192.0.2.1")!))])
        #expect(answer.aliases.map(\.name) == ["www.example.test", "alias.example.test"])
        #expect(answer.canonicalName == "mx1.example.test")
        #expect(answer.ttl == 50)
        #expect(!answer.isNoData)
    }

    @Test func aCNAMEQuestionIsNotFollowed() {
        let question = DNSQuestion(name: "www.example.test", type: .cname)
        let response = DNSMessage.response(to: DNSQuery(id: 1, question: question), answers: [record("www.example.test", .cname("alias.example.test"))])
        guard case .answer(let answer) = DNSResolution.interpret(response, for: question) else { Issue.record("no answer"); return }
        #expect(answer.records.count == 1)
        #expect(answer.aliases.isEmpty)
    }

    @Test func refusesLoopingAndOverlongChains() {
        let loop = DNSMessage.response(to: query, answers: [
            record("www.example.test", .cname("b.example.test")),
            record("b.example.test", .cname("www.example.test")),
        ])
        #expect(DNSResolution.interpret(loop, for: question) == .failure(.temporary(.cnameChain)))
        var chain: [DNSResourceRecord] = []
        var name: DNSName = "www.example.test"
        for i in 0...DNSDefaults.maximumCNAMEChain {
            let next = try! parse("c\(i).example.test")
            chain.append(record(name, .cname(next)))
            name = next
        }
        chain.append(record(name, .a(IPv4Address(1))))
        #expect(DNSResolution.interpret(DNSMessage.response(to: query, answers: chain), for: question) == .failure(.temporary(.cnameChain)))
        chain.removeFirst()  // now exactly the limit, from c0; ask for c0
        let c0 = DNSQuestion(name: "c0.example.test", type: .a)
        guard case .answer(let answer) = DNSResolution.interpret(DNSMessage.response(to: DNSQuery(id: 1, question: c0), answers: chain), for: c0) else {
            Issue.record("chain at the limit refused")
            return
        }
        #expect(answer.aliases.count == DNSDefaults.maximumCNAMEChain)
        #expect(answer.records.count == 1)
    }

    @Test func noDataCarriesTheNegativeTTL() {
        let response = DNSMessage.response(to: query, authority: [testSOA])
        guard case .answer(let answer) = DNSResolution.interpret(response, for: question) else { Issue.record("no answer"); return }
        #expect(answer.isNoData)
        #expect(answer.ttl == 60)  // min(SOA TTL 300, MINIMUM 60), RFC 2308 §5
        #expect(answer.authority == [testSOA])
        // Without an SOA: TTL 0, not cached.
        guard case .answer(let bare) = DNSResolution.interpret(DNSMessage.response(to: query), for: question) else { Issue.record("no answer"); return }
        #expect(bare.ttl == 0)
    }

    @Test func nxdomainIsNameNotFound() {
        var soa = testSOA
        soa.ttl = 30
        #expect(DNSResolution.interpret(DNSMessage.response(to: query, code: .nameError, authority: [soa]), for: question) == .nameNotFound(negativeTTL: 30))
        #expect(DNSResolution.interpret(DNSMessage.response(to: query, code: .nameError), for: question) == .nameNotFound(negativeTTL: nil))
        // RFC 6604: after a chain, NXDOMAIN is about the target; the alias leads nowhere.
        let dangling = DNSMessage.response(to: query, code: .nameError, answers: [record("www.example.test", ttl: 10, .cname("nowhere.example.test"))], authority: [testSOA])
        #expect(DNSResolution.interpret(dangling, for: question) == .nameNotFound(negativeTTL: 10))
    }

    @Test func errorCodesAreFailures() {
        #expect(DNSResolution.interpret(DNSMessage.response(to: query, code: .serverFailure), for: question) == .failure(.temporary(.serverFailure)))
        #expect(DNSResolution.interpret(DNSMessage.response(to: query, code: .refused), for: question) == .failure(.refused))
        #expect(DNSResolution.interpret(DNSMessage.response(to: query, code: .formatError), for: question) == .failure(.temporary(.responseCode(.formatError))))
        #expect(DNSResolution.interpret(DNSMessage.response(to: query, code: .badVersion), for: question) == .failure(.temporary(.responseCode(.badVersion))))
        #expect(DNSError.refused.isTemporary)
        #expect(DNSError.temporary(.timeout).isTemporary)
        #expect(DNSError.malformed(.truncated(offset: 0)).isTemporary)
        #expect(!DNSError.nameNotFound.isTemporary)
        #expect(!DNSError.invalidName(.empty).isTemporary)
    }

    @Test func hugeTTLsReadAsZero() {
        // RFC 2181 §8.
        let response = DNSMessage.response(to: query, answers: [record("www.example.test", ttl: 0x8000_0000, .a(IPv4Address(1)))])
        guard case .answer(let answer) = DNSResolution.interpret(response, for: question) else { Issue.record("no answer"); return }
        #expect(answer.ttl == 0)
    }
}
