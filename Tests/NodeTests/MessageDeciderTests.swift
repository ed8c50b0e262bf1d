// MessageDeciderTests.swift — what the decider keeps with a queued message
// (Sources/Node/MessageDecider.swift).

import GatehouseCore
@testable import Policy
import Testing
@testable import Node

@Suite("MessageDecider: the decision trace kept with a queued message")
struct MessageDeciderTraceTests {
    static func step(_ recipient: String, _ rule: String, fired: Bool, evidence: [String] = []) -> TraceEntry {
        TraceEntry(recipient: recipient, group: "g", rule: rule, fired: fired, evidence: evidence, note: nil)
    }

    @Test func onlyTheStepsAboutTheCopysRecipientsAreKept() {
        let trace = [Self.step("a@x.test", "one", fired: true), Self.step("b@x.test", "one", fired: false),
                     Self.step("a@x.test", "two", fired: false)]
        #expect(MessageDecider.traceLines(trace, for: ["a@x.test"]) == ["a@x.test: g/one: FIRED", "a@x.test: g/two: no"])
        #expect(MessageDecider.traceLines(trace, for: ["b@x.test"]) == ["b@x.test: g/one: no"])
        #expect(MessageDecider.traceLines(trace, for: []).isEmpty)
    }

    @Test func aHugeTraceIsCutAndWhatWasLeftOutIsCounted() {
        // 1,000 recipients × 20 rules with evidence would be megabytes in the envelope record.
        let evidence = [String(repeating: "e", count: 100)]
        var trace: [TraceEntry] = []
        var recipients: [String] = []
        for r in 0..<1_000 {
            recipients.append("user\(r)@x.test")
            for rule in 0..<20 { trace.append(Self.step("user\(r)@x.test", "rule\(rule)", fired: rule == 0, evidence: evidence)) }
        }
        let lines = MessageDecider.traceLines(trace, for: recipients)
        let kept = lines.dropLast().reduce(0) { $0 + $1.utf8.count + 1 }
        #expect(kept <= Defaults.Scanning.queuedTraceBytes)
        #expect(lines.count > 100)
        #expect(lines.last == "… \(20_000 - (lines.count - 1)) more steps not kept here (those that fired are in the mail log)")
    }
}
