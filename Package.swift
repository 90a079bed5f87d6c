// swift-tools-version:6.0
// Vigil: a streaming fraud-detection service. See README.md and the design notes it points to.
import PackageDescription

let package = Package(
    name: "vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .executable(name: "vigil-bench", targets: ["VigilBenchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // SHA-256, HMAC-SHA-256 and Ed25519 for the audit hash chain (BoringSSL underneath).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // Telemetry: Prometheus registry/exposition (built on apple/swift-metrics) and the HTTP server for /metrics.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // The scoring client's connection and HTTP/1.1 framing (the same SwiftNIO Hummingbird serves on).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // `vigil serve` as a ServiceGroup: batch loop, model follower, trainer, lag monitor, HTTP endpoint.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Tests only: parses the YAML under deploy/ (compose, Kubernetes, Prometheus rules).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // System libraries: one module map and one header each. Only the wrapper
        // targets (and the toolchain smoke checks) import these.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),

        // Plain librdkafka loops: the yardstick for Kafka benchmarks and the toolchain smoke check.
        .target(
            name: "KafkaBaseline",
            dependencies: ["CRdKafka"]
        ),

        // The librdkafka wrapper: consumer with application-owned offsets, producer, typed errors.
        .target(
            name: "VigilKafka",
            dependencies: ["CRdKafka"]
        ),

        // libpq wrapper, schema migrations runner: the only target importing CLibPQ.
        .target(
            name: "VigilPostgres",
            dependencies: ["CLibPQ"]
        ),

        // VigilML's INT8 scoring kernels in C: AVX-512 VNNI (vpdpbusd, which Swift cannot emit)
        // and a portable form, chosen at start from the CPU's features. Only VigilML imports it.
        .target(
            name: "CVigilKernels",
            cSettings: [.unsafeFlags(["-O2"])]
        ),

        // Tensors and kernels over OpenBLAS, the contrastive autoencoder and the sparse
        // mixed-precision classifier, model files. The only target importing COpenBLAS and CVigilKernels.
        .target(
            name: "VigilML",
            dependencies: ["COpenBLAS", "CVigilKernels"]
        ),

        // The audit trail's hash chain: the canonical row encoding, chain links, signatures and
        // `vigil audit verify`'s recomputation over the stored rows.
        .target(
            name: "VigilAudit",
            dependencies: ["VigilPostgres", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Event schema, decoding and validation, feature spec, streaming entity state. Pure Swift.
        .target(name: "VigilFeatures"),

        // The transaction simulator behind `vigil gen`: customers, terminals, fraud scenarios, delayed labels.
        .target(
            name: "VigilSimulator",
            dependencies: ["VigilFeatures", "VigilML", "VigilKafka"]
        ),

        // Scorer, decision policy, model registry and hot-swap, online trainer: the engine
        // that serve and replay share. Imports VigilML and VigilFeatures only.
        .target(
            name: "VigilEngine",
            dependencies: ["VigilML", "VigilFeatures"]
        ),

        // The runtime behind `vigil serve`: partition ownership, the exactly-once audit sink,
        // dead letters, entity-state snapshots and the pipeline wiring.
        .target(
            name: "VigilService",
            dependencies: ["VigilKafka", "VigilPostgres", "VigilFeatures", "VigilML", "VigilEngine",
                           "VigilAudit",
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "UnixSignals", package: "swift-service-lifecycle")]
        ),

        // `vigil replay`: deterministic backtests over recorded streams, prequential
        // evaluation with delayed labels through VigilEngine's own scorer, policy and trainer, metrics and reports.
        .target(
            name: "VigilReplay",
            dependencies: ["VigilEngine", "VigilFeatures", "VigilML", "VigilKafka", "VigilSimulator"]
        ),

        // The command-line interface.
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilService",
                "VigilReplay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        // Benchmarks, run in release mode through tools/bench NAME.
        .executableTarget(
            name: "VigilBenchmarks",
            dependencies: [
                "KafkaBaseline",
                "VigilKafka",
                "VigilPostgres",
                "VigilML",
                "VigilFeatures",
                "VigilSimulator",
                "VigilEngine",
                "VigilService",
                "VigilReplay",
                "VigilAudit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `api`: the HTTP floor, a no-op handler next to the scoring endpoint.
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),

        // Unit tests: fast, no servers (VigilKafkaTests uses librdkafka's in-process mock cluster).
        .testTarget(
            name: "VigilKafkaTests",
            dependencies: ["VigilKafka"]
        ),
        .testTarget(
            name: "VigilPostgresTests",
            dependencies: ["VigilPostgres"]
        ),
        .testTarget(
            name: "VigilAuditTests",
            dependencies: ["VigilAudit", "VigilPostgres"]
        ),
        .testTarget(
            name: "VigilMLTests",
            dependencies: ["VigilML"]
        ),
        .testTarget(
            name: "VigilEngineTests",
            dependencies: ["VigilEngine", "VigilML", "VigilFeatures", "VigilSimulator"]
        ),
        .testTarget(
            name: "VigilServiceTests",
            dependencies: ["VigilService", "VigilKafka", "VigilFeatures", "VigilEngine", "VigilPostgres",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
        .testTarget(
            name: "VigilReplayTests",
            dependencies: ["VigilReplay", "VigilEngine", "VigilFeatures", "VigilSimulator"]
        ),
        .testTarget(
            name: "VigilFeaturesTests",
            dependencies: ["VigilFeatures", "VigilSimulator"]
        ),

        // The files under deploy/ (and the one package list they share with tools/bootstrap):
        // they parse, and say what the service and the tools really do. No servers.
        .testTarget(
            name: "DeployTests",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),

        // Integration tests: the real local broker and PostgreSQL from tools/stack.
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["KafkaBaseline", "VigilKafka", "VigilPostgres", "CLibPQ", "COpenBLAS",
                           "VigilService", "VigilFeatures", "VigilSimulator", "VigilEngine", "VigilAudit", "VigilReplay",
                           .product(name: "Yams", package: "Yams")]
        ),
    ]
)
