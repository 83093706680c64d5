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
    /// Blocks connected per committed batch, at most.
    public var batchSize = 500
    /// Bytes of blocks read ahead (decoded) per committed batch, at most; a single larger
    /// block is still read.
    public var readAheadBytes = 32 << 20
    /// Abort (throwing `IndexAbort`) after this many committed batches; for tests.
    package var abortAfterBatches: Int?
    public var progress: (IndexProgress) -> Void = { _ in }
    public var warn: (String) -> Void = { _ in }
    var batches = 0
    var state = IndexProgress(phase: "reading")

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

    /// Uses an open database (migrating it if needed).
    public init(database: any DatabaseWriter) throws {
        self.database = database
        try Schema.migrator.migrate(database)
    }

    /// Indexes what is new in `folder`.
    public func index(_ folder: BlocksFolder) throws -> IndexReport {
        var report = IndexReport()
        report.blocksRead = try scan(folder, report: &report)
        try link(folder, report: &report)
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
            let file = try MappedFile(path: path)
            state.files = f + 1
            var reader = BlockFileReader(file: file, key: folder.xorKey, start: start)
            // Only header rows wait here (the decoded block is dropped as soon as it is checked).
            var pending = [(frame: BlockFrame, header: BlockHeader, size: Int, weight: Int, txCount: Int, failure: RuleFailure?)]()
            func flush() throws {
                let end = reader.dataEnd ?? reader.position
                try database.write { db in
                    for row in pending {
                        try insertHeader(db, frame: row.frame, header: row.header, size: row.size, weight: row.weight,
                                         txCount: row.txCount, failure: row.failure, file: name)
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
            while let event = reader.next() {
                switch event {
                case .skipped(let offset, let count):
                    warn("\(name): skipped \(count) byte\(count == 1 ? "" : "s") that are not a block at offset \(offset)")
                case .block(let frame, let bytes):
                    guard let (block, failure) = check(frame, bytes, file: name) else { continue }
                    if let failure {
                        let invalid = InvalidBlock(hash: block.hash, file: name, offset: frame.offset, rule: failure.rule, detail: failure.detail)
                        report.invalid.append(invalid)
                        warn(invalid.description)
                    }
                    pending.append((frame, block.header, bytes.count, block.strippedSize * 3 + bytes.count, block.transactions.count, failure))
                    if pending.count >= 2000 { try flush() }
                }
                state.bytes = scannedBefore + reader.position
            }
            try flush()
            scannedBefore += file.bytes.count
        }
        return read
    }

    /// A block must decode and meet the target its own nBits sets to be indexed at all. (Test
    /// chains mined at regtest difficulty under another network's magic are common, so the
    /// network's easiest-target limit is `verify`'s business, not the index's.) It is then
    /// checked against Core's context-free block rules.
    /// - Returns: the decoded block and the first rule it breaks; nil (with a warning) when
    ///   it is left out.
    func check(_ frame: BlockFrame, _ bytes: [UInt8], file: String) -> (Block, RuleFailure?)? {
        do {
            let header = try BlockHeader(decoding: bytes)
            guard header.hasValidProofOfWork(hash: header.hash, limit: .max) else {
                warn("\(file): block at offset \(frame.offset) (\(header.hash)) fails its proof of work; left out")
                return nil
            }
            let (block, offsets) = try Block.decodeLocated(bytes, baseOffset: frame.payload.lowerBound)
            let failures = BlockRules.check(block, hash: block.hash, network: frame.network, powLimit: .max,
                                            baseOffset: frame.payload.lowerBound, transactionOffsets: offsets)
            return (block, failures.first)
        } catch {
            warn("\(file): block at offset \(frame.offset) does not decode (\(error)); left out")
            return nil
        }
    }

    /// Records a block read from a file. A block already known keeps its row, unless that
    /// row's copy was mutated (its body is not the one its header commits to) and this copy
    /// is not: then this copy replaces it.
    func insertHeader(_ db: Database, frame: BlockFrame, header h: BlockHeader, size: Int, weight: Int, txCount: Int,
                      failure: RuleFailure?, file: String) throws {
        if try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'network'") == nil {
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('network', ?)", arguments: [frame.network.name])
        }
        try db.cachedStatement(sql: """
            INSERT INTO blocks (hash, previous_hash, version, merkle_root, time, bits, nonce, size, weight, tx_count, file, offset,
                                invalid_reason, invalid_detail)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(hash) DO UPDATE SET size = excluded.size, weight = excluded.weight, tx_count = excluded.tx_count,
              file = excluded.file, offset = excluded.offset, invalid_reason = NULL, invalid_detail = NULL
            WHERE blocks.invalid_reason IN (\(Self.mutationList)) AND excluded.invalid_reason IS NULL
            """).execute(arguments: [data(h.hash), data(h.previousBlockHash), Int(h.version), data(h.merkleRoot), Int(h.time), Int(h.bits),
                                     Int(h.nonce), size, weight, txCount, file, frame.offset, failure?.rule, failure?.detail])
    }

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

    func link(_ folder: BlocksFolder, report: inout IndexReport) throws {
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
            for i in tree.nodes.indices where tree[i].root == root {
                let height = rootHeight + tree[i].depth
                if stored[i].height != height {
                    stored[i].height = height
                    try db.execute(sql: "UPDATE blocks SET height = ?, work = ? WHERE id = ?",
                                   arguments: [height, workData(tree[i].chainWork), stored[i].id])
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
        var connector = Connector(network: network)
        state.phase = "connecting"
        state.blocks = 0
        // Core's ActivateBestChain: move to the best valid tip; when a block on the way turns
        // out invalid, mark it (and what builds on it) and choose again.
        while let target = tree.bestTip(inTreeOf: root), target != tip {
            let (stale, fresh) = tree.path(from: tip, to: target)
            state.blocksTotal = state.blocks + stale.count + fresh.count
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
            var next = 0
            var failed = false
            while next < fresh.count && !failed {
                // A batch: up to batchSize blocks, or readAheadBytes of them.
                var end = next, bytes = 0
                while end < fresh.count && end - next < batchSize && (end == next || bytes + stored[fresh[end]].size <= readAheadBytes) {
                    bytes += stored[fresh[end]].size
                    end += 1
                }
                let blocks = try fresh[next..<end].map { ($0, try readBlock(folder, stored[$0], hash: tree[$0].hash)) }
                var connected = 0
                try database.write { db in
                    let bip34Block = try bip34BlockHash(db, network: network)
                    for (i, read) in blocks {
                        let height = stored[i].height!
                        let enforceBIP30 = network.enforcesBIP30(height: height, hash: tree[i].hash, bip34BlockHash: bip34Block)
                        if let failure = try connector.connect(db, block: read.block, offsets: read.offsets, id: stored[i].id,
                                                               height: height, enforceBIP30: enforceBIP30, fromGenesis: fromGenesis) {
                            let invalid = InvalidBlock(hash: tree[i].hash, file: stored[i].file, offset: stored[i].offset,
                                                       rule: failure.rule, detail: failure.detail)
                            report.invalid.append(invalid)
                            warn(invalid.description)
                            try markInvalid(db, stored[i], reason: failure.rule, detail: failure.detail)
                            stored[i].invalidReason = failure.rule
                            for j in tree.markInvalid(i, reason: failure.rule) where stored[j].invalidReason == nil {
                                try markInvalid(db, stored[j], reason: Self.invalidAncestor, detail: "an ancestor is invalid")
                                stored[j].invalidReason = Self.invalidAncestor
                            }
                            failed = true
                            break
                        }
                        stored[i].inBest = true
                        connected += 1
                        state.transactions += read.block.transactions.count
                    }
                    try connector.flush(db)
                }
                if connected > 0 { tip = fresh[next + connected - 1] }
                next += connected
                report.connected += connected
                state.blocks += connected
                progress(state)
                try committedBatch()
            }
        }
        if let tip {
            report.tipHash = tree[tip].hash
            report.tipHeight = stored[tip].height
        }
        openFiles.removeAll()
    }

    /// The best chain's block at the network's BIP34 height, if it has one (for BIP30).
    func bip34BlockHash(_ db: Database, network: ChainParameters) throws -> BlockHash? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM blocks WHERE in_best_chain = 1 AND height = ?"),
                          arguments: [network.bip34Height]).map(hash)
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

    /// Reads a block back from its file.
    func readBlock(_ folder: BlocksFolder, _ node: Stored, hash: BlockHash) throws -> (block: Block, offsets: [Int]) {
        let file: MappedFile
        if let open = openFiles[node.file] {
            file = open
        } else {
            guard let path = folder.files.first(where: { $0.hasSuffix("/" + node.file) || $0 == node.file }) else {
                throw IndexError("block \(hash) is in \(node.file), which is not among the files given")
            }
            file = try MappedFile(path: path)
            openFiles[node.file] = file
        }
        guard let bytes = BlockFileReader.block(in: file, key: folder.xorKey, at: node.offset) else {
            throw IndexError("\(node.file): no block at offset \(node.offset) any more")
        }
        let (block, offsets) = try Block.decodeLocated(bytes, baseOffset: node.offset + 8)
        return (block, offsets)
    }

    /// Undoes a block: its outputs go, the outputs it spent are unspent again, and the
    /// addresses it touched lose its amounts.
    func disconnect(_ db: Database, _ node: Stored) throws {
        let txs = try Int64.fetchAll(db, sql: "SELECT id FROM transactions WHERE block_id = ? ORDER BY position DESC", arguments: [node.id])
        var touched = Set<Int64>()
        for tx in txs {
            try db.execute(sql: "UPDATE outputs SET spent_by_tx = NULL, spent_by_input = NULL WHERE spent_by_tx = ?", arguments: [tx])
            for row in try Row.fetchAll(db, sql: "SELECT address_id, received, sent FROM address_transactions WHERE tx_id = ?", arguments: [tx]) {
                let (address, received, sent): (Int64, Int64, Int64) = (row[0], row[1], row[2])
                touched.insert(address)
                try db.execute(sql: "UPDATE addresses SET balance = balance - ?, received = received - ?, sent = sent - ?, tx_count = tx_count - 1 WHERE id = ?",
                               arguments: [received - sent, received, sent, address])
            }
            try db.execute(sql: "DELETE FROM address_transactions WHERE tx_id = ?", arguments: [tx])
            try db.execute(sql: "DELETE FROM transfers WHERE tx_id = ?", arguments: [tx])
            try db.execute(sql: "DELETE FROM outputs WHERE tx_id = ?", arguments: [tx])
            try db.execute(sql: "DELETE FROM inputs WHERE tx_id = ?", arguments: [tx])
            try db.execute(sql: "DELETE FROM transactions WHERE id = ?", arguments: [tx])
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

/// Connects blocks: checks each against the UTXO set (`ConnectRules`), then writes its
/// transactions, inputs and outputs and spends outputs; address changes are gathered and
/// written by `flush` at the end of each batch.
struct Connector {
    let network: ChainParameters
    var summaries = [Int64: (balance: Int64, received: Int64, sent: Int64, txs: Int64, first: Int64, last: Int64)]()
    var addressIDs = [String: Int64]()

    init(network: ChainParameters) { self.network = network }

    /// Where a spent output's row is: its transaction's row id and its address's id.
    typealias Location = (tx: Int64, address: Int64?)

    /// Checks `block` and, when it passes, writes it and marks it in the best chain.
    /// - Parameter fromGenesis: the chain starts at a genesis block, so every input must
    ///   spend an output in the index; otherwise an outpoint whose transaction the index has
    ///   never seen is from before the first block, with its value and address unknown.
    /// - Returns: the rule the block breaks (then nothing is written), or nil.
    mutating func connect(_ db: Database, block: Block, offsets: [Int], id: Int64, height: Int64,
                          enforceBIP30: Bool, fromGenesis: Bool) throws -> RuleFailure? {
        var locations = [OutPoint: Location]()
        let unspent = try db.cachedStatement(sql: """
            SELECT o.tx_id, o.value, o.address_id, t.height, t.is_coinbase FROM transactions t JOIN outputs o ON o.tx_id = t.id AND o.vout = ?
            WHERE t.txid = ? AND o.spent_by_tx IS NULL AND o.unspendable = 0 ORDER BY t.id DESC LIMIT 1
            """)
        let known = try db.cachedStatement(sql: "SELECT 1 FROM transactions WHERE txid = ? LIMIT 1")
        let hasUnspent = try db.cachedStatement(sql: """
            SELECT 1 FROM transactions t JOIN outputs o ON o.tx_id = t.id WHERE t.txid = ? AND o.spent_by_tx IS NULL AND o.unspendable = 0 LIMIT 1
            """)
        let checked = try ConnectRules.check(
            block, height: height, network: network, enforceBIP30: enforceBIP30, transactionOffsets: offsets,
            lookup: { outpoint in
                if let row = try Row.fetchOne(unspent, arguments: [Int64(outpoint.index), data(outpoint.txid)]) {
                    locations[outpoint] = (row[0], row[2])
                    return .unspent(Coin(value: row[1], height: row[3], isCoinbase: row[4]))
                }
                if fromGenesis { return .missingOrSpent }
                let seen = try Bool.fetchOne(known, arguments: [data(outpoint.txid)]) ?? false
                return seen ? .missingOrSpent : .outsideRange
            },
            hasUnspentOutputs: { txid in try Bool.fetchOne(hasUnspent, arguments: [data(txid)]) == true })
        let connection: BlockConnection
        switch checked {
        case .failure(let failure): return failure
        case .success(let value): connection = value
        }
        let genesis = block.hash == network.genesisHash
        for (position, tx) in block.transactions.enumerated() {
            var received = [Int64: Int64](), sent = [Int64: Int64]()
            var inputCounts = [Int64: Int64](), outputCounts = [Int64: Int64]()
            try db.cachedStatement(sql: "INSERT INTO transactions (txid, block_id, height, position, size, weight, fee, is_coinbase, offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .execute(arguments: [data(tx.txid), id, height, position, tx.size(), tx.weight, connection.fees[position], tx.isCoinbase,
                                     position < offsets.count ? offsets[position] : nil])
            let txID = db.lastInsertedRowID
            if !tx.isCoinbase {
                for (n, input) in tx.inputs.enumerated() {
                    let outpoint = input.previousOutput
                    let coin = connection.spent[position][n]
                    var address: Int64?
                    if coin != nil, let location = locations[outpoint] {
                        address = location.address
                        try db.cachedStatement(sql: "UPDATE outputs SET spent_by_tx = ?, spent_by_input = ? WHERE tx_id = ? AND vout = ?")
                            .execute(arguments: [txID, n, location.tx, Int64(outpoint.index)])
                        if let address {
                            sent[address, default: 0] += coin!.value
                            inputCounts[address, default: 0] += 1
                        }
                    }
                    try db.cachedStatement(sql: "INSERT INTO inputs (tx_id, n, previous_txid, previous_vout, address_id, value) VALUES (?, ?, ?, ?, ?, ?)")
                        .execute(arguments: [txID, n, data(outpoint.txid), Int64(outpoint.index), address, coin?.value])
                }
            }
            for (n, output) in tx.outputs.enumerated() {
                let script = Script(output.scriptPubKey)
                let pattern = script.pattern
                var address: Int64?
                if let text = pattern.address(on: network)?.text {
                    address = try addressID(db, text)
                    received[address!, default: 0] += output.value
                    outputCounts[address!, default: 0] += 1
                }
                let unspendable = script.isUnspendable || (genesis && tx.isCoinbase)
                try db.cachedStatement(sql: "INSERT INTO outputs (tx_id, vout, value, type, address_id, unspendable) VALUES (?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [txID, n, output.value, pattern.type.rawValue, address, unspendable])
                // Later transactions of this block may spend it.
                locations[OutPoint(txid: tx.txid, index: UInt32(n))] = (txID, address)
            }
            for sender in inputCounts.keys.sorted() {
                for receiver in outputCounts.keys.sorted() {
                    try db.cachedStatement(sql: "INSERT INTO transfers (sender_id, receiver_id, height, tx_id, amount) VALUES (?, ?, ?, ?, ?)")
                        .execute(arguments: [sender, receiver, height, txID, received[receiver] ?? 0])
                }
            }
            for address in Set(received.keys).union(sent.keys) {
                let (r, s) = (received[address] ?? 0, sent[address] ?? 0)
                try db.cachedStatement(sql: "INSERT INTO address_transactions (address_id, height, tx_id, received, sent, inputs, outputs) VALUES (?, ?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [address, height, txID, r, s, inputCounts[address] ?? 0, outputCounts[address] ?? 0])
                var summary = summaries[address] ?? (0, 0, 0, 0, height, height)
                summary.balance += r - s
                summary.received += r
                summary.sent += s
                summary.txs += 1
                summary.first = min(summary.first, height)
                summary.last = max(summary.last, height)
                summaries[address] = summary
            }
        }
        try db.cachedStatement(sql: "UPDATE blocks SET in_best_chain = 1 WHERE id = ?").execute(arguments: [id])
        return nil
    }

    /// The id of `text` in `addresses`, created on first sight.
    mutating func addressID(_ db: Database, _ text: String) throws -> Int64 {
        if let id = addressIDs[text] { return id }
        if addressIDs.count > 1_000_000 { addressIDs.removeAll(keepingCapacity: true) }  // bounded cache
        let id: Int64
        if let existing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM addresses WHERE address = ?"), arguments: [text]) {
            id = existing
        } else {
            try db.cachedStatement(sql: "INSERT INTO addresses (address) VALUES (?)").execute(arguments: [text])
            id = db.lastInsertedRowID
        }
        addressIDs[text] = id
        return id
    }

    /// Writes the batch's address changes.
    mutating func flush(_ db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            UPDATE addresses SET balance = balance + ?, received = received + ?, sent = sent + ?, tx_count = tx_count + ?,
              first_seen_height = MIN(COALESCE(first_seen_height, ?5), ?5), last_seen_height = MAX(COALESCE(last_seen_height, ?6), ?6)
            WHERE id = ?7
            """)
        for (address, s) in summaries.sorted(by: { $0.key < $1.key }) {
            try statement.execute(arguments: [s.balance, s.received, s.sent, s.txs, s.first, s.last, address])
        }
        summaries.removeAll(keepingCapacity: true)
    }
}

/// A problem that stops indexing.
public struct IndexError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

func data(_ hash: Hash256) -> Data { hash.withUnsafeBytes { Data($0) } }
func hash(_ data: Data) -> Hash256 { Hash256(wireBytes: data) ?? .zero }
func workData(_ work: UInt256) -> Data {
    var bytes = [UInt8]()
    for limb in [work.l3, work.l2, work.l1, work.l0] { withUnsafeBytes(of: limb.bigEndian) { bytes.append(contentsOf: $0) } }
    return Data(bytes)
}

/// `path` made absolute (symbolic links resolved), so a server started elsewhere finds the file.
func absolutePath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
