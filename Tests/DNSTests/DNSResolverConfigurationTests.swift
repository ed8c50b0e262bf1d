// DNSResolverConfigurationTests.swift — nameserver strings, resolv.conf files, defaults.

import Foundation
import NIOCore
import Testing
@testable import DNS

@Suite struct DNSResolverConfigurationTests {
    @Test func parsesNameserverStrings() throws {
        #expect(try DNSResolverConfiguration.nameserver("192.0.2.53") == SocketAddress(ipAddress: "192.0.2.53", port: 53))
        #expect(try DNSResolverConfiguration.nameserver("192.0.2.53:5353") == SocketAddress(ipAddress: "192.0.2.53", port: 5353))
        #expect(try DNSResolverConfiguration.nameserver("2001:db8::53") == SocketAddress(ipAddress: "2001:db8::53", port: 53))
        #expect(try DNSResolverConfiguration.nameserver("[2001:db8::53]:5353") == SocketAddress(ipAddress: "2001:db8::53", port: 5353))
        #expect(try DNSResolverConfiguration.nameserver("[::1]") == SocketAddress(ipAddress: "::1", port: 53))
        for bad in ["", "dns.example", "192.0.2.53:0", "192.0.2.53:65536", "192.0.2.53:x", "[2001:db8::53", "[192.0.2.1]:53",
                    "[2001:db8::53]x", "300.1.1.1", "2001:db8::53:"] {
            #expect(throws: DNSConfigurationError.badNameserver(bad)) { try DNSResolverConfiguration.nameserver(bad) }
        }
    }

    @Test func defaultsTo127001() throws {
        let configuration = try DNSResolverConfiguration(nameservers: [String]())
        #expect(configuration.nameservers == [try SocketAddress(ipAddress: "127.0.0.1", port: 53)])
        #expect(configuration.timeout == .seconds(5))
        #expect(configuration.attempts == 2)
        #expect(configuration.ednsPayloadSize == 1232)
        #expect(DNSResolverConfiguration(nameservers: [SocketAddress](), attempts: 0).attempts == 1)
    }

    @Test func readsTheSystemFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("resolv-\(UUID().uuidString).conf").path
        try "nameserver 192.0.2.1\nnameserver ::1\noptions timeout:1 attempts:4 rotate\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = DNSResolverConfiguration.systemConfiguration(resolvConf: path)
        #expect(configuration.nameservers == [try SocketAddress(ipAddress: "192.0.2.1", port: 53), try SocketAddress(ipAddress: "::1", port: 53)])
        #expect(configuration.timeout == .seconds(1))
        #expect(configuration.attempts == 4)
        #expect(configuration.rotate)
    }

    @Test func aMissingFileGivesTheDefaults() throws {
        let configuration = DNSResolverConfiguration.systemConfiguration(resolvConf: "/nonexistent/resolv.conf")
        #expect(configuration.nameservers == [try SocketAddress(ipAddress: "127.0.0.1", port: 53)])
        #expect(configuration.timeout == .seconds(5))
        #expect(configuration.attempts == 2)
        #expect(!configuration.rotate)
        // timeout:0 in the file still waits a second.
        #expect(DNSResolverConfiguration(ResolvConf(parsing: "options timeout:0")).timeout == .seconds(1))
    }

    @Test func readsThisMachinesFile() {
        // Whatever it says, reading it must work and give at least one nameserver.
        #expect(!DNSResolverConfiguration.systemConfiguration().nameservers.isEmpty)
    }
}
