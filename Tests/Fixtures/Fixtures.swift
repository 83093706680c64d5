import Foundation

/// Real Bitcoin block data for the tests, copied from `../shared/data` (see Data/README.md).
public enum Fixtures {
    /// The `Data` folder inside the test bundle.
    public static let root: URL = Bundle.module.url(forResource: "Data", withExtension: nil)!

    /// A fixture's location, e.g. `url("blocks/mainnet-000000.blk")`.
    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// A fixture's path, e.g. `path("blocks/mainnet-000000.blk")`.
    public static func path(_ relative: String) -> String { url(relative).path }

    /// A fixture's bytes.
    public static func bytes(_ relative: String) -> [UInt8] {
        [UInt8](try! Data(contentsOf: url(relative)))
    }

    /// The block files (`.blk`, `.bin`) in a fixture folder, sorted. Anything else there, such
    /// as the JSON `./parse.sh` writes beside a sample, is not a fixture.
    public static func files(in folder: String) -> [String] {
        let names = try! FileManager.default.contentsOfDirectory(atPath: url(folder).path)
        return names.filter { $0.hasSuffix(".blk") || $0.hasSuffix(".bin") }.sorted().map { "\(folder)/\($0)" }
    }

    /// Splits a well-formed blk file into its blocks: (offset of the magic, block bytes).
    public static func blocks(_ relative: String) -> [(offset: Int, bytes: [UInt8])] {
        let file = bytes(relative)
        var blocks: [(Int, [UInt8])] = []
        var i = 0
        while i + 8 <= file.count {
            let size = Int(file[i + 4]) | Int(file[i + 5]) << 8 | Int(file[i + 6]) << 16 | Int(file[i + 7]) << 24
            precondition(i + 8 + size <= file.count, "\(relative) is not a well-formed blk file")
            blocks.append((i, Array(file[(i + 8)..<(i + 8 + size)])))
            i += 8 + size
        }
        return blocks
    }

    /// A fresh temporary folder, removed by the caller when done.
    public static func temporaryFolder() -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("blocksmith-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A small seeded generator (SplitMix64), so randomized tests reproduce.
public struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Fixtures {
    /// Writes `blocks` (framed: magic, size, block) as a Bitcoin Core style blocks folder:
    /// shuffled within `shuffle` places, split over `files` blk files, XORed with `xor`
    /// (with an `xor.dat`), and the last file padded with `padding` raw zero bytes.
    public static func blocksFolder(_ blocks: [[UInt8]], files: Int = 3, shuffle: Int = 0, seed: UInt64 = 1,
                                    xor: [UInt8]? = nil, padding: Int = 0) -> URL {
        var order = Array(blocks.indices)
        var rng = SeededGenerator(seed: seed)
        if shuffle > 1 {
            for i in order.indices {
                let j = min(order.count - 1, i + Int.random(in: 0..<shuffle, using: &rng))
                order.swapAt(i, j)
            }
        }
        let folder = temporaryFolder()
        let perFile = (order.count + files - 1) / max(files, 1)
        for f in 0..<files {
            var bytes = [UInt8]()
            for i in order.dropFirst(f * perFile).prefix(perFile) { bytes += blocks[i] }
            if let xor {
                for i in bytes.indices { bytes[i] ^= xor[i % 8] }
            }
            if f == files - 1 { bytes += [UInt8](repeating: 0, count: padding) }
            let name = "blk" + String(repeating: "0", count: 5 - String(f).count) + String(f) + ".dat"
            _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data(bytes))
        }
        if let xor { _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("xor.dat").path, contents: Data(xor)) }
        return folder
    }

    /// The framed blocks of a blk fixture (magic, size and block each).
    public static func framedBlocks(_ relative: String) -> [[UInt8]] {
        let file = bytes(relative)
        return blocks(relative).map { Array(file[$0.offset..<($0.offset + 8 + $0.bytes.count)]) }
    }
}
