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

    // MARK: reading the files

    func scan(_ folder: BlocksFolder, report: inout IndexReport) throws -> Int {
        state.filesTotal = folder.files.count
        state.bytesTotal = folder.files.reduce(0) { total, path in
            var info = stat()
            return total + (stat(path, &info) == 0 ? Int(info.st_size) : 0)
        }
        var scannedBefore = 0
        var read = 0
        for (f, path) in folder.files.enumerated() {
            let name = String(path.split(separator: "/").last ?? Substring(path))
            let start = try database.read { db in try Int.fetchOne(db, sql: "SELECT data_end FROM files WHERE name = ?", arguments: [name]) } ?? 0
            let file = try MappedFile(path: path, populate: false)
            state.files = f + 1
            var reader = BlockFileReader(file: file, key: folder.xorKey, start: start)
            var released = 0
            // Only header rows wait here (the decoded block is dropped as soon as it is checked).
            var pending = [(frame: BlockFrame, header: BlockHeader, size: Int, weight: Int, txCount: Int, failure: RuleFailure?)]()
            // How far the blocks handed to `consume` reach: the reader itself runs ahead (the
            // pipeline's window), and a resumed run must start after the last block recorded.
            var consumed = start
            func flush(atEnd: Bool = false) throws {
                let end = atEnd ? reader.dataEnd ?? reader.position : consumed
                try database.write { db in
                    if let first = pending.first, try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'network'") == nil {
                        try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('network', ?)", arguments: [first.frame.network.name])
                    }
                    let insert = try RowStatement(db, Self.insertHeader)
                    for row in pending {
                        let h = row.header
                        try insert.run {
                            $0.hash(h.hash); $0.hash(h.previousBlockHash); $0.int(Int64(h.version)); $0.hash(h.merkleRoot); $0.int(Int64(h.time))
                            $0.int(Int64(h.bits)); $0.int(Int64(h.nonce)); $0.int(row.size); $0.int(row.weight); $0.int(row.txCount)
                            $0.text(name); $0.int(row.frame.offset); $0.text(row.failure?.rule); $0.text(row.failure?.detail)
                        }
                    }
                    try db.execute(sql: """
                        INSERT INTO files (name, data_end, path) VALUES (?, ?, ?)
                        ON CONFLICT(name) DO UPDATE SET data_end = excluded.data_end, path = excluded.path
                        """, arguments: [name, end, absolutePath(path)])
                    try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('xor_key', ?)",
                                   arguments: [folder.xorKey.map { Hex.encode($0) } ?? ""])
                }
                read += pending.count
                state.blocks = read
                state.bytes = scannedBefore + reader.position
                pending.removeAll()
                progress(state)
            }
            // Blocks are decoded and checked on two threads, handed back in file order.
            try orderedParallelMap(
                workers: 2, window: 64,
                produce: {
                    // The reader copies each block out; what it has passed can leave memory.
                    if reader.position - released >= 32 << 20 {
                        file.release(released..<reader.position)
                        released = reader.position
                    }
                    return reader.next()
                },
                transform: { event -> (event: BlockFileReader.Event, checked: Checked?) in
                    guard case .block(let frame, let bytes) = event else { return (event, nil) }
                    return (event, Self.check(frame, bytes, file: name))
                },
                consume: { item in
                    switch item.event {
                    case .block(let frame, _): consumed = frame.payload.upperBound
                    case .skipped(let offset, let count): consumed = offset + count
                    }
                    switch (item.event, item.checked) {
                    case (.skipped(let offset, let count), _):
                        warn("\(name): skipped \(count) byte\(count == 1 ? "" : "s") that are not a block at offset \(offset)")
                    case (.block, .leftOut(let why)?):
                        warn(why)
                    case (.block(let frame, let bytes), .block(let header, let strippedSize, let txCount, let failure)?):
                        if let failure {
                            let invalid = InvalidBlock(hash: header.hash, file: name, offset: frame.offset, rule: failure.rule, detail: failure.detail)
                            report.invalid.append(invalid)
                            warn(invalid.description)
                        }
                        pending.append((frame, header, bytes.count, strippedSize * 3 + bytes.count, txCount, failure))
                        if pending.count >= min(batchSize, 50_000) {
                            try measure("  of which: write header rows") { try flush() }
                            try committedBatch()
                        }
                    case (.block, nil):
                        break
                    }
                    state.bytes = scannedBefore + reader.position
                    return true
                })
            try measure("  of which: write header rows") { try flush(atEnd: true) }
            scannedBefore += file.bytes.count
        }
        return read
    }

    /// What checking a block read from a file found.
    enum Checked: Sendable {
        /// Indexed: its header, stripped size, transaction count and the first rule it breaks.
        case block(BlockHeader, strippedSize: Int, txCount: Int, failure: RuleFailure?)
        /// Left out, with the warning saying why.
        case leftOut(String)
    }

    /// A block must decode and meet the target its own nBits sets to be indexed at all. (Test
    /// chains mined at regtest difficulty under another network's magic are common, so the
    /// network's easiest-target limit is `verify`'s business, not the index's.) It is then
    /// checked against Core's context-free block rules.
    static func check(_ frame: BlockFrame, _ bytes: [UInt8], file: String) -> Checked {
        do {
            let header = try BlockHeader(decoding: bytes)
            guard header.hasValidProofOfWork(hash: header.hash, limit: .max) else {
                return .leftOut("\(file): block at offset \(frame.offset) (\(header.hash)) fails its proof of work; left out")
            }
            let (block, offsets) = try Block.decodeLocated(bytes, baseOffset: frame.payload.lowerBound)
            let failures = BlockRules.check(block, hash: block.hash, network: frame.network, powLimit: .max,
                                            baseOffset: frame.payload.lowerBound, transactionOffsets: offsets)
            return .block(block.header, strippedSize: block.strippedSize, txCount: block.transactions.count, failure: failures.first)
        } catch {
            return .leftOut("\(file): block at offset \(frame.offset) does not decode (\(error)); left out")
        }
    }

    /// Records a block read from a file. A block already known keeps its row, unless that
    /// row's copy was mutated (its body is not the one its header commits to) and this copy
    /// is not: then this copy replaces it.
    static let insertHeader = """
        INSERT INTO blocks (hash, previous_hash, version, merkle_root, time, bits, nonce, size, weight, tx_count, file, offset,
                            invalid_reason, invalid_detail)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(hash) DO UPDATE SET size = excluded.size, weight = excluded.weight, tx_count = excluded.tx_count,
          file = excluded.file, offset = excluded.offset, invalid_reason = NULL, invalid_detail = NULL
        WHERE blocks.invalid_reason IN (\(mutationList)) AND excluded.invalid_reason IS NULL
        """

    /// `BlockRules.mutationRules` as an SQL list (constants of ours, not input).
    static let mutationList = BlockRules.mutationRules.sorted().map { "'\($0)'" }.joined(separator: ", ")

    // MARK: linking and choosing the best chain

    /// What the index keeps of a block besides its tree node.
    struct Stored {
        let id: Int64, file: String, offset: Int, size: Int
        var height: Int64?, inBest: Bool, invalidReason: String?
    }

    /// The parent the tree gives a stored root whose real parent arrived later (no block hashes to it).
    static let outsideTheChain = Hash256(wireBytes: [UInt8](repeating: 0xff, count: 32))!

    /// Core's reason for a block whose ancestor is invalid (`BLOCK_FAILED_CHILD`).
    static let invalidAncestor = "bad-prevblk"

    /// What the blocks table looks like when a link finished, as `meta.linked` records it:
    /// rows, the last id, best-chain blocks, invalid ones, and the orphans found.
    func linkState(_ db: Database, orphans: Int) throws -> String {
        let r = try Row.fetchOne(db, sql: """
            SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(in_best_chain), 0), COUNT(invalid_reason) FROM blocks
            """)!
        return "\(r[0] as Int64):\(r[1] as Int64):\(r[2] as Int64):\(r[3] as Int64):\(orphans)"
    }

    /// A re-run that read nothing new finds the blocks as the last completed link left them:
    /// then there is nothing to link or connect, and the tip is the stored one (a re-run costs
    /// the same at any chain length).
    func linkedAlready(_ report: inout IndexReport) throws -> Bool {
        try database.read { db in
            guard let linked = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'linked'"),
                  let orphans = Int(linked.split(separator: ":").last ?? ""),
                  try linkState(db, orphans: orphans) == linked, try !Schema.indexesDeferred(db) else { return false }
            if let tip = try Row.fetchOne(db, sql: "SELECT hash, height FROM blocks WHERE in_best_chain = 1 ORDER BY height DESC LIMIT 1") {
                report.tipHash = hash(tip[0])
                report.tipHeight = tip[1]
            }
            report.orphans = orphans
            if orphans > 0 { warn("\(orphans) block\(orphans == 1 ? "" : "s") whose parent never appears (orphans) left out of the chain") }
            return true
        }
    }

    func link(_ folder: BlocksFolder, report: inout IndexReport) throws {
        let linkStart = monotonicNanoseconds()
        state.phase = "linking"
        progress(state)
        var stored = [Stored]()
        var headers = [(hash: BlockHash, previous: BlockHash, bits: UInt32, invalidReason: String?)]()
        try database.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT id, hash, previous_hash, bits, height, in_best_chain, file, offset, size, invalid_reason FROM blocks ORDER BY id
                """)
            while let row = try rows.next() {
                let reason: String? = row[9]
                stored.append(Stored(id: row[0], file: row[6], offset: row[7], size: row[8], height: row[4], inBest: (row[5] as Int64) == 1,
                                     invalidReason: reason))
                headers.append((hash(row[1]), hash(row[2]), UInt32(row[3] as Int64), reason == Self.invalidAncestor ? nil : reason))
            }
        }
        guard !stored.isEmpty else { return }
        // The chain's root is fixed by the first run. When its parent turns up later, the
        // root stays a root: what comes before it is outside the chain (and cannot make the
        // chain invalid), so it is linked in the tree to a parent no block has.
        let storedRoot = try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'root'") }
        if let storedRoot, let known = Hash256(displayHex: storedRoot),
           let i = headers.firstIndex(where: { $0.hash == known }), headers[i].previous != .zero {
            headers[i].previous = Self.outsideTheChain
        }
        var tree = BlockTree(headers: headers)
        headers = []
        let network = ChainParameters.known(name: try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'network'") } ?? "") ?? .mainnet
        // The chain's root: kept from earlier runs, else the one whose tree holds the most work.
        let roots = tree.roots
        let root: Int
        if let storedRoot, let known = Hash256(displayHex: storedRoot), let i = tree.index(of: known) {
            root = i
        } else {
            let bestOfRoot = Dictionary(uniqueKeysWithValues: roots.map { ($0, tree.bestTip(inTreeOf: $0) ?? $0) })
            root = roots.max { a, b in
                let (x, y) = (bestOfRoot[a]!, bestOfRoot[b]!)
                return tree[x].chainWork < tree[y].chainWork || (tree[x].chainWork == tree[y].chainWork && x > y)
            }!
        }
        let rootHeight: Int64
        if let h = stored[root].height {
            rootHeight = h
        } else if tree[root].hash == network.genesisHash || tree[root].previous == .zero {
            rootHeight = 0
        } else if tree[root].previous == network.genesisHash {
            rootHeight = 1
        } else if let bip34 = try readBlock(folder, stored[root], hash: tree[root].hash).block.bip34Height {
            rootHeight = bip34
        } else {
            rootHeight = 0
            warn("the chain starts at block \(tree[root].hash), whose height is unknown: heights count from 0 there")
        }
        // When the chain starts at a genesis block, every input must spend an output inside it.
        let fromGenesis = tree[root].previous == .zero
        report.orphans = tree.nodes.indices.filter { tree[$0].root != root }.count
        if report.orphans > 0 {
            warn("\(report.orphans) block\(report.orphans == 1 ? "" : "s") whose parent never appears (orphans) left out of the chain")
        }
        // Heights, work and inherited invalidity of the root's tree, where they changed.
        try database.write { db in
            if storedRoot == nil {
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('root', ?)", arguments: [tree[root].hash.displayHex])
            }
            let update = try RowStatement(db, "UPDATE blocks SET height = ?, work = ? WHERE id = ?")
            for i in tree.nodes.indices where tree[i].root == root {
                let height = rootHeight + tree[i].depth
                if stored[i].height != height {
                    stored[i].height = height
                    try update.run { $0.int(height); $0.work(tree[i].chainWork); $0.int(stored[i].id) }
                }
            }
            for i in tree.nodes.indices {
                let inherited = tree[i].hasInvalidAncestor && tree[i].invalidReason == nil
                if inherited && stored[i].invalidReason == nil {
                    try markInvalid(db, stored[i], reason: Self.invalidAncestor, detail: "an ancestor is invalid")
                    stored[i].invalidReason = Self.invalidAncestor
                } else if !inherited && stored[i].invalidReason == Self.invalidAncestor {
                    try db.execute(sql: "UPDATE blocks SET invalid_reason = NULL, invalid_detail = NULL WHERE id = ?", arguments: [stored[i].id])
                    stored[i].invalidReason = nil
                }
            }
        }
        // The current tip: the highest block connected by earlier runs.
        var tip = tree.nodes.indices.filter { stored[$0].inBest }.max { stored[$0].height! < stored[$1].height! }
        timings.add("link blocks, heights and work", Double(monotonicNanoseconds() - linkStart) / 1e9)
        // An initial load (nothing connected yet, from a genesis block) keeps the whole UTXO
        // set in memory and builds the secondary indexes once at the end.
        let bulk = try tip == nil && fromGenesis && database.read { db in try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM transactions") == 0 }
        var connector = try database.writeWithoutTransaction { db in
            // Otherwise lookups go to SQLite: an interrupted load's indexes are built first.
            if bulk { try db.inTransaction { try Schema.deferIndexes(db); return .commit } } else { try restoreIndexes(db) }
            return try Connector(db, network: network, fromGenesis: fromGenesis, complete: bulk, coinCapacity: coinCapacity)
        }
        state.phase = "connecting"
        state.blocks = 0
        // Core's ActivateBestChain: move to the best valid tip; when a block on the way turns
        // out invalid, mark it (and what builds on it) and choose again.
        while let target = tree.bestTip(inTreeOf: root), target != tip {
            let (stale, fresh) = tree.path(from: tip, to: target)
            state.blocksTotal = state.blocks + stale.count + fresh.count
            // Undoing blocks needs the indexes, and leaves the caches behind the database.
            if !stale.isEmpty { try database.writeWithoutTransaction { db in try restoreIndexes(db) } }
            for batch in stride(from: 0, to: stale.count, by: batchSize) {
                let part = stale[batch..<min(batch + batchSize, stale.count)]
                try database.write { db in
                    for i in part { try disconnect(db, stored[i]) }
                }
                for i in part { stored[i].inBest = false }
                tip = tree[part.last!].parent
                report.disconnected += part.count
                state.blocks += part.count
                try committedBatch()
            }
            if !stale.isEmpty { try database.writeWithoutTransaction { db in try connector.forget(db) } }
            try measure("connect blocks (decoded on 2 threads)") {
                try connect(fresh, folder: folder, tree: &tree, stored: &stored, tip: &tip, connector: &connector, report: &report)
            }
        }
        try database.writeWithoutTransaction { db in
            try restoreIndexes(db)
            let state = try linkState(db, orphans: report.orphans)
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('linked', ?)", arguments: [state])
        }
        for step in connector.writes.times.steps { timings.add("  writer thread: " + step.name.trimmingCharacters(in: .whitespaces), step.seconds) }
        if let tip {
            report.tipHash = tree[tip].hash
            report.tipHeight = stored[tip].height
        }
        openFiles.removeAll()
    }

    /// Unspent outputs the connector keeps in memory, at most (about 100 bytes each).
    public var coinCapacity = 2_000_000
    /// Rows gathered in memory before they are written, at most.
    var batchRows = 400_000
    /// Blocks gathered in memory before their rows are written, at most.
    var writeBlocks = 2_000
    /// Rows written before a commit, at most.
    public var commitRows = 5_000_000

    /// Connects `fresh` (a path up from the tip) block by block until one is invalid.
    /// Blocks are read and decoded on two threads, a window ahead of the writer (the window
    /// holds about `readAheadBytes` of the largest of them); the writer checks each against the
    /// UTXO set and writes batches of `batchSize` blocks or `batchRows` rows.
    func connect(_ fresh: [Int], folder: BlocksFolder, tree: inout BlockTree, stored: inout [Stored], tip: inout Int?,
                 connector: inout Connector, report: inout IndexReport) throws {
        guard !fresh.isEmpty else { return }
        let largest = fresh.map { stored[$0].size }.max() ?? 1
        let window = min(256, max(4, readAheadBytes / max(largest, 1)))
        let network = connector.network
        let key = folder.xorKey
        var next = 0
        var produceError: (any Error)?
        let items = fresh.map { (node: $0, file: stored[$0].file, offset: stored[$0].offset, size: stored[$0].size) }
        var readSinceRelease = 0
        try database.writeWithoutTransaction { db in
            // Rows are written every `writeBlocks` blocks or `batchRows` rows (bounding the
            // memory they take), and committed every `batchSize` blocks or `commitRows` rows:
            // each commit rewrites every page its transaction touched, so fewer, larger
            // commits write far less.
            var written = [Int]()
            func write() throws {
                let blocks = connector.batch.blocks.count
                guard blocks > 0 else { return }
                try measure("  handing rows to the writer (waiting for it)") { try connector.flush(db) { db in try restoreIndexes(db) } }
                state.blocks += blocks
                progress(state)
            }
            func commit() throws {
                try write()
                guard db.isInsideTransaction else { return }
                try measure("  handing rows to the writer (waiting for it)") { try connector.commit(db) }
                for i in written { stored[i].inBest = true }
                tip = written.last ?? tip
                report.connected += written.count
                written.removeAll()
                try committedBatch()
            }
            do {
                try orderedParallelMap(
                    workers: 2, window: window,
                    produce: { () -> (node: Int, file: MappedFile, offset: Int)? in
                        guard produceError == nil, next < items.count else { return nil }
                        let item = items[next]
                        next += 1
                        // Each block is copied out of its file's mapping when read: every
                        // 64 MB read, the mapped pages leave memory (they come back from the
                        // page cache if touched again), so resident memory does not grow with
                        // the files.
                        readSinceRelease += item.size
                        if readSinceRelease >= 64 << 20 {
                            for file in self.openFiles.values { file.release(0..<file.bytes.count) }
                            readSinceRelease = 0
                        }
                        do { return (item.node, try self.openFile(folder, item.file), item.offset) } catch {
                            produceError = error
                            return nil
                        }
                    },
                    transform: { item in
                        Result {
                            let (block, offsets) = try Self.readBlock(in: item.file, key: key, at: item.offset)
                            return PreparedBlock(node: item.node, block: block, offsets: offsets, network: network)
                        }
                    },
                    consume: { result in
                        let prepared = try result.get()
                        let i = prepared.node
                        if let failure = try measure("  UTXO rules and rows", { try connector.connect(db, prepared, id: stored[i].id, height: stored[i].height!) }) {
                            try commit()
                            let invalid = InvalidBlock(hash: tree[i].hash, file: stored[i].file, offset: stored[i].offset,
                                                       rule: failure.rule, detail: failure.detail)
                            report.invalid.append(invalid)
                            warn(invalid.description)
                            stored[i].invalidReason = failure.rule
                            let descendants = tree.markInvalid(i, reason: failure.rule)
                            try db.inTransaction {
                                try markInvalid(db, stored[i], reason: failure.rule, detail: failure.detail)
                                for j in descendants where stored[j].invalidReason == nil {
                                    try markInvalid(db, stored[j], reason: Self.invalidAncestor, detail: "an ancestor is invalid")
                                    stored[j].invalidReason = Self.invalidAncestor
                                }
                                return .commit
                            }
                            return false
                        }
                        written.append(i)
                        state.transactions += prepared.block.transactions.count
                        if connector.batch.blocks.count >= writeBlocks || connector.batch.rows >= batchRows { try write() }
                        if written.count >= batchSize || connector.rowsSinceCommit >= commitRows { try commit() }
                        return true
                    })
                try commit()
            } catch {
                try? connector.writes.wait()
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
        }
        if let produceError { throw produceError }
    }

    /// Builds the indexes an initial load deferred, if any are missing.
    func restoreIndexes(_ db: Database) throws {
        guard try Schema.indexesDeferred(db) else { return }
        state.phase = "building indexes"
        progress(state)
        try measure("build deferred indexes") {
            try db.inSavepoint {
                try Schema.restoreIndexes(db)
                return .commit
            }
        }
        state.phase = "connecting"
    }

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

    /// Undoes a block: its outputs go, the outputs it spent are unspent again, and the
    /// addresses it touched lose its amounts.
    func disconnect(_ db: Database, _ node: Stored) throws {
        let txs = try Row.fetchAll(db, sql: "SELECT id, height FROM transactions WHERE block_id = ? ORDER BY position DESC", arguments: [node.id])
        var touched = Set<Int64>()
        for tx in txs {
            let (id, height): (Int64, Int64) = (tx[0], tx[1])
            // The addresses of its outputs and of the outputs its inputs spent.
            let addresses = try Int64.fetchAll(db, sql: """
                SELECT address_id FROM outputs WHERE tx_id = ?1 AND address_id IS NOT NULL
                UNION SELECT o.address_id FROM inputs i JOIN outputs o ON o.tx_id = i.previous_tx_id AND o.vout = i.previous_vout
                WHERE i.tx_id = ?1 AND o.address_id IS NOT NULL
                """, arguments: [id])
            for address in addresses {
                guard let row = try Row.fetchOne(db, sql: "SELECT received, sent FROM address_transactions WHERE address_id = ? AND height = ? AND tx_id = ?",
                                                 arguments: [address, height, id]) else { continue }
                let (received, sent): (Int64, Int64) = (row[0], row[1])
                touched.insert(address)
                try db.execute(sql: "UPDATE addresses SET balance = balance - ?, received = received - ?, sent = sent - ?, tx_count = tx_count - 1 WHERE id = ?",
                               arguments: [received - sent, received, sent, address])
                try db.execute(sql: "DELETE FROM address_transactions WHERE address_id = ? AND height = ? AND tx_id = ?", arguments: [address, height, id])
            }
            try db.execute(sql: """
                UPDATE outputs SET spent_by_tx = NULL, spent_by_input = NULL
                WHERE (tx_id, vout) IN (SELECT previous_tx_id, previous_vout FROM inputs WHERE tx_id = ? AND previous_tx_id IS NOT NULL)
                """, arguments: [id])
            try db.execute(sql: "DELETE FROM outputs WHERE tx_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM inputs WHERE tx_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM transactions WHERE id = ?", arguments: [id])
        }
        for address in touched {
            try db.execute(sql: """
                UPDATE addresses SET
                  first_seen_height = (SELECT MIN(height) FROM address_transactions WHERE address_id = ?1),
                  last_seen_height = (SELECT MAX(height) FROM address_transactions WHERE address_id = ?1)
                WHERE id = ?1
                """, arguments: [address])
            try db.execute(sql: "DELETE FROM addresses WHERE id = ? AND tx_count = 0", arguments: [address])
        }
        try db.execute(sql: "UPDATE blocks SET in_best_chain = 0 WHERE id = ?", arguments: [node.id])
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
