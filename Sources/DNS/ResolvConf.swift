// ResolvConf.swift — reading /etc/resolv.conf as glibc does (resolv.conf(5), glibc
// resolv/res_init.c), for the parts a mail gateway uses.
//
// Read: `nameserver ADDRESS` (IPv4 or IPv6, at most `DNSDefaults.maximumNameservers`, later ones
// ignored as glibc does), `options` with `timeout:N` (capped at 30), `attempts:N` (capped at 5),
// `ndots:N` (kept, unused), `rotate`; `search` and `domain` (kept, unused). Lines starting with `#`
// or `;` are comments; unknown keywords and options are ignored; the last `search` or `domain` wins.
//
// Deliberate deviations from glibc: the search list and ndots are never applied — mail resolves
// fully qualified names only, and appending a local domain to a remote one would route mail to
// the wrong place. A nameserver with an IPv6 zone (`fe80::1%eth0`) is skipped: the resolver
// addresses servers by plain socket addresses. RES_OPTIONS and LOCALDOMAIN are not read.

/// The settings of a resolv.conf file.
public struct ResolvConf: Hashable, Sendable {
    /// Nameserver addresses as written, each a valid IPv4 or IPv6 literal, in file order.
    public var nameservers: [String] = []
    /// `options timeout:`, seconds, within 0...30.
    public var timeoutSeconds: Int?
    /// `options attempts:`, within 0...5.
    public var attempts: Int?
    /// `options ndots:` (read for completeness; not applied).
    public var ndots: Int?
    /// `options rotate`: spread queries over the nameservers.
    public var rotate = false
    /// The search list (`search`, or `domain` as a one-entry list). Not applied.
    public var search: [String] = []

    public init() {}

    /// Parses the text of a resolv.conf file. Never fails: what cannot be read is skipped.
    public init(parsing text: String) {
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let fields = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = fields.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            let arguments = fields.dropFirst()
            switch keyword {
            case "nameserver":
                guard let address = arguments.first.map(String.init), nameservers.count < DNSDefaults.maximumNameservers,
                      IPv4Address(address) != nil || IPv6Address(address) != nil
                else { continue }
                nameservers.append(address)
            case "search":
                search = arguments.prefix { !$0.hasPrefix("#") && !$0.hasPrefix(";") }.map(String.init)
            case "domain":
                search = arguments.first.map { [String($0)] } ?? []
            case "options":
                for option in arguments {
                    if option.hasPrefix("#") || option.hasPrefix(";") { break }
                    if option == "rotate" {
                        rotate = true
                    } else if let value = Self.value(option, "timeout:") {
                        timeoutSeconds = min(value, DNSDefaults.maximumTimeoutSeconds)
                    } else if let value = Self.value(option, "attempts:") {
                        attempts = min(value, DNSDefaults.maximumAttempts)
                    } else if let value = Self.value(option, "ndots:") {
                        ndots = min(value, 15)  // glibc's RES_MAXNDOTS
                    }
                }
            default:
                continue
            }
        }
    }

    private static func value(_ option: Substring, _ prefix: String) -> Int? {
        guard option.hasPrefix(prefix), let value = Int(option.dropFirst(prefix.count)), value >= 0 else { return nil }
        return value
    }
}
