// PolicyConfigurationReader.swift — the `policy:` section: groups, scopes, rules, conditions and
// actions (DESIGN.md §7), documented with examples in docs/policy.md. Every pattern is compiled
// here, so a bad regular expression stops the start (or the reload) with the key that holds it.

import GatehouseCore
import Policy
import PCRE2
import MIME
import Yams

extension YAMLConfigurationReader {
    static func readPolicy(_ m: Mapping) throws(ConfigurationError) -> Policy {
        try m.allow(["groups"])
        var policy = Policy()
        var names = Set<String>()
        for g in try m.sequence("groups") ?? [] {
            try g.allow(["name", "scope", "rules"])
            guard let name = try g.string("name"), !name.isEmpty else { throw ConfigurationError(key: g.key("name"), "required") }
            guard names.insert(name).inserted else { throw ConfigurationError(key: g.key("name"), "duplicate group name \(name)") }
            var scope = PolicyScope()
            if let s = try g.mapping("scope") {
                try s.allow(["directions", "listeners", "senders", "recipients"])
                scope.directions = Set(try directions(s, "directions"))
                scope.listeners = Set(try s.strings("listeners") ?? [])
                scope.senders = try patterns(s, "senders")
                scope.recipients = try patterns(s, "recipients")
            }
            var rules: [PolicyRule] = []
            var ruleNames = Set<String>()
            for r in try g.sequence("rules") ?? [] {
                let rule = try readRule(r)
                guard ruleNames.insert(rule.name).inserted else { throw ConfigurationError(key: r.key("name"), "duplicate rule name \(rule.name)") }
                rules.append(rule)
            }
            policy.groups.append(PolicyGroup(name: name, scope: scope, rules: rules))
        }
        return policy
    }

    static func readRule(_ r: Mapping) throws(ConfigurationError) -> PolicyRule {
        try r.allow(["name", "all", "any", "actions", "stop"])
        guard let name = try r.string("name"), !name.isEmpty else { throw ConfigurationError(key: r.key("name"), "required") }
        if r.value("all") != nil && r.value("any") != nil {
            throw ConfigurationError(key: r.path, "give either all or any, not both")
        }
        let match: PolicyRule.Match = r.value("any") != nil ? .any : .all
        var conditions: [PolicyCondition] = []
        let listKey = match == .any ? "any" : "all"
        if let v = r.value(listKey) {
            guard let seq = v.sequence else { throw ConfigurationError(key: r.key(listKey), "must be a list of conditions") }
            for (i, item) in seq.enumerated() {
                conditions.append(try readCondition(item, key: r.key(listKey) + "[\(i)]"))
            }
        }
        guard let actionNode = r.value("actions"), let actionList = actionNode.sequence, !actionList.isEmpty else {
            throw ConfigurationError(key: r.key("actions"), "required: a list of actions")
        }
        var actions: [PolicyAction] = []
        for (i, item) in actionList.enumerated() { actions.append(try readAction(item, key: r.key("actions") + "[\(i)]")) }
        return PolicyRule(name: name, match: match, conditions: conditions, actions: actions, stop: try r.bool("stop") ?? false)
    }

    /// A one-key mapping `{kind: value}`; `{not: {…}}` negates.
    static func readCondition(_ node: Yams.Node, key: String) throws(ConfigurationError) -> PolicyCondition {
        guard let mapping = node.mapping, mapping.count == 1, let (k, v) = mapping.first, let kind = k.string else {
            throw ConfigurationError(key: key, "a condition is a mapping with one key, such as {subject: \"/free money/i\"}")
        }
        let m = Mapping(Yams.Node([(Yams.Node(kind), v)]), path: "")
        let here = key + "." + kind
        func flag() throws(ConfigurationError) -> Bool {
            guard let b = v.bool else { throw ConfigurationError(key: here, "must be true or false") }
            return b
        }
        func bool(_ test: PolicyCondition.Test) throws(ConfigurationError) -> PolicyCondition {
            PolicyCondition(test, negated: !(try flag()))
        }
        func list() throws(ConfigurationError) -> [String] {
            if let s = v.string, v.sequence == nil { return [s] }
            guard let strings = try m.strings(kind) else { throw ConfigurationError(key: here, "must be a list") }
            return strings
        }
        func comparison() throws(ConfigurationError) -> Comparison {
            guard let text = v.string ?? v.int.map(String.init), let c = parseComparison(text) else {
                throw ConfigurationError(key: here, "must be a comparison such as \"> 10MB\", \">= 5\" or \"< 3\"")
            }
            return c
        }
        func regex(_ text: String?, at: String) throws(ConfigurationError) -> PolicyRegex {
            guard let text, !text.isEmpty else { throw ConfigurationError(key: at, "must be a regular expression such as \"/pattern/i\"") }
            do { return try PolicyRegex(text) } catch { throw ConfigurationError(key: at, "bad regular expression: \(error)") }
        }
        func results() throws(ConfigurationError) -> Set<String> {
            let allowed: Set<String> = ["none", "pass", "fail", "softfail", "neutral", "temperror", "permerror", "policy"]
            let values = Set(try list().map { $0.lowercased() })
            for value in values where !allowed.contains(value) {
                throw ConfigurationError(key: here, "unknown result \(value) (known: \(allowed.sorted().joined(separator: ", ")))")
            }
            return values
        }
        switch kind {
        case "not":
            var inner = try readCondition(v, key: here)
            inner.negated.toggle()
            return inner
        case "sender": return PolicyCondition(.sender(try patternList(try list(), key: here)))
        case "recipient": return PolicyCondition(.recipient(try patternList(try list(), key: here)))
        case "direction": return PolicyCondition(.direction(Set(try directions(m, kind))))
        case "listener": return PolicyCondition(.listener(Set(try list())))
        case "client_network": return PolicyCondition(.clientNetwork(try m.networks(kind)))
        case "reverse_dns": return PolicyCondition(.reverseDNS(try nameList(try list(), key: here)))
        case "authenticated": return PolicyCondition(.authenticated(try flag()))
        case "authenticated_user": return PolicyCondition(.authenticatedUser(try patternList(try list(), key: here)))
        case "size": return PolicyCondition(.size(try comparison()))
        case "header":
            guard v.mapping != nil else { throw ConfigurationError(key: here, "must be {name: HEADER, matches: \"/re/\"}") }
            let h = Mapping(v, path: here)
            try h.allow(["name", "matches"])
            guard let name = try h.string("name"), !name.isEmpty else { throw ConfigurationError(key: h.key("name"), "required") }
            return PolicyCondition(.header(name: name, try regex(try h.string("matches"), at: h.key("matches"))))
        case "subject": return PolicyCondition(.subject(try regex(v.string, at: here)))
        case "body": return PolicyCondition(.body(try regex(v.string, at: here)))
        case "words":
            guard v.mapping != nil else { throw ConfigurationError(key: here, "must be {list: {word: weight, …}, threshold: N}") }
            let w = Mapping(v, path: here)
            try w.allow(["list", "threshold"])
            guard let listNode = w.value("list"), let pairs = listNode.mapping else { throw ConfigurationError(key: w.key("list"), "required: {word: weight}") }
            var words: [WeightedWord] = []
            for (word, weight) in pairs {
                guard let text = word.string, let value = weight.float ?? weight.int.map(Double.init) else {
                    throw ConfigurationError(key: w.key("list"), "each entry is word: weight")
                }
                words.append(WeightedWord(text, value))
            }
            guard let threshold = w.value("threshold").flatMap({ $0.float ?? $0.int.map(Double.init) }) else {
                throw ConfigurationError(key: w.key("threshold"), "required: a number")
            }
            return PolicyCondition(.wordList(words: words, threshold: threshold))
        case "attachment_name": return PolicyCondition(.attachmentName(try nameList(try list(), key: here)))
        case "attachment_type": return PolicyCondition(.attachmentType(try fileTypes(try list(), key: here)))
        case "type_mismatch": return try bool(.typeMismatch)
        case "encrypted_archive": return try bool(.encryptedArchive)
        case "unscannable": return try bool(.unscannable)
        case "nesting_depth": return PolicyCondition(.nestingDepth(try comparison()))
        case "attachment_count": return PolicyCondition(.attachmentCount(try comparison()))
        case "attachment_size": return PolicyCondition(.attachmentSize(try comparison()))
        case "spam_score": return PolicyCondition(.spamScore(try comparison()))
        case "spam": return PolicyCondition(.spamVerdict(try flag()))
        case "virus": return try bool(.virus)
        case "virus_scan_failed": return try bool(.virusScanFailed)
        case "spf": return PolicyCondition(.spf(try results()))
        case "dkim": return PolicyCondition(.dkim(try results()))
        case "dmarc": return PolicyCondition(.dmarc(try results()))
        case "dnsbl":
            if let b = v.bool { return PolicyCondition(.dnsbl([]), negated: !b) }
            return PolicyCondition(.dnsbl(Set(try list())))
        case "mime_defect":
            if let b = v.bool { return PolicyCondition(.mimeDefect([]), negated: !b) }
            return PolicyCondition(.mimeDefect(Set(try list())))
        case "time":
            guard v.mapping != nil else { throw ConfigurationError(key: here, "must be {from: HOUR, to: HOUR, weekdays: [1..7]}") }
            let t = Mapping(v, path: here)
            try t.allow(["from", "to", "weekdays"])
            guard let from = try t.int("from", in: 0...23), let to = try t.int("to", in: 0...24) else {
                throw ConfigurationError(key: here, "from and to (hours 0–24) are required")
            }
            var days = Set<Int>()
            if let node = t.value("weekdays") {
                guard let seq = node.sequence else { throw ConfigurationError(key: t.key("weekdays"), "must be a list of 1 (Monday) … 7 (Sunday)") }
                for d in seq {
                    guard let day = d.int, (1...7).contains(day) else { throw ConfigurationError(key: t.key("weekdays"), "must be a list of 1 (Monday) … 7 (Sunday)") }
                    days.insert(day)
                }
            }
            return PolicyCondition(.timeOfDay(from: from, to: to, weekdays: days))
        case "sender_rate": return PolicyCondition(.senderRate(try comparison()))
        default:
            throw ConfigurationError(key: here, "unknown condition (known: \(conditionNames.joined(separator: ", ")))")
        }
    }

    static let conditionNames = ["not", "sender", "recipient", "direction", "listener", "client_network", "reverse_dns", "authenticated",
                                 "authenticated_user", "size", "header", "subject", "body", "words", "attachment_name", "attachment_type",
                                 "type_mismatch", "encrypted_archive", "unscannable", "nesting_depth", "attachment_count", "attachment_size",
                                 "spam_score", "spam", "virus", "virus_scan_failed", "spf", "dkim", "dmarc", "dnsbl", "mime_defect", "time",
                                 "sender_rate"]

    /// True-type names as `MIMEFileType.types(named:)` reads them; unknown names are refused.
    static func fileTypes(_ names: [String], key: String) throws(ConfigurationError) -> Set<String> {
        var types = Set<String>()
        for name in names {
            guard let named = MIMEFileType.types(named: name) else {
                throw ConfigurationError(key: key, "unknown file type \(name) (known: \(MIMEFileType.allCases.map(\.rawValue).joined(separator: ", ")), the families executable, document, archive, image, and exe, dll, macho)")
            }
            types.formUnion(named.map(\.rawValue))
        }
        return types
    }

    /// `deliver`, `delete`, `log`, `reject`, `tempfail` as plain words; everything else `{kind: value}`.
    static func readAction(_ node: Yams.Node, key: String) throws(ConfigurationError) -> PolicyAction {
        if let word = node.string, node.mapping == nil {
            switch word {
            case "deliver": return .disposition(.deliver)
            case "delete": return .disposition(.delete)
            case "log": return .log
            case "reject": return .disposition(.reject(SMTPReply(550, EnhancedStatusCode(5, 7, 1), "Message rejected by policy")))
            case "tempfail": return .disposition(.tempfail(SMTPReply(451, EnhancedStatusCode(4, 7, 1), "Message deferred by policy, try again later")))
            case "quarantine": return .disposition(.quarantine(folder: "default"))
            default: throw ConfigurationError(key: key, "unknown action \(word)")
            }
        }
        guard let mapping = node.mapping, mapping.count == 1, let (k, v) = mapping.first, let kind = k.string else {
            throw ConfigurationError(key: key, "an action is a word (deliver, reject, …) or a mapping with one key, such as {quarantine: spam}")
        }
        let here = key + "." + kind
        func text() throws(ConfigurationError) -> String {
            guard let s = v.string, !s.isEmpty, v.mapping == nil else { throw ConfigurationError(key: here, "must be a string") }
            return s
        }
        func reply(_ klass: Int) throws(ConfigurationError) -> SMTPReply {
            let t = try text()
            guard let reply = parseReply(t), reply.code / 100 == klass else {
                throw ConfigurationError(key: here, "must be a reply such as \"\(klass)50 \(klass).7.1 text\"")
            }
            return reply
        }
        func pair(_ a: String, _ b: String) throws(ConfigurationError) -> (String, String) {
            guard v.mapping != nil else { throw ConfigurationError(key: here, "must be {\(a): …, \(b): …}") }
            let p = Mapping(v, path: here)
            try p.allow([a, b])
            guard let x = try p.string(a), !x.isEmpty else { throw ConfigurationError(key: p.key(a), "required") }
            guard let y = try p.string(b) else { throw ConfigurationError(key: p.key(b), "required") }
            return (x, y)
        }
        func headerName(_ name: String) throws(ConfigurationError) -> String {
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
                throw ConfigurationError(key: here, "not a header field name: \(name)")
            }
            return name
        }
        func noLineBreaks(_ value: String) throws(ConfigurationError) -> String {
            guard !value.contains("\r") && !value.contains("\n") else { throw ConfigurationError(key: here, "must not contain line breaks") }
            return value
        }
        switch kind {
        case "reject": return .disposition(.reject(try reply(5)))
        case "tempfail": return .disposition(.tempfail(try reply(4)))
        case "quarantine": return .disposition(.quarantine(folder: try text()))
        case "copy": return .copy(to: try address(try text(), key: here))
        case "redirect": return .redirect(to: try address(try text(), key: here))
        case "add_recipient": return .addRecipient(try address(try text(), key: here))
        case "strip":
            guard v.mapping != nil else { throw ConfigurationError(key: here, "must be {names: [...], types: [...]}") }
            let s = Mapping(v, path: here)
            try s.allow(["names", "types"])
            let names = try s.strings("names").map { names throws(ConfigurationError) in try nameList(names, key: s.key("names")) } ?? []
            let types = Set((try s.strings("types") ?? []).map { $0.lowercased() })
            guard !names.isEmpty || !types.isEmpty else { throw ConfigurationError(key: here, "give names or types") }
            return .strip(names: names, types: types)
        case "add_header":
            let (n, value) = try pair("name", "value")
            return .addHeader(name: try headerName(n), value: try noLineBreaks(value))
        case "set_header":
            let (n, value) = try pair("name", "value")
            return .setHeader(name: try headerName(n), value: try noLineBreaks(value))
        case "remove_header": return .removeHeader(name: try headerName(try text()))
        case "tag_subject": return .tagSubject(try noLineBreaks(try text()))
        case "disclaimer":
            guard v.mapping != nil else { throw ConfigurationError(key: here, "must be {text: …, html: …}") }
            let d = Mapping(v, path: here)
            try d.allow(["text", "html"])
            guard let t = try d.string("text"), !t.isEmpty else { throw ConfigurationError(key: d.key("text"), "required") }
            return .disclaimer(text: t, html: try d.string("html"))
        case "notify":
            let (to, template) = try pair("to", "template")
            guard let target = NotifyTarget(rawValue: to) else {
                throw ConfigurationError(key: here + ".to", "must be one of \(NotifyTarget.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .notify(target, template: template)
        case "route":
            let hop = try text()
            guard RouteConfiguration(nextHop: hop) != nil else { throw ConfigurationError(key: here, "not a next hop (host, host:port or [host]:port): \(hop)") }
            return .route(hop)
        case "dkim_sign":
            let (domain, selector) = try pair("domain", "selector")
            return .dkimSign(domain: domain.lowercased(), selector: selector)
        default:
            throw ConfigurationError(key: here, "unknown action (known: deliver, reject, tempfail, quarantine, delete, copy, redirect, add_recipient, strip, add_header, set_header, remove_header, tag_subject, disclaimer, notify, route, dkim_sign, log)")
        }
    }

    static func address(_ text: String, key: String) throws(ConfigurationError) -> String {
        guard let normal = normalisedAddress(text) else { throw ConfigurationError(key: key, "not a valid address: \(text)") }
        return normal
    }

    static func directions(_ m: Mapping, _ name: String) throws(ConfigurationError) -> [Direction] {
        var out: [Direction] = []
        let values: [String]
        if let v = m.value(name), let s = v.string, v.sequence == nil { values = [s] } else { values = try m.strings(name) ?? [] }
        for value in values {
            guard let d = Direction(rawValue: value) else {
                throw ConfigurationError(key: m.key(name), "must be inbound, outbound or internal")
            }
            out.append(d)
        }
        return out
    }

    /// An optional list of patterns (absent: empty; present: at least one).
    static func patterns(_ m: Mapping, _ name: String) throws(ConfigurationError) -> [AddressPattern] {
        guard let texts = try m.strings(name) else { return [] }
        return try patternList(texts, key: m.key(name))
    }

    static func patternList(_ texts: [String], key: String) throws(ConfigurationError) -> [AddressPattern] {
        var out: [AddressPattern] = []
        for (i, text) in texts.enumerated() {
            do { out.append(try AddressPattern(text)) } catch {
                throw ConfigurationError(key: key + "[\(i)]", "bad pattern \(text): \(error)")
            }
        }
        guard !out.isEmpty else { throw ConfigurationError(key: key, "must not be empty") }
        return out
    }

    static func nameList(_ texts: [String], key: String) throws(ConfigurationError) -> [NamePattern] {
        var out: [NamePattern] = []
        for (i, text) in texts.enumerated() {
            do { out.append(try NamePattern(text)) } catch {
                throw ConfigurationError(key: key + "[\(i)]", "bad pattern \(text): \(error)")
            }
        }
        guard !out.isEmpty else { throw ConfigurationError(key: key, "must not be empty") }
        return out
    }

    /// `> 10MB`, `>= 5`, `<3`, `== 0`; sizes with KB/MB/GB.
    static func parseComparison(_ text: String) -> Comparison? {
        let t = text.replacingSpaces
        for op in [Comparison.Operator.greaterOrEqual, .lessOrEqual, .equal, .greater, .less] where t.hasPrefix(op.rawValue) {
            let number = String(t.dropFirst(op.rawValue.count))
            if let d = Double(number) { return Comparison(op, d) }
            if let size = Mapping.parseSize(number) { return Comparison(op, Double(size)) }
            return nil
        }
        return nil
    }

    /// `550 5.7.1 text`.
    static func parseReply(_ text: String) -> SMTPReply? {
        let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, let code = Int(parts[0]), (400...599).contains(code) else { return nil }
        let codes = parts[1].split(separator: ".")
        guard codes.count == 3, let k = UInt8(codes[0]), let s = UInt16(codes[1]), let d = UInt16(codes[2]), Int(k) == code / 100 else { return nil }
        let message = parts.count > 2 ? String(parts[2]) : "Message refused by policy"
        guard !message.contains("\r"), !message.contains("\n") else { return nil }
        return SMTPReply(code, EnhancedStatusCode(k, s, d), message)
    }
}
