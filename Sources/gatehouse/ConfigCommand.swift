// ConfigCommand.swift — `gatehouse config check`: validate a configuration file without starting.

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Configuration

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Work with configuration files.",
                                                    subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a configuration file.")
        @Argument(help: "The YAML file.") var file: String

        func run() throws {
            do {
                let config = try YAMLFileSource(path: file, hostname: systemHostname()).load()
                print("\(file): valid (version \(config.version), \(config.listeners.count) listener(s))")
            } catch {
                printError("\(error)\n")
                throw ExitCode(2)
            }
        }
    }
}
