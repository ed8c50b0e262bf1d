import GatehouseCore
import Policy
import Testing
@testable import Configuration

@Suite("Policy configuration")
struct PolicyConfigurationTests {
    static let head = """
        listeners:
          - {name: mx, role: inbound, address: "127.0.0.1:2525"}
        policy:
          groups:

        """

    func read(_ groups: String) throws(ConfigurationError) -> Policy {
        try YAMLConfigurationReader.read(yaml: Self.head + groups, hostname: "mx.example.test").policy
    }

    func error(_ groups: String) -> ConfigurationError? {
        do { _ = try read(groups); return nil } catch { return error }
    }

    @Test func theDocumentedExampleReads() throws {
        let policy = try read("""
                - name: inbound-protection
                  scope: {directions: [inbound], listeners: [mx], recipients: ["@example.org"]}
                  rules:
                    - name: viruses
                      any: [{virus: true}, {virus_scan_failed: true}]
                      actions: [{quarantine: virus}]
                      stop: true
                    - name: risky-attachments
                      any:
                        - {attachment_type: [exe, elf, script]}
                        - {attachment_name: ["*.exe", "*.js", "*.vbs"]}
                        - {type_mismatch: true}
                        - {encrypted_archive: true}
                      actions: [{quarantine: attachments}, {notify: {to: recipients, template: attachment-quarantined}}]
                    - name: spam
                      all: [{spam_score: ">= 5"}]
                      actions: [{quarantine: spam}, {tag_subject: "[SPAM]"}, {add_header: {name: X-Spam-Flag, value: "YES"}}]
                    - name: fraud
                      all: [{subject: "/wire transfer|gift cards/i"}, {not: {sender: ["@example.org"]}}, {dmarc: [fail, none]}]
                      actions: [{reject: "550 5.7.1 Message refused"}]
                    - name: big-at-night
                      all: [{size: "> 20MB"}, {time: {from: 18, to: 8}}]
                      actions: [tempfail]
                    - name: words
                      all: [{words: {list: {"free": 2, "act now": 3.5}, threshold: 5}}]
                      actions: [log]
            """)
        #expect(policy.groups.count == 1)
        let group = policy.groups[0]
        #expect(group.scope.directions == [.inbound])
        #expect(group.scope.listeners == ["mx"])
        #expect(group.rules.map(\.name) == ["viruses", "risky-attachments", "spam", "fraud", "big-at-night", "words"])
        #expect(group.rules[0].match == .any && group.rules[0].stop)
        #expect(group.rules[3].conditions[1].negated)
        #expect(group.rules[3].actions == [.disposition(.reject(SMTPReply(550, EnhancedStatusCode(5, 7, 1), "Message refused")))])
        #expect(group.rules[4].conditions[0].test == .size(Comparison(.greater, Double(20 << 20))))
        if case .disposition(.tempfail(let reply)) = group.rules[4].actions[0] { #expect(reply.code == 451) } else { Issue.record("tempfail expected") }
        #expect(group.rules[5].conditions[0].test == .wordList(words: [WeightedWord("free", 2), WeightedWord("act now", 3.5)], threshold: 5))
    }

    @Test(arguments: [
        ("- {name: g, rules: [{name: r, all: [{colour: red}], actions: [deliver]}]}", "policy.groups[0].rules[0].all[0].colour"),
        ("- {name: g, rules: [{name: r, all: [{subject: \"/(unclosed/\"}], actions: [deliver]}]}", "policy.groups[0].rules[0].all[0].subject"),
        ("- {name: g, rules: [{name: r, actions: [explode]}]}", "policy.groups[0].rules[0].actions[0]"),
        ("- {name: g, rules: [{name: r, all: [], any: [], actions: [deliver]}]}", "policy.groups[0].rules[0]"),
        ("- {name: g, rules: [{name: r}]}", "policy.groups[0].rules[0].actions"),
        ("- {name: g, rules: [{name: r, actions: [{reject: \"250 ok\"}]}]}", "policy.groups[0].rules[0].actions[0].reject"),
        ("- {name: g, rules: [{name: r, actions: [{add_header: {name: \"Bad Name\", value: x}}]}]}", "policy.groups[0].rules[0].actions[0].add_header"),
        ("- {name: g, rules: [{name: r, all: [{size: \"about 5\"}], actions: [deliver]}]}", "policy.groups[0].rules[0].all[0].size"),
        ("- {name: g, rules: [{name: r, all: [{spf: [maybe]}], actions: [deliver]}]}", "policy.groups[0].rules[0].all[0].spf"),
        ("- {name: g, scope: {directions: [sideways]}, rules: []}", "policy.groups[0].scope.directions"),
        ("- {name: g, rules: []}\n    - {name: g, rules: []}", "policy.groups[1].name"),
        ("- {name: g, rules: [{name: r, actions: [{redirect: \"not an address\"}]}]}", "policy.groups[0].rules[0].actions[0].redirect"),
        ("- {name: g, rules: [{name: r, all: [{attachment_type: [exe, wombat]}], actions: [deliver]}]}", "policy.groups[0].rules[0].all[0].attachment_type"),
        ("- {name: g, rules: [{name: r, actions: [{route: \"bad host:25\"}]}]}", "policy.groups[0].rules[0].actions[0].route"),
    ])
    func errorsNameTheKey(groups: String, key: String) {
        let failure = error("    " + groups)
        #expect(failure?.key == key, "\(String(describing: failure))")
    }

    @Test func fileTypesTakeEverydayNamesAndFamilies() throws {
        let policy = try read("    - {name: g, rules: [{name: r, all: [{attachment_type: [exe, macho, archive]}], actions: [deliver]}]}\n")
        guard case .attachmentType(let types) = policy.groups[0].rules[0].conditions[0].test else {
            Issue.record("attachment_type expected")
            return
        }
        #expect(types.isSuperset(of: ["pe", "mach-o", "zip", "rar", "7z", "gzip"]) && !types.contains("exe") && !types.contains("pdf"))
    }
}
