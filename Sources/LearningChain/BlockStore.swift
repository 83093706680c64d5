public import Foundation
public import BitcoinWire

/// A learning chain's folder: Core-style blk files (the chain's magic and each block's size,
/// then the block), append-only, every block the node accepted in the order it did; the
/// tutorial's view of the best chain, one JSON file per height; the tip; the chain's settings.
///
/// ```
/// DIR/chain.json          {"network", "genesis", "genesis_zeros"}
/// DIR/blocks/blk00000.dat the blocks (a new file every 128 MiB)
/// DIR/json/000000.json    the best chain, one block per file (zero-padded heights sort)
/// DIR/tip.json            {"hash", "height", "chainwork"}
/// ```
/// Everything but the blk files is derived from them and rewritten when the node starts: a
/// node killed in the middle of a write comes back consistent (a torn last block is cut off).
/// One process at a time holds a folder (an exclusive `flock` on `DIR/.lock`).
public final class BlockStore {
    public let directory: URL
    public let network: ChainParameters
    /// Each blk file holds at most this many bytes (Core's `MAX_BLOCKFILE_SIZE`).
    public static let maxFileSize = 128 << 20
    private var lock: Int32 = -1
    private var fileNumber = 0
    private var fileSize = 0

    var blocksDirectory: URL { directory.appendingPathComponent("blocks") }
    var jsonDirectory: URL { directory.appendingPathComponent("json") }
    var settingsURL: URL { directory.appendingPathComponent("chain.json") }
    var tipURL: URL { directory.appendingPathComponent("tip.json") }

    /// The settings a folder was created with.
    public struct Settings: Codable, Sendable, Equatable {
        public var network: String
        public var genesis: String
        public var genesisZeros: Int
        enum CodingKeys: String, CodingKey { case network, genesis, genesisZeros = "genesis_zeros" }
    }
    public private(set) var settings: Settings

    /// Creates a chain folder holding only `genesis`.
    /// - Throws: `ChainError.exists` when the folder already holds a chain.
    public static func create(at path: String, genesis: Block, zeros: Int, network: ChainParameters = .learning) throws -> BlockStore {
        let directory = URL(fileURLWithPath: path)
        let fm = FileManager.default
        if fm.fileExists(atPath: directory.appendingPathComponent("chain.json").path) {
            throw ChainError.exists("\(path) already holds a chain (chain.json); remove it or choose another --dir")
        }
        try fm.createDirectory(at: directory.appendingPathComponent("blocks"), withIntermediateDirectories: true)
        try fm.createDirectory(at: directory.appendingPathComponent("json"), withIntermediateDirectories: true)
        let settings = Settings(network: network.name, genesis: genesis.header.hash.displayHex, genesisZeros: zeros)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(settings).write(to: directory.appendingPathComponent("chain.json"), options: .atomic)
        let store = try BlockStore(opening: path, network: network)
        try store.append(genesis.encoded())
        return store
    }

    /// Opens a chain folder and takes its lock.
    /// - Throws: `ChainError.missing` without a chain, `.busy` when another process has it.
    public init(opening path: String, network: ChainParameters = .learning) throws {
        directory = URL(fileURLWithPath: path)
        self.network = network
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("chain.json").path) else {
            throw ChainError.missing("\(path) holds no chain: run `blocksmith chain init --dir \(path)` first")
        }
        guard let settings = try? JSONDecoder().decode(Settings.self, from: data), settings.network == network.name else {
            throw ChainError.corrupt("\(path)/chain.json is not the settings of a \(network.name) chain")
        }
        self.settings = settings
        lock = open(directory.appendingPathComponent(".lock").path, O_CREAT | O_RDWR, 0o644)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            if lock >= 0 { close(lock) }
            throw ChainError.busy("another blocksmith process is using \(path) (stop its node first, or use the node's HTTP API)")
        }
    }

    deinit { release() }

    /// Gives up the folder's lock (the store is not used after this).
    public func release() {
        if lock >= 0 { close(lock) }
        lock = -1
    }

    func blockFile(_ n: Int) -> URL { blocksDirectory.appendingPathComponent(String(format: "blk%05d.dat", n)) }

    /// Every stored block's bytes, in the order they were written. A torn end of the last file
    /// (a short frame, a frame that does not decode, bytes that are not a frame) is cut off.
    /// - Parameter warn: told what was cut.
    /// - Throws: `ChainError.corrupt` for damage anywhere but the end of the last file.
    public func load(warn: (String) -> Void = { _ in }) throws -> [[UInt8]] {
        var numbers = [Int]()
        while FileManager.default.fileExists(atPath: blockFile(numbers.count).path) { numbers.append(numbers.count) }
        var blocks = [[UInt8]]()
        for n in numbers {
            let url = blockFile(n)
            let bytes = [UInt8](try Data(contentsOf: url))
            var position = 0
            var good = 0
            while position < bytes.count {
                let problem: String?
                if bytes.count - position < 8 {
                    problem = "\(bytes.count - position) bytes, too few for a frame"
                } else {
                    let magic = UInt32(bytes[position]) | UInt32(bytes[position + 1]) << 8 | UInt32(bytes[position + 2]) << 16 | UInt32(bytes[position + 3]) << 24
                    let size = Int(UInt32(bytes[position + 4]) | UInt32(bytes[position + 5]) << 8 | UInt32(bytes[position + 6]) << 16 | UInt32(bytes[position + 7]) << 24)
                    if magic != network.magic {
                        problem = "no \(network.name) magic"
                    } else if size < Limits.headerSize || size > Limits.maxBlockSerializedSize {
                        problem = "a block size of \(size)"
                    } else if size > bytes.count - position - 8 {
                        problem = "a block of \(size) bytes with \(bytes.count - position - 8) written"
                    } else {
                        let body = Array(bytes[(position + 8)..<(position + 8 + size)])
                        if (try? Block(decoding: body)) == nil {
                            problem = "a block that does not decode"
                        } else {
                            blocks.append(body)
                            position += 8 + size
                            good = position
                            continue
                        }
                    }
                }
                guard let problem else { break }
                guard n == numbers.last else {
                    throw ChainError.corrupt("\(url.path) at byte \(position): \(problem), and later files follow")
                }
                warn("\(url.lastPathComponent) ends in a torn write at byte \(position) (\(problem)): cut to \(good) bytes")
                guard truncate(url.path, off_t(good)) == 0 else { throw ChainError.io("cannot truncate \(url.path)") }
                break
            }
            fileNumber = n
            fileSize = good
        }
        return blocks
    }

    /// Appends one block (magic, size, bytes) and flushes it to disk.
    public func append(_ block: [UInt8]) throws {
        if fileSize > 0 && fileSize + 8 + block.count > Self.maxFileSize {
            fileNumber += 1
            fileSize = 0
        }
        var frame = [UInt8]()
        frame.reserveCapacity(8 + block.count)
        frame.appendLE(network.magic)
        frame.appendLE(UInt32(block.count))
        frame += block
        let path = blockFile(fileNumber).path
        let fd = open(path, O_CREAT | O_WRONLY | O_APPEND, 0o644)
        guard fd >= 0 else { throw ChainError.io("cannot open \(path) for appending") }
        defer { close(fd) }
        let written = frame.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == frame.count, fsync(fd) == 0 else { throw ChainError.io("cannot write a block to \(path)") }
        fileSize += frame.count
    }

    // MARK: the tutorial's view

    func viewURL(height: Int64) -> URL { jsonDirectory.appendingPathComponent(String(format: "%06lld.json", height)) }

    /// The hash recorded in the view file of `height`, if the file is there and readable.
    func viewHash(height: Int64) -> String? {
        guard let data = FileManager.default.contents(atPath: viewURL(height: height).path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["hash"] as? String
    }

    /// Writes one block's view file (atomically: a reader sees the old file or the new one).
    func writeView(height: Int64, json: [UInt8]) throws {
        try Data(json).write(to: viewURL(height: height), options: .atomic)
    }

    /// Removes the view files above `height`.
    func removeViews(above height: Int64) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: jsonDirectory.path)) ?? []
        for name in names where name.hasSuffix(".json") {
            if let h = Int64(name.dropLast(5)), h > height {
                try? FileManager.default.removeItem(at: jsonDirectory.appendingPathComponent(name))
            }
        }
    }

    func writeTip(_ json: [UInt8]) throws {
        try Data(json).write(to: tipURL, options: .atomic)
    }
}

/// What can go wrong with a chain folder or a node, said in a sentence.
public enum ChainError: Error, CustomStringConvertible, Sendable {
    case exists(String), missing(String), busy(String), corrupt(String), io(String), peer(String), invalid(String)

    public var description: String {
        switch self {
        case .exists(let s), .missing(let s), .busy(let s), .corrupt(let s), .io(let s), .peer(let s), .invalid(let s): s
        }
    }
}
