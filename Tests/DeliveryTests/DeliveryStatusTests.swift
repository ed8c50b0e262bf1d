// DeliveryStatusTests.swift — the advisory status file of a deferred message and the retry
// schedule (Sources/Delivery/DeliveryStatus.swift): encode/parse round trip, control characters,
// damaged lines skipped, atomic store and load, outcomes from replies, back-off doubling.

import Testing
import Foundation
import GatehouseCore
import PropertyBased
@testable import Delivery

private func outcome(_ kind: RecipientOutcome.Kind, _ status: EnhancedStatusCode, _ diagnostic: String, remoteMTA: String? = nil) -> RecipientOutcome {
    RecipientOutcome(kind: kind, status: status, diagnostic: diagnostic, remoteMTA: remoteMTA)
}

private func sampleStatus() -> DeliveryStatus {
    var status = DeliveryStatus()
    status.attempts = 7
    status.lastAttempt = 1_712_345_678
    status.nextAttempt = 1_712_349_278
    status.delayWarned = true
    status.recipients[0] = outcome(.deferred, EnhancedStatusCode(4, 7, 1), "smtp; 451 4.7.1 Greylisted = try later", remoteMTA: "dns; mx.example.net")
    status.recipients[3] = outcome(.failed, EnhancedStatusCode(5, 1, 1), "smtp; 550 5.1.1 Empfänger unbekannt 😀")
    status.recipients[12] = outcome(.delivered, EnhancedStatusCode(2, 0, 0), "")
    status.recipients[2] = outcome(.deferred, EnhancedStatusCode(4, 4, 123), "Host or domain name not found. Name service error for name=x type=MX")
    return status
}

@Suite("DeliveryStatus")
struct DeliveryStatusTests {
    @Test func roundTrip() {
        let status = sampleStatus()
        #expect(DeliveryStatus(parsing: status.encoded()) == status)
        #expect(DeliveryStatus(parsing: DeliveryStatus().encoded()) == DeliveryStatus())
    }

    @Test func encodedForm() {
        var status = DeliveryStatus()
        status.attempts = 2
        status.lastAttempt = 100
        status.nextAttempt = 400
        status.recipients[1] = outcome(.failed, EnhancedStatusCode(5, 1, 1), "smtp; 550 no", remoteMTA: "dns; mx.example.net")
        status.recipients[0] = outcome(.deferred, EnhancedStatusCode(4, 4, 1), "timeout")
        #expect(status.encoded() == """
            attempts=2
            last=100
            next=400
            warned=0
            r=0\tdeferred\t4.4.1\t\ttimeout
            r=1\tfailed\t5.1.1\tdns; mx.example.net\tsmtp; 550 no

            """)
    }

    @Test func controlCharactersCannotForgeLines() {
        // A next hop's reply text ends up in the diagnostic: it must not add lines or fields.
        var status = DeliveryStatus()
        status.recipients[0] = outcome(.deferred, EnhancedStatusCode(4, 0, 0), "evil\nr=1\tdelivered\t2.0.0\t\tforged\r\u{0}\u{7F}",
                                       remoteMTA: "dns; a\tb")
        let text = status.encoded()
        #expect(text.split(separator: "\n").count == 5)
        let parsed = DeliveryStatus(parsing: text)
        #expect(parsed.recipients.keys.sorted() == [0])
        #expect(parsed.recipients[0]?.diagnostic == "evil r=1 delivered 2.0.0  forged   ")
        #expect(parsed.recipients[0]?.remoteMTA == "dns; a b")
    }

    @Test func damagedLinesAreSkipped() {
        let text = """
            attempts=3
            garbage without equals

            colour=blue
            r=0\tdeferred\t4.4.1\t\ttimeout
            r=1\tdelivered
            r=x\tfailed\t5.1.1\t\tbad index
            r=2\tbounced\t5.1.1\t\tunknown kind
            r=3\tfailed\t6.1.1\t\tbad class
            r=4\tfailed\t5.1\t\ttoo short
            r=5\tfailed\tfive\t\tnot a code
            r=6\tfailed\t5.1.1\t\tkept\twith a tab in the text
            next=soon
            last=200
            warned=yes
            """
        let parsed = DeliveryStatus(parsing: text)
        #expect(parsed.attempts == 3)
        #expect(parsed.nextAttempt == 0)
        #expect(parsed.lastAttempt == 200)
        #expect(!parsed.delayWarned)
        #expect(parsed.recipients.keys.sorted() == [0, 6])
        #expect(parsed.recipients[0] == outcome(.deferred, EnhancedStatusCode(4, 4, 1), "timeout"))
        #expect(parsed.recipients[6]?.diagnostic == "kept\twith a tab in the text")
    }

    @Test func anythingParsesWithoutCrashing() async {
        let text = Gen.unicodeScalar(in: "\u{0}"..."\u{7F}").map { Character($0) }.string(of: 0...200)
        await propertyCheck(count: 500, input: text) { text in
            _ = DeliveryStatus(parsing: text)
            _ = DeliveryStatus(parsing: "r=" + text)
        }
    }

    @Test func randomStatusesRoundTrip() async {
        // Printable text (DEL is a control character: it would come back as a space).
        let printable = Gen.unicodeScalar(in: " "..."\u{2FF}").map { $0 == "\u{7F}" ? "~" : Character($0) }.string(of: 0...40)
        await propertyCheck(input: Gen.int(in: 0...1000), Gen.int(in: 0...50).array(of: 0...6), printable.array(of: 6), printable.array(of: 6),
                            Gen.int(in: 0...2).array(of: 6)) { attempts, indices, diagnostics, mtas, kinds in
            var status = DeliveryStatus()
            status.attempts = attempts
            status.lastAttempt = Int64(attempts) * 1_000
            status.nextAttempt = Int64(attempts) * 2_000
            status.delayWarned = attempts % 2 == 0
            for (n, index) in indices.enumerated() {
                let kind: RecipientOutcome.Kind = [.delivered, .deferred, .failed][kinds[n]]
                let klass: UInt8 = [2, 4, 5][kinds[n]]
                status.recipients[index] = outcome(kind, EnhancedStatusCode(klass, UInt16(n), UInt16(index)), diagnostics[n],
                                                   remoteMTA: mtas[n].isEmpty ? nil : mtas[n])
            }
            #expect(DeliveryStatus(parsing: status.encoded()) == status)
        }
    }

    @Test func storeAndLoad() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path + "/status"
        #expect(DeliveryStatus.load(path) == DeliveryStatus())
        let status = sampleStatus()
        status.store(path)
        #expect(DeliveryStatus.load(path) == status)
        // Replaced whole, through a temporary file that does not stay behind.
        var smaller = DeliveryStatus()
        smaller.attempts = 1
        smaller.store(path)
        #expect(DeliveryStatus.load(path) == smaller)
        #expect(temp.files() == ["status"])
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func storingWhereItCannotIsHarmless() throws {
        // The file is advisory: a failure to write it is not an error.
        sampleStatus().store("/nonexistent-gatehouse-directory/status")
        #expect(DeliveryStatus.load("/nonexistent-gatehouse-directory/status") == DeliveryStatus())
    }

    // MARK: Outcomes from replies

    @Test func outcomeFromReply() {
        let delivered = RecipientOutcome.from(reply: SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok: queued as X"), remoteMTA: "dns; mx.example.net")
        #expect(delivered == outcome(.delivered, EnhancedStatusCode(2, 0, 0), "smtp; 250 2.0.0 Ok: queued as X", remoteMTA: "dns; mx.example.net"))

        let refused = RecipientOutcome.from(reply: SMTPReply(code: 550, enhanced: EnhancedStatusCode(5, 1, 1), lines: ["User unknown", "see docs"]),
                                            remoteMTA: nil)
        #expect(refused == outcome(.failed, EnhancedStatusCode(5, 1, 1), "smtp; 550 5.1.1 User unknown see docs"))

        // Without an enhanced code, the class follows the reply code.
        #expect(RecipientOutcome.from(reply: SMTPReply(451, nil, "later"), remoteMTA: nil) == outcome(.deferred, EnhancedStatusCode(4, 0, 0), "smtp; 451 later"))
        #expect(RecipientOutcome.from(reply: SMTPReply(554, nil, "no"), remoteMTA: nil).status == EnhancedStatusCode(5, 0, 0))
        #expect(RecipientOutcome.from(reply: SMTPReply(251, nil, "forwarded"), remoteMTA: nil).status == EnhancedStatusCode(2, 0, 0))
        #expect(RecipientOutcome.from(reply: SMTPReply(421, nil, "bye"), remoteMTA: nil).kind == .deferred)
    }

    @Test func outcomeShorthands() {
        #expect(RecipientOutcome.deferred(EnhancedStatusCode(4, 4, 1), "timeout").kind == .deferred)
        #expect(RecipientOutcome.failed(EnhancedStatusCode(5, 1, 2), "no such domain", remoteMTA: "dns; x").remoteMTA == "dns; x")
    }

    // MARK: Retry schedule

    @Test(arguments: [(1, 300.0), (2, 600), (3, 1_200), (4, 2_400), (5, 3_600), (6, 3_600), (100, 3_600), (Int.max, 3_600), (0, 300), (-5, 300)]
          as [(Int, Double)])
    func backoffDoublesFromTheMinimumToTheMaximum(_ attempts: Int, _ seconds: Double) {
        #expect(RetrySchedule.backoff(attempts: attempts, minimum: 300, maximum: 3_600) == seconds)
    }

    @Test func backoffWithTheDefaults() {
        let minimum = Defaults.Delivery.minimumBackoff, maximum = Defaults.Delivery.maximumBackoff
        #expect(RetrySchedule.backoff(attempts: 1, minimum: minimum, maximum: maximum) == minimum)
        #expect(RetrySchedule.backoff(attempts: 1_000, minimum: minimum, maximum: maximum) == maximum)
    }

    @Test func backoffIsBoundedAndNeverShrinks() async {
        await propertyCheck(input: Gen.int(in: -10...200), Gen.int(in: 1...10_000), Gen.int(in: 0...100_000)) { attempts, minimum, extra in
            let lo = Double(minimum), hi = Double(minimum + extra)
            let now = RetrySchedule.backoff(attempts: attempts, minimum: lo, maximum: hi)
            let next = RetrySchedule.backoff(attempts: attempts + 1, minimum: lo, maximum: hi)
            #expect(now >= lo && now <= hi)
            #expect(now.isFinite)
            #expect(next >= now)
            #expect(next <= max(2 * now, lo))
        }
    }
}
