import Dispatch
import Foundation
import GRDB
import GRDBSQLite
public import BitcoinWire
import BitcoinScript
import BlockFile
import Validation

/// A best-chain block decoded off the writer's thread, with what the writer needs of each
/// output already worked out (its type, address text and spendability).
struct PreparedBlock: Sendable {
    struct Output: Sendable {
        let type: OutputType
        let address: String?
        let unspendable: Bool
    }

    /// The block's node in the indexer's tree.
    let node: Int
    let block: Block
    /// Each transaction's offset in the block's bytes.
    let offsets: [Int]
    /// Every output of every transaction, in order.
    let outputs: [Output]

    init(node: Int, block: Block, offsets: [Int], network: ChainParameters) {
        self.node = node
        self.block = block
        self.offsets = offsets
        // The genesis coinbase's output is credited but can never be spent (Core never added it).
        let genesis = block.hash == network.genesisHash
        var outputs = [Output]()
        outputs.reserveCapacity(block.transactions.reduce(0) { $0 + $1.outputs.count })
        for tx in block.transactions {
            for output in tx.outputs {
                let script = Script(output.scriptPubKey)
                let pattern = script.pattern
                outputs.append(Output(type: pattern.type, address: pattern.address(on: network)?.text,
                                      unspendable: script.isUnspendable || (genesis && tx.isCoinbase)))
            }
        }
        self.outputs = outputs
    }
}

/// The best chain's unspent outputs the indexer holds in memory (Core's coins cache): each
/// output's value and address id, with its transaction's row and whether it is a coinbase.
///
/// When the index was empty at the start of the run the cache is `complete`: it holds every
/// unspent output, so a miss is an answer and the database is never asked. It is bounded by
/// `capacity` outputs; past that the oldest half goes, the cache is no longer complete, and
/// misses are looked up in the database.
typealias CoinCache = UnspentCache<CoinCacheTransaction, CoinCacheOutput>

struct CoinCacheTransaction { let row: Int64, isCoinbase: Bool }
struct CoinCacheOutput { let value: Int64; let address: Int64? }

extension UnspentCache where Info == CoinCacheTransaction, Output == CoinCacheOutput {
    /// The unspent output at `outpoint`, if the cache holds it.
    func coin(_ outpoint: OutPoint) -> Coin? {
        guard let (info, height, output) = find(outpoint) else { return nil }
        return Coin(value: output.value, height: height, isCoinbase: info.isCoinbase)
    }
}

/// Connects blocks to the best chain: checks each against the UTXO set (`ConnectRules`),
/// then gathers its rows (transactions, inputs, outputs, spends, address rows and totals) in
/// memory; `flush` writes a batch of blocks' rows in one transaction, each table's in key
/// order, through prepared statements.
struct Connector {
    let network: ChainParameters
    /// The chain starts at a genesis block, so every input must spend an output in the index;
    /// otherwise an outpoint whose transaction the index has never seen is from before the
    /// first block, with its value and address unknown.
    let fromGenesis: Bool
    var coins: CoinCache
    /// Address ids by text; complete (a miss is a new address) while `coins` is.
    var addressIDs = [String: Int64]()
    var addressCapacity = 1_000_000
    var nextTransaction: Int64
    var nextAddress: Int64
    /// The best chain's block at the network's BIP34 height (for BIP30), once connected.
    var bip34Hash: BlockHash?
    var batch = Batch()
    /// Outputs stored in earlier batches and spent in this one (for database lookups).
    var spentInBatch = Set<OutPoint>()
    /// Where outputs found in the database are (row and address), for the block being connected.
    var found = [OutPoint: (row: Int64, address: Int64?)]()

    typealias Summary = (balance: Int64, received: Int64, sent: Int64, txs: Int64, first: Int64, last: Int64)

    /// Rows waiting for `flush`.
    struct Batch: Sendable {
        struct TransactionRow { let id: Int64, txid: TxID, block: Int64, height: Int64, position: Int, size: Int, weight: Int, fee: Int64?, isCoinbase: Bool, offset: Int? }
        struct OutputRow { let tx: Int64, vout: Int, value: Int64, type: OutputType, address: Int64?, unspendable: Bool; var spentBy: (tx: Int64, input: Int)? }
        struct InputRow { let tx: Int64, n: Int, previousRow: Int64?, previousVout: UInt32, previousTxid: TxID? }
        struct Spend { let tx: Int64, vout: Int, by: Int64, input: Int }
        struct AddressRow { let address: Int64, height: Int64, tx: Int64, received: Int64, sent: Int64, inputs: Int64, outputs: Int64 }


        var transactions = [TransactionRow]()
        /// Index in `outputs` of each batch transaction's first output.
        var outputStart = [Int]()
        var outputs = [OutputRow]()
        var inputs = [InputRow]()
        /// Spends of outputs written by earlier batches.
        var spends = [Spend]()
        var addressRows = [AddressRow]()
        var newAddresses = [(id: Int64, text: String)]()
        var summaries = [Int64: Summary]()
        var blocks = [Int64]()

        var rows: Int { transactions.count + outputs.count + inputs.count + addressRows.count }
    }

    init(_ db: Database, network: ChainParameters, fromGenesis: Bool, complete: Bool, coinCapacity: Int) throws {
        self.network = network
        self.fromGenesis = fromGenesis
        coins = CoinCache(complete: complete, capacity: coinCapacity)
        nextTransaction = (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM transactions") ?? 0) + 1
        nextAddress = (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM addresses") ?? 0) + 1
        bip34Hash = try Self.bip34Hash(db, network: network)
    }

    /// The best chain's block at the network's BIP34 height, if it has one.
    static func bip34Hash(_ db: Database, network: ChainParameters) throws -> BlockHash? {
        try Data.fetchOne(db, sql: "SELECT hash FROM blocks WHERE in_best_chain = 1 AND height = ?", arguments: [network.bip34Height]).map(hash)
    }

    /// Drops what is cached after blocks were disconnected: the database answers from now on.
    mutating func forget(_ db: Database) throws {
        coins.removeAll()
        addressIDs.removeAll()
        found.removeAll()
        bip34Hash = try Self.bip34Hash(db, network: network)
    }

    /// Checks `block` and, when it passes, adds its rows to the batch.
    /// - Returns: the rule the block breaks (then nothing is added), or nil.
    mutating func connect(_ db: Database, _ prepared: PreparedBlock, id: Int64, height: Int64) throws -> RuleFailure? {
        let block = prepared.block
        let blockHash = block.hash
        let enforceBIP30 = network.enforcesBIP30(height: height, hash: blockHash, bip34BlockHash: bip34Hash)
        found.removeAll(keepingCapacity: true)
        let checked = try ConnectRules.check(
            block, height: height, network: network, enforceBIP30: enforceBIP30, transactionOffsets: prepared.offsets,
            lookup: { outpoint in try lookup(db, outpoint) },
            hasUnspentOutputs: { txid in try hasUnspentOutputs(db, txid) })
        let connection: BlockConnection
        switch checked {
        case .failure(let failure): return failure
        case .success(let value): connection = value
        }
        if height == network.bip34Height { bip34Hash = blockHash }
        var outputIndex = 0
        var touched = [Int64: (received: Int64, sent: Int64, inputs: Int64, outputs: Int64)]()
        for (position, tx) in block.transactions.enumerated() {
            let row = nextTransaction
            nextTransaction += 1
            batch.transactions.append(.init(id: row, txid: tx.txid, block: id, height: height, position: position, size: tx.size(),
                                            weight: tx.weight, fee: connection.fees[position], isCoinbase: tx.isCoinbase,
                                            offset: position < prepared.offsets.count ? prepared.offsets[position] : nil))
            batch.outputStart.append(batch.outputs.count)
            touched.removeAll(keepingCapacity: true)
            if !tx.isCoinbase {
                for (n, input) in tx.inputs.enumerated() {
                    let outpoint = input.previousOutput
                    var location: (row: Int64, address: Int64?)?
                    if let coin = connection.spent[position][n] {
                        location = coins.spend(outpoint).map { ($0.info.row, $0.output.address) } ?? found[outpoint]
                        guard let location else { throw IndexError("no location for the spent output \(outpoint.txid):\(outpoint.index)") }
                        markSpent(location.row, vout: Int(outpoint.index), by: row, input: n)
                        if !coins.complete { spentInBatch.insert(outpoint) }
                        if let address = location.address {
                            touched[address, default: (0, 0, 0, 0)].sent += coin.value
                            touched[address, default: (0, 0, 0, 0)].inputs += 1
                        }
                    }
                    batch.inputs.append(.init(tx: row, n: n, previousRow: location?.row, previousVout: outpoint.index,
                                              previousTxid: location == nil ? outpoint.txid : nil))
                }
            }
            var spendable = [CoinCacheOutput?]()
            spendable.reserveCapacity(tx.outputs.count)
            for (n, output) in tx.outputs.enumerated() {
                let p = prepared.outputs[outputIndex]
                outputIndex += 1
                let address = try p.address.map { try addressID(db, $0) }
                batch.outputs.append(.init(tx: row, vout: n, value: output.value, type: p.type, address: address, unspendable: p.unspendable))
                spendable.append(p.unspendable ? nil : CoinCacheOutput(value: output.value, address: address))
                if let address {
                    touched[address, default: (0, 0, 0, 0)].received += output.value
                    touched[address, default: (0, 0, 0, 0)].outputs += 1
                }
            }
            coins.add(tx.txid, CoinCacheTransaction(row: row, isCoinbase: tx.isCoinbase), height: height, outputs: spendable)
            for (address, t) in touched {
                batch.addressRows.append(.init(address: address, height: height, tx: row, received: t.received, sent: t.sent,
                                               inputs: t.inputs, outputs: t.outputs))
                var summary = batch.summaries[address] ?? (0, 0, 0, 0, height, height)
                summary.balance += t.received - t.sent
                summary.received += t.received
                summary.sent += t.sent
                summary.txs += 1
                summary.first = min(summary.first, height)
                summary.last = max(summary.last, height)
                batch.summaries[address] = summary
            }
        }
        batch.blocks.append(id)
        return nil
    }

    /// An output of an earlier block: in the cache, else (when the cache is incomplete) in
    /// the database, unless this batch spent it.
    mutating func lookup(_ db: Database, _ outpoint: OutPoint) throws -> CoinLookup {
        if let coin = coins.coin(outpoint) { return .unspent(coin) }
        if coins.complete { return .missingOrSpent }
        if spentInBatch.contains(outpoint) { return .missingOrSpent }
        if let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT o.tx_id, o.value, o.address_id, t.height, t.is_coinbase FROM transactions t JOIN outputs o ON o.tx_id = t.id AND o.vout = ?
            WHERE t.txid = ? AND o.spent_by_tx IS NULL AND o.unspendable = 0 ORDER BY t.id DESC LIMIT 1
            """), arguments: [Int64(outpoint.index), data(outpoint.txid)]) {
            found[outpoint] = (row[0], row[2])
            return .unspent(Coin(value: row[1], height: row[3], isCoinbase: row[4]))
        }
        if fromGenesis { return .missingOrSpent }
        let seen = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM transactions WHERE txid = ? LIMIT 1"), arguments: [data(outpoint.txid)]) ?? false
        return seen ? .missingOrSpent : .outsideRange
    }

    /// BIP30: whether a transaction with this txid still has unspent outputs.
    func hasUnspentOutputs(_ db: Database, _ txid: TxID) throws -> Bool {
        if coins.holds(txid) { return true }
        if coins.complete { return false }
        let vouts = try Int64.fetchAll(db.cachedStatement(sql: """
            SELECT o.vout FROM transactions t JOIN outputs o ON o.tx_id = t.id WHERE t.txid = ? AND o.spent_by_tx IS NULL AND o.unspendable = 0
            """), arguments: [data(txid)])
        return vouts.contains { !spentInBatch.contains(OutPoint(txid: txid, index: UInt32(truncatingIfNeeded: $0))) }
    }

    /// Records a spend: on the output's row when it is in this batch, else as an update.
    mutating func markSpent(_ row: Int64, vout: Int, by tx: Int64, input: Int) {
        let first = batch.transactions.first?.id ?? .max
        if row >= first {
            batch.outputs[batch.outputStart[Int(row - first)] + vout].spentBy = (tx, input)
        } else {
            batch.spends.append(.init(tx: row, vout: vout, by: tx, input: input))
        }
    }

    /// The id of `text` in `addresses`, assigned on first sight (written by `flush`).
    mutating func addressID(_ db: Database, _ text: String) throws -> Int64 {
        if let id = addressIDs[text] { return id }
        if !coins.complete, let existing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM addresses WHERE address = ?"), arguments: [text]) {
            addressIDs[text] = existing
            return existing
        }
        let id = nextAddress
        nextAddress += 1
        batch.newAddresses.append((id, text))
        addressIDs[text] = id
        return id
    }

    /// Writes the batch's rows, in the transaction open on `db` (beginning one if none is):
    /// the caller commits. While the cache is complete (no lookup needs the database), the
    /// rows are written on a thread of their own while the next batch is gathered; otherwise
    /// here. Afterwards the caches are trimmed to their bounds (`beforeTrim` runs first, while
    /// the cache is still complete).
    mutating func flush(_ db: Database, beforeTrim: (Database) throws -> Void) throws {
        guard !batch.blocks.isEmpty else { return }
        try writes.wait()
        if !db.isInsideTransaction { try db.beginTransaction(.immediate) }
        if statements == nil { statements = try Statements(db) }
        let rows = batch
        rowsSinceCommit += rows.rows
        batch = Batch()
        spentInBatch.removeAll(keepingCapacity: true)
        if coins.complete {
            writes.submit(rows, statements!)
        } else {
            writes.times = try Self.write(rows, statements!, times: writes.times)
        }
        if coins.count > coins.capacity || addressIDs.count > addressCapacity {
            try writes.wait()
            try beforeTrim(db)
            coins.trim()
            coins.complete = false
            if addressIDs.count > addressCapacity { addressIDs.removeAll() }
        }
    }

    /// Rows written since the last commit.
    var rowsSinceCommit = 0
    /// The writes' statements, prepared once on the database's thread.
    var statements: Statements?
    let writes = BackgroundWrites()

    /// Commits what `flush` wrote, once it is written.
    mutating func commit(_ db: Database) throws {
        try writes.wait()
        guard db.isInsideTransaction else { return }
        let start = monotonicNanoseconds()
        try db.commit()
        writes.times.add("    commit", Double(monotonicNanoseconds() - start) / 1e9)
        rowsSinceCommit = 0
    }

    /// The statements `write` runs.
    struct Statements: @unchecked Sendable {  // used by one thread at a time: BackgroundWrites hands them over
        let newAddress, address, transaction, output, input, spend, addressRow, best: RowStatement

        init(_ db: Database) throws {
            newAddress = try RowStatement(db, "INSERT INTO addresses (id, address, balance, received, sent, tx_count, first_seen_height, last_seen_height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            address = try RowStatement(db, """
                UPDATE addresses SET balance = balance + ?, received = received + ?, sent = sent + ?, tx_count = tx_count + ?,
                  first_seen_height = MIN(COALESCE(first_seen_height, ?5), ?5), last_seen_height = MAX(COALESCE(last_seen_height, ?6), ?6)
                WHERE id = ?7
                """)
            transaction = try RowStatement(db, "INSERT INTO transactions (id, txid, block_id, height, position, size, weight, fee, is_coinbase, offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            output = try RowStatement(db, "INSERT INTO outputs (tx_id, vout, value, type, address_id, unspendable, spent_by_tx, spent_by_input) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            input = try RowStatement(db, "INSERT INTO inputs (tx_id, n, previous_tx_id, previous_vout, previous_txid) VALUES (?, ?, ?, ?, ?)")
            spend = try RowStatement(db, "UPDATE outputs SET spent_by_tx = ?, spent_by_input = ? WHERE tx_id = ? AND vout = ?")
            addressRow = try RowStatement(db, "INSERT INTO address_transactions (address_id, height, tx_id, received, sent, inputs, outputs) VALUES (?, ?, ?, ?, ?, ?, ?)")
            best = try RowStatement(db, "UPDATE blocks SET in_best_chain = 1 WHERE id = ?")
        }
    }

    /// Writes a batch's rows, each table's in key order; returns `times` with the time per table added.
    static func write(_ batch: Batch, _ s: Statements, times: IndexTimings) throws -> IndexTimings {
        var times = times
        var mark = monotonicNanoseconds()
        func lap(_ name: String) {
            let now = monotonicNanoseconds()
            times.add("    " + name, Double(now - mark) / 1e9)
            mark = now
        }
        var summaries = batch.summaries
        for (id, text) in batch.newAddresses {
            let t = summaries.removeValue(forKey: id) ?? (0, 0, 0, 0, 0, 0)
            try s.newAddress.run { $0.int(id); $0.text(text); $0.int(t.balance); $0.int(t.received); $0.int(t.sent); $0.int(t.txs); $0.int(t.first); $0.int(t.last) }
        }
        for (id, t) in summaries.sorted(by: { $0.key < $1.key }) {
            try s.address.run { $0.int(t.balance); $0.int(t.received); $0.int(t.sent); $0.int(t.txs); $0.int(t.first); $0.int(t.last); $0.int(id) }
        }
        lap("addresses")
        for t in batch.transactions {
            try s.transaction.run {
                $0.int(t.id); $0.hash(t.txid); $0.int(t.block); $0.int(t.height); $0.int(t.position); $0.int(t.size); $0.int(t.weight)
                $0.int(t.fee); $0.int(t.isCoinbase ? 1 : 0); $0.int(t.offset)
            }
        }
        lap("transactions")
        for o in batch.outputs {
            try s.output.run {
                $0.int(o.tx); $0.int(o.vout); $0.int(o.value); $0.text(o.type.rawValue); $0.int(o.address); $0.int(o.unspendable ? 1 : 0)
                $0.int(o.spentBy?.tx); $0.int(o.spentBy?.input)
            }
        }
        lap("outputs")
        for i in batch.inputs {
            try s.input.run { $0.int(i.tx); $0.int(i.n); $0.int(i.previousRow); $0.int(Int64(i.previousVout)); $0.hash(i.previousTxid) }
        }
        lap("inputs")
        for p in batch.spends.sorted(by: { ($0.tx, $0.vout) < ($1.tx, $1.vout) }) {
            try s.spend.run { $0.int(p.by); $0.int(p.input); $0.int(p.tx); $0.int(p.vout) }
        }
        lap("spends")
        for r in batch.addressRows.sorted(by: { ($0.address, $0.height, $0.tx) < ($1.address, $1.height, $1.tx) }) {
            try s.addressRow.run { $0.int(r.address); $0.int(r.height); $0.int(r.tx); $0.int(r.received); $0.int(r.sent); $0.int(r.inputs); $0.int(r.outputs) }
        }
        lap("address_transactions")
        for id in batch.blocks { try s.best.run { $0.int(id) } }
        lap("blocks")
        return times
    }
}

/// Writes batches on a thread of its own, one at a time, while the connector gathers the
/// next: `submit` hands one over, `wait` waits for it and rethrows its error. The database's
/// thread does not touch the connection between the two (SQLite allows one thread at a time
/// per connection).
final class BackgroundWrites: @unchecked Sendable {  // `error` and `times` change only between submit and wait
    private let queue = DispatchQueue(label: "blocksmith.index.writes")
    private let group = DispatchGroup()
    private var busy = false
    private var error: (any Error)?
    /// Time per table written (for `IndexTimings`).
    var times = IndexTimings()

    func submit(_ batch: Connector.Batch, _ statements: Connector.Statements) {
        busy = true
        group.enter()
        queue.async { [self] in
            do { times = try Connector.write(batch, statements, times: times) } catch { self.error = error }
            group.leave()
        }
    }

    func wait() throws {
        guard busy else { return }
        group.wait()
        busy = false
        if let error {
            self.error = nil
            throw error
        }
    }
}

/// A prepared statement run once per row with values bound directly (SQLite's C API), for
/// the indexer's bulk writes: GRDB's `StatementArguments` build an array of existentials per
/// row, which measured as 15% of indexing time.
struct RowStatement {
    let statement: Statement
    let connection: OpaquePointer?

    init(_ db: Database, _ sql: String) throws {
        connection = db.sqliteConnection
        statement = try db.makeStatement(sql: sql)
    }

    /// Binds parameters in order, steps once, and resets.
    func run(_ bind: (inout Binder) -> Void) throws {
        let handle = statement.sqliteStatement
        var binder = Binder(handle: handle)
        bind(&binder)
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
        }
    }

    struct Binder {
        let handle: OpaquePointer
        var index: Int32 = 1

        mutating func int(_ value: Int64?) {
            if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
            index += 1
        }
        mutating func int(_ value: Int?) { int(value.map(Int64.init)) }
        mutating func text(_ value: String?) {
            if let value {
                _ = value.withCString { sqlite3_bind_text(handle, index, $0, -1, SQLITE_TRANSIENT) }
            } else {
                sqlite3_bind_null(handle, index)
            }
            index += 1
        }
        /// Chain work as 32 big-endian bytes.
        mutating func work(_ value: UInt256) {
            let words = [value.l3.bigEndian, value.l2.bigEndian, value.l1.bigEndian, value.l0.bigEndian]
            _ = words.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, 32, SQLITE_TRANSIENT) }
            index += 1
        }
        mutating func hash(_ value: Hash256?) {
            if let value {
                _ = value.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, 32, SQLITE_TRANSIENT) }
            } else {
                sqlite3_bind_null(handle, index)
            }
            index += 1
        }
    }
}

/// SQLite's "copy the value now" destructor.
private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
