// LocalDeliveryTests.swift — local Maildir delivery (Sources/Delivery/LocalDelivery.swift): the
// mailbox path of an address never leaves its domain's folder whatever the address (dots,
// slashes, upper case, UTF-8, quoted local parts), and a delivered message is complete in new/.

import Testing
import Foundation
import GatehouseCore
import PropertyBased
@testable import Delivery

private let root = "/data/mailboxes"

@Suite("LocalDelivery: mailbox paths")
struct LocalMailboxPathTests {
    @Test(arguments: [
        ("alice@example.org", "/data/mailboxes/example.org/alice"),
        ("first.last+tag=x_y-z@example.org", "/data/mailboxes/example.org/first.last+tag=x_y-z"),
        // Upper case folds to one mailbox, local part and domain alike.
        ("Alice@Example.ORG", "/data/mailboxes/example.org/alice"),
        ("ALICE@EXAMPLE.ORG", "/data/mailboxes/example.org/alice"),
        // Anything that could name another directory is escaped as %HH.
        ("../x@example.org", "/data/mailboxes/example.org/%2E.%2Fx"),
        ("..@example.org", "/data/mailboxes/example.org/%2E."),
        (".@example.org", "/data/mailboxes/example.org/%2E"),
        (".hidden@example.org", "/data/mailboxes/example.org/%2Ehidden"),
        ("a/b@example.org", "/data/mailboxes/example.org/a%2Fb"),
        ("a/../../etc@example.org", "/data/mailboxes/example.org/a%2F..%2F..%2Fetc"),
        ("a\\b@example.org", "/data/mailboxes/example.org/a%5Cb"),
        ("100%@example.org", "/data/mailboxes/example.org/100%25"),
        ("a b@example.org", "/data/mailboxes/example.org/a%20b"),
        ("\"a@b\"@example.org", "/data/mailboxes/example.org/%22a%40b%22"),
        ("tab\there@example.org", "/data/mailboxes/example.org/tab%09here"),
        ("nul\u{0}@example.org", "/data/mailboxes/example.org/nul%00"),
        // UTF-8 local parts are escaped byte by byte (after lower-casing); UTF-8 domains are kept.
        ("josé@bücher.example", "/data/mailboxes/bücher.example/jos%C3%A9"),
        ("JOSÉ@BÜCHER.EXAMPLE", "/data/mailboxes/bücher.example/jos%C3%A9"),
        ("😀@example.org", "/data/mailboxes/example.org/%F0%9F%98%80"),
        // Dots after the first character are plain.
        ("a.@example.org", "/data/mailboxes/example.org/a."),
        ("a..b@example.org", "/data/mailboxes/example.org/a..b"),
    ])
    func mailboxPath(_ address: String, _ path: String) {
        #expect(LocalDelivery.mailbox(root: root, address: address) == path)
    }

    @Test(arguments: [
        "x@../d", "x@..", "x@.", "x@.hidden", "x@a/b", "x@/etc", "x@d/", "x@", "@example.org", "example.org", "", "postmaster",
    ])
    func addressesWithoutASafeMailboxAreRefused(_ address: String) {
        #expect(LocalDelivery.mailbox(root: root, address: address) == nil)
    }

    @Test func theDomainIsTheTextAfterTheLastAt() {
        #expect(LocalDelivery.mailbox(root: root, address: "a@b@example.org") == "/data/mailboxes/example.org/a%40b")
    }

    /// Local parts made of the characters that matter for paths, and some UTF-8.
    static let localPart = Gen.int(in: 0...13).map { i -> String in
        ["a", "Z", "0", ".", "/", "\\", "%", "2", "E", "F", "é", "\u{0}", "-", " "][i]
    }.array(of: 1...12).map { $0.joined() }

    @Test func randomLocalPartsStayInsideTheirDomainFolder() async {
        await propertyCheck(count: 2000, input: Self.localPart) { local in
            guard let path = LocalDelivery.mailbox(root: root, address: local + "@example.org") else {
                Issue.record("no mailbox for \(local.debugDescription)")
                return
            }
            #expect(path.hasPrefix(root + "/example.org/"))
            let last = String(path.dropFirst((root + "/example.org/").count))
            #expect(!last.isEmpty)
            #expect(!last.contains("/"))
            #expect(!last.hasPrefix("."))
            #expect(last != "." && last != "..")
            #expect(last.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value != 0x7F })
        }
    }

    @Test func differentMailboxesNeverShareADirectory() async {
        // The escaping is reversible: two local parts that differ after lower-casing get different folders.
        await propertyCheck(count: 2000, input: Self.localPart, Self.localPart) { a, b in
            let pa = LocalDelivery.mailbox(root: root, address: a + "@example.org")
            let pb = LocalDelivery.mailbox(root: root, address: b + "@example.org")
            #expect((pa == pb) == (a.lowercased() == b.lowercased()), "\(a.debugDescription) \(b.debugDescription)")
        }
    }

    @Test func leftPadding() {
        #expect("A".leftPadded(2) == "0A")
        #expect("AB".leftPadded(2) == "AB")
        #expect("ABC".leftPadded(2) == "ABC")
        #expect("mx/one:two".replacingSlashes == "mx_one_two")
    }
}

@Suite("LocalDelivery: Maildir")
struct LocalMaildirTests {
    @Test func aMessageLandsCompleteInNew() throws {
        let temp = try TemporaryDirectory()
        let root = temp.path + "/mailboxes"
        let content = Array("Subject: hello\r\n\r\nbody\r\n".utf8)
        let outcome = LocalDelivery.deliver(root: root, address: "Alice@Example.ORG", sender: "bob@foreign.example", content: content,
                                            hostname: "mx.gatehouse.test")
        #expect(outcome.kind == .delivered)
        #expect(outcome.status == EnhancedStatusCode(2, 0, 0))
        let files = temp.files()
        #expect(files.count == 1)
        let name = try #require(files.first)
        #expect(name.hasPrefix("mailboxes/example.org/alice/new/"))
        let header = "Return-Path: <bob@foreign.example>\r\nDelivered-To: Alice@Example.ORG\r\n"
        let expected = Array(header.utf8) + content
        #expect(name.hasSuffix(".mx.gatehouse.test,S=\(expected.count)"))
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: temp.path + "/" + name)))
        #expect(written == expected)
        // Maildir: tmp/ is left empty, cur/ exists; everything private.
        for sub in ["tmp", "new", "cur"] {
            var info = stat()
            #expect(stat(root + "/example.org/alice/" + sub, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o700)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/example.org/alice/tmp").isEmpty)
        var info = stat()
        #expect(stat(temp.path + "/" + name, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func everyCopyHasItsOwnFile() throws {
        let temp = try TemporaryDirectory()
        let root = temp.path + "/mailboxes"
        for _ in 0..<20 {
            let outcome = LocalDelivery.deliver(root: root, address: "a@example.org", sender: "", content: [0x41], hostname: "mx/odd:name")
            #expect(outcome.kind == .delivered)
        }
        let files = temp.files()
        #expect(files.count == 20)
        #expect(files.allSatisfy { $0.hasPrefix("mailboxes/example.org/a/new/") && $0.contains(".mx_odd_name,S=") })
        // The null sender is written as <>.
        let first = try [UInt8](Data(contentsOf: URL(fileURLWithPath: temp.path + "/" + files[0])))
        #expect(String(decoding: first, as: UTF8.self).hasPrefix("Return-Path: <>\r\n"))
    }

    @Test func uniqueNamesDiffer() {
        let names = (0..<1000).map { _ in LocalDelivery.uniqueName("host") }
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { !$0.contains("/") && $0.hasSuffix(".host") })
    }

    @Test func aHostileAddressIsRefusedPermanentlyAndWritesNothing() throws {
        let temp = try TemporaryDirectory()
        let outcome = LocalDelivery.deliver(root: temp.path + "/mailboxes", address: "x@../escape", sender: "", content: [0x41], hostname: "h")
        #expect(outcome.kind == .failed)
        #expect(outcome.status == EnhancedStatusCode(5, 1, 3))
        #expect(temp.files().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: temp.path + "/escape"))
    }

    @Test func aDotDotLocalPartStaysInsideTheDomain() throws {
        let temp = try TemporaryDirectory()
        let outcome = LocalDelivery.deliver(root: temp.path + "/mailboxes", address: "../../x@example.org", sender: "", content: [0x41], hostname: "h")
        #expect(outcome.kind == .delivered)
        let files = temp.files()
        #expect(files.count == 1)
        #expect(files.allSatisfy { $0.hasPrefix("mailboxes/example.org/%2E.%2F..%2Fx/new/") })
    }

    @Test func aStorageProblemDefers() throws {
        let temp = try TemporaryDirectory()
        // The mailbox root is a file: nothing can be created under it.
        #expect(FileManager.default.createFile(atPath: temp.path + "/mailboxes", contents: Data("x".utf8)))
        let outcome = LocalDelivery.deliver(root: temp.path + "/mailboxes", address: "a@example.org", sender: "", content: [0x41], hostname: "h")
        #expect(outcome.kind == .deferred)
        #expect(outcome.status.klass == 4)
        #expect(outcome.diagnostic.hasPrefix("local; "))
    }
}
