// PublicSuffixList.swift — the Public Suffix List (https://publicsuffix.org/list/) and the
// Organizational Domain of RFC 7489 §3.2.
//
// Format (publicsuffix.org "Format"): one rule per line; "//" starts a comment line; a rule is
// labels separated by dots; "*" as the leftmost label matches any one label (wildcard rule); "!"
// before a rule makes it an exception to a wildcard. Rules are in Unicode (U-labels); they are
// stored as A-labels (Punycode, RFC 3492) so that domains from mail, which arrive as A-labels,
// match.
//
// Algorithm (publicsuffix.org "Algorithm"): the matching exception rule, if any, wins and the
// public suffix is that rule without its leftmost label; otherwise the matching rule with the most
// labels; if none matches, the prevailing rule is "*" (the last label). The Organizational Domain is
// the public suffix plus one label (RFC 7489 §3.2); a domain that is itself a public suffix is its
// own Organizational Domain.
//
// What it does: `PublicSuffixList(parsing:)` is pure; `load(path:)` reads Debian's copy
// (`/usr/share/publicsuffix/public_suffix_list.dat`, package `publicsuffix`). The private section
// ("===BEGIN PRIVATE DOMAINS===") is included by default, as OpenDMARC does.

import Foundation

/// Why the list could not be read.
public enum PublicSuffixListError: Error, Hashable, Sendable, CustomStringConvertible {
    case unreadable(path: String)
    case tooLarge(path: String, size: Int)
    /// The file holds no rule at all (a wrong file).
    case empty(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path): return "cannot read the public suffix list at \(path) (apt-get install publicsuffix)"
        case .tooLarge(let path, let size): return "public suffix list \(path) is \(size) octets"
        case .empty(let path): return "no rules in the public suffix list at \(path)"
        }
    }
}

/// A parsed Public Suffix List.
public struct PublicSuffixList: Sendable, Hashable {
    /// Plain rules ("com", "co.uk").
    var rules: Set<String> = []
    /// Wildcard rules, without the "*." ("ck" for "*.ck").
    var wildcards: Set<String> = []
    /// Exception rules, without the "!" ("www.ck").
    var exceptions: Set<String> = []

    /// How many rules were read.
    public var count: Int { rules.count + wildcards.count + exceptions.count }

    /// Parses the list's text. `includePrivate: false` stops at the private section.
    public init(parsing text: String, includePrivate: Bool = true) {
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("//") {
                if !includePrivate, line.contains("===BEGIN PRIVATE DOMAINS===") { break }
                continue
            }
            // A rule ends at the first white space.
            guard let rule = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init), !rule.isEmpty else { continue }
            if rule.hasPrefix("!") {
                if let name = Self.normalize(String(rule.dropFirst())) { exceptions.insert(name) }
            } else if rule.hasPrefix("*.") {
                if let name = Self.normalize(String(rule.dropFirst(2))) { wildcards.insert(name) }
            } else if let name = Self.normalize(rule) {
                rules.insert(name)
            }
        }
    }

    /// Reads the list from `path` (Debian's publicsuffix package by default).
    public static func load(path: String = MailAuthDefaults.publicSuffixListPath,
                            includePrivate: Bool = true) throws(PublicSuffixListError) -> PublicSuffixList {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.intValue else { throw .unreadable(path: path) }
        guard size <= MailAuthDefaults.publicSuffixListMaximumSize else { throw .tooLarge(path: path, size: size) }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
        let list = PublicSuffixList(parsing: String(decoding: data, as: UTF8.self), includePrivate: includePrivate)
        guard list.count > 0 else { throw .empty(path: path) }
        return list
    }

    /// The public suffix of `domain` (lower-cased A-labels, no final dot).
    public func publicSuffix(of domain: String) -> String {
        guard let labels = Self.labels(domain), !labels.isEmpty else { return asciiLowercased(domain) }
        func suffix(_ k: Int) -> String { labels.suffix(k).joined(separator: ".") }
        // Exception rules win.
        for k in stride(from: labels.count, through: 2, by: -1) where exceptions.contains(suffix(k)) {
            return suffix(k - 1)
        }
        // Otherwise the longest matching rule; the default rule "*" is one label.
        for k in stride(from: labels.count, through: 1, by: -1) {
            if rules.contains(suffix(k)) { return suffix(k) }
            if k >= 2, wildcards.contains(suffix(k - 1)) { return suffix(k) }
        }
        return suffix(1)
    }

    /// The Organizational Domain (RFC 7489 §3.2): the public suffix plus one label, or the domain
    /// itself when it is a public suffix.
    public func organizationalDomain(of domain: String) -> String {
        guard let labels = Self.labels(domain), !labels.isEmpty else { return asciiLowercased(domain) }
        let suffixLabels = publicSuffix(of: domain).split(separator: ".").count
        if labels.count <= suffixLabels { return labels.joined(separator: ".") }
        return labels.suffix(suffixLabels + 1).joined(separator: ".")
    }

    /// The domain's labels as lower-cased A-labels; nil for an empty label in the middle.
    static func labels(_ domain: String) -> [String]? {
        var text = domain
        if text.hasSuffix(".") { text.removeLast() }
        guard !text.isEmpty else { return nil }
        var labels: [String] = []
        for label in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, let a = Punycode.aLabel(String(label)) else { return nil }
            labels.append(a)
        }
        return labels
    }

    static func normalize(_ rule: String) -> String? {
        labels(rule)?.joined(separator: ".")
    }
}

/// Punycode (RFC 3492) encoding of one label, for IDNA A-labels (RFC 5891 §4.4: "xn--" prefix).
/// No IDNA mapping beyond lower-casing: the list's rules and mail domains need no more.
enum Punycode {
    /// The A-label of `label`: the label lower-cased if ASCII, else "xn--" + Punycode.
    static func aLabel(_ label: String) -> String? {
        if label.utf8.allSatisfy({ $0 < 0x80 }) { return asciiLowercased(label) }
        guard let encoded = encode(label.lowercased()) else { return nil }
        return "xn--" + encoded
    }

    /// RFC 3492 §6.3.
    static func encode(_ input: String) -> String? {
        let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700, initialBias = 72, initialN = 128
        let scalars = input.unicodeScalars.map { Int($0.value) }
        var output: [UInt8] = scalars.filter { $0 < 0x80 }.map { UInt8($0) }
        let basicCount = output.count
        var handled = basicCount
        if basicCount > 0 { output.append(45) }
        var n = initialN, delta = 0, bias = initialBias

        func digit(_ d: Int) -> UInt8 { UInt8(d < 26 ? d + 97 : d - 26 + 48) }
        func adapt(_ delta: Int, _ count: Int, _ first: Bool) -> Int {
            var delta = first ? delta / damp : delta / 2
            delta += delta / count
            var k = 0
            while delta > ((base - tMin) * tMax) / 2 {
                delta /= base - tMin
                k += base
            }
            return k + (base - tMin + 1) * delta / (delta + skew)
        }

        while handled < scalars.count {
            guard let m = scalars.filter({ $0 >= n }).min() else { return nil }
            let (product, overflow) = (m - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflow else { return nil }
            delta += product
            n = m
            for c in scalars {
                if c < n { delta += 1 }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
