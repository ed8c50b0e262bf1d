// ClamdConfigurationTests.swift — endpoints written as clamd.conf configures them, and the defaults.

import Testing
@testable import AntiVirus

@Suite struct ClamdConfigurationTests {
    @Test func readsTCPEndpoints() {
        #expect(ClamdEndpoint("127.0.0.1:3310") == .tcp(host: "127.0.0.1", port: 3310))
        #expect(ClamdEndpoint("clamd.example.test") == .tcp(host: "clamd.example.test", port: 3310))
        #expect(ClamdEndpoint("av-1:9999") == .tcp(host: "av-1", port: 9999))
        #expect(ClamdEndpoint("[::1]:3310") == .tcp(host: "::1", port: 3310))
        #expect(ClamdEndpoint("[2001:db8::5]") == .tcp(host: "2001:db8::5", port: 3310))
    }

    @Test func readsUnixSocketPaths() {
        #expect(ClamdEndpoint("/run/clamav/clamd.ctl") == .unixSocket(path: "/run/clamav/clamd.ctl"))
        #expect(ClamdEndpoint("unix:/var/run/clamd.sock") == .unixSocket(path: "/var/run/clamd.sock"))
    }

    @Test func refusesMalformedEndpoints() {
        for text in ["", ":3310", "host:", "host:0", "host:65536", "host:+1", "host:１２", "a:b:c", "::1", "[::1",
                     "[::1]x", "[::1]:", "[v4.only]:1", "host name", "host/x:1", "unix:relative", "/a\0b"] {
            #expect(ClamdEndpoint(text) == nil, "\(text)")
        }
    }

    @Test func describesEndpoints() {
        #expect(ClamdEndpoint.tcp(host: "127.0.0.1", port: 3310).description == "127.0.0.1:3310")
        #expect(ClamdEndpoint.tcp(host: "::1", port: 3310).description == "[::1]:3310")
        #expect(ClamdEndpoint.unixSocket(path: "/run/clamav/clamd.ctl").description == "/run/clamav/clamd.ctl")
    }

    @Test func defaultsComeFromOnePlace() {
        let configuration = ClamdConfiguration(endpoint: .tcp(host: "127.0.0.1", port: AntiVirusDefaults.port))
        #expect(configuration.connectTimeout == .seconds(AntiVirusDefaults.connectTimeoutSeconds))
        #expect(configuration.writeTimeout == .seconds(AntiVirusDefaults.writeTimeoutSeconds))
        #expect(configuration.replyTimeout == .seconds(AntiVirusDefaults.replyTimeoutSeconds))
        #expect(configuration.maximumStreamSize == AntiVirusDefaults.maximumStreamSize)
        #expect(configuration.chunkSize == AntiVirusDefaults.chunkSize)
        #expect(configuration.maximumReplyLength == AntiVirusDefaults.maximumReplyLength)
        // The reply wait outlasts clamd's own scan time limit (MaxScanTime, 120 s) and stays well
        // inside the 10 minutes an SMTP client waits after the end of data.
        #expect(AntiVirusDefaults.replyTimeoutSeconds > 120 && AntiVirusDefaults.replyTimeoutSeconds < 300)
    }
}
