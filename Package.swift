// swift-tools-version: 6.1
//
// Gatehouse — an email security gateway.
//
// The targets follow the mail path. Pure cores (no I/O, no channel code) sit at the
// bottom; the node wires them to SwiftNIO; the `gatehouse` executable is the only
// entry point.
//
//   GatehouseCore   addresses, reply codes, networks, relay rules, limits (pure)
//   SMTPProtocol    SMTP grammar, line and data framing, session state machine (pure, ByteBuffer only)
//   MIME            message parsing and unpacking (pure)
//   PCRE2           Perl-compatible regular expressions with JIT (Debian's libpcre2)
//   Policy          policy groups and rules, evaluated per recipient with a decision trace (pure)
//   Scanning        runs the engines over a message and gathers their findings for the policy
//   SpamRules       spam rule packs (ours and SpamAssassin's subset) and their matcher
//   SpamBayes       Bayesian classifier (tokenizer, token database, Robinson–Fisher) and rules + Bayes
//   AntiVirus       ClamAV clamd client (INSTREAM)
//   MailAuth        SPF, DKIM, DMARC, ARC verification; Authentication-Results
//   Bounce          RFC 3464 delivery status notifications (pure)
//   DNS             DNS stub resolver: message codec (pure) and UDP/TCP client
//   Spool           the durable queue on disk: the one way in, queue states, integrity
//   Configuration   the versioned, validated node configuration document (YAML)
//   Delivery        queue manager, routing, SMTP client, local mailboxes, bounces
//   Node            listeners, TLS, sessions, users: the SMTP server on SwiftNIO
//   gatehouse       the command-line tool
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "gatehouse",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "gatehouse", targets: ["gatehouse"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // MARK: Pure cores
        .target(
            name: "GatehouseCore",
            swiftSettings: strict
        ),
        .target(
            name: "SMTPProtocol",
            dependencies: [
                "GatehouseCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .systemLibrary(name: "CArchive", path: "Sources/CArchive"),
        .target(
            name: "MIME",
            dependencies: ["CArchive", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),

        .target(
            name: "DNS",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),

        // ClamAV clamd client (INSTREAM): protocol core (pure) and a SwiftNIO client.
        .target(
            name: "AntiVirus",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Perl-compatible regular expressions with JIT (Debian's libpcre2), and the spam rule engine.
        .systemLibrary(name: "CPCRE2", path: "Sources/CPCRE2"),
        .target(name: "PCRE2", dependencies: ["CPCRE2"], swiftSettings: strict),
        .target(name: "SpamRules", dependencies: ["GatehouseCore", "MIME", "PCRE2"],
                resources: [.embedInCode("rules/default.rules")], swiftSettings: strict),
        // Bayesian classifier (pure, but for its database file) and the full engine: rules + Bayes.
        .target(name: "SpamBayes", dependencies: ["GatehouseCore", "MIME", "SpamRules"], swiftSettings: strict),
        // Policy groups, rules, conditions and actions; evaluation with a decision trace (pure).
        .target(name: "Policy", dependencies: ["GatehouseCore", "PCRE2"], swiftSettings: strict),
        // Runs the engines over a message and gathers their findings for the policy.
        .target(
            name: "Scanning",
            dependencies: [
                "GatehouseCore", "MIME", "SpamRules", "SpamBayes", "Policy", "AntiVirus",
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: strict
        ),
        // Sender authentication: SPF, DKIM, DMARC, ARC and Authentication-Results (pure cores over a DNS protocol).
        .target(
            name: "MailAuth",
            dependencies: [
                "DNS", "MIME",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // RFC 3464 delivery status notifications (pure).
        .target(name: "Bounce", dependencies: ["MIME"], swiftSettings: strict),

        // MARK: Storage and configuration
        // xxHash from Debian (libxxhash-dev): the queue file's checksum.
        .systemLibrary(name: "CXXHash", path: "Sources/CXXHash"),
        .target(
            name: "Spool",
            dependencies: [
                "GatehouseCore", "CXXHash",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The node's quarantine: held messages with their records; release, forward, delete, expiry.
        .target(name: "Quarantine", dependencies: ["GatehouseCore", "Spool"], swiftSettings: strict),
        .target(
            name: "Configuration",
            dependencies: [
                "GatehouseCore", "Policy", "PCRE2", "MIME",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),

        // MARK: Delivery
        .target(
            name: "Delivery",
            dependencies: [
                "GatehouseCore", "SMTPProtocol", "Spool", "Configuration", "MIME", "DNS", "Bounce",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),

        // MARK: The node
        .systemLibrary(name: "CCrypt", path: "Sources/CCrypt"),
        .target(
            name: "Node",
            dependencies: [
                "GatehouseCore", "SMTPProtocol", "Spool", "Configuration", "Delivery", "CCrypt", "Policy", "Scanning", "Quarantine",
                "AntiVirus", "MailAuth", "SpamBayes",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // MARK: Executables
        .executableTarget(
            name: "gatehouse",
            dependencies: [
                "Node", "Configuration", "Spool", "GatehouseCore", "Delivery", "Policy", "Scanning", "SpamRules", "SpamBayes", "AntiVirus",
                "Quarantine", "MIME",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // libFuzzer entry points, built by scripts/fuzz with -sanitize=fuzzer, started by FuzzDriver.
        .target(name: "FuzzDriver", path: "Fuzz/FuzzDriver", swiftSettings: strict),
        .executableTarget(
            name: "SMTPCommandFuzzer",
            dependencies: ["SMTPProtocol", "FuzzDriver", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/SMTPCommandFuzzer",
            swiftSettings: strict
        ),
        .executableTarget(name: "DNSMessageFuzzer", dependencies: ["FuzzDriver", "DNS"], path: "Fuzz/DNSMessageFuzzer", swiftSettings: strict),
        .executableTarget(name: "RulesFuzzer", dependencies: ["FuzzDriver", "SpamRules"], path: "Fuzz/RulesFuzzer", swiftSettings: strict),
        .executableTarget(name: "MailAuthFuzzer", dependencies: ["FuzzDriver", "MailAuth"], path: "Fuzz/MailAuthFuzzer", swiftSettings: strict),
        .executableTarget(name: "MIMEFuzzer", dependencies: ["FuzzDriver", "MIME"], path: "Fuzz/MIMEFuzzer", swiftSettings: strict),
        .executableTarget(name: "BayesFuzzer", dependencies: ["FuzzDriver", "SpamBayes"], path: "Fuzz/BayesFuzzer", swiftSettings: strict),
        .executableTarget(name: "SpoolFuzzer", dependencies: ["FuzzDriver", "Spool"], path: "Fuzz/SpoolFuzzer", swiftSettings: strict),
        // Rule matching throughput, PCRE2 JIT against the alternatives (docs/performance.md).
        .executableTarget(name: "rules-bench", dependencies: ["SpamRules", "PCRE2", "MIME"], path: "scripts/rules-bench", swiftSettings: strict),
        // Dumps the MIME engine's view of messages as JSON (bench/mime-bench.sh, scripts/mime-differential.py).
        .executableTarget(name: "mime-dump", dependencies: ["MIME"], path: "scripts/mime-dump", swiftSettings: strict),

        // MARK: Tests (mirroring Sources/)
        .testTarget(
            name: "GatehouseCoreTests",
            dependencies: ["GatehouseCore", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "SMTPProtocolTests",
            dependencies: [
                "SMTPProtocol", "GatehouseCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "MIMETests",
            dependencies: ["MIME", "CArchive", .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Fixtures"]  // read by path
        ),
        .testTarget(
            name: "DNSTests",
            dependencies: [
                "DNS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Resources"]  // zone_server.py, run by path
        ),
        .testTarget(
            name: "AntiVirusTests",
            dependencies: [
                "AntiVirus",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Resources"]  // clamd-test.sh: run by path
        ),
        .testTarget(name: "PCRE2Tests", dependencies: ["PCRE2", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(
            name: "SpamRulesTests",
            dependencies: ["SpamRules", "GatehouseCore", "PCRE2", "MIME", .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "SpamBayesTests",
            dependencies: ["SpamBayes", "SpamRules", "MIME", .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Fixtures"]  // read by path
        ),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "GatehouseCore"]),
        .testTarget(
            name: "MailAuthTests",
            dependencies: [
                "MailAuth", "DNS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Resources"]  // dkim_tool.py, run by path
        ),
        .testTarget(name: "BounceTests", dependencies: ["Bounce", "MIME"]),
        .testTarget(
            name: "SpoolTests",
            dependencies: ["Spool", "GatehouseCore", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(name: "QuarantineTests", dependencies: ["Quarantine", "Spool"]),
        .testTarget(
            name: "ScanningTests",
            dependencies: ["Scanning", "Policy", "MIME", "SpamRules", "GatehouseCore"]
        ),
        .testTarget(
            name: "ConfigurationTests",
            dependencies: ["Configuration", "GatehouseCore", "Policy"]
        ),
        .testTarget(
            name: "DeliveryTests",
            dependencies: [
                "Delivery", "Spool", "Configuration", "GatehouseCore", "SMTPProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "Node", "Configuration", "Spool", "SMTPProtocol", "GatehouseCore", "DNS", "Policy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
