// SPFVerifier.swift — check_host() (RFC 7208 §4) and the MAIL FROM and HELO checks (§2.3, §2.4).
//
// What it does: fetches the record (§4.4, §4.5), evaluates the mechanisms left to right (§4.6.2,
// §5), follows include (§5.2) and redirect (§6.1), expands macros (§7), and on fail fetches the
// explanation (§6.2). Every DNS query goes through the `MailAuthDNS` given.
//
// Limits (§4.6.4), shared across the whole evaluation, include and redirect recursion included:
// at most 10 DNS-querying terms (include, a, mx, ptr, exists, redirect), at most 2 void lookups
// (NXDOMAIN or an empty answer from the lookup of an a, mx, ptr or exists term), at most 10 MX
// names per mx, at most 10 PTR names per ptr or %{p}. Exceeding any of the first three is a
// permerror; extra PTR names are ignored. The exp= lookup counts towards none (§4.6.4).
//
// DNS outcomes: NXDOMAIN and NODATA are "no records"; a temporary failure is a temperror, except
// in ptr and %{p}, where a failed lookup only means no match (§5.5). A domain that is not a valid
// name after expansion is treated as one that does not exist: a void lookup for a, mx, ptr and
// exists, and "none" (hence permerror) for include and redirect (§4.3, §5.2).
//
// Not done: the 20-second overall processing limit (§4.6.4 "SHOULD"): the resolver's own
// timeouts bound each query instead.

import DNS

/// Evaluates SPF policies. A value: safe to share.
public struct SPFVerifier: Sendable {
    /// Where queries go.
    public var dns: any MailAuthDNS
    /// The limits of §4.6.4.
    public var limits: SPFLimits
    /// This host's domain, for %{r} in explanations.
    public var receivingDomain: String
    /// Seconds since the epoch, for %{t} in explanations.
    public var now: @Sendable () -> Int64

    public init(dns: any MailAuthDNS, limits: SPFLimits = .default, receivingDomain: String = "unknown",
                now: @escaping @Sendable () -> Int64 = { unixTime() }) {
        self.dns = dns
        self.limits = limits
        self.receivingDomain = receivingDomain
        self.now = now
    }

    // MARK: The identities (§2.3, §2.4)

    /// The MAIL FROM check (§2.4). `mailFrom` is the reverse-path without angle brackets; for the
    /// null reverse-path ("") the identity is postmaster@`helo` (§2.4).
    public func checkMailFrom(ip: ClientIP, mailFrom: String, helo: String) async -> SPFResult {
        var sender = mailFrom
        if sender.isEmpty { sender = "postmaster@" + helo }
        if !sender.contains("@") { sender = "postmaster@" + sender }
        let domain = String(sender[sender.index(after: sender.lastIndex(of: "@")!)...])
        var result = await checkHost(ip: ip, domain: domain, sender: sender, helo: helo)
        result.identity = .mailFrom
        return result
    }

    /// The HELO check (§2.3): the HELO domain as <domain>, postmaster@helo as <sender>. An address
    /// literal ("[192.0.2.1]") is not a domain: "none".
    public func checkHELO(ip: ClientIP, helo: String) async -> SPFResult {
        var result = await checkHost(ip: ip, domain: helo, sender: "postmaster@" + helo, helo: helo)
        result.identity = .helo
        return result
    }

    /// check_host(<ip>, <domain>, <sender>) (§4).
    public func checkHost(ip: ClientIP, domain: String, sender: String, helo: String) async -> SPFResult {
        var state = Evaluation(ip: ip, sender: sender, helo: helo)
        let outcome = await evaluate(domain: domain, state: &state, wantExplanation: true)
        return SPFResult(code: outcome.code, identity: .mailFrom, domain: domain, sender: sender, reason: outcome.reason,
                         explanation: outcome.explanation, dnsMechanisms: state.dnsMechanisms, voidLookups: state.voidLookups)
    }

    // MARK: Evaluation

    /// What is shared across one evaluation and its recursion.
    struct Evaluation {
        let ip: ClientIP
        let sender: String
        let helo: String
        var dnsMechanisms = 0
        var voidLookups = 0
        /// The %{p} value, computed on first use.
        var validatedDomain: String?
    }

    struct Outcome {
        var code: SPFResultCode
        var reason: String
        var explanation: String?
    }

    /// Ends an evaluation early with a temperror or permerror.
    enum Abort: Error {
        case temperror(String)
        case permerror(String)
    }

    /// check_host() for `domain` within an evaluation.
    func evaluate(domain: String, state: inout Evaluation, wantExplanation: Bool) async -> Outcome {
        // §4.3: a malformed or single-label domain is "none".
        guard let name = Self.domainName(domain), name.labels.count >= 2 else {
            return Outcome(code: .none, reason: "'\(sanitizedText(domain, limit: 80))' is not a valid domain")
        }
        // §4.4, §4.5: the record.
        let records: [String]
        do {
            records = try await dns.txt(name)
        } catch {
            if error.isTemporary { return Outcome(code: .temperror, reason: "DNS error for \(name): \(error)") }
            return Outcome(code: .none, reason: "no SPF record at \(name) (\(error))")
        }
        let recordText: String
        do {
            guard let selected = try SPFRecord.select(from: records) else {
                return Outcome(code: .none, reason: "no SPF record at \(name)")
            }
            recordText = selected
        } catch {
            return Outcome(code: .permerror, reason: "\(name): \(error)")
        }
        let record: SPFRecord
        do {
            record = try SPFRecord(parsing: recordText)
        } catch {
            return Outcome(code: .permerror, reason: "\(name): \(error)")
        }

        do {
            // §4.6.2: mechanisms left to right; the first match decides.
            for directive in record.directives {
                if try await matches(directive.mechanism, domain: domain, state: &state) {
                    var outcome = Outcome(code: directive.qualifier.result, reason: "matched \(directive.text) at \(name)")
                    if outcome.code == .fail, wantExplanation, let exp = record.explanation {
                        outcome.explanation = await explanation(exp, domain: domain, state: &state)
                    }
                    return outcome
                }
            }
            // §6.1: redirect, when nothing matched.
            if let redirect = record.redirect {
                try count(&state)
                let target = try await expandDomain(redirect, domain: domain, state: &state)
                let inner = await evaluate(domain: target, state: &state, wantExplanation: wantExplanation)
                if inner.code == .none {
                    return Outcome(code: .permerror, reason: "redirect=\(target) has no SPF record")
                }
                return inner
            }
            return Outcome(code: .neutral, reason: "no mechanism matched at \(name)")
        } catch {
            switch error {
            case .temperror(let why): return Outcome(code: .temperror, reason: why)
            case .permerror(let why): return Outcome(code: .permerror, reason: why)
            }
        }
    }

    /// Whether one mechanism matches (§5).
    func matches(_ mechanism: SPFMechanism, domain: String, state: inout Evaluation) async throws(Abort) -> Bool {
        if mechanism.countsTowardsLookupLimit { try count(&state) }
        switch mechanism {
        case .all:
            return true

        case .include(let spec):
            let target = try await expandDomain(spec, domain: domain, state: &state)
            let inner = await evaluate(domain: target, state: &state, wantExplanation: false)
            switch inner.code {
            case .pass: return true
            case .fail, .softfail, .neutral: return false
            case .temperror: throw .temperror(inner.reason)
            case .permerror: throw .permerror(inner.reason)
            case .none: throw .permerror("include:\(target) has no SPF record")
            }

        case .a(let spec, let v4, let v6):
            let target = try await target(spec, domain: domain, state: &state)
            guard let name = Self.domainName(target) else { try void(&state); return false }
            let addresses = try await addresses(of: name, state: &state, countVoid: true)
            return addresses.contains { state.ip.matches($0, prefixLength: state.ip.isIPv4 ? v4 : v6) }

        case .mx(let spec, let v4, let v6):
            let target = try await target(spec, domain: domain, state: &state)
            guard let name = Self.domainName(target) else { try void(&state); return false }
            let exchanges: [DNSName]
            do {
                exchanges = try await dns.mx(name).filter { !$0.isRoot }
            } catch {
                if error.isTemporary { throw .temperror("DNS error for MX \(name): \(error)") }
                try void(&state)
                return false
            }
            if exchanges.isEmpty { try void(&state); return false }
            if exchanges.count > limits.maximumLookupsPerMechanism {
                throw .permerror("mx:\(name) has \(exchanges.count) MX records (at most \(limits.maximumLookupsPerMechanism))")
            }
            for exchange in exchanges {
                let addresses = try await addresses(of: exchange, state: &state, countVoid: false)
                if addresses.contains(where: { state.ip.matches($0, prefixLength: state.ip.isIPv4 ? v4 : v6) }) { return true }
            }
            return false

        case .ptr(let spec):
            let target = try await target(spec, domain: domain, state: &state)
            guard let targetName = Self.domainName(target) else { return false }
            let names = await validatedNames(state: &state)
            if names == nil { try void(&state) }
            return (names ?? []).contains { $0.isSubdomain(of: targetName) }

        case .ip4(let network, let prefix):
            guard case .v4 = state.ip else { return false }
            return state.ip.matches(.v4(network), prefixLength: prefix)

        case .ip6(let network, let prefix):
            guard case .v6 = state.ip else { return false }
            return state.ip.matches(.v6(network), prefixLength: prefix)

        case .exists(let spec):
            let target = try await expandDomain(spec, domain: domain, state: &state)
            guard let name = Self.domainName(target) else { try void(&state); return false }
            // §5.7: always an A query, whatever the client's family.
            let found: [IPv4Address]
            do {
                found = try await dns.ipv4(name)
            } catch {
                if error.isTemporary { throw .temperror("DNS error for \(name): \(error)") }
                found = []
            }
            if found.isEmpty { try void(&state) }
            return !found.isEmpty
        }
    }

    /// The A (IPv4 client) or AAAA (IPv6 client) records of `name`.
    func addresses(of name: DNSName, state: inout Evaluation, countVoid: Bool) async throws(Abort) -> [ClientIP] {
        let found: [ClientIP]
        do {
            if state.ip.isIPv4 {
                found = try await dns.ipv4(name).map { .v4($0) }
            } else {
                found = try await dns.ipv6(name).map { .v6($0) }
            }
        } catch {
            if error.isTemporary { throw .temperror("DNS error for \(name): \(error)") }
            if countVoid { try void(&state) }
            return []
        }
        if found.isEmpty, countVoid { try void(&state) }
        return found
    }

    /// The validated names of the client (§5.5): PTR names (at most 10) whose A/AAAA records hold
    /// the client's address. nil when the PTR lookup found nothing (a void lookup); DNS errors give
    /// an empty list.
    func validatedNames(state: inout Evaluation) async -> [DNSName]? {
        let names: [DNSName]
        do {
            names = try await dns.ptr(state.ip)
        } catch {
            return error.isTemporary ? [] : nil
        }
        if names.isEmpty { return nil }
        var validated: [DNSName] = []
        for name in names.prefix(limits.maximumLookupsPerMechanism) {
            let found: [ClientIP]
            if state.ip.isIPv4 {
                found = ((try? await dns.ipv4(name)) ?? []).map { .v4($0) }
            } else {
                found = ((try? await dns.ipv6(name)) ?? []).map { .v6($0) }
            }
            if found.contains(state.ip) { validated.append(name) }
        }
        return validated
    }

    /// %{p} (§7.3): a validated name equal to or under <domain> first, else any validated name,
    /// else "unknown".
    func validatedDomain(domain: String, state: inout Evaluation) async -> String {
        if let known = state.validatedDomain { return known }
        let names = await validatedNames(state: &state) ?? []
        let current = Self.domainName(domain)
        let chosen = names.first { current != nil && $0.isSubdomain(of: current!) } ?? names.first
        let value = chosen?.description ?? "unknown"
        state.validatedDomain = value
        return value
    }

    /// The target of a, mx or ptr: the expanded domain-spec, or the current domain.
    func target(_ spec: SPFMacroString?, domain: String, state: inout Evaluation) async throws(Abort) -> String {
        guard let spec else { return domain }
        return try await expandDomain(spec, domain: domain, state: &state)
    }

    /// Expands a domain-spec and truncates it to 253 octets by dropping labels on the left (§7.3).
    func expandDomain(_ spec: SPFMacroString, domain: String, state: inout Evaluation) async throws(Abort) -> String {
        var context = macroContext(domain: domain, state: state)
        if spec.usesValidatedDomain {
            context.validatedDomain = await validatedDomain(domain: domain, state: &state)
        }
        var expanded: String
        do {
            expanded = try spec.expand(in: context)
        } catch {
            throw .permerror("macro expansion of '\(spec)': \(error)")
        }
        while expanded.hasSuffix("..") { expanded.removeLast() }
        let limit = MailAuthDefaults.spfMaximumDomainLength
        while expanded.utf8.count > limit, let dot = expanded.firstIndex(of: ".") {
            expanded = String(expanded[expanded.index(after: dot)...])
        }
        if expanded.utf8.count > limit { expanded = "" }
        return expanded
    }

    /// The exp= text (§6.2): any failure gives no explanation.
    func explanation(_ spec: SPFMacroString, domain: String, state: inout Evaluation) async -> String? {
        guard let target = try? await expandDomain(spec, domain: domain, state: &state),
              let name = Self.domainName(target),
              let records = try? await dns.txt(name), records.count == 1,
              let macro = try? SPFMacroString(parsing: records[0], explanation: true) else { return nil }
        var context = macroContext(domain: domain, state: state)
        if macro.usesValidatedDomain {
            context.validatedDomain = await validatedDomain(domain: domain, state: &state)
        }
        guard let text = try? macro.expand(in: context) else { return nil }
        // Only printable ASCII goes back to the SMTP client.
        let printable = text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }
        return String(String.UnicodeScalarView(printable.prefix(MailAuthDefaults.spfMaximumExplanationLength)))
    }

    func macroContext(domain: String, state: Evaluation) -> SPFMacroContext {
        SPFMacroContext(sender: state.sender, domain: domain, ip: state.ip, helo: state.helo,
                        validatedDomain: state.validatedDomain, receivingDomain: receivingDomain, timestamp: now())
    }

    func count(_ state: inout Evaluation) throws(Abort) {
        state.dnsMechanisms += 1
        if state.dnsMechanisms > limits.maximumDNSMechanisms {
            throw .permerror("more than \(limits.maximumDNSMechanisms) DNS-querying mechanisms")
        }
    }

    func void(_ state: inout Evaluation) throws(Abort) {
        state.voidLookups += 1
        if state.voidLookups > limits.maximumVoidLookups {
            throw .permerror("more than \(limits.maximumVoidLookups) void lookups")
        }
    }

    /// A domain text as a DNS name, nil when it is not one (empty, bad labels, address literal).
    static func domainName(_ text: String) -> DNSName? {
        guard !text.isEmpty, !text.hasPrefix("[") else { return nil }
        return try? DNSName(text)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Seconds since the epoch, from the system clock.
public func unixTime() -> Int64 {
    Int64(time(nil))
}
