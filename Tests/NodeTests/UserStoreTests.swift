import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Node

@Suite struct UserStoreTests {
    func temporaryPath() -> String {
        var template = Array("/tmp/gatehouse-users-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return dir + "/users"
    }

    @Test func addVerifyAndOwnership() throws {
        let path = temporaryPath()
        let store = try UserStore(path: path)
        try store.add(name: "alice@example.test", password: "correct horse", addresses: ["Alice.Smith@Example.TEST"])
        let user = try #require(store.verify(name: "alice@example.test", password: "correct horse"))
        #expect(user.addresses == ["alice@example.test", "alice.smith@example.test"])
        #expect(user.passwordHash.hasPrefix("$2b$11$"))
        #expect(store.verify(name: "alice@example.test", password: "wrong") == nil)
        #expect(store.verify(name: "nobody", password: "correct horse") == nil)
        #expect(throws: UserStoreError.self) { try store.add(name: "alice@example.test", password: "x", addresses: []) }
    }

    @Test func fileIsPrivateAndSurvivesReopen() throws {
        let path = temporaryPath()
        try UserStore(path: path).add(name: "bob", password: "pw1", addresses: ["bob@example.test"])
        var s = stat()
        #expect(stat(path, &s) == 0)
        #expect(s.st_mode & 0o777 == 0o600)
        let reopened = try UserStore(path: path)
        #expect(reopened.verify(name: "bob", password: "pw1")?.addresses == ["bob@example.test"])
    }

    @Test func changesByAnotherProcessAreSeen() throws {
        let path = temporaryPath()
        let running = try UserStore(path: path)
        #expect(running.verify(name: "carol", password: "pw") == nil)
        // `gatehouse user add` in another process writes the same file.
        try UserStore(path: path).add(name: "carol", password: "pw", addresses: [])
        #expect(running.verify(name: "carol", password: "pw") != nil)
        try UserStore(path: path).setPassword(name: "carol", password: "new")
        #expect(running.verify(name: "carol", password: "pw") == nil)
        #expect(running.verify(name: "carol", password: "new") != nil)
        try UserStore(path: path).remove(name: "carol")
        #expect(running.verify(name: "carol", password: "new") == nil)
    }

    @Test func invalidInputRefused() throws {
        let store = try UserStore(path: temporaryPath())
        #expect(throws: UserStoreError.self) { try store.add(name: "has space", password: "x", addresses: []) }
        #expect(throws: UserStoreError.self) { try store.add(name: "tab\tname", password: "x", addresses: []) }
        #expect(throws: UserStoreError.self) { try store.add(name: "dave", password: "x", addresses: ["not an address"]) }
        #expect(throws: UserStoreError.self) { try store.remove(name: "nobody") }
    }

    @Test func checkIsStrict() throws {
        let hash = try UserStore.hash("secret")
        #expect(UserStore.check(password: "secret", hash: hash))
        #expect(!UserStore.check(password: "secret ", hash: hash))
        #expect(!UserStore.check(password: "secret", hash: ""))
        #expect(!UserStore.check(password: "secret", hash: "*"))
    }
}
