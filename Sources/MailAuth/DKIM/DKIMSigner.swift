// DKIMSigner.swift — DKIM signatures of our own (RFC 6376 §5), for the policy's `dkim_sign` action:
// rsa-sha256 (RFC 8301: keys of 1024 bits or more) or ed25519-sha256 (RFC 8463), relaxed/relaxed
// canonicalization, over the usual fields of the message.
//
// What it does: the body hash over the relaxed canonical body (§3.4.4, §3.7), then the header
// hash over the signed fields as present (bottom-up instances, §5.4.2) followed by the new
// DKIM-Signature field with an empty b= (§3.7), signed with the private key; the field is
// returned folded, to be put on top of the message. `From` is always signed (§5.4), and once more
// than it occurs, so that a second From added later breaks the signature (over-signing, §8.15).
//
// Security notes: the private key is read once from a PEM file (PKCS#1 or PKCS#8 RSA, or a PKCS#8
// Ed25519 key); the message is never changed here, so signing happens after every other edit.

import Crypto
import MIME
import _CryptoExtras

public enum DKIMSignerError: Error, Hashable, Sendable, CustomStringConvertible {
    case unreadableKey(String)
    case weakKey(bits: Int)
    case signingFailed(String)

    public var description: String {
        switch self {
        case .unreadableKey(let why): return "DKIM private key: \(why)"
        case .weakKey(let bits): return "DKIM private key: RSA keys must have at least 1024 bits (RFC 8301), this one has \(bits)"
        case .signingFailed(let why): return "DKIM signing failed: \(why)"
        }
    }
}

public struct DKIMSigner: Sendable {
    enum Key: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    public let domain: String
    public let selector: String
    let key: Key

    /// The fields signed when present, in this order (RFC 6376 §5.4.1's list, trimmed).
    public static let signedFields = ["from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to", "references",
                                      "mime-version", "content-type", "content-transfer-encoding", "list-unsubscribe"]

    /// A signer from a PEM private key.
    public init(domain: String, selector: String, pem: String) throws(DKIMSignerError) {
        self.domain = domain.lowercased()
        self.selector = selector
        if let ed = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) {
            key = .ed25519(ed)
        } else {
            let rsa: _RSA.Signing.PrivateKey
            do { rsa = try _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem) } catch {
                throw .unreadableKey("not an RSA or Ed25519 private key in PEM")
            }
            guard rsa.keySizeInBits >= 1024 else { throw .weakKey(bits: rsa.keySizeInBits) }
            key = .rsa(rsa)
        }
    }

    /// The DKIM-Signature field (with its final CRLF) for `message`, signed at `time`.
    public func signatureField(for message: [UInt8], time: Int64) throws(DKIMSignerError) -> [UInt8] {
        let raw = RawMessage(message)
        let bodyHash = Array(SHA256.hash(data: DKIMCanonicalizer.canonicalBody(raw.body, .relaxed)))
        var names: [String] = []
        for name in DKIMSigner.signedFields {
            let count = raw.fields(named: name).count
            names += Array(repeating: name, count: count)
        }
        names.append("from")  // over-sign From (one more than present)
        let algorithm: String
        switch key {
        case .rsa: algorithm = "rsa-sha256"
        case .ed25519: algorithm = "ed25519-sha256"
        }
        let value = " v=1; a=\(algorithm); c=relaxed/relaxed; d=\(domain); s=\(selector);\r\n\tt=\(time); h=\(names.joined(separator: ":"));\r\n\tbh=\(Base64.encode(bodyHash, lineLength: 0).asString);\r\n\tb="
        let unsigned = Array(("DKIM-Signature:" + value + "\r\n").utf8)
        var data: [UInt8] = []
        for field in DKIMCanonicalizer.selectHeaders(names, from: raw.fields) {
            data += DKIMCanonicalizer.header(raw.octets(of: field), .relaxed)
        }
        var signatureHeader = DKIMCanonicalizer.header(unsigned, .relaxed)
        signatureHeader.removeLast(2)  // no CRLF after the signature field (§3.7)
        data += signatureHeader
        let signature: [UInt8]
        do {
            switch key {
            case .rsa(let rsa):
                signature = Array(try rsa.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation)
            case .ed25519(let ed):
                signature = Array(try ed.signature(for: Array(SHA256.hash(data: data))))
            }
        } catch {
            throw .signingFailed("\(error)")
        }
        let b = Base64.encode(signature, lineLength: 0).asString
        var folded = ""
        var rest = Substring(b)
        while !rest.isEmpty {
            folded += (folded.isEmpty ? "" : "\r\n\t ") + rest.prefix(72)
            rest = rest.dropFirst(72)
        }
        return Array(("DKIM-Signature:" + value + folded + "\r\n").utf8)
    }
}

extension Array where Element == UInt8 {
    fileprivate var asString: String { String(decoding: self, as: UTF8.self) }
}
