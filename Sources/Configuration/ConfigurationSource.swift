// ConfigurationSource.swift — where configuration documents come from, and the live holder.
//
// Today the source is a YAML file (or the embedded default); later the manager pushes versioned
// documents over the node's link (DESIGN.md §4). The node only sees `ConfigurationStore`: it reads
// the current version at the start of each session, so sessions in flight finish on the version
// they began with while new sessions take the new one.

import Synchronization

/// Produces configuration documents.
public protocol ConfigurationSource: Sendable {
    /// Loads the current document, validated.
    func load() throws -> NodeConfiguration
}

/// A YAML file on disk.
public struct YAMLFileSource: ConfigurationSource {
    public let path: String
    public let hostname: String

    public init(path: String, hostname: String) {
        self.path = path
        self.hostname = hostname
    }

    public func load() throws -> NodeConfiguration {
        let text: String
        do { text = try readTextFile(path) } catch {
            throw ConfigurationError(key: "", "cannot read \(path)")
        }
        return try YAMLConfigurationReader.read(yaml: text, hostname: hostname)
    }
}

/// The embedded default configuration.
public struct EmbeddedDefaultSource: ConfigurationSource {
    public let hostname: String
    public init(hostname: String) { self.hostname = hostname }
    public func load() throws -> NodeConfiguration { .embeddedDefault(hostname: hostname) }
}

/// Holds the configuration in force and swaps in new versions atomically.
public final class ConfigurationStore: Sendable {
    private let current: Mutex<NodeConfiguration>

    public init(_ initial: NodeConfiguration) {
        current = Mutex(initial)
    }

    /// The version in force now.
    public var configuration: NodeConfiguration {
        current.withLock { $0 }
    }

    /// Replaces the configuration with an already validated document of the same or a newer
    /// version (a reload of an unchanged version number re-applies the file).
    /// Returns false (and keeps the current one) if `next` is older.
    @discardableResult
    public func replace(with next: NodeConfiguration) -> Bool {
        current.withLock { value in
            guard next.version >= value.version else { return false }
            value = next
            return true
        }
    }
}
