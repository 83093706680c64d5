import Foundation
public import GRDB
public import BitcoinWire
import BitcoinScript
public import BlockFile
import Validation

/// A block the index refused: where it is, and the rule it broke (Core's reject reason).
public struct InvalidBlock: Sendable, Equatable, CustomStringConvertible {
    public let hash: BlockHash
    public let file: String
    /// Offset of the block's magic in `file`.
    public let offset: Int
    public let rule: String
    public let detail: String

    public var description: String { "\(file) at offset \(offset): block \(hash) is invalid: \(rule): \(detail)" }
}

/// How indexing went.
public struct IndexReport: Sendable {
    public var blocksRead = 0
    public var connected = 0
    public var disconnected = 0
    public var orphans = 0
    /// Blocks found invalid in this run, in the order found.
    public var invalid: [InvalidBlock] = []
    public var tipHash: BlockHash?
    public var tipHeight: Int64?
}

/// What the indexer is doing, for a progress display.
public struct IndexProgress: Sendable {
    public var phase: String
    public var files = 0, filesTotal = 0
    public var bytes = 0, bytesTotal = 0
    public var blocks = 0, blocksTotal = 0
    public var transactions = 0
    /// While connecting: bytes of the blocks connected, and of all the blocks to connect in
    /// this step (blocks get heavier along a chain, so bytes, not blocks, tell what is left).
    public var connectedBytes = 0, connectBytesTotal = 0
}

/// Where indexing time went: wall-clock seconds per step, in the order first measured.
public struct IndexTimings: Sendable {
    public private(set) var steps: [(name: String, seconds: Double)] = []

    mutating func add(_ name: String, _ seconds: Double) {
        if let i = steps.firstIndex(where: { $0.name == name }) { steps[i].seconds += seconds } else { steps.append((name, seconds)) }
    }
}

/// Stops indexing after a number of committed batches (crash-safety tests).
package struct IndexAbort: Error {}

/// Builds and updates the index of a blocks folder: reads what is new, links blocks by
/// previous hash into a `BlockTree`, and connects the most-work chain of blocks not known to
/// be invalid (or, on a reorg, disconnects down to the fork first) in batches, each one
/// SQLite transaction.
///
/// Every block passes Core's context-free rules (`BlockRules`) when it is read, and the
/// UTXO rules (`ConnectRules`) when it joins the best chain. A block that breaks one is
/// recorded as invalid with Core's reject reason and kept out of the best chain with all its
/// descendants; the best chain falls back to the best valid one.
public final class ChainIndexer {
    public let database: any DatabaseWriter
    /// Blocks connected per committed batch, at most (also bounded by `commitRows`).
    public var batchSize = 50_000
    /// Bytes of blocks in flight between the decoding threads and the writer, about: the
    /// window holds this many bytes' worth of the largest block to connect (4 to 256 blocks).
    public var readAheadBytes = 32 << 20
    /// Abort (throwing `IndexAbort`) after this many committed batches; for tests.
    package var abortAfterBatches: Int?
    public var progress: (IndexProgress) -> Void = { _ in }
    public var warn: (String) -> Void = { _ in }
    var batches = 0
    var state = IndexProgress(phase: "reading")
    /// Where the time went in the last `index` call.
    public var timings = IndexTimings()

    /// Adds the time `body` takes to the timings' step `name` (steps may nest).
    func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        timings.add(name, 0)  // listed before the steps inside it
        let start = monotonicNanoseconds()
        defer { timings.add(name, Double(monotonicNanoseconds() - start) / 1e9) }
        return try body()
    }

    /// Where the index lives when no path is given: `$BLOCKSMITH_DB` when set, else
    /// `index.sqlite` in `$XDG_DATA_HOME/blocksmith` (by default `~/.local/share/blocksmith`).
    public static func defaultPath(environment: [String: String]? = nil) -> String {
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let path = environment["BLOCKSMITH_DB"], !path.isEmpty { return path }
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share"
        return data + "/blocksmith/index.sqlite"
    }

    /// Opens (creating and migrating) the index at `path`.
    public static func open(path: String) throws -> DatabasePool {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        try Schema.migrator.migrate(pool)
        return pool
    }

    /// Opens an index that exists, for reading it (`query`, `export`), migrating it if an
    /// earlier release wrote it.
    /// - Throws: `IndexError` when there is no such file, or it is not a blocksmith index
    ///   (another SQLite database, or not SQLite at all); such a file is left untouched.
    public static func openExisting(path: String) throws -> DatabasePool {
        guard FileManager.default.fileExists(atPath: path) else { throw IndexError("\(path): no such index (run blocksmith index first)") }
        do {
            var config = Configuration()
            config.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: config)
            let ours = try queue.read { db in
                try db.tableExists("grdb_migrations") && db.tableExists("meta") && db.tableExists("blocks")
            }
            try queue.close()
            guard ours else { throw IndexError("\(path): not a blocksmith index (no index tables in it)") }
        } catch let error as DatabaseError {
            throw IndexError("\(path): not a blocksmith index (\(error.message ?? error.description))")
        }
        return try open(path: path)
    }

    /// Uses an open database (migrating it if needed).
    public init(database: any DatabaseWriter) throws {
        self.database = database
        try Schema.migrator.migrate(database)
    }

    /// Indexes what is new in `folder`.
    public func index(_ folder: BlocksFolder) throws -> IndexReport {
        var report = IndexReport()
        timings = IndexTimings()
        let start = monotonicNanoseconds()
        report.blocksRead = try measure("read, decode and check blocks (2 threads)") { try scan(folder, report: &report) }
        let skip = report.blocksRead == 0 ? try linkedAlready(&report) : false
        if !skip { try link(folder, report: &report) }
        timings.add("total", Double(monotonicNanoseconds() - start) / 1e9)
        return report
    }

    /// Memory for the caches (`--dbcache`, as Bitcoin Core's `-dbcache`).
    public var memory = IndexMemory(mebibytes: IndexMemory.defaultMiB)
    /// Unspent outputs, address ids and remembered spends the connector keeps in memory, at
    /// most, instead of what `memory` allows (tests: a tiny cache).
    public var coinCapacity: Int?
    /// Rows gathered in memory before they are written, at most.
    var batchRows = 400_000
    /// Blocks gathered in memory before their rows are written, at most.
    var writeBlocks = 2_000
    /// Rows written before a commit, at most.
    public var commitRows = 5_000_000

    func markInvalid(_ db: Database, _ block: Stored, reason: String, detail: String) throws {
        try db.execute(sql: "UPDATE blocks SET invalid_reason = ?, invalid_detail = ? WHERE id = ?", arguments: [reason, detail, block.id])
    }

    func committedBatch() throws {
        batches += 1
        if let abortAfterBatches, batches >= abortAfterBatches { throw IndexAbort() }
    }

    /// Open files, by name, while linking and connecting.
    var openFiles = [String: MappedFile]()

    /// The mapped file `name` of `folder` (kept open while linking and connecting).
    func openFile(_ folder: BlocksFolder, _ name: String) throws -> MappedFile {
        if let open = openFiles[name] { return open }
        guard let path = folder.files.first(where: { $0.hasSuffix("/" + name) || $0 == name }) else {
            throw IndexError("a block is in \(name), which is not among the files given")
        }
        let file = try MappedFile(path: path, populate: false)
        openFiles[name] = file
        return file
    }

    /// Reads a block back from its file.
    func readBlock(_ folder: BlocksFolder, _ node: Stored, hash: BlockHash) throws -> (block: Block, offsets: [Int]) {
        try Self.readBlock(in: openFile(folder, node.file), key: folder.xorKey, at: node.offset)
    }

    /// Reads and decodes the block whose frame starts at `offset` in `file`.
    /// - Throws: `IndexError` when the file no longer holds it, `DecodeError` when it no longer decodes.
    static func readBlock(in file: MappedFile, key: [UInt8]?, at offset: Int) throws -> (block: Block, offsets: [Int]) {
        guard let bytes = BlockFileReader.block(in: file, key: key, at: offset) else {
            throw IndexError("\(file.path): no block at offset \(offset) any more")
        }
        let (block, offsets) = try Block.decodeLocated(bytes, baseOffset: offset + 8)
        return (block, offsets)
    }

}

/// A problem that stops indexing.
public struct IndexError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

func data(_ hash: Hash256) -> Data { hash.withUnsafeBytes { Data($0) } }
func hash(_ data: Data) -> Hash256 { Hash256(wireBytes: data) ?? .zero }

/// `path` made absolute (symbolic links resolved), so a server started elsewhere finds the file.
func absolutePath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
