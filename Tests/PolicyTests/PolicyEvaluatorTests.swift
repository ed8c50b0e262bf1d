import GatehouseCore
import Testing
@testable import Policy

@Suite("Policy evaluation")
struct PolicyEvaluatorTests {
    static let reject = SMTPReply(550, EnhancedStatusCode(5, 7, 1), "Refused by policy")
    static let tempfail = SMTPReply(451, EnhancedStatusCode(4, 7, 1), "Try later")

    func facts(recipients: [String] = ["bob@example.org"], sender: String = "a@remote.test", subject: String = "hello",
               body: String = "text", spamScore: Double = 0, virus: VirusFacts = .clean, attachments: [AttachmentFacts] = [],
               directions: [Direction]? = nil) -> PolicyFacts {
        PolicyFacts(sender: sender, recipients: recipients, listener: "mx", directions: directions ?? recipients.map { _ in .inbound },
                    clientAddress: IPAddress(parsing: "192.0.2.7"), size: 1234, headers: [("Subject", subject), ("X-Mailer", "Bulk 1.0")],
                    subject: subject, bodyText: body, attachments: attachments, spamScore: spamScore,
                    spamHits: spamScore > 0 ? [("SOME_RULE", spamScore)] : [], virus: virus)
    }

    func pattern(_ s: String) -> AddressPattern { try! AddressPattern(s) }
    func regex(_ s: String) -> PolicyRegex { try! PolicyRegex(s) }

    @Test func noPolicyDeliversEverything() {
        let d = PolicyEvaluator(policy: Policy()).evaluate(facts())
        #expect(d.verdicts.map(\.disposition) == [.deliver])
        #expect(d.sessionReply == .accept)
    }

    @Test func aFiringRuleAppliesItsDispositionAndActions() {
        let rule = PolicyRule(name: "spam", conditions: [PolicyCondition(.spamScore(Comparison(.greaterOrEqual, 5)))],
                              actions: [.disposition(.quarantine(folder: "spam")), .tagSubject("[SPAM]")])
        let evaluator = PolicyEvaluator(policy: Policy(groups: [PolicyGroup(name: "g", rules: [rule])]))
        let spam = evaluator.evaluate(facts(spamScore: 7.5))
        #expect(spam.verdicts[0].disposition == .quarantine(folder: "spam"))
        #expect(spam.verdicts[0].actions == [.tagSubject("[SPAM]")])
        #expect(spam.verdicts[0].rulesFired == ["g/spam"])
        #expect(spam.trace.first?.fired == true)
        #expect(spam.trace.first?.evidence.first?.contains("7.5") == true)
        let ham = evaluator.evaluate(facts(spamScore: 1))
        #expect(ham.verdicts[0].disposition == .deliver)
        #expect(ham.trace.first?.fired == false)
    }

    @Test func allNeedsEveryConditionAnyNeedsOne() {
        let conditions = [PolicyCondition(.subject(regex("/invoice/i"))), PolicyCondition(.body(regex("/pay now/i")))]
        let all = PolicyRule(name: "all", match: .all, conditions: conditions, actions: [.disposition(.delete)])
        let any = PolicyRule(name: "any", match: .any, conditions: conditions, actions: [.disposition(.delete)])
        let oneOfTwo = facts(subject: "Invoice 42", body: "see attached")
        #expect(PolicyEvaluator(policy: Policy(groups: [PolicyGroup(name: "g", rules: [all])])).evaluate(oneOfTwo).verdicts[0].disposition == .deliver)
        #expect(PolicyEvaluator(policy: Policy(groups: [PolicyGroup(name: "g", rules: [any])])).evaluate(oneOfTwo).verdicts[0].disposition == .delete)
    }

    @Test func negationAndStop() {
        let notOurs = PolicyRule(name: "external", conditions: [PolicyCondition(.sender([pattern("@example.org")]), negated: true)],
                                 actions: [.addHeader(name: "X-External", value: "yes")], stop: true)
        let later = PolicyRule(name: "later", conditions: [], actions: [.disposition(.delete)])
        let evaluator = PolicyEvaluator(policy: Policy(groups: [PolicyGroup(name: "g", rules: [notOurs, later])]))
        let external = evaluator.evaluate(facts(sender: "x@remote.test"))
        #expect(external.verdicts[0].disposition == .deliver, "stop ends evaluation before the later rule")
        #expect(external.verdicts[0].actions == [.addHeader(name: "X-External", value: "yes")])
        let internalSender = evaluator.evaluate(facts(sender: "alice@example.org"))
        #expect(internalSender.verdicts[0].disposition == .delete)
    }

    @Test func strongerDispositionsWin() {
        let rules = [
            PolicyRule(name: "q", conditions: [], actions: [.disposition(.quarantine(folder: "spam"))]),
            PolicyRule(name: "r", conditions: [], actions: [.disposition(.reject(Self.reject))]),
            PolicyRule(name: "d", conditions: [], actions: [.disposition(.deliver)]),
        ]
        let d = PolicyEvaluator(policy: Policy(groups: [PolicyGroup(name: "g", rules: rules)])).evaluate(facts())
        #expect(d.verdicts[0].disposition == .reject(Self.reject))
        #expect(d.sessionReply == .reject(Self.reject))
    }

    @Test func verdictsArePerRecipient() {
        var scope = PolicyScope()
        scope.recipients = [pattern("@strict.example")]
        let strict = PolicyGroup(name: "strict", scope: scope, rules: [
            PolicyRule(name: "no-exe", conditions: [PolicyCondition(.attachmentType(["exe"]))], actions: [.disposition(.quarantine(folder: "attachments"))]),
        ])
        let exe = AttachmentFacts(names: ["report.pdf"], trueType: "exe", declaredType: "application/pdf", typeMismatch: true, size: 4096)
        let d = PolicyEvaluator(policy: Policy(groups: [strict])).evaluate(
            facts(recipients: ["a@strict.example", "b@lenient.example"], attachments: [exe]))
        #expect(d.verdicts.map(\.disposition) == [.quarantine(folder: "attachments"), .deliver])
        #expect(d.trace.contains { $0.recipient == "b@lenient.example" && $0.rule == nil && $0.note == "recipient out of scope" })
        #expect(d.sessionReply == .accept)
    }

    @Test func sessionReplyForMixedVerdicts() {
        func decision(_ dispositions: [Disposition]) -> PolicyDecision {
            PolicyDecision(verdicts: dispositions.enumerated().map {
                RecipientVerdict(recipient: "r\($0.offset)@x.test", disposition: $0.element, actions: [], rulesFired: [])
            }, trace: [])
        }
        #expect(decision([.reject(Self.reject), .reject(Self.reject)]).sessionReply == .reject(Self.reject))
        #expect(decision([.reject(Self.reject), .deliver]).sessionReply == .accept, "the rejected recipient is dropped, nothing bounces")
        #expect(decision([.tempfail(Self.tempfail), .deliver]).sessionReply == .tempfail(Self.tempfail), "nothing is kept, nothing lost")
        #expect(decision([.reject(Self.reject), .tempfail(Self.tempfail)]).sessionReply == .tempfail(Self.tempfail))
        #expect(decision([.quarantine(folder: "spam"), .delete]).sessionReply == .accept)
    }

    @Test func directionScopes() {
        var scope = PolicyScope()
        scope.directions = [.outbound]
        let group = PolicyGroup(name: "out", scope: scope, rules: [PolicyRule(name: "all", conditions: [], actions: [.disposition(.delete)])])
        let d = PolicyEvaluator(policy: Policy(groups: [group])).evaluate(
            facts(recipients: ["x@foreign.test", "y@example.org"], directions: [.outbound, .internal]))
        #expect(d.verdicts.map(\.disposition) == [.delete, .deliver])
    }

    @Test(arguments: [
        (PolicyCondition.Test.virus, VirusFacts.infected(["Eicar"]), true),
        (.virus, .clean, false),
        (.virusScanFailed, .failed("clamd down"), true),
        (.virusScanFailed, .clean, false),
    ])
    func virusConditions(test: PolicyCondition.Test, virus: VirusFacts, expected: Bool) {
        let (held, _) = PolicyEvaluator(policy: Policy()).check(PolicyCondition(test), facts(virus: virus), recipient: "bob@example.org", direction: .inbound)
        #expect(held == expected)
    }

    @Test func everyConditionKindEvaluates() {
        let archive = AttachmentFacts(names: ["a.zip", "inner.exe"], trueType: "zip", declaredType: "application/zip", encrypted: true,
                                      unscannable: true, depth: 2, size: 30 << 20)
        var f = facts(subject: "FREE money", body: "act now, free offer", spamScore: 6, attachments: [archive])
        f.authenticatedUser = "alice@example.org"
        f.clientName = "mail.remote.test"
        f.spf = "fail"
        f.dkim = "pass"
        f.dmarc = "fail"
        f.dnsblListings = ["zen.example"]
        f.defects = ["duplicate-content-type"]
        f.hour = 23
        f.weekday = 6
        f.senderRate = 120
        let evaluator = PolicyEvaluator(policy: Policy())
        let cases: [(PolicyCondition.Test, Bool)] = [
            (.sender([pattern("*@remote.test")]), true), (.recipient([pattern("bob@*")]), true),
            (.direction([.inbound]), true), (.listener(["mx"]), true), (.listener(["submission"]), false),
            (.clientNetwork([IPNetwork(parsing: "192.0.2.0/24")!]), true), (.clientNetwork([IPNetwork(parsing: "10.0.0.0/8")!]), false),
            (.reverseDNS([try! NamePattern("*.remote.test")]), true), (.reverseDNS([try! NamePattern("*.other.test")]), false), (.authenticated(true), true), (.authenticatedUser([pattern("@example.org")]), true),
            (.size(Comparison(.greater, 1000)), true), (.size(Comparison(.greater, 10_000)), false),
            (.header(name: "x-mailer", regex("/bulk/i")), true), (.header(name: "X-Other", regex("/./")), false),
            (.wordList(words: [WeightedWord("free", 2), WeightedWord("act now", 3)], threshold: 5), true),
            (.wordList(words: [WeightedWord("free", 2)], threshold: 5), false),
            // 0.3 + 0.6 + 0.1 is 0.9999999999999999 unrounded: the sum is rounded before the comparison.
            (.wordList(words: [WeightedWord("free", 0.3), WeightedWord("act now", 0.6), WeightedWord("offer", 0.1)], threshold: 1), true),
            (.attachmentName([try! NamePattern("*.exe")]), true), (.attachmentName([try! NamePattern("/\\.js$/")]), false), (.attachmentType(["zip"]), true), (.typeMismatch, false),
            (.encryptedArchive, true), (.unscannable, true), (.nestingDepth(Comparison(.greaterOrEqual, 2)), true),
            (.attachmentCount(Comparison(.equal, 1)), true), (.attachmentSize(Comparison(.greater, Double(20 << 20))), true),
            (.spamVerdict(true), true), (.spf(["fail", "softfail"]), true), (.dkim(["fail"]), false), (.dmarc(["fail"]), true),
            (.dnsbl([]), true), (.dnsbl(["other.example"]), false), (.mimeDefect([]), true), (.mimeDefect(["repeated-boundary"]), false),
            (.timeOfDay(from: 18, to: 8, weekdays: []), true), (.timeOfDay(from: 9, to: 17, weekdays: []), false),
            (.timeOfDay(from: 0, to: 24, weekdays: [1, 2, 3, 4, 5]), false), (.senderRate(Comparison(.greater, 100)), true),
        ]
        for (test, expected) in cases {
            let (held, detail) = evaluator.check(PolicyCondition(test), f, recipient: "bob@example.org", direction: .inbound)
            #expect(held == expected, "\(test): \(detail)")
            let (negated, _) = evaluator.check(PolicyCondition(test, negated: true), f, recipient: "bob@example.org", direction: .inbound)
            #expect(negated == !expected)
        }
    }
}

@Suite("Address patterns")
struct AddressPatternTests {
    @Test(arguments: [
        ("alice@example.org", "Alice@Example.org", true), ("alice@example.org", "bob@example.org", false),
        ("@example.org", "x@example.org", true), ("@example.org", "x@sub.example.org", false),
        ("*.example.org", "x@sub.example.org", true), ("*.example.org", "x@example.org", true), ("*.example.org", "x@badexample.org", false),
        ("example.org", "x@example.org", true), ("*", "", true), ("a*@*.test", "alpha@x.test", true), ("a?c@x.test", "abc@x.test", true),
        ("a?c@x.test", "abbc@x.test", false), ("/^ceo@/i", "CEO@example.org", true), ("/^ceo@/", "xceo@example.org", false),
    ])
    func matching(pattern: String, address: String, expected: Bool) throws {
        #expect(try AddressPattern(pattern).matches(address) == expected)
    }

    @Test func globIsLinear() throws {
        // A pathological glob against a long address stays fast (no exponential backtracking).
        let p = try AddressPattern(String(repeating: "*a", count: 30) + "b")
        #expect(!p.matches(String(repeating: "a", count: 200)))
    }

    @Test func badRegexIsAnError() {
        #expect(throws: (any Error).self) { try AddressPattern("/(unclosed/") }
    }
}
