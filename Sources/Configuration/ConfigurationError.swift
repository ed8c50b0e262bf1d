// ConfigurationError.swift — every way a configuration document can be refused. Each names the key.

public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where: `listeners[1].limits.message_size`.
    public var key: String
    public var problem: String

    public init(key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String {
        key.isEmpty ? "configuration: \(problem)" : "configuration: \(key): \(problem)"
    }
}
