// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "blocksmith",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "blocksmith", targets: ["blocksmith"]),
        .library(name: "BitcoinWire", targets: ["BitcoinWire"]),
        .library(name: "BitcoinScript", targets: ["BitcoinScript"]),
        .library(name: "BlockFile", targets: ["BlockFile"]),
        .library(name: "Validation", targets: ["Validation"]),
        .library(name: "Export", targets: ["Export"]),
        .library(name: "ChainIndex", targets: ["ChainIndex"]),
        .library(name: "ChainServer", targets: ["ChainServer"]),
        .library(name: "LearningChain", targets: ["LearningChain"]),
        .library(name: "DatasetExport", targets: ["DatasetExport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The server: HTTP (no optional traits: swift-configuration is not needed) and GraphQL.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/GraphQLSwift/Graphiti", from: "3.1.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // gzip for the export (zlib on swift-nio's buffers; swift-nio comes with Hummingbird).
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "BitcoinWire",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(
            name: "BitcoinScript",
            dependencies: ["BitcoinWire", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(name: "Validation", dependencies: ["BitcoinWire", "BitcoinScript"], swiftSettings: strict),
        .target(name: "BlockFile", dependencies: ["BitcoinWire", "Validation"], swiftSettings: strict),
        .target(
            name: "Export",
            dependencies: ["BitcoinWire", "BitcoinScript", "BlockFile", "Validation", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(
            name: "ChainIndex",
            dependencies: ["BitcoinWire", "BitcoinScript", "BlockFile", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "GRDBSQLite", package: "GRDB.swift")],
            swiftSettings: strict),
        // BoringSSL's SHA-256 compression function, which swift-crypto links in (the miner's midstate).
        .target(name: "CSHA256Compress"),
        .target(
            name: "LearningChain",
            dependencies: ["BitcoinWire", "BitcoinScript", "Validation", "Export", "CSHA256Compress",
                           .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(
            name: "DatasetExport",
            dependencies: ["BitcoinWire", "BitcoinScript", "BlockFile", "Export", "ChainIndex",
                           .product(name: "CompressNIO", package: "compress-nio"),
                           .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .target(
            name: "ChainServer",
            dependencies: ["BitcoinWire", "BitcoinScript", "BlockFile", "Validation", "ChainIndex", "Export", "LearningChain",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Graphiti", package: "Graphiti"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .executableTarget(
            name: "blocksmith",
            dependencies: [
                "BitcoinWire", "BitcoinScript", "BlockFile", "Validation", "Export", "ChainIndex", "ChainServer", "LearningChain",
                "DatasetExport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .target(name: "TestFixtures", dependencies: ["BitcoinWire", "BitcoinScript"], path: "Tests/Fixtures", resources: [.copy("Data")]),
        .testTarget(name: "BitcoinWireTests", dependencies: ["BitcoinWire", "TestFixtures"], swiftSettings: strict),
        .testTarget(name: "BitcoinScriptTests", dependencies: ["BitcoinScript", "TestFixtures"], swiftSettings: strict),
        .testTarget(name: "BlockFileTests", dependencies: ["BlockFile", "BitcoinWire", "TestFixtures"], swiftSettings: strict),
        .testTarget(
            name: "ValidationTests",
            dependencies: ["Validation", "BlockFile", "BitcoinScript", "TestFixtures", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .testTarget(name: "ExportTests", dependencies: ["Export", "BitcoinWire", "BitcoinScript", "TestFixtures"], swiftSettings: strict),
        .testTarget(
            name: "DatasetExportTests",
            dependencies: ["DatasetExport", "Export", "ChainIndex", "BlockFile", "BitcoinWire", "TestFixtures",
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
        .testTarget(
            name: "ChainIndexTests",
            dependencies: ["ChainIndex", "BitcoinWire", "BitcoinScript", "BlockFile", "TestFixtures",
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
        .testTarget(
            name: "ChainServerTests",
            dependencies: ["ChainServer", "ChainIndex", "BlockFile", "BitcoinWire", "TestFixtures"],
            swiftSettings: strict),
        .testTarget(
            name: "LearningChainTests",
            dependencies: ["LearningChain", "Validation", "BitcoinWire", "TestFixtures"],
            swiftSettings: strict),
        .testTarget(
            name: "blocksmithTests",
            dependencies: ["blocksmith", "ChainIndex", "TestFixtures", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
    ]
)
