// ARCVerifier.swift — Authenticated Received Chain validation (RFC 8617 §5.2).
//
// Steps, as §5.2 numbers them:
//   1. collect the ARC Sets; none: "none";
//   2. the newest ARC-Seal says cv=fail: "fail";
//   3. structure: instances 1…N without gaps or repeats (N ≤ 50), exactly one AAR, AMS and AS per
//      instance, cv=none on instance 1 and cv=pass above it; otherwise "fail";
//   4. the newest ARC-Message-Signature verifies as a DKIM signature would (§4.1.2); otherwise
//      "fail";
//   5. oldest-pass (optional, informational): each older AMS from N-1 down; the lowest instance
//      from which every newer AMS verifies (0 when all do);
//   6. every ARC-Seal from N down to 1 verifies over the ARC Sets 1…i, in instance order and within
//      a set AAR, AMS, AS, relaxed-canonicalized, the seal being verified with b= blanked and no
//      final CRLF (§5.1.1); otherwise "fail";
//   7. "pass".
//
// A temporary failure fetching a key gives `temperror` (the chain may verify later); RFC 8617
// names none, pass and fail only, so a node may prefer to render it as "fail". A result says
// nothing about trusting the sealers: that is local policy (§7.2).

import Crypto

/// An ARC chain validation result (RFC 8617 §4.4, RFC 8601 "arc").
public enum ARCResultCode: String, Sendable, Hashable, CaseIterable {
    case none
    case pass
    case fail
    case temperror
}

/// The outcome of validating a message's ARC chain.
public struct ARCResult: Sendable, Hashable, CustomStringConvertible {
    public var code: ARCResultCode
    /// N, the number of ARC Sets (0 when there are none or they could not be read).
    public var instances: Int
    /// The lowest instance from which every newer AMS verifies (0: all do); nil when not computed.
    public var oldestPass: Int?
    /// The sealing domain of each instance, oldest first.
    public var sealers: [String]
    public var reason: String

    public var description: String { "arc=\(code.rawValue) (\(reason))" }
}

/// Validates ARC chains. A value: safe to share.
public struct ARCVerifier: Sendable {
    public var dns: any MailAuthDNS
    public var limits: DKIMLimits
    public var now: @Sendable () -> Int64

    public init(dns: any MailAuthDNS, limits: DKIMLimits = .default, now: @escaping @Sendable () -> Int64 = { unixTime() }) {
        self.dns = dns
        self.limits = limits
        self.now = now
    }

    struct ARCSet {
        var results: RawHeaderField?
        var signature: (ARCMessageSignature, RawHeaderField)?
        var seal: (ARCSeal, RawHeaderField)?
    }

    /// Validates the chain of `message`.
    public func verify(_ message: RawMessage) async -> ARCResult {
        var result = ARCResult(code: .fail, instances: 0, oldestPass: nil, sealers: [], reason: "")
        func failed(_ why: String) -> ARCResult {
            result.code = .fail
            result.reason = why
            return result
        }
        // 1. Collect.
        let aar = message.fields(named: "ARC-Authentication-Results")
        let ams = message.fields(named: "ARC-Message-Signature")
        let seals = message.fields(named: "ARC-Seal")
        if aar.isEmpty && ams.isEmpty && seals.isEmpty {
            result.code = .none
            result.reason = "no ARC sets"
            return result
        }
        if message.limitExceeded { return failed("message header too large") }
        var sets: [Int: ARCSet] = [:]
        do {
            for field in aar {
                let i = try arcAuthenticationResultsInstance(message.value(of: field))
                if sets[i, default: ARCSet()].results != nil { return failed("two ARC-Authentication-Results with i=\(i)") }
                sets[i, default: ARCSet()].results = field
            }
            for field in ams {
                let parsed = try ARCMessageSignature(parsing: message.value(of: field))
                if sets[parsed.instance, default: ARCSet()].signature != nil { return failed("two ARC-Message-Signature with i=\(parsed.instance)") }
                sets[parsed.instance, default: ARCSet()].signature = (parsed, field)
            }
            for field in seals {
                let parsed = try ARCSeal(parsing: message.value(of: field))
                if sets[parsed.instance, default: ARCSet()].seal != nil { return failed("two ARC-Seal with i=\(parsed.instance)") }
                sets[parsed.instance, default: ARCSet()].seal = (parsed, field)
            }
        } catch {
            return failed("\(error)")
        }
        // 3. Structure (2. is checked with it: the newest seal's cv).
        let n = sets.keys.max() ?? 0
        guard sets.count == n else { return failed("ARC instances are not 1…\(n)") }
        var chain: [(results: RawHeaderField, signature: (ARCMessageSignature, RawHeaderField), seal: (ARCSeal, RawHeaderField))] = []
        for i in 1...n {
            guard let set = sets[i], let r = set.results, let s = set.signature, let seal = set.seal else {
                return failed("ARC set \(i) is incomplete")
            }
            chain.append((r, s, seal))
        }
        result.instances = n
        result.sealers = chain.map { $0.seal.0.domain }
        if chain[n - 1].seal.0.chainValidation == .fail { return failed("ARC-Seal i=\(n) records cv=fail") }
        for (index, set) in chain.enumerated() {
            let expected: ARCChainValidation = index == 0 ? .none : .pass
            if set.seal.0.chainValidation != expected {
                return failed("ARC-Seal i=\(index + 1) has cv=\(set.seal.0.chainValidation.rawValue)")
            }
        }

        // 4. The newest AMS; 5. oldest-pass.
        let dkim = DKIMVerifier(dns: dns, limits: limits, now: now)
        var bodyHashes: [DKIMVerifier.BodyHashKey: (hash: [UInt8], length: Int)] = [:]
        let newest = chain[n - 1].signature
        let newestResult = await dkim.verify(newest.0.signature, field: newest.1, in: message, bodyHashes: &bodyHashes)
        switch newestResult.code {
        case .pass: break
        case .temperror:
            result.code = .temperror
            result.reason = "ARC-Message-Signature i=\(n): \(newestResult.reason)"
            return result
        default:
            return failed("ARC-Message-Signature i=\(n): \(newestResult.reason)")
        }
        var oldestPass = 0
        for i in stride(from: n - 1, through: 1, by: -1) {
            let older = chain[i - 1].signature
            if await dkim.verify(older.0.signature, field: older.1, in: message, bodyHashes: &bodyHashes).code != .pass {
                oldestPass = i + 1
                break
            }
        }
        result.oldestPass = oldestPass

        // 6. Every seal, newest first.
        for i in stride(from: n, through: 1, by: -1) {
            let (seal, sealField) = chain[i - 1].seal
            var data: [UInt8] = []
            for j in 1...i {
                let set = chain[j - 1]
                data += DKIMCanonicalizer.header(message.octets(of: set.results), .relaxed)
                data += DKIMCanonicalizer.header(message.octets(of: set.signature.1), .relaxed)
                if j < i { data += DKIMCanonicalizer.header(message.octets(of: set.seal.1), .relaxed) }
            }
            let b = seal.tags.tag("b")!.valueRange
            let bInField = (b.lowerBound - sealField.range.lowerBound)..<(b.upperBound - sealField.range.lowerBound)
            data += DKIMCanonicalizer.signatureHeader(Array(message.octets(of: sealField)), bRange: bInField, .relaxed)
            do {
                try await verifySeal(seal, data: data)
            } catch {
                if error.code == .temperror {
                    result.code = .temperror
                    result.reason = "ARC-Seal i=\(i): \(error)"
                    return result
                }
                return failed("ARC-Seal i=\(i): \(error)")
            }
        }
        result.code = .pass
        result.reason = "\(n) ARC set\(n == 1 ? "" : "s"), sealed by \(result.sealers.last ?? "?")"
        return result
    }

    /// Checks one seal's signature over `data` with the sealer's key.
    func verifySeal(_ seal: ARCSeal, data: [UInt8]) async throws(DKIMFailure) {
        if seal.algorithm == .rsaSHA1 { throw .sha1Rejected }
        let dkim = DKIMVerifier(dns: dns, limits: limits, now: now)
        let key = try await dkim.fetchKey(selector: seal.selector, domain: seal.domain)
        if key.isRevoked { throw .keyRevoked }
        if key.keyType != seal.algorithm.keyType { throw .keyTypeMismatch(keyType: key.keyType) }
        if let hashes = key.hashAlgorithms, !hashes.contains(seal.algorithm.hashName) { throw .hashNotAllowed }
        let publicKey = try DKIMPublicKey(key.publicKey, algorithm: seal.algorithm, limits: limits)
        if !publicKey.verify(seal.signature, headerData: data) { throw .signatureMismatch }
    }
}
