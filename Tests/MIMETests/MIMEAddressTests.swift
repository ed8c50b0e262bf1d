import Testing
@testable import MIME

@Suite struct MIMEAddressTests {
    func addresses(_ s: String) -> [String] { MIMEAddressParser.parse(Array(s.utf8)).addresses.map(\.address) }

    @Test func displayNamesGroupsCommentsQuotedLocalParts() {
        let r = MIMEAddressParser.parse(Array(#"Mary Smith <mary@x.test>, jdoe@one.test, "John Q. Public" <john@example.com>, A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, "odd local"@example.org, Pete(A nice \) chap) <pete(his account)@silly.test(his host)>"#.utf8))
        #expect(r.addresses.map(\.address) == [
            "mary@x.test", "jdoe@one.test", "john@example.com", "c@a.test", "joe@where.test", "jdoe@one.test",
            "\"odd local\"@example.org", "pete@silly.test",
        ])
        #expect(r.addresses[0].displayName == "Mary Smith")
        #expect(r.addresses[2].displayName == "John Q. Public")
        #expect(r.addresses[3].group == "A Group")
        #expect(r.addresses[6].group == nil)
        #expect(r.addresses[7].displayName == "Pete")
        #expect(r.defects.isEmpty)
    }

    @Test func encodedDisplayNameAndOldStyleComment() {
        let r = MIMEAddressParser.parse(Array("=?utf-8?Q?Andr=C3=A9?= <andre@example.fr>, bob@example.com (Bob Builder)".utf8))
        #expect(r.addresses[0].displayName == "André")
        #expect(r.addresses[1].displayName == "Bob Builder")
    }

    @Test func emptyGroupAndObsRoute() {
        #expect(addresses("undisclosed-recipients:;").isEmpty)
        #expect(addresses("<@route.example,@other.example:user@final.example>") == ["user@final.example"])
    }

    @Test func addressInDisplayNameIsReported() {
        let r = MIMEAddressParser.parse(Array(#""ceo@bank.example" <attacker@evil.example>"#.utf8))
        #expect(r.addresses.map(\.address) == ["attacker@evil.example", "ceo@bank.example"])
        #expect(r.addresses[1].fromDisplayName)
        #expect(r.defects.contains(.addressInDisplayName))
    }

    @Test func garbageDoesNotHideLaterAddresses() {
        let r = MIMEAddressParser.parse(Array("<<<, >>> , real@example.com".utf8))
        #expect(r.addresses.map(\.address).contains("real@example.com"))
        #expect(r.defects.contains(.malformedAddress))
    }

    @Test func messageLevelAccessors() {
        let m = parse("From: Alice <a@example.com>\nTo: b@example.com, C <c@example.com>\nCc: g: d@example.com;\nSubject: hi\n\nbody\n")
        #expect(m.addresses(in: "To").map(\.address) == ["b@example.com", "c@example.com"])
        #expect(m.allAddresses().map(\.address.address) == ["a@example.com", "b@example.com", "c@example.com", "d@example.com"])
    }
}
