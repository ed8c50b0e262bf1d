// DKIMVerifier.swift — DKIM signature verification (RFC 6376 §6.1), every signature of a message
// with its own result.
//
// For each DKIM-Signature field, top to bottom (at most `DKIMLimits.maximumSignatures`):
//   1. parse and check the field (§6.1.1); rsa-sha1 fails here (RFC 8301 §3.1);
//   2. x= against the clock, with `expiryLeewaySeconds` of leeway (§3.5);
//   3. fetch the key: TXT at <s>._domainkey.<d> (§3.6.2); the first record that parses is used
//      (§3.6.2.2 leaves several records undefined);
//   4. check the key against the signature: revoked, k=, h=, s=, t=s (§6.1.2);
//   5. the body hash over the canonical body, l= honoured (§6.1.3) — a signature whose l= covers
//      less than the body passes but is flagged `bodyPartiallySigned`, since anything after l= is
//      unsigned (§8.2);
//   6. the header hash over the selected fields (bottom-up, §5.4.2) and the signature field with
//      b= blanked, and the public-key check.
//
// Body hashes are computed once per (canonicalization, l=) and shared between signatures.
//
// Security notes: the clock is injected (tests, and a node that wants one clock); keys outside
// 1024…8192 bits are not used; nothing from the message reaches a DNS name except d= and s=,
// which must be valid names.

import Crypto
import DNS

/// Verifies the DKIM signatures of messages. A value: safe to share.
public struct DKIMVerifier: Sendable {
    public var dns: any MailAuthDNS
    public var limits: DKIMLimits
    /// Seconds since the epoch, for x=.
    public var now: @Sendable () -> Int64

    public init(dns: any MailAuthDNS, limits: DKIMLimits = .default, now: @escaping @Sendable () -> Int64 = { unixTime() }) {
        self.dns = dns
        self.limits = limits
        self.now = now
    }

    /// Every DKIM-Signature of `message`, top to bottom, with its result. Empty when the message is
    /// not signed (Authentication-Results "dkim=none").
    public func verify(_ message: RawMessage) async -> [DKIMSignatureResult] {
        var results: [DKIMSignatureResult] = []
        var bodyHashes: [BodyHashKey: (hash: [UInt8], length: Int)] = [:]
        for (index, field) in message.fields(named: "DKIM-Signature").enumerated() {
            if index >= limits.maximumSignatures {
                results.append(Self.unparsed(field, message: message, failure: .notVerified))
                continue
            }
            results.append(await verify(field, in: message, bodyHashes: &bodyHashes))
        }
        return results
    }

    /// Splits and verifies `bytes`.
    public func verify(_ bytes: [UInt8]) async -> [DKIMSignatureResult] {
        await verify(RawMessage(bytes))
    }

    struct BodyHashKey: Hashable {
        var canonicalization: DKIMCanonicalization
        var length: Int?
    }

    func verify(_ field: RawHeaderField, in message: RawMessage,
                bodyHashes: inout [BodyHashKey: (hash: [UInt8], length: Int)]) async -> DKIMSignatureResult {
        let signature: DKIMSignature
        do {
            signature = try DKIMSignature(parsing: message.value(of: field))
        } catch {
            return Self.unparsed(field, message: message, failure: .signature(error))
        }
        return await verify(signature, field: field, in: message, bodyHashes: &bodyHashes)
    }

    /// Verifies a parsed signature (a DKIM-Signature, or an ARC-Message-Signature read as one).
    func verify(_ signature: DKIMSignature, field: RawHeaderField, in message: RawMessage,
                bodyHashes: inout [BodyHashKey: (hash: [UInt8], length: Int)]) async -> DKIMSignatureResult {
        var result = DKIMSignatureResult(code: .pass, failure: nil, signature: signature, domain: signature.domain,
                                         selector: signature.selector, field: field)
        func failed(_ failure: DKIMFailure) -> DKIMSignatureResult {
            result.code = failure.code
            result.failure = failure
            return result
        }
        if message.limitExceeded { return failed(.headerTooLarge) }
        if signature.algorithm == .rsaSHA1 { return failed(.sha1Rejected) }
        if let x = signature.expiration, x.addingReportingOverflow(limits.expiryLeewaySeconds).partialValue < now() {
            return failed(.expired(x))
        }

        // The key (§6.1.2).
        let key: DKIMKeyRecord
        do {
            key = try await fetchKey(signature)
        } catch {
            return failed(error)
        }
        result.keyTesting = key.isTesting
        if key.isRevoked { return failed(.keyRevoked) }
        if key.keyType != signature.algorithm.keyType { return failed(.keyTypeMismatch(keyType: key.keyType)) }
        if let hashes = key.hashAlgorithms, !hashes.contains(signature.algorithm.hashName) { return failed(.hashNotAllowed) }
        if !key.allowsEmail { return failed(.serviceNotAllowed) }
        if key.isStrict, signature.identityDomain != signature.domain { return failed(.strictIdentity) }
        let publicKey: DKIMPublicKey
        do {
            publicKey = try DKIMPublicKey(key.publicKey, algorithm: signature.algorithm, limits: limits)
        } catch {
            return failed(error)
        }

        // The body hash (§6.1.3).
        let bodyKey = BodyHashKey(canonicalization: signature.bodyCanonicalization, length: signature.bodyLength)
        let body: (hash: [UInt8], length: Int)
        if let known = bodyHashes[bodyKey] {
            body = known
        } else {
            var hasher = SHA256()
            let length = DKIMCanonicalizer.body(message.body, signature.bodyCanonicalization, limit: signature.bodyLength) { piece in
                piece.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            }
            body = (Array(hasher.finalize()), length)
            bodyHashes[bodyKey] = body
        }
        if let l = signature.bodyLength {
            if l > body.length { return failed(.bodyShorterThanLength) }
            result.bodyPartiallySigned = l < body.length
        }
        if body.hash != signature.bodyHash { return failed(.bodyHashMismatch) }

        // The header hash and the signature (§6.1.3, §3.7).
        let headerData = Self.headerData(signature, field: field, in: message)
        if !publicKey.verify(signature.signature, headerData: headerData) { return failed(.signatureMismatch) }
        return result
    }

    /// The octets the header signature covers: the selected fields canonicalized, then the signature
    /// field with b= blanked and no final CRLF.
    static func headerData(_ signature: DKIMSignature, field: RawHeaderField, in message: RawMessage) -> [UInt8] {
        var data: [UInt8] = []
        for selected in DKIMCanonicalizer.selectHeaders(signature.signedHeaders, from: message.fields) {
            data += DKIMCanonicalizer.header(message.octets(of: selected), signature.headerCanonicalization)
        }
        let fieldOctets = Array(message.octets(of: field))
        let b = signature.tags.tag("b")!.valueRange
        let bInField = (b.lowerBound - field.range.lowerBound)..<(b.upperBound - field.range.lowerBound)
        data += DKIMCanonicalizer.signatureHeader(fieldOctets, bRange: bInField, signature.headerCanonicalization)
        return data
    }

    /// The key record for a signature, or the failure.
    func fetchKey(_ signature: DKIMSignature) async throws(DKIMFailure) -> DKIMKeyRecord {
        try await fetchKey(selector: signature.selector, domain: signature.domain)
    }

    /// The key record at <selector>._domainkey.<domain> (RFC 6376 §3.6.2.1), or the failure.
    func fetchKey(selector: String, domain: String) async throws(DKIMFailure) -> DKIMKeyRecord {
        let text = selector + "._domainkey." + domain
        guard let name = try? DNSName(text) else { throw .keyNotFound(text) }
        let records: [String]
        do {
            records = try await dns.txt(name)
        } catch {
            if error.isTemporary { throw .keyLookupFailed(DNSErrorText(error.description)) }
            throw .keyNotFound(text)
        }
        guard !records.isEmpty else { throw .keyNotFound(text) }
        var firstError: DKIMKeyError?
        for record in records {
            do {
                return try DKIMKeyRecord(parsing: record)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        throw .key(firstError!)
    }

    /// A result for a field that was not verified, with d= and s= read leniently when possible.
    static func unparsed(_ field: RawHeaderField, message: RawMessage, failure: DKIMFailure) -> DKIMSignatureResult {
        let tags = try? TagList(parsing: message.value(of: field))
        return DKIMSignatureResult(code: failure.code, failure: failure, signature: nil,
                                   domain: tags?["d"].map(asciiLowercased), selector: tags?["s"], field: field)
    }
}
