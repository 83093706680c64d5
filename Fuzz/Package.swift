// swift-tools-version:6.1
// libFuzzer targets for blocksmith's decoders. Build and run with ../Fuzz/run.sh (or `make fuzz`);
// kept apart from the main package so its sanitizer flags never reach a normal build.
import PackageDescription
import Foundation

// A path dependency is named after its folder, which is whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "blocksmith-fuzz",
    dependencies: [.package(path: "..")],
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
    ]
)
