// swift-tools-version:6.1
// libFuzzer targets for blocksmith: the decoders, show, verify, the index and the learning chain. Build and run with ../Fuzz/run.sh (or `make fuzz`);
// kept apart from the main package so its sanitizer flags never reach a normal build.
import PackageDescription
import Foundation

// A path dependency is named after its folder, which is whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "blocksmith-fuzz",
    dependencies: [.package(path: ".."), .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0")],
    targets: [
        .target(name: "CFuzzer"),
        .executableTarget(
            name: "FuzzDecoder",
            dependencies: [
                "CFuzzer",
                .product(name: "BitcoinWire", package: root),
                .product(name: "BitcoinScript", package: root),
                .product(name: "BlockFile", package: root),
                .product(name: "Validation", package: root),
            ]),
        .executableTarget(
            name: "FuzzShow",
            dependencies: ["CFuzzer", .product(name: "BitcoinWire", package: root), .product(name: "BlockFile", package: root),
                           .product(name: "Export", package: root)]),
        .executableTarget(
            name: "FuzzVerify",
            dependencies: ["CFuzzer", .product(name: "BitcoinWire", package: root), .product(name: "BlockFile", package: root),
                           .product(name: "Validation", package: root)]),
        .executableTarget(
            name: "FuzzIndex",
            dependencies: ["CFuzzer", .product(name: "BitcoinWire", package: root), .product(name: "BlockFile", package: root),
                           .product(name: "ChainIndex", package: root), .product(name: "GRDB", package: "GRDB.swift")]),
        .executableTarget(
            name: "FuzzChain",
            dependencies: ["CFuzzer", .product(name: "BitcoinWire", package: root), .product(name: "LearningChain", package: root),
                           .product(name: "Validation", package: root)]),
    ]
)
