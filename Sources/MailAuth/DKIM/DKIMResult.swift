// DKIMResult.swift — the outcome of verifying one DKIM signature, with its reason.
//
// Result codes are RFC 8601 §2.7.1's. How failures map to them:
//   fail      the signature was checked and does not hold: body hash or signature mismatch, x=
//             in the past, rsa-sha1 (RFC 8301 §3.1), an RSA key under 1024 bits (RFC 8301 §3.2),
//             l= longer than the body, a revoked key (empty p=, RFC 6376 §3.6.1)
//   permerror the signature cannot be checked and never will be: no key record (NXDOMAIN or no
//             TXT), a key record that does not parse or does not fit the signature (k=, h=, s=,
//             t=s), a key that is not a key
//   temperror the key could not be fetched now (a temporary DNS failure)
//   neutral   the DKIM-Signature field itself has syntax errors or unsupported values, or was not
//             verified (beyond `MailAuthDefaults.dkimMaximumSignatures`)
//   pass      the signature holds

/// A DKIM result (RFC 8601 §2.7.1).
public enum DKIMResultCode: String, Sendable, Hashable, CaseIterable {
    case none
    case pass
    case fail
    case policy
    case neutral
    case temperror
    case permerror
}

/// Why a signature did not pass.
public enum DKIMFailure: Error, Hashable, Sendable, CustomStringConvertible {
    case signature(DKIMSignatureError)
    /// Beyond `MailAuthDefaults.dkimMaximumSignatures`.
    case notVerified
    /// The message header exceeded the limits of `RawMessage`: it was not read whole.
    case headerTooLarge
    /// No key record: NXDOMAIN, NODATA or no TXT record that is a key.
    case keyNotFound(String)
    /// The key lookup failed temporarily.
    case keyLookupFailed(DNSErrorText)
    case key(DKIMKeyError)
    case keyRevoked
    /// k= differs from the signature's algorithm.
    case keyTypeMismatch(keyType: String)
    /// h= of the key does not allow the signature's hash.
    case hashNotAllowed
    /// s= of the key does not include email.
    case serviceNotAllowed
    /// t=s and i= is a subdomain of d=.
    case strictIdentity
    /// p= is not a valid public key of its type.
    case badPublicKey
    case keyTooSmall(bits: Int)
    case keyTooLarge(bits: Int)
    /// rsa-sha1 (RFC 8301 §3.1).
    case sha1Rejected
    case expired(Int64)
    /// l= larger than the canonical body.
    case bodyShorterThanLength
    case bodyHashMismatch
    case signatureMismatch

    /// The Authentication-Results result this failure gives.
    public var code: DKIMResultCode {
        switch self {
        case .signature, .notVerified: return .neutral
        case .keyLookupFailed: return .temperror
        case .headerTooLarge, .keyNotFound, .key, .keyTypeMismatch, .hashNotAllowed, .serviceNotAllowed, .strictIdentity,
             .badPublicKey, .keyTooLarge:
            return .permerror
        case .keyRevoked, .keyTooSmall, .sha1Rejected, .expired, .bodyShorterThanLength, .bodyHashMismatch, .signatureMismatch:
            return .fail
        }
    }

    public var description: String {
        switch self {
        case .signature(let error): return "bad signature field: \(error)"
        case .notVerified: return "not verified: too many signatures"
        case .headerTooLarge: return "message header too large to verify"
        case .keyNotFound(let name): return "no key at \(name)"
        case .keyLookupFailed(let error): return "key lookup failed: \(error.text)"
        case .key(let error): return "\(error)"
        case .keyRevoked: return "key revoked"
        case .keyTypeMismatch(let type): return "key type k=\(type) does not match the algorithm"
        case .hashNotAllowed: return "key h= does not allow the hash"
        case .serviceNotAllowed: return "key s= does not allow email"
        case .strictIdentity: return "key t=s and i= is a subdomain of d="
        case .badPublicKey: return "p= is not a valid public key"
        case .keyTooSmall(let bits): return "RSA key of \(bits) bits (at least \(MailAuthDefaults.dkimMinimumRSAKeyBits))"
        case .keyTooLarge(let bits): return "RSA key of \(bits) bits (at most \(MailAuthDefaults.dkimMaximumRSAKeyBits))"
        case .sha1Rejected: return "rsa-sha1 is not accepted (RFC 8301)"
        case .expired(let x): return "signature expired (x=\(x))"
        case .bodyShorterThanLength: return "l= is longer than the body"
        case .bodyHashMismatch: return "body hash did not verify"
        case .signatureMismatch: return "signature did not verify"
        }
    }
}

/// A DNS error's text, kept as a value (the failure type stays Hashable without the DNS module's
/// error in its public shape).
public struct DNSErrorText: Hashable, Sendable {
    public var text: String
    public init(_ text: String) { self.text = text }
}

/// The outcome of one DKIM-Signature field.
public struct DKIMSignatureResult: Sendable, Hashable, CustomStringConvertible {
    public var code: DKIMResultCode
    /// Why it did not pass; nil for pass.
    public var failure: DKIMFailure?
    /// The parsed signature; nil when the field did not parse.
    public var signature: DKIMSignature?
    /// d= (from the parsed signature, or read leniently from a field that did not parse).
    public var domain: String?
    /// s=.
    public var selector: String?
    /// The field within the message.
    public var field: RawHeaderField
    /// l= covered less than the whole body: content was (or could be) appended after signing.
    public var bodyPartiallySigned: Bool
    /// The key record had t=y (testing).
    public var keyTesting: Bool

    public init(code: DKIMResultCode, failure: DKIMFailure?, signature: DKIMSignature?, domain: String?, selector: String?,
                field: RawHeaderField, bodyPartiallySigned: Bool = false, keyTesting: Bool = false) {
        self.code = code
        self.failure = failure
        self.signature = signature
        self.domain = domain
        self.selector = selector
        self.field = field
        self.bodyPartiallySigned = bodyPartiallySigned
        self.keyTesting = keyTesting
    }

    /// A human reason for Authentication-Results comments and logs.
    public var reason: String {
        var parts: [String] = []
        if let failure { parts.append(failure.description) }
        if bodyPartiallySigned { parts.append("l= covers part of the body") }
        if keyTesting { parts.append("key in test mode") }
        if parts.isEmpty, code == .pass { parts.append("signature verified") }
        return parts.joined(separator: "; ")
    }

    public var description: String {
        "dkim=\(code.rawValue) (\(reason)) header.d=\(domain ?? "?") header.s=\(selector ?? "?")"
    }
}

/// The limits of DKIM verification. Defaults in `MailAuthDefaults`.
public struct DKIMLimits: Sendable, Hashable {
    public var maximumSignatures = MailAuthDefaults.dkimMaximumSignatures
    public var minimumRSAKeyBits = MailAuthDefaults.dkimMinimumRSAKeyBits
    public var maximumRSAKeyBits = MailAuthDefaults.dkimMaximumRSAKeyBits
    public var expiryLeewaySeconds = MailAuthDefaults.dkimExpiryLeewaySeconds

    public init() {}

    public static let `default` = DKIMLimits()
}
