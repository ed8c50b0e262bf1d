// DKIMKey.swift — DKIM key records (RFC 6376 §3.6.1), published as TXT at
// <selector>._domainkey.<domain> (§3.6.2.1).
//
// Grammar (RFC 6376 §3.6.1; a tag-list, §3.2):
//   key-v-tag = %x76 [FWS] "=" [FWS] %x44.4B.49.4D.31        ; "DKIM1", first tag if present
//   key-h-tag = %x68 [FWS] "=" [FWS] key-h-tag-alg *( [FWS] ":" [FWS] key-h-tag-alg )
//   key-k-tag = %x6b [FWS] "=" [FWS] key-k-tag-type          ; "rsa" (default), "ed25519" (RFC 8463)
//   key-n-tag = %x6e [FWS] "=" [FWS] qp-section
//   key-p-tag = %x70 [FWS] "=" [ [FWS] base64string ]        ; empty: the key is revoked
//   key-s-tag = %x73 [FWS] "=" [FWS] key-s-tag-type *( [FWS] ":" [FWS] key-s-tag-type )
//   key-t-tag = %x74 [FWS] "=" [FWS] key-t-tag-flag *( [FWS] ":" [FWS] key-t-tag-flag )
//
// What it does: parses the tags; unknown tags and flags are ignored (§3.6.1). The public key octets
// are kept undecoded as DER (RSA: SubjectPublicKeyInfo or RSAPublicKey) or raw (Ed25519, RFC 8463
// §4: 32 octets); the verifier builds the key.
//
// Diagnostics: `DKIMKeyError`. An empty p= is not an error here: `isRevoked`.

/// Why a key record was refused (a permerror for the signatures that use it).
public enum DKIMKeyError: Error, Hashable, Sendable, CustomStringConvertible {
    case tagList(TagListError)
    case tooLong(Int)
    /// v= present with another value than "DKIM1", or not the first tag.
    case badVersion(String)
    case missingPublicKey
    case badBase64

    public var description: String {
        switch self {
        case .tagList(let error): return "bad key record: \(error)"
        case .tooLong(let n): return "key record of \(n) octets"
        case .badVersion(let v): return "key record version v=\(v)"
        case .missingPublicKey: return "key record without p="
        case .badBase64: return "key record p= is not base64"
        }
    }
}

/// A parsed key record.
public struct DKIMKeyRecord: Sendable, Hashable {
    /// k=, lower-cased ("rsa" by default).
    public var keyType: String
    /// h=, lower-cased; nil when absent (every hash allowed).
    public var hashAlgorithms: [String]?
    /// s=, lower-cased ("*" by default).
    public var serviceTypes: [String]
    /// t=, lower-cased.
    public var flags: [String]
    /// p=, decoded; empty when the key is revoked.
    public var publicKey: [UInt8]

    /// An empty p= (§3.6.1: "An empty value means that this public key has been revoked").
    public var isRevoked: Bool { publicKey.isEmpty }
    /// t=y: the domain is testing DKIM (§3.6.1).
    public var isTesting: Bool { flags.contains("y") }
    /// t=s: i= must be exactly d=, not a subdomain (§3.6.1).
    public var isStrict: Bool { flags.contains("s") }
    /// s= allows email ("*" or "email").
    public var allowsEmail: Bool { serviceTypes.contains("*") || serviceTypes.contains("email") }

    public init(parsing text: String) throws(DKIMKeyError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= MailAuthDefaults.dkimMaximumKeyRecordLength else { throw .tooLong(bytes.count) }
        let tags: TagList
        do {
            tags = try TagList(parsing: bytes)
        } catch {
            throw .tagList(error)
        }
        if let version = tags.tag("v") {
            guard version.value == "DKIM1", tags.tags.first?.name == "v" else { throw .badVersion(version.value) }
        }
        func list(_ name: String) -> [String]? {
            tags[name].map { $0.split(separator: ":").map { asciiLowercased(String($0).withoutFWS) } }
        }
        keyType = tags["k"].map { asciiLowercased($0.withoutFWS) } ?? "rsa"
        hashAlgorithms = list("h")
        serviceTypes = list("s") ?? ["*"]
        flags = list("t") ?? []
        guard let p = tags["p"] else { throw .missingPublicKey }
        let compact = p.withoutFWS
        if compact.isEmpty {
            publicKey = []
        } else {
            guard let key = decodeBase64(compact), !key.isEmpty else { throw .badBase64 }
            publicKey = key
        }
    }
}
