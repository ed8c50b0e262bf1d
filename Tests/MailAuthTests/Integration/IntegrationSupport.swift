// IntegrationSupport.swift — what the integration tests run against: keys and messages signed by
// dkimpy (Resources/dkim_tool.py, Debian's python3-dkim), published in a zone served by a real DNS
// server on the loopback (Tests/DNSTests/Resources/zone_server.py, Debian's python3-dnslib), and
// queried through the DNS module's resolver. Everything is made once per test process.

import Foundation
import NIOCore
import NIOPosix
import DNS
@testable import MailAuth

/// The base message every signing job starts from (RFC 6376 Appendix A's, in example.test).
let baseMessage = """
    From: Joe SixPack <joe@example.test>
    To: Suzie Q <suzie@example.net>
    Subject: Is dinner ready?
    Date: Fri, 11 Jul 2003 21:00:37 -0700
    Message-ID: <20030712040037.46341.5F8J@example.test>

    Hi.

    We lost the game. Are you hungry yet?

    Joe.

    """

/// One message for dkimpy to sign.
struct SigningJob: Encodable {
    var key: String
    var selector: String
    var domain = "example.test"
    var message: String
    var canonicalize = "relaxed/relaxed"
    var headers: [String]?
    var algorithm = "rsa-sha256"
    var length = false
    var identity: String?
    var time: Int64?
    var expire: Int64?
    /// ARC hops: when set, the message is ARC-sealed once per hop instead of DKIM-signed.
    var hops: [Hop]?

    struct Hop: Encodable {
        var srv_id: String
        var results: String
        var key = "rsa"
        var selector = "rsa"
        var domain: String
    }

    static func arc(_ hops: [Hop]) -> SigningJob {
        var job = SigningJob()
        job.hops = hops
        return job
    }

    init(key: String = "rsa", selector: String = "rsa", domain: String = "example.test", message: String = baseMessage,
         canonicalize: String = "relaxed/relaxed", headers: [String]? = nil, algorithm: String = "rsa-sha256",
         length: Bool = false, time: Int64? = nil, expire: Int64? = nil) {
        self.key = key
        self.selector = selector
        self.domain = domain
        self.message = Data(crlf(message)).base64EncodedString()
        self.canonicalize = canonicalize
        self.headers = headers
        self.algorithm = algorithm
        self.length = length
        self.time = time
        self.expire = expire
    }
}

/// Every signed message the integration tests use, by name.
let signingJobs: [String: SigningJob] = {
    let now = unixTime()
    var random = SplitMix(seed: 0x5EED_D1C1)
    var jobs: [String: SigningJob] = [:]
    for index in 0..<randomMessageCount {
        let (message, headers) = randomMessage(&random)
        let canonicalization = ["relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"][Int(random.next() % 4)]
        let ed = random.next() % 3 == 0
        jobs["random-\(index)"] = SigningJob(key: ed ? "ed" : "rsa", selector: ed ? "ed" : "rsa", message: message,
                                             canonicalize: canonicalization, headers: headers,
                                             algorithm: ed ? "ed25519-sha256" : "rsa-sha256", length: random.next() % 5 == 0)
    }
    return jobs.merging([
        "rsa-relaxed": SigningJob(),
        "rsa-simple": SigningJob(canonicalize: "simple/simple"),
        "ed25519": SigningJob(key: "ed", selector: "ed", algorithm: "ed25519-sha256"),
        "expired": SigningJob(time: now - 7200, expire: now - 3600),
        "not-expired": SigningJob(time: now - 60, expire: now + 3600),
        "small-key": SigningJob(key: "small", selector: "small"),
        "sha1": SigningJob(algorithm: "rsa-sha1"),
        "length": SigningJob(length: true),
        "missing-key": SigningJob(selector: "missing"),
        "temp-key": SigningJob(selector: "broken"),
        "revoked-key": SigningJob(selector: "revoked"),
        "oversigned": SigningJob(headers: ["from", "from", "subject", "subject", "to"]),
        "third-party": SigningJob(domain: "other.test"),
        "arc-2": .arc([.init(srv_id: "hop1.test", results: "spf=pass smtp.mailfrom=joe@example.test", domain: "hop1.test"),
                       .init(srv_id: "hop2.test", results: "arc=pass", domain: "hop2.test")]),
        // One hop (dkimpy ARC-signs with RSA only; RFC 8617 §4.1.3 defines rsa-sha256 alone).
        "arc-1": .arc([.init(srv_id: "hop1.test", results: "dkim=pass header.d=example.test", domain: "hop1.test")]),
        "news": SigningJob(message: baseMessage.replacingOccurrences(of: "joe@example.test", with: "joe@news.example.test")),
        "strict": SigningJob(domain: "mail.strict.test",
                             message: baseMessage.replacingOccurrences(of: "joe@example.test", with: "joe@strict.test")),
    ]) { $1 }
}()

/// How many random messages dkimpy signs for the differential test.
let randomMessageCount = 60

/// A deterministic generator (SplitMix64), so that a failing random message can be found again.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A message full of what canonicalization must get right: white space runs and tabs, trailing
/// white space, folded fields, odd name case, empty values, empty lines inside and at the end of
/// the body, a missing final line break, an empty body. Returns the text (LF line ends; the job
/// converts to CRLF) and the field names to sign.
func randomMessage(_ random: inout SplitMix) -> (String, [String]) {
    func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
    func space() -> String { pick([" ", "  ", "\t", " \t ", ""]) }
    func words(_ count: Int) -> String {
        (0..<count).map { _ in pick(["lorem", "ipsum", "Dolor", "sit", "amet;", "x=y", "(c)", "a.b", "--", "é?"]) }
            .joined(separator: pick([" ", "  ", "\t", " \t"]))
    }
    var header = "From: Joe <joe@example.test>\n"
    var names = ["from"]
    for k in 0..<Int(random.next() % 5) {
        let name = pick(["X-Test-\(k)", "x-TEST-\(k)", "X-Test-\(k)"])
        var value = space() + words(Int(random.next() % 6))
        if random.next() % 2 == 0 { value += pick(["\n\t", "\n ", "\n  "]) + words(1 + Int(random.next() % 3)) }
        value += pick(["", " ", "\t", "  "])
        header += name + ":" + value + "\n"  // dkimpy refuses WSP before the colon (obs-syntax)
        names.append("x-test-\(k)")
    }
    header += "Subject:" + space() + words(3) + space() + "\n"
    names.append("subject")
    var body = ""
    for _ in 0..<Int(random.next() % 8) {
        body += pick(["", " ", "\t", space() + words(1 + Int(random.next() % 8)) + space()]) + "\n"
    }
    body += String(repeating: "\n", count: Int(random.next() % 3))
    if random.next() % 4 == 0 { body += words(2) }  // no final line break
    return (header + "\n" + body, names)
}

/// Keys, signed messages, the zone server and a resolver pointed at it.
struct IntegrationFixture: Sendable {
    let signed: [String: [UInt8]]
    let publicKeys: [String: String]
    let server: MailAuthZoneServer
    let dns: ResolverMailAuthDNS
    let publicSuffixes: PublicSuffixList

    /// A DKIM record's TXT, cut into character-strings of at most 255 octets.
    static func txt(_ text: String) -> String {
        var parts: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            parts.append("\"\(rest.prefix(200))\"")
            rest = rest.dropFirst(200)
        }
        return parts.joined(separator: " ")
    }

    static func zone(_ keys: [String: String]) -> String {
        let rsa = txt("v=DKIM1; k=rsa; p=\(keys["rsa"]!)")
        return """
            $ORIGIN test.
            $TTL 300
            @ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
            rsa._domainkey.example.test. IN TXT \(rsa)
            ed._domainkey.example.test. IN TXT \(txt("v=DKIM1; k=ed25519; p=\(keys["ed"]!)"))
            small._domainkey.example.test. IN TXT \(txt("v=DKIM1; p=\(keys["small"]!)"))
            revoked._domainkey.example.test. IN TXT "v=DKIM1; k=rsa; p="
            broken._domainkey.example.test. IN TXT "v=DKIM1; p=AAAA"
            rsa._domainkey.other.test. IN TXT \(rsa)
            rsa._domainkey.hop1.test. IN TXT \(rsa)
            rsa._domainkey.hop2.test. IN TXT \(rsa)
            rsa._domainkey.mail.strict.test. IN TXT \(rsa)
            example.test. IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.example.test -all"
            example.test. IN A 192.0.2.80
            _spf.example.test. IN TXT "v=spf1 ip4:198.51.100.7 ip6:2001:db8:25::/48 -all"
            bounce.example.test. IN TXT "v=spf1 a:mail.example.test ~all"
            mail.example.test. IN A 192.0.2.25
            mail.example.test. IN AAAA 2001:db8::25
            news.example.test. IN TXT "v=spf1 redirect=example.test"
            _dmarc.example.test. IN TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.test"
            other.test. IN TXT "v=spf1 mx -all"
            other.test. IN MX 10 mx.other.test.
            mx.other.test. IN A 203.0.113.25
            strict.test. IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
            mail.strict.test. IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
            _dmarc.strict.test. IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
            tempfail.test. IN TXT "v=spf1 -all"
            nodmarc.test. IN TXT "v=spf1 +all"

            """
    }

    static func make() async throws -> IntegrationFixture {
        let names = signingJobs.keys.sorted()
        struct Request: Encodable {
            struct Key: Encodable { var name: String; var type: String; var bits: Int? }
            var keys: [Key]
            var jobs: [SigningJob]
        }
        struct Answer: Decodable { var keys: [String: String]; var signed: [String] }
        let request = Request(keys: [.init(name: "rsa", type: "rsa", bits: 2048), .init(name: "ed", type: "ed25519", bits: nil),
                                     .init(name: "small", type: "rsa", bits: 512)],
                              jobs: names.map { signingJobs[$0]! })
        let output = try await runPython(Self.tool, input: JSONEncoder().encode(request))
        let answer = try JSONDecoder().decode(Answer.self, from: output)
        var signed: [String: [UInt8]] = [:]
        for (name, text) in zip(names, answer.signed) { signed[name] = Array(Data(base64Encoded: text)!) }
        let server = try await MailAuthZoneServer.start(zone: zone(answer.keys), options: ["--servfail", "broken._domainkey.example.test",
                                                                                            "--servfail", "tempfail.test",
                                                                                            "--servfail", "_dmarc.tempfail.test"])
        let resolver = DNSResolver(configuration: DNSResolverConfiguration(nameservers: [server.address], timeout: .seconds(2),
                                                                           attempts: 1, cacheSize: 1_000),
                                   eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        return IntegrationFixture(signed: signed, publicKeys: answer.keys, server: server, dns: ResolverMailAuthDNS(resolver),
                                  publicSuffixes: try PublicSuffixList.load())
    }

    static let tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Resources/dkim_tool.py").path

    static let shared = Task { try await make() }

    static func get() async throws -> IntegrationFixture { try await shared.value }
}

enum IntegrationError: Error, CustomStringConvertible {
    case python(String)

    var description: String {
        switch self {
        case .python(let why): return "dkim_tool.py failed (apt-get install python3-dkim python3-nacl python3-cryptography): \(why)"
        }
    }
}

/// Runs /usr/bin/python3 `script` with `input` on standard input, on a thread of its own.
func runPython(_ script: String, input: Data) async throws -> Data {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
                process.arguments = [script]
                let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
                process.standardInput = stdin
                process.standardOutput = stdout
                process.standardError = stderr
                try process.run()
                stdin.fileHandleForWriting.write(input)
                try stdin.fileHandleForWriting.close()
                let output = stdout.fileHandleForReading.readDataToEndOfFile()
                let errors = stderr.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else {
                    throw IntegrationError.python(String(decoding: errors, as: UTF8.self))
                }
                return output
            })
        }
    }
}

/// Tests/DNSTests/Resources/zone_server.py on a free loopback port (the DNS tests' server, used
/// as it is), stopped when the test process ends (it exits when its standard input closes).
final class MailAuthZoneServer: @unchecked Sendable {
    let process: Process
    let port: Int
    private let input: Pipe
    private let directory: URL

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("DNSTests/Resources/zone_server.py").path

    init(zone: String, options: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mailauth-zone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let zoneFile = directory.appendingPathComponent("zone.txt")
        try zone.write(to: zoneFile, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script, "--zone", zoneFile.path, "--lifetime", "600"] + options
        input = Pipe()
        let output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var line: [UInt8] = []
        while !line.contains(UInt8(ascii: "\n")) {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            line += data
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.waitUntilExit()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw IntegrationError.python("zone_server.py did not start (python3-dnslib?): \(text) \(stderr)")
        }
        self.port = port
    }

    var address: SocketAddress { try! SocketAddress(ipAddress: "127.0.0.1", port: port) }

    static func start(zone: String, options: [String]) async throws -> MailAuthZoneServer {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try MailAuthZoneServer(zone: zone, options: options) })
            }
        }
    }

    deinit {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: directory)
    }
}
