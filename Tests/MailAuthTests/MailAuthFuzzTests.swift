// MailAuthFuzzTests.swift — property tests over the fuzz entry point: random octets, random text
// from each grammar's alphabet and mutations of real inputs never crash the parsers (the checks
// inside MailAuthFuzz.fuzz are preconditions).

import PropertyBased
import Testing
@testable import MailAuth

@Suite struct MailAuthFuzzTests {
    static let seeds: [String] = [
        "v=spf1 ip4:192.0.2.0/24 a:%{d} mx/24//64 include:_spf.%{d2} exists:%{ir}.%{l1r-}.e.example redirect=%{d} exp=x.%{d}",
        "v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel; h=from:to; bh=AAEC; b=dGVzdA==; i=a@example.com; l=3",
        "v=DKIM1; k=ed25519; h=sha256; t=y:s; p=AAEC",
        "v=DMARC1; p=reject; sp=none; pct=50; adkim=s; rua=mailto:a@example.com",
        "From: a@example.com\r\nAuthentication-Results: (c) mx.example.org; spf=pass\r\nSubject:  x \r\n\t y\r\n\r\n a  b \r\n\r\n",
        "*.ck\n!www.ck\nco.uk\n// ===BEGIN PRIVATE DOMAINS===\n公司.cn\n",
    ]

    @Test func seedsDoNotCrash() {
        for seed in Self.seeds { MailAuthFuzz.fuzz(Array(seed.utf8)) }
    }

    @Test func randomOctetsNeverCrash() async {
        await propertyCheck(count: 1_000, input: Gen<UInt8>.value(in: 0...255).array(of: 0...300)) { bytes in
            MailAuthFuzz.fuzz(bytes)
        }
    }

    @Test func grammarAlphabetsNeverCrash() async {
        let alphabet = Array("v=spf1DKIMARC;:/%{}.-+_,!*@ \t\r\n\"()\\abcdlirshptox0123456789".utf8)
        let text = Gen<UInt8?>.element(of: alphabet).map { $0! }.array(of: 0...200)
        await propertyCheck(count: 2_000, input: text) { bytes in
            MailAuthFuzz.fuzz(bytes)
            MailAuthFuzz.fuzz(Array("v=spf1 ".utf8) + bytes)
            MailAuthFuzz.fuzz(Array("v=DMARC1; ".utf8) + bytes)
            MailAuthFuzz.fuzz(Array("v=1; a=rsa-sha256; d=example.com; h=from; ".utf8) + bytes)
        }
    }

    @Test func mutationsOfSeedsNeverCrash() async {
        let seeds = Self.seeds.map { Array($0.utf8) }
        await propertyCheck(count: 2_000, input: Gen.int(in: 0...(seeds.count - 1)), Gen.int(in: 0...400).array(of: 1...6),
                            Gen<UInt8>.value(in: 0...255).array(of: 6)) { index, positions, values in
            var bytes = seeds[index]
            for (k, position) in positions.enumerated() where !bytes.isEmpty {
                bytes[position % bytes.count] = values[k]
            }
            MailAuthFuzz.fuzz(bytes)
            MailAuthFuzz.fuzz(Array(bytes.prefix(positions[0] % (bytes.count + 1))))
        }
    }
}
