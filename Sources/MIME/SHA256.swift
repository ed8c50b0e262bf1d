// SHA256.swift — FIPS 180-4 SHA-256, incremental, for part and entry fingerprints.
//
// What it does: the MIME target's one door to SHA-256: `MIMEDigest.sha256(_:)` and
// `SHA256Hasher`, both backed by swift-crypto's `SHA256` (BoringSSL's assembly), which replaced
// the hand-written FIPS 180-4 code the target had before it could depend on Crypto.
//
// Security notes: fingerprints are used for reputation look-ups, not for authentication; the
// tests still check the FIPS 180-4 / NIST CAVP vectors, incremental updates included.
import Crypto

/// A SHA-256 digest (32 bytes).
public struct SHA256Digest: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Lower-case hexadecimal form.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }
}

/// Incremental SHA-256 (FIPS 180-4), computed by swift-crypto's `SHA256` (BoringSSL, with the
/// SHA extensions or vector code where the processor has them).
/// `@unchecked`: Crypto.SHA256 is a copy-on-write value (its context is copied before a shared
/// one is changed, and `finalize` reads a copy); swift-crypto 4 declares it Sendable, 3 does not.
public struct SHA256Hasher: @unchecked Sendable {
    private var hash = Crypto.SHA256()

    public init() {}

    /// Adds bytes to the hash.
    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        hash.update(bufferPointer: data)
    }

    /// Adds bytes to the hash.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { update($0) }
        }
    }

    /// Finishes the hash.
    public consuming func finalize() -> SHA256Digest {
        SHA256Digest(bytes: hash.finalize().withUnsafeBytes { Array($0) })
    }
}

/// The one entry point for digests in the MIME target.
public enum MIMEDigest {
    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: some Sequence<UInt8>) -> SHA256Digest {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
