// DKIMPublicKey.swift — building a verification key from a key record's p= (RFC 6376 §3.6.1,
// RFC 8463 §4) and checking a signature with it (RFC 6376 §3.3, RFC 8463 §3).
//
// RSA: p= is DER, SubjectPublicKeyInfo (what RFC 6376 §3.6.1 specifies and every signer publishes)
// or the bare RSAPublicKey (accepted: some old records have it; swift-crypto reads both). The
// modulus size is read from the DER first, so that a key under 1024 bits is reported as "too small"
// (fail, RFC 8301 §3.2) rather than as "not a key". rsa-sha256 is RSASSA-PKCS1-v1_5 over SHA-256.
//
// Ed25519: p= is the raw 32-octet public key; the signature is PureEdDSA over the SHA-256 hash of
// the canonical header data (RFC 8463 §3).

import Crypto
import _CryptoExtras
import Foundation

/// A key that can check DKIM signatures.
enum DKIMPublicKey {
    case rsa(_RSA.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    /// Builds the key for `algorithm` from p= octets, or says why not.
    init(_ der: [UInt8], algorithm: DKIMAlgorithm, limits: DKIMLimits) throws(DKIMFailure) {
        switch algorithm {
        case .rsaSHA256, .rsaSHA1:
            guard let bits = Self.rsaModulusBits(der) else { throw .badPublicKey }
            if bits < limits.minimumRSAKeyBits { throw .keyTooSmall(bits: bits) }
            if bits > limits.maximumRSAKeyBits { throw .keyTooLarge(bits: bits) }
            do {
                self = .rsa(try _RSA.Signing.PublicKey(unsafeDERRepresentation: der))
            } catch {
                throw .badPublicKey
            }
        case .ed25519SHA256:
            guard der.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: der) else {
                throw .badPublicKey
            }
            self = .ed25519(key)
        }
    }

    /// Whether `signature` signs `headerData` (the canonical header fields and signature field).
    func verify(_ signature: [UInt8], headerData: [UInt8]) -> Bool {
        let digest = SHA256.hash(data: headerData)
        switch self {
        case .rsa(let key):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest,
                                        padding: .insecurePKCS1v1_5)
        case .ed25519(let key):
            return key.isValidSignature(signature, for: Array(digest))
        }
    }

    // MARK: A minimal DER reader for the modulus size

    /// The bit length of the modulus of an RSA public key in SubjectPublicKeyInfo or RSAPublicKey
    /// form; nil when the octets are neither.
    static func rsaModulusBits(_ der: [UInt8]) -> Int? {
        var reader = DERReader(der[...])
        guard var outer = reader.read(tag: 0x30) else { return nil }
        // SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier SEQUENCE, BIT STRING }.
        var probe = outer
        if probe.read(tag: 0x30) != nil, var bitString = probe.read(tag: 0x03) {
            guard bitString.readByte() == 0 else { return nil }  // no unused bits
            var inner = bitString
            guard var rsaKey = inner.read(tag: 0x30) else { return nil }
            return modulusBits(&rsaKey)
        }
        // RSAPublicKey: SEQUENCE { INTEGER modulus, INTEGER exponent }.
        return modulusBits(&outer)
    }

    private static func modulusBits(_ sequence: inout DERReader) -> Int? {
        guard var modulus = sequence.read(tag: 0x02)?.bytes, sequence.read(tag: 0x02) != nil else { return nil }
        while let first = modulus.first, first == 0 { modulus = modulus.dropFirst() }
        guard let first = modulus.first else { return nil }
        return (modulus.count - 1) * 8 + (8 - first.leadingZeroBitCount)
    }

    struct DERReader {
        var bytes: ArraySlice<UInt8>

        init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

        mutating func readByte() -> UInt8? {
            bytes.popFirst()
        }

        /// The contents of the next element if it has `tag`.
        mutating func read(tag: UInt8) -> DERReader? {
            guard bytes.first == tag else { return nil }
            var rest = bytes.dropFirst()
            guard let first = rest.popFirst() else { return nil }
            var length = 0
            if first < 0x80 {
                length = Int(first)
            } else {
                let count = Int(first & 0x7F)
                guard count >= 1, count <= 4, rest.count >= count else { return nil }
                for _ in 0..<count { length = length << 8 | Int(rest.popFirst()!) }
            }
            guard length <= rest.count else { return nil }
            let contents = rest.prefix(length)
            bytes = rest.dropFirst(length)
            return DERReader(contents)
        }
    }
}
