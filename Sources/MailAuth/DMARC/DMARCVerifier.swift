// DMARCVerifier.swift — DMARC evaluation (RFC 7489 §6.6): author domains, policy discovery,
// identifier alignment, and the policy to apply.
//
// What it does:
//   1. Author domains (§6.6.1): every domain in every From field (addresses found inside display
//      names are not authors). No From, or one without a domain, is a permerror ("no author
//      domain"); several From fields are evaluated all the same and flagged `multipleFromFields`
//      (RFC 5322 allows one; the caller may reject, §6.6.1 "MAY"). Several author domains are each
//      evaluated and the strictest policy among those that fail is applied (§6.6.1).
//   2. Policy discovery (§6.6.3): TXT at _dmarc.<author domain>, records starting with v=DMARC1;
//      none there → _dmarc.<Organizational Domain>; several → no policy (step 3); a temporary DNS
//      failure → temperror.
//   3. Alignment (§3.1): SPF is aligned when SPF passed for the MAIL FROM identity and its domain
//      matches the author domain (aspf=); DKIM when a passing signature's d= matches (adkim=).
//      Relaxed: same Organizational Domain; strict: same name.
//   4. Result: pass when either aligns; else fail, with p= (or sp= when the policy came from the
//      Organizational Domain for a subdomain author), reduced one step for messages pct= leaves out
//      (§6.6.4), decided by the injected `sample` (0..<100; the message is in when sample < pct).

import DNS
import MIME

/// A DMARC result (RFC 8601 §2.7 / RFC 7489 §11.2).
public enum DMARCResultCode: String, Sendable, Hashable, CaseIterable {
    case none
    case pass
    case fail
    case temperror
    case permerror
}

/// The evaluation for one author domain.
public struct DMARCDomainResult: Sendable, Hashable {
    public var code: DMARCResultCode
    /// The author domain (lower-cased).
    public var fromDomain: String
    public var organizationalDomain: String
    /// The record used, if one was found.
    public var record: DMARCRecord?
    /// Where the record was found (the author domain or its Organizational Domain).
    public var recordDomain: String?
    public var spfAligned: Bool
    public var dkimAligned: Bool
    /// The policy the record requests for this domain (p= or sp=); nil without a record.
    public var requestedPolicy: DMARCPolicy?
    /// What to do: the requested policy for a failing message, reduced when pct= left it out;
    /// `.none` for every other result.
    public var disposition: DMARCPolicy
    /// pct= left this message out of the requested policy.
    public var sampledOut: Bool
    public var reason: String
}

/// The DMARC outcome for a message.
public struct DMARCResult: Sendable, Hashable, CustomStringConvertible {
    public var code: DMARCResultCode
    /// Each author domain's evaluation (empty when there was none).
    public var domains: [DMARCDomainResult]
    /// The strictest disposition among the domains.
    public var disposition: DMARCPolicy
    /// More than one From field.
    public var multipleFromFields: Bool
    public var reason: String

    /// The first author domain, for header.from.
    public var fromDomain: String? { domains.first?.fromDomain }
    /// The requested policy of the domain that decided the disposition.
    public var requestedPolicy: DMARCPolicy? { deciding?.requestedPolicy }
    /// The domain result that decided (the strictest failure, or the first).
    public var deciding: DMARCDomainResult? {
        domains.filter { $0.code == .fail }.max { $0.disposition < $1.disposition } ?? domains.first
    }

    public var description: String { "dmarc=\(code.rawValue) (\(reason)) header.from=\(fromDomain ?? "?")" }
}

/// The author domains of a message (RFC 7489 §6.6.1).
public struct AuthorDomains: Sendable, Hashable {
    /// Distinct domains, lower-cased, in order of appearance.
    public var domains: [String]
    /// How many From fields the message has.
    public var fromFieldCount: Int
    /// A From address without a domain, or a From field without any address.
    public var malformed: Bool

    /// Reads the From fields of `message`.
    public init(_ message: RawMessage) {
        let fields = message.fields(named: "From")
        fromFieldCount = fields.count
        domains = []
        malformed = false
        for field in fields {
            let parsed = MIMEAddressParser.parse(message.value(of: field))
            let authors = parsed.addresses.filter { !$0.fromDisplayName }
            if authors.isEmpty { malformed = true }
            for address in authors {
                guard var domain = address.domain, !domain.isEmpty else {
                    malformed = true
                    continue
                }
                if domain.hasSuffix(".") { domain.removeLast() }
                domain = asciiLowercased(domain)
                if !domains.contains(domain) { domains.append(domain) }
            }
        }
    }

    public init(domains: [String], fromFieldCount: Int = 1, malformed: Bool = false) {
        self.domains = domains.map(asciiLowercased)
        self.fromFieldCount = fromFieldCount
        self.malformed = malformed
    }
}

/// Evaluates DMARC. A value: safe to share.
public struct DMARCVerifier: Sendable {
    public var dns: any MailAuthDNS
    public var publicSuffixes: PublicSuffixList
    /// A number in 0..<100 per failing message, for pct= (§6.6.4). Tests inject fixed values.
    public var sample: @Sendable () -> Int

    public init(dns: any MailAuthDNS, publicSuffixes: PublicSuffixList,
                sample: @escaping @Sendable () -> Int = { Int.random(in: 0..<100) }) {
        self.dns = dns
        self.publicSuffixes = publicSuffixes
        self.sample = sample
    }

    /// Evaluates `message` given its SPF result (MAIL FROM identity) and DKIM results.
    public func evaluate(_ message: RawMessage, spf: SPFResult?, dkim: [DKIMSignatureResult]) async -> DMARCResult {
        await evaluate(authors: AuthorDomains(message), spf: spf, dkim: dkim)
    }

    /// Evaluates the given author domains.
    public func evaluate(authors: AuthorDomains, spf: SPFResult?, dkim: [DKIMSignatureResult]) async -> DMARCResult {
        let multiple = authors.fromFieldCount > 1
        guard !authors.domains.isEmpty else {
            let why = authors.fromFieldCount == 0 ? "no From field" : "no author domain in From"
            return DMARCResult(code: .permerror, domains: [], disposition: .none, multipleFromFields: multiple, reason: why)
        }
        var results: [DMARCDomainResult] = []
        for domain in authors.domains.prefix(MailAuthDefaults.dmarcMaximumAuthorDomains) {
            results.append(await evaluate(domain: domain, spf: spf, dkim: dkim))
        }
        let code: DMARCResultCode
        if results.contains(where: { $0.code == .fail }) {
            code = .fail
        } else if results.contains(where: { $0.code == .temperror }) {
            code = .temperror
        } else if results.contains(where: { $0.code == .pass }) {
            code = .pass
        } else if results.contains(where: { $0.code == .permerror }) {
            code = .permerror
        } else {
            code = .none
        }
        var result = DMARCResult(code: code, domains: results,
                                 disposition: results.map(\.disposition).max() ?? .none,
                                 multipleFromFields: multiple, reason: "")
        result.reason = result.deciding?.reason ?? ""
        if authors.domains.count > MailAuthDefaults.dmarcMaximumAuthorDomains {
            result.reason += "; only the first \(MailAuthDefaults.dmarcMaximumAuthorDomains) author domains evaluated"
        }
        return result
    }

    /// §6.6.2–§6.6.4 for one author domain.
    public func evaluate(domain fromDomain: String, spf: SPFResult?, dkim: [DKIMSignatureResult]) async -> DMARCDomainResult {
        let organizational = publicSuffixes.organizationalDomain(of: fromDomain)
        var result = DMARCDomainResult(code: .none, fromDomain: fromDomain, organizationalDomain: organizational, record: nil,
                                       recordDomain: nil, spfAligned: false, dkimAligned: false, requestedPolicy: nil,
                                       disposition: .none, sampledOut: false, reason: "")
        // Policy discovery (§6.6.3).
        var found: (DMARCRecord, String)?
        for candidate in fromDomain == organizational ? [fromDomain] : [fromDomain, organizational] {
            switch await lookup(candidate) {
            case .record(let record):
                found = (record, candidate)
            case .noRecord:
                continue
            case .stop(let why):
                result.reason = why
                return result
            case .temporary(let why):
                result.code = .temperror
                result.reason = why
                return result
            }
            break
        }
        guard let (record, recordDomain) = found else {
            result.reason = "no DMARC record for \(fromDomain)"
            return result
        }
        result.record = record
        result.recordDomain = recordDomain
        let requested = recordDomain != fromDomain ? (record.subdomainPolicy ?? record.policy) : record.policy
        result.requestedPolicy = requested

        // Alignment (§3.1).
        if let spf, spf.identity == .mailFrom, spf.code == .pass {
            result.spfAligned = aligned(spf.domain, fromDomain, record.spfAlignment)
        }
        result.dkimAligned = dkim.contains { $0.code == .pass && $0.domain.map { aligned($0, fromDomain, record.dkimAlignment) } == true }

        if result.spfAligned || result.dkimAligned {
            result.code = .pass
            result.reason = [result.spfAligned ? "SPF aligned" : nil, result.dkimAligned ? "DKIM aligned" : nil]
                .compactMap { $0 }.joined(separator: ", ")
            return result
        }
        result.code = .fail
        result.disposition = requested
        if record.percentage < 100, requested != .none, sample() >= record.percentage {
            result.disposition = requested.weaker
            result.sampledOut = true
        }
        result.reason = "neither SPF nor DKIM aligned with \(fromDomain)"
        return result
    }

    /// Whether `identifier` aligns with the author domain `author` (§3.1.1, §3.1.2).
    public func aligned(_ identifier: String, _ author: String, _ mode: DMARCAlignment) -> Bool {
        var a = asciiLowercased(identifier)
        var b = asciiLowercased(author)
        if a.hasSuffix(".") { a.removeLast() }
        if b.hasSuffix(".") { b.removeLast() }
        switch mode {
        case .strict: return a == b
        case .relaxed: return publicSuffixes.organizationalDomain(of: a) == publicSuffixes.organizationalDomain(of: b)
        }
    }

    enum Lookup {
        case record(DMARCRecord)
        case noRecord
        /// Discovery ends without a policy (several records, an unusable record).
        case stop(String)
        case temporary(String)
    }

    /// The DMARC record at _dmarc.<domain>.
    func lookup(_ domain: String) async -> Lookup {
        guard let name = try? DNSName("_dmarc." + domain) else { return .noRecord }
        let texts: [String]
        do {
            texts = try await dns.txt(name)
        } catch {
            if error.isTemporary { return .temporary("DNS error for \(name): \(error)") }
            return .noRecord
        }
        let candidates = texts.filter(DMARCRecord.isDMARC)
        if candidates.isEmpty { return .noRecord }
        if candidates.count > 1 { return .stop("several DMARC records at \(name)") }
        do {
            return .record(try DMARCRecord(parsing: candidates[0]))
        } catch {
            return .stop("unusable DMARC record at \(name): \(error)")
        }
    }
}
