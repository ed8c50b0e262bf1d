// AntiVirusVerdictTests.swift — verdicts from clamd's results, and the policy's actions: by
// default infected mail is rejected and anything unscanned is tempfailed (fail closed).

import Testing
@testable import AntiVirus

@Suite struct AntiVirusVerdictTests {
    @Test func verdictsFollowClamdsResults() {
        #expect(AntiVirusVerdict(ClamdScanResult.clean) == .clean)
        #expect(AntiVirusVerdict(ClamdScanResult.infected(signatures: ["X"])) == .infected(signatures: ["X"]))
        #expect(AntiVirusVerdict(ClamdScanResult.error("INSTREAM size limit exceeded.")) == .error("INSTREAM size limit exceeded."))
    }

    @Test func theDefaultPolicyFailsClosed() {
        let policy = AntiVirusPolicy()
        #expect(policy.action(for: .clean) == .deliver)
        #expect(policy.action(for: .infected(signatures: ["Eicar-Signature"])) == .reject)
        #expect(policy.action(for: .error("too large")) == .tempfail)
        #expect(policy.action(for: .unavailable(.connectFailed("Connection refused"))) == .tempfail)
        #expect(policy.action(for: .unavailable(.timeout(.waitingForReply))) == .tempfail)
    }

    @Test func thePolicyCanSayOtherwise() {
        let policy = AntiVirusPolicy(infected: .quarantine, unscannable: .deliver, unavailable: .deliver)
        #expect(policy.action(for: .infected(signatures: ["X"])) == .quarantine)
        #expect(policy.action(for: .error("too large")) == .deliver)
        #expect(policy.action(for: .unavailable(.cancelled)) == .deliver)
        #expect(policy.action(for: .clean) == .deliver)
    }

    @Test func describesVerdicts() {
        #expect(AntiVirusVerdict.clean.description == "clean")
        #expect(AntiVirusVerdict.infected(signatures: ["A", "B"]).description == "infected (A, B)")
        #expect(AntiVirusVerdict.error("too large").description == "not scanned: too large")
        #expect(AntiVirusVerdict.unavailable(.timeout(.connecting)).description
            == "scanner unavailable: clamd timed out while connecting")
        #expect(ClamdClientError.connectionClosed(nil).description == "clamd closed the connection")
        #expect(ClamdClientError.badReply(.tooLong(limit: 1024)).description == "bad reply from clamd: reply longer than 1024 octets")
    }
}
