// ClamdFuzzTests.swift — property tests over the fuzz entry point (ClamdFuzz.fuzz): random octets
// and random replies made of the words of real ones never crash the decoder or the parsers, framing
// does not depend on how the octets arrive, and only the exact `stream: OK` is ever clean.

import PropertyBased
import Testing
@testable import AntiVirus

@Suite struct ClamdFuzzTests {
    @Test func randomOctetsNeverCrashTheParsers() async {
        await propertyCheck(count: 3_000, input: Gen<UInt8>.value(in: 0...255).array(of: 0...120), Gen.int(in: 0...120)) { bytes, cut in
            ClamdFuzz.fuzz(bytes, cut: cut)
        }
    }

    @Test func randomRepliesFromClamdsAlphabetNeverCrashAndAreOnlyCleanWhenExact() async {
        // Octets drawn mostly from the words of real replies, so the parser's branches are reached.
        let pieces: [[UInt8]] = ["stream: ", "OK", " FOUND", " ERROR", "(", ")", ":", "ab12", "Eicar", " ", "\0", "PONG",
                                 "ClamAV ", "/", "1.4.6", "\n", "\u{7F}"].map { Array($0.utf8) }
        let text = Gen<[UInt8]?>.element(of: pieces).map { $0! }.array(of: 0...8).map { Array($0.joined()) }
        await propertyCheck(count: 3_000, input: text, Gen.int(in: 0...40)) { bytes, cut in
            ClamdFuzz.fuzz(bytes, cut: cut)
        }
    }
}
