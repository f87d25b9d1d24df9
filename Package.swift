// swift-tools-version:6.0
import PackageDescription

// hubagent has no package dependencies by design (docs/ARCHITECTURE.md): the Swift toolchain plus
// three system C libraries reached through module maps.

/// Strictness applied to every Swift target in one place.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // Test hooks (fault injection, the watchdog stop, fast soak cycles) exist only in debug builds
    // and in the test build of the daemon (make test-build, -DHUBAGENT_TEST_HOOKS), never in the
    // release binary (docs/ARCHITECTURE.md, "Test hooks").
    .define("HUBAGENT_TEST_HOOKS", .when(configuration: .debug)),
]

var targets: [Target] = [
    // C libraries, each wrapped by exactly one Swift module.
    .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
    .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
    .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

    // A small JSON parser with line:column errors, and a serializer that keeps member order.
    .target(name: "JSON"),
    // Glibc- and systemd-facing building blocks: file descriptors, durable writes, clock, logging,
    // signals, sockets, name resolution, subprocesses, sd_notify.
    .target(name: "Platform", dependencies: ["CSystemd"]),
    // The only importer of COpenSSL: keys, MACs, digests, JWS.
    .target(name: "Crypto", dependencies: ["COpenSSL", "JSON"]),
    // The Agent Management API over libcurl.
    .target(name: "Southgate", dependencies: ["CCurl", "Crypto", "JSON", "Platform"]),
    // Boarding, credential store, data sources, the lifecycle state machine and its driver.
    .target(name: "Agent", dependencies: ["Crypto", "JSON", "Southgate", "Platform"]),
    // The data relay: ingest, validation, the journal, and upload to the exchange endpoint.
    .target(name: "Relay", dependencies: ["Agent", "Crypto", "JSON", "Platform", "Southgate"]),
    // Command-line parsing, one file per subcommand, and the checks of `hubagent check`.
    .target(name: "Commands", dependencies: ["Agent", "Crypto", "JSON", "Platform", "Relay", "Southgate"]),
    // The binary: main.swift only.
    .executableTarget(name: "hubagent", dependencies: ["Commands"]),

    .testTarget(name: "JSONTests", dependencies: ["JSON"]),
    .testTarget(name: "PlatformTests", dependencies: ["Platform"]),
    .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
    // Fixture files are read from the source tree by path, not bundled as resources.
    .testTarget(name: "AgentTests", dependencies: ["Agent"], exclude: ["Fixtures/datasources"]),
    .testTarget(name: "RelayTests", dependencies: ["Relay", "Agent", "Crypto", "JSON", "Platform", "Southgate"]),
    .testTarget(name: "CommandsTests", dependencies: ["Commands", "Agent", "Crypto", "JSON", "Platform"]),
]

// libFuzzer targets (Tests/Fuzz/README.md), declared only when HUBAGENT_FUZZ=1 so the normal build
// and test never see them. Tests/Fuzz/run.sh passes -sanitize=fuzzer,address for every module:
// the libraries get coverage instrumentation, and each target's main hands over to libFuzzer.
if Context.environment["HUBAGENT_FUZZ"] == "1" {
    targets.append(.systemLibrary(name: "CLibFuzzer", path: "Tests/Fuzz/CLibFuzzer"))
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("fuzz-boarding", ["Agent", "JSON", "Platform"]),
        ("fuzz-datasources", ["Agent", "JSON"]),
        ("fuzz-jwt", ["Crypto", "JSON"]),
        ("fuzz-southgate", ["Southgate", "Crypto", "JSON"]),
        ("fuzz-local-http", ["Platform"]),
        ("fuzz-ingest", ["Relay", "Agent", "JSON"]),
        ("fuzz-events", ["Relay", "JSON"]),
        ("fuzz-codec", ["Relay", "JSON"]),
        ("fuzz-journal", ["Relay", "Platform"]),
        ("fuzz-exchange", ["Relay", "JSON"]),
    ]
    for target in fuzzTargets {
        targets.append(
            .executableTarget(
                name: target.name, dependencies: target.dependencies + ["CLibFuzzer"], path: "Tests/Fuzz/\(target.name)"
            ))
    }
}

for index in targets.indices where targets[index].type != .system {
    targets[index].swiftSettings = (targets[index].swiftSettings ?? []) + strict
}

let package = Package(
    name: "hubagent",
    targets: targets,
    swiftLanguageModes: [.v6]
)
