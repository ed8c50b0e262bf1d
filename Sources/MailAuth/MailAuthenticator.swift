// MailAuthenticator.swift — one call for the node: SPF (MAIL FROM, optionally HELO), DKIM, DMARC and ARC
// for a received message, and the message stamped with our Authentication-Results field after the
// forged ones are removed (RFC 8601 §5).
//
// What it does: SPF, DKIM and ARC run concurrently (all only wait on DNS); DMARC then combines them.
// Nothing here decides what to do with the message: `MailAuthReport.dmarc.disposition` is the
// domain owner's request, the node's policy applies it (or not).


/// The SPF, DKIM, DMARC and ARC checks of one receiving host.
public struct MailAuthenticator: Sendable {
    /// Our authserv-id (RFC 8601 §2.5), usually the host's name.
    public var authservID: String
    public var spf: SPFVerifier
    public var dkim: DKIMVerifier
    public var dmarc: DMARCVerifier
    /// ARC chain validation; nil not to validate ARC.
    public var arc: ARCVerifier?
    /// Whether to check the HELO identity too (RFC 7208 §2.3 "RECOMMENDED").
    public var checksHELO: Bool

    public init(authservID: String, spf: SPFVerifier, dkim: DKIMVerifier, dmarc: DMARCVerifier, arc: ARCVerifier? = nil,
                checksHELO: Bool = true) {
        self.authservID = authservID
        self.spf = spf
        self.dkim = dkim
        self.dmarc = dmarc
        self.arc = arc
        self.checksHELO = checksHELO
    }

    /// Everything over one DNS and one Public Suffix List, with the default limits.
    public init(authservID: String, dns: any MailAuthDNS, publicSuffixes: PublicSuffixList, checksHELO: Bool = true) {
        self.init(authservID: authservID, spf: SPFVerifier(dns: dns, receivingDomain: authservID), dkim: DKIMVerifier(dns: dns),
                  dmarc: DMARCVerifier(dns: dns, publicSuffixes: publicSuffixes), arc: ARCVerifier(dns: dns), checksHELO: checksHELO)
    }

    /// Checks a message received from `client`, which said `helo` and `MAIL FROM:<mailFrom>`
    /// ("" for the null reverse-path).
    public func authenticate(_ message: [UInt8], client: ClientIP, helo: String, mailFrom: String) async -> MailAuthReport {
        let raw = RawMessage(message)
        async let spfResult = spf.checkMailFrom(ip: client, mailFrom: mailFrom, helo: helo)
        async let heloResult: SPFResult? = checksHELO ? spf.checkHELO(ip: client, helo: helo) : nil
        async let dkimResults = dkim.verify(raw)
        async let arcResult: ARCResult? = arc?.verify(raw)
        let (mailFromSPF, heloSPF, signatures, chain) = await (spfResult, heloResult, dkimResults, arcResult)
        let dmarcResult = await dmarc.evaluate(raw, spf: mailFromSPF, dkim: signatures)
        let results = AuthenticationResults(authservID: authservID, spf: mailFromSPF, helo: heloSPF, dkim: signatures,
                                            dmarc: dmarcResult, arc: chain)
        return MailAuthReport(spf: mailFromSPF, helo: heloSPF, dkim: signatures, dmarc: dmarcResult, arc: chain, results: results,
                              forgedFieldRanges: AuthenticationResults.forgedFieldRanges(in: raw, authservID: authservID))
    }
}

/// What `MailAuthenticator.authenticate` found.
public struct MailAuthReport: Sendable, Hashable {
    public var spf: SPFResult
    public var helo: SPFResult?
    public var dkim: [DKIMSignatureResult]
    public var dmarc: DMARCResult
    public var arc: ARCResult?
    /// Our Authentication-Results field.
    public var results: AuthenticationResults
    /// Authentication-Results fields in the message that carry our authserv-id (forged).
    public var forgedFieldRanges: [Range<Int>]

    /// `message` without the forged fields and with our field on top.
    public func stamped(_ message: [UInt8]) -> [UInt8] {
        Array(results.field.utf8) + AuthenticationResults.removing(forgedFieldRanges, from: message)
    }
}
