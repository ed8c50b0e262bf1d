// Gatehouse.swift — the `gatehouse` command: every role and every administrative command.

import ArgumentParser

@main
struct Gatehouse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatehouse",
        abstract: "Gatehouse, an email security gateway.",
        subcommands: [Serve.self, UserCommand.self, QueueCommand.self, QuarantineCommand.self, ConfigCommand.self, PolicyCommand.self,
                      SpamCommand.self])
}

/// Options shared by commands that use the data directory.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "The data directory (queue, users, TLS files).")
    var data: String = "./gatehouse-data"
}
