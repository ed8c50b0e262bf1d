// QueueIDTests.swift — queue ids: shape, validity as file names, order by arrival, uniqueness
// (Sources/Spool/QueueID.swift).

import Testing
@testable import Spool

@Suite("QueueID")
struct QueueIDTests {
    @Test func shapeAndValidity() {
        let id = QueueID.make(microseconds: 1_712_345_678_901_234, random: 0xDEAD_BEEF)
        #expect(id.utf8.count == 16)
        #expect(QueueID.isValid(id))
        #expect(QueueID.isValid(Spool.newQueueID()))
        #expect(QueueID.make(microseconds: 0, random: 0) == "0000000000000000")
        #expect(QueueID.make(microseconds: 0, random: 31) == "00000000000b0000")
        #expect(QueueID.make(microseconds: (1 << 55) - 1, random: 0) == "bbbbbbbbbbb00000")
    }

    @Test(arguments: ["", "000000000000000", "00000000000000000", "000000000000000A", "000000000000000a", "000000000000000E",
                      "0000000000000.00", "../0000000000000", "0000000000000000.part", "000000000000000/", "000000000000000 ",
                      "00000000000000é"])
    func invalid(_ text: String) {
        #expect(!QueueID.isValid(text))
    }

    @Test func idsSortByArrival() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let a = UInt64.random(in: 0..<(1 << 55) - 1, using: &generator)
            let b = UInt64.random(in: (a + 1)..<(1 << 55), using: &generator)
            let first = QueueID.make(microseconds: a, random: .random(in: 0...UInt64.max, using: &generator))
            let second = QueueID.make(microseconds: b, random: .random(in: 0...UInt64.max, using: &generator))
            #expect(first < second, "\(a) \(b)")
        }
        // Neighbours at the worst place: across a carry in every digit.
        for digit in 0..<11 {
            let t = UInt64(1) << UInt64(5 * digit)
            #expect(QueueID.make(microseconds: t - 1, random: UInt64.max) < QueueID.make(microseconds: t, random: 0))
        }
    }

    @Test func newIDsAreUnique() {
        let ids = (0..<1000).map { _ in Spool.newQueueID() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy(QueueID.isValid))
    }
}
