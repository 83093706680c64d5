import Foundation
public import GRDB
public import BitcoinWire
import BitcoinScript
public import BlockFile

/// How indexing went.
public struct IndexReport: Sendable {
    public var blocksRead = 0
    public var connected = 0
    public var disconnected = 0
    public var orphans = 0
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
public struct IndexAbort: Error {}

/// Builds and updates the index of a blocks folder: reads what is new, links blocks by
/// previous hash into the chain with the most work, and connects (or, on a reorg,
/// disconnects) blocks in batches, each one SQLite transaction.
public final class ChainIndexer {
    public let database: any DatabaseWriter
    /// Blocks connected per committed batch.
    public var batchSize = 500
    /// Abort (throwing `IndexAbort`) after this many committed batches; for tests.
    public var abortAfterBatches: Int?
    public var progress: (IndexProgress) -> Void = { _ in }
    public var warn: (String) -> Void = { _ in }
    var batches = 0
    var state = IndexProgress(phase: "reading")

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
        report.blocksRead = try scan(folder)
        try link(folder, report: &report)
        return report
    }

    // MARK: reading the files

    func scan(_ folder: BlocksFolder) throws -> Int {
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
            var pending = [(BlockFrame, Block, size: Int)]()
            func flush() throws {
                let end = reader.dataEnd ?? reader.position
                try database.write { db in
                    for (frame, block, size) in pending { try insertHeader(db, frame: frame, block: block, size: size, file: name) }
                    try db.execute(sql: "INSERT INTO files (name, data_end) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET data_end = excluded.data_end",
                                   arguments: [name, end])
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
                    guard let block = check(frame, bytes, file: name) else { continue }
                    pending.append((frame, block, bytes.count))
                    if pending.count >= 2000 { try flush() }
                }
                state.bytes = scannedBefore + reader.position
            }
            try flush()
            scannedBefore += file.bytes.count
        }
        return read
    }

    /// A block must decode and meet the target its own nBits sets to be indexed. (Test chains
    /// mined at regtest difficulty under another network's magic are common, so the network's
    /// easiest-target limit is `verify`'s business, not the index's.)
    /// - Returns: the decoded block, or nil (with a warning) when it is left out.
    func check(_ frame: BlockFrame, _ bytes: [UInt8], file: String) -> Block? {
        do {
            let header = try BlockHeader(decoding: bytes)
            guard header.hasValidProofOfWork(hash: header.hash, limit: .max) else {
                warn("\(file): block at offset \(frame.offset) (\(header.hash)) fails its proof of work; left out")
                return nil
            }
            return try Block(decoding: bytes, baseOffset: frame.payload.lowerBound)
        } catch {
            warn("\(file): block at offset \(frame.offset) does not decode (\(error)); left out")
            return nil
        }
    }

    func insertHeader(_ db: Database, frame: BlockFrame, block: Block, size: Int, file: String) throws {
        let h = block.header
        if try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'network'") == nil {
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('network', ?)", arguments: [frame.network.rawValue])
        }
        try db.execute(sql: """
            INSERT OR IGNORE INTO blocks (hash, previous_hash, version, merkle_root, time, bits, nonce, size, weight, tx_count, file, offset)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [data(block.hash), data(h.previousBlockHash), Int(h.version), data(h.merkleRoot), Int(h.time), Int(h.bits),
                             Int(h.nonce), size, block.strippedSize * 3 + size, block.transactions.count, file, frame.offset])
    }

    // MARK: linking and choosing the best chain

    struct Node {
        let id: Int64, hash: BlockHash, previous: BlockHash, bits: UInt32, file: String, offset: Int
        var height: Int64?, inBest: Bool
        var work = UInt256.zero
        var parent: Int?  // index in nodes
    }

    func link(_ folder: BlocksFolder, report: inout IndexReport) throws {
        state.phase = "linking"
        progress(state)
        var nodes = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, hash, previous_hash, bits, height, in_best_chain, file, offset FROM blocks ORDER BY id").map { row in
                Node(id: row[0], hash: hash(row[1]), previous: hash(row[2]), bits: UInt32(row[3] as Int64), file: row[6], offset: row[7],
                     height: row[4], inBest: (row[5] as Int64) == 1)
            }
        }
        guard !nodes.isEmpty else { return }
        let network = Network(rawValue: try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'network'") } ?? "") ?? .mainnet
        var byHash = [BlockHash: Int](minimumCapacity: nodes.count)
        for (i, node) in nodes.enumerated() { byHash[node.hash] = i }
        var children = [[Int]](repeating: [], count: nodes.count)
        for i in nodes.indices {
            if let p = byHash[nodes[i].previous] {
                nodes[i].parent = p
                children[p].append(i)
            }
        }
        // Work of every subtree, from each root (a block whose parent never appeared).
        let roots = nodes.indices.filter { nodes[$0].parent == nil }
        var best = [Int: Int]()  // root -> best tip in its tree
        for root in roots {
            nodes[root].work = CompactTarget(bits: nodes[root].bits).work
            var stack = [root]
            var tip = root
            while let i = stack.popLast() {
                if nodes[i].work > nodes[tip].work || (nodes[i].work == nodes[tip].work && i < tip) { tip = i }
                for c in children[i] {
                    nodes[c].work = nodes[i].work &+ CompactTarget(bits: nodes[c].bits).work
                    stack.append(c)
                }
            }
            best[root] = tip
        }
        // The chain's root: kept from earlier runs, else the one whose tree holds the most work.
        let storedRoot = try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'root'") }
        let root: Int
        if let storedRoot, let known = Hash256(displayHex: storedRoot), let i = byHash[known] {
            root = i
        } else {
            root = roots.max { a, b in
                let (x, y) = (nodes[best[a]!], nodes[best[b]!])
                return x.work < y.work || (x.work == y.work && best[a]! > best[b]!)
            }!
        }
        let rootHeight: Int64
        if let h = nodes[root].height {
            rootHeight = h
        } else if nodes[root].hash == network.genesisHash || nodes[root].previous == .zero {
            rootHeight = 0
        } else if nodes[root].previous == network.genesisHash {
            rootHeight = 1
        } else if let bip34 = try readBlock(folder, nodes[root]).bip34Height {
            rootHeight = bip34
        } else {
            rootHeight = 0
            warn("the chain starts at block \(nodes[root].hash), whose height is unknown: heights count from 0 there")
        }
        // Heights in the root's tree; every other tree is orphaned.
        var linked = [Int]()
        var stack = [(root, rootHeight)]
        while let (i, h) = stack.popLast() {
            if nodes[i].height != h { nodes[i].height = h; linked.append(i) }
            for c in children[i] { stack.append((c, h + 1)) }
        }
        report.orphans = roots.filter { $0 != root }.reduce(0) { count, r in
            var n = 0, s = [r]
            while let i = s.popLast() { n += 1; s += children[i] }
            return count + n
        }
        if report.orphans > 0 {
            warn("\(report.orphans) block\(report.orphans == 1 ? "" : "s") whose parent never appears (orphans) left out of the chain")
        }
        let tip = best[root]!
        var path = [Int]()
        var cursor: Int? = tip
        while let i = cursor { path.append(i); cursor = i == root ? nil : nodes[i].parent }
        path.reverse()
        try database.write { db in
            if storedRoot == nil {
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('root', ?)", arguments: [nodes[root].hash.displayHex])
            }
            for i in linked {
                try db.execute(sql: "UPDATE blocks SET height = ?, work = ? WHERE id = ?",
                               arguments: [nodes[i].height, workData(nodes[i].work), nodes[i].id])
            }
        }
        // Disconnect what the new best chain does not share, tip first; then connect the rest.
        let newBest = Set(path)
        let stale = nodes.indices.filter { nodes[$0].inBest && !newBest.contains($0) }.sorted { nodes[$0].height! > nodes[$1].height! }
        let fresh = path.filter { !nodes[$0].inBest }
        state.phase = "connecting"
        state.blocks = 0
        state.blocksTotal = stale.count + fresh.count
        for batch in stride(from: 0, to: stale.count, by: batchSize) {
            try database.write { db in
                for i in stale[batch..<min(batch + batchSize, stale.count)] { try disconnect(db, nodes[i]) }
            }
            report.disconnected += min(batchSize, stale.count - batch)
            try committedBatch()
        }
        var connector = Connector(network: network)
        for batch in stride(from: 0, to: fresh.count, by: batchSize) {
            let blocks = try fresh[batch..<min(batch + batchSize, fresh.count)].map { (nodes[$0], try readBlock(folder, nodes[$0])) }
            try database.write { db in
                for (node, block) in blocks {
                    try connector.connect(db, block: block, id: node.id, height: node.height!)
                    state.transactions += block.transactions.count
                }
                try connector.flush(db)
            }
            report.connected += blocks.count
            state.blocks = report.disconnected + report.connected
            progress(state)
            try committedBatch()
        }
        report.tipHash = nodes[tip].hash
        report.tipHeight = nodes[tip].height
        openFiles.removeAll()
    }

    func committedBatch() throws {
        batches += 1
        if let abortAfterBatches, batches >= abortAfterBatches { throw IndexAbort() }
    }

    /// Open files, by name, while linking and connecting.
    var openFiles = [String: MappedFile]()

    /// Reads a block back from its file.
    func readBlock(_ folder: BlocksFolder, _ node: Node) throws -> Block {
        let file: MappedFile
        if let open = openFiles[node.file] {
            file = open
        } else {
            guard let path = folder.files.first(where: { $0.hasSuffix("/" + node.file) || $0 == node.file }) else {
                throw IndexError("block \(node.hash) is in \(node.file), which is not among the files given")
            }
            file = try MappedFile(path: path)
            openFiles[node.file] = file
        }
        guard let bytes = BlockFileReader.block(in: file, key: folder.xorKey, at: node.offset) else {
            throw IndexError("\(node.file): no block at offset \(node.offset) any more")
        }
        return try Block(decoding: bytes)
    }

    /// Undoes a block: its outputs go, the outputs it spent are unspent again, and the
    /// addresses it touched lose its amounts.
    func disconnect(_ db: Database, _ node: Node) throws {
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

/// Connects blocks: writes transactions, inputs and outputs, spends outputs, and gathers
/// address changes, which `flush` writes at the end of each batch.
struct Connector {
    let network: Network
    var summaries = [Int64: (balance: Int64, received: Int64, sent: Int64, txs: Int64, first: Int64, last: Int64)]()
    var addressIDs = [String: Int64]()

    init(network: Network) { self.network = network }

    mutating func connect(_ db: Database, block: Block, id: Int64, height: Int64) throws {
        let genesis = block.hash == network.genesisHash
        for (position, tx) in block.transactions.enumerated() {
            var received = [Int64: Int64](), sent = [Int64: Int64]()
            var inputCounts = [Int64: Int64](), outputCounts = [Int64: Int64]()
            var inputTotal: Int64? = 0
            try db.cachedStatement(sql: "INSERT INTO transactions (txid, block_id, height, position, size, weight, fee, is_coinbase) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)")
                .execute(arguments: [data(tx.txid), id, height, position, tx.size(), tx.weight, tx.isCoinbase])
            let txID = db.lastInsertedRowID
            if !tx.isCoinbase {
                for (n, input) in tx.inputs.enumerated() {
                    let spent = try Row.fetchOne(db.cachedStatement(sql: """
                        SELECT o.tx_id, o.value, o.address_id FROM transactions t JOIN outputs o ON o.tx_id = t.id AND o.vout = ?
                        WHERE t.txid = ? AND o.spent_by_tx IS NULL ORDER BY t.id DESC LIMIT 1
                        """), arguments: [Int64(input.previousOutput.index), data(input.previousOutput.txid)])
                    var value: Int64?, address: Int64?
                    if let spent {
                        value = spent[1]
                        address = spent[2]
                        try db.cachedStatement(sql: "UPDATE outputs SET spent_by_tx = ?, spent_by_input = ? WHERE tx_id = ? AND vout = ?")
                            .execute(arguments: [txID, n, spent[0] as Int64, Int64(input.previousOutput.index)])
                        if let address {
                            sent[address, default: 0] += value ?? 0
                            inputCounts[address, default: 0] += 1
                        }
                    }
                    inputTotal = inputTotal.flatMap { total in value.map { total + $0 } }
                    try db.cachedStatement(sql: "INSERT INTO inputs (tx_id, n, previous_txid, previous_vout, address_id, value) VALUES (?, ?, ?, ?, ?, ?)")
                        .execute(arguments: [txID, n, data(input.previousOutput.txid), Int64(input.previousOutput.index), address, value])
                }
            }
            var outputTotal: Int64 = 0
            for (n, output) in tx.outputs.enumerated() {
                let script = Script(output.scriptPubKey)
                let pattern = script.pattern
                var address: Int64?
                if let text = pattern.address(on: network)?.text {
                    address = try addressID(db, text)
                    received[address!, default: 0] += output.value
                    outputCounts[address!, default: 0] += 1
                }
                outputTotal += output.value
                let unspendable = script.isUnspendable || (genesis && tx.isCoinbase)
                try db.cachedStatement(sql: "INSERT INTO outputs (tx_id, vout, value, type, address_id, unspendable) VALUES (?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [txID, n, output.value, pattern.type.rawValue, address, unspendable])
            }
            if !tx.isCoinbase, let inputTotal {
                try db.cachedStatement(sql: "UPDATE transactions SET fee = ? WHERE id = ?").execute(arguments: [inputTotal - outputTotal, txID])
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
