import Testing
import PropertyBased
@testable import MIME

@Suite struct SHA256Tests {
    // FIPS 180-4 / NIST CAVP examples.
    @Test func knownVectors() {
        #expect(MIMEDigest.sha256([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(MIMEDigest.sha256(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(MIMEDigest.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(MIMEDigest.sha256([UInt8](repeating: 0x61, count: 1_000_000)).hex
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func incrementalEqualsOneShot() async {
        await propertyCheck(input: Gen<UInt8>.value(in: 0...255).array(of: 0...300), Gen.int(in: 0...300)) { data, cut in
            let k = min(cut, data.count)
            var h = SHA256Hasher()
            h.update(data[0..<k])
            h.update(data[k...])
            #expect(h.finalize() == MIMEDigest.sha256(data))
        }
    }
}
