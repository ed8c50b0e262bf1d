// UserCommand.swift — `gatehouse user add|passwd|list|remove`: the local user store for AUTH.

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Node

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage the users who may authenticate (submission).",
        subcommands: [Add.self, Passwd.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user. A name that is an address owns that address.")
        @Argument(help: "The login name, usually the user's address.") var name: String
        @Option(name: .long, help: "An extra address the user may send as (repeatable).") var address: [String] = []
        @Flag(name: .long, help: "Read the password from standard input instead of prompting.") var passwordStdin = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            let store = try openStore(dataOptions.data)
            let password = try readPassword(fromStdin: passwordStdin)
            try store.add(name: name, password: password, addresses: address)
            print("added \(name)")
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password.")
        @Argument var name: String
        @Flag(name: .long, help: "Read the password from standard input instead of prompting.") var passwordStdin = false
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            let store = try openStore(dataOptions.data)
            try store.setPassword(name: name, password: try readPassword(fromStdin: passwordStdin))
            print("password changed for \(name)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users and the addresses they own.")
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            for user in try openStore(dataOptions.data).all {
                print("\(user.name)\t\(user.addresses.sorted().joined(separator: ","))")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user.")
        @Argument var name: String
        @OptionGroup var dataOptions: DataOptions

        func run() throws {
            try openStore(dataOptions.data).remove(name: name)
            print("removed \(name)")
        }
    }
}

func openStore(_ data: String) throws -> UserStore {
    if mkdir(data, 0o700) != 0 && errno != EEXIST {
        throw ValidationError("cannot create data directory \(data)")
    }
    return try UserStore(path: data + "/users")
}

/// Reads a password from stdin (one line) or prompts without echo.
func readPassword(fromStdin: Bool) throws -> String {
    if fromStdin {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("no password on standard input") }
        return line
    }
    guard let first = getpass("Password: ").map({ String(cString: $0) }), !first.isEmpty else { throw ValidationError("empty password") }
    guard let second = getpass("Again: ").map({ String(cString: $0) }), second == first else { throw ValidationError("passwords differ") }
    return first
}
