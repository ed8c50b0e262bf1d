// ConfigurationSourceTests.swift — the live holder of the configuration (Sources/Configuration/
// ConfigurationSource.swift): only newer or equal versions replace the one in force.

import Testing
@testable import Configuration

@Suite("ConfigurationStore")
struct ConfigurationStoreTests {
    private func version(_ v: Int, _ hostname: String = "h.test") -> NodeConfiguration {
        var config = NodeConfiguration.embeddedDefault(hostname: hostname)
        config.version = v
        return config
    }

    @Test func takesNewerVersionsOnly() {
        let store = ConfigurationStore(version(2))
        #expect(store.configuration.version == 2)
        #expect(store.replace(with: version(5, "five.test")))
        #expect(store.configuration == version(5, "five.test"))
        #expect(!store.replace(with: version(4, "four.test")))
        #expect(store.configuration == version(5, "five.test"))
        #expect(!store.replace(with: version(1)))
        #expect(store.configuration.hostname == "five.test")
    }

    @Test func sameVersionReloads() {
        // docs/configuration.md: "a reload never goes back to a lower one" — re-reading an edited
        // file that kept its version (most files never set one) applies it.
        let store = ConfigurationStore(version(1))
        #expect(store.replace(with: version(1, "edited.test")))
        #expect(store.configuration.hostname == "edited.test")
    }

    @Test func concurrentReplacementsKeepTheHighest() async {
        let store = ConfigurationStore(version(1))
        await withTaskGroup(of: Void.self) { group in
            for v in (2...200).shuffled() {
                group.addTask { _ = store.replace(with: self.version(v)) }
            }
        }
        #expect(store.configuration.version == 200)
    }
}
