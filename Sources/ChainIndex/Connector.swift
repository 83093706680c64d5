import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import BitcoinWire
import BitcoinScript
import BlockFile
import Validation

/// A best-chain block decoded off the writer's thread, with what the writer needs of each
/// output already worked out (its type, address text and key, and spendability).
struct PreparedBlock: Sendable {
    struct Output: Sendable {
        let type: OutputType
        let address: String?
        let addressKey: AddressKey?
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
                let address = pattern.address(on: network)?.text
                outputs.append(Output(type: pattern.type, address: address, addressKey: address.map(AddressKey.init),
                                      unspendable: script.isUnspendable || (genesis && tx.isCoinbase)))
            }
        }
        self.outputs = outputs
    }
}

/// Running totals of the chain (`query stats`, `/api/stats`): kept in the `totals` table,
/// added to with each batch and taken back on a disconnect, so no answer counts a table.
struct Totals: Sendable {
    var transactions: Int64 = 0
    var outputsByType = [OutputType: Int64]()
    var utxoCount: Int64 = 0, utxoValue: Int64 = 0
    var addresses: Int64 = 0

    var isEmpty: Bool { transactions == 0 && outputsByType.isEmpty && utxoCount == 0 && utxoValue == 0 && addresses == 0 }

    /// (name, amount) pairs as the table stores them.
    var rows: [(String, Int64)] {
        var rows = [("transactions", transactions), ("utxo_count", utxoCount), ("utxo_value", utxoValue), ("addresses", addresses)]
        for (type, count) in outputsByType.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { rows.append(("outputs:" + type.rawValue, count)) }
        return rows.filter { $0.1 != 0 }
    }
}

/// Connects blocks to the best chain: checks each against the UTXO set (`ConnectRules`),
/// then gathers its rows (transactions, inputs, outputs, spends, address rows and totals) in
/// memory; `flush` writes a batch of blocks' rows, each table's in key order, through
/// prepared statements, on the writer thread while the next batch is gathered.
///
/// What the caches miss is asked of the database through `Lookups`, which see the last
/// commit; so the caches keep what changed since then: outputs and addresses made since the
/// commit stay cached (the caches are trimmed only right after a commit), and spends of
/// committed outputs are remembered (`spentSinceCommit`).
struct Connector {
    let network: ChainParameters
    /// The chain starts at a genesis block, so every input must spend an output in the index;
    /// otherwise an outpoint whose transaction the index has never seen is from before the
    /// first block, with its value and address unknown.
    let fromGenesis: Bool
    var coins: CoinCache
    var addresses: AddressCache
    /// Txids indexed (BIP30's question, answered without the database where it can be).
    var txids: TxidFilter
    let lookups: Lookups
    /// Checkpoints after each commit, on the writer thread (nil: SQLite's own, at the commit).
    var checkpointer: Checkpointer?
    var nextTransaction: Int64
    var nextAddress: Int64
    /// Transaction rows below this one are committed.
    var firstUncommittedRow: Int64
    /// The best chain's block at the network's BIP34 height (for BIP30), once connected.
    var bip34Hash: BlockHash?
    var batch = Batch()
    var pending = Pending()
    /// Rows of `pending` before the caller should commit.
    var pendingCapacity: Int
    /// Outputs the lookups still see unspent that were spent since the last commit was asked
    /// for, and those spent before it while it is under way (`commitInFlight`).
    var spentSinceCommit = Set<OutpointKey>(), spentInFlight = Set<OutpointKey>()
    /// A commit asked for (`requestCommit`) whose rows the writer thread is still writing.
    private(set) var commitInFlight = false
    /// Entries of `spentSinceCommit` before the caller should commit.
    var spentCapacity: Int

    typealias Summary = (balance: Int64, received: Int64, sent: Int64, txs: Int64, first: Int64, last: Int64)

    /// Rows waiting for `flush`: those appended in key order (blocks, transactions, outputs,
    /// inputs), written every few thousand blocks.
    struct Batch: Sendable {
        struct TransactionRow { let id: Int64, txid: TxID, height: Int64, size: Int, weight: Int, fee: Int64?, isCoinbase: Bool, offset: Int? }
        struct OutputRow { let tx: Int64, vout: Int, value: Int64, type: OutputType, address: Int64?, unspendable: Bool; var spentBy: (tx: Int64, input: Int)? }
        struct InputRow { let tx: Int64, n: Int, previousRow: Int64?, previousVout: UInt32, previousTxid: TxID? }

        var transactions = [TransactionRow]()
        /// Index in `outputs` of each batch transaction's first output.
        var outputStart = [Int]()
        var outputs = [OutputRow]()
        var inputs = [InputRow]()
        /// Each block's row and its first transaction's.
        var blocks = [(id: Int64, firstTransaction: Int64)]()

        var rows: Int { transactions.count + outputs.count + inputs.count }
    }

    /// Rows waiting for the commit: those that land all over their tables (spends of earlier
    /// outputs, address rows and summaries, new addresses, totals). Written once per commit,
    /// each table's in key order, so a page of those tables is rewritten once a commit, not
    /// once a batch.
    struct Pending: Sendable {
        struct Spend { let tx: Int64, vout: Int, by: Int64, input: Int }
        struct AddressRow { let address: Int64, tx: Int64, received: Int64, sent: Int64, inputs: Int64, outputs: Int64 }

        var spends = [Spend]()
        var addressRows = [AddressRow]()
        var newAddresses = [(id: Int64, text: String)]()
        var summaries = [Int64: Summary]()
        var totals = Totals()

        var rows: Int { spends.count + addressRows.count + newAddresses.count + summaries.count }
    }

    /// - Parameters:
    ///   - complete: the index is empty, so the caches start out knowing everything.
    ///   - lookups: where misses are asked (a connection of their own, or `db`'s).
    init(_ db: Database, network: ChainParameters, fromGenesis: Bool, complete: Bool, lookups: Lookups, memory: IndexMemory) throws {
        self.network = network
        self.fromGenesis = fromGenesis
        self.lookups = lookups
        coins = CoinCache(complete: complete, bytes: memory.coins)
        addresses = AddressCache(complete: complete, bytes: memory.addresses)
        // Remembered spends (16-byte keys) take from the coins' share: a commit clears them.
        spentCapacity = max(1000, coins.capacity / 8)
        pendingCapacity = max(1000, memory.pending / 64)
        txids = TxidFilter(knowsAll: complete)
        nextTransaction = (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM transactions") ?? 0) + 1
        firstUncommittedRow = nextTransaction
        nextAddress = (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM addresses") ?? 0) + 1
        bip34Hash = try Self.bip34Hash(db, network: network)
    }

    /// The best chain's block at the network's BIP34 height, if it has one.
    static func bip34Hash(_ db: Database, network: ChainParameters) throws -> BlockHash? {
        try Data.fetchOne(db, sql: "SELECT hash FROM blocks WHERE in_best_chain = 1 AND height = ?", arguments: [network.bip34Height]).map(hash)
    }

    /// Drops what is cached after blocks were disconnected (and committed): the database
    /// answers from now on.
    mutating func forget(_ db: Database) throws {
        coins.removeAll()
        addresses.removeAll()
        txids = TxidFilter(knowsAll: false)
        spentSinceCommit.removeAll()
        spentInFlight.removeAll()
        nextTransaction = (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM transactions") ?? 0) + 1
        firstUncommittedRow = nextTransaction
        bip34Hash = try Self.bip34Hash(db, network: network)
    }

    /// Whether a miss may need the database (then, without a connection of their own, the
    /// lookups wait for the writes).
    var needsDatabase: Bool { !coins.complete || !addresses.complete }

    /// Whether a cache is past its bound: the caller commits, then calls `trim`.
    var needsTrim: Bool { coins.count > coins.capacity || addresses.count > addresses.capacity || spentSinceCommit.count > spentCapacity }

    /// Whether the rows waiting for the commit are past their bound: the caller commits.
    var needsCommit: Bool { pending.rows > pendingCapacity }

    /// Checks `block` and, when it passes, adds its rows to the batch.
    /// - Returns: the rule the block breaks (then nothing is added), or nil.
    mutating func connect(_ prepared: PreparedBlock, id: Int64, height: Int64) throws -> RuleFailure? {
        let block = prepared.block
        let blockHash = block.hash
        let enforceBIP30 = network.enforcesBIP30(height: height, hash: blockHash, bip34BlockHash: bip34Hash)
        let checked = try ConnectRules.check(
            block, height: height, network: network, enforceBIP30: enforceBIP30, transactionOffsets: prepared.offsets,
            lookup: { outpoint in try lookup(outpoint) },
            hasUnspentOutputs: { tx in try hasUnspentOutputs(tx) })
        let connection: BlockConnection
        switch checked {
        case .failure(let failure): return failure
        case .success(let value): connection = value
        }
        if height == network.bip34Height { bip34Hash = blockHash }
        var outputIndex = 0
        var touched = [Int64: (received: Int64, sent: Int64, inputs: Int64, outputs: Int64)]()
        batch.blocks.append((id, nextTransaction))
        for (position, tx) in block.transactions.enumerated() {
            let row = nextTransaction
            nextTransaction += 1
            txids.insert(tx.txid)
            pending.totals.transactions += 1
            batch.transactions.append(.init(id: row, txid: tx.txid, height: height, size: tx.size(),
                                            weight: tx.weight, fee: connection.fees[position], isCoinbase: tx.isCoinbase,
                                            offset: position < prepared.offsets.count ? prepared.offsets[position] : nil))
            batch.outputStart.append(batch.outputs.count)
            touched.removeAll(keepingCapacity: true)
            if !tx.isCoinbase {
                for (n, input) in tx.inputs.enumerated() {
                    let outpoint = input.previousOutput
                    var location: (row: Int64, address: Int64?)?
                    if let coin = connection.spent[position][n] {
                        // `lookup` put every coin it found in the cache.
                        guard let entry = coins.spend(outpoint) else {
                            throw IndexError("no location for the spent output \(outpoint.txid):\(outpoint.index)")
                        }
                        location = (entry.row, entry.address)
                        if !coins.complete && (entry.row < firstUncommittedRow || !lookups.separate) {
                            spentSinceCommit.insert(OutpointKey(outpoint))
                        }
                        markSpent(entry.row, vout: Int(outpoint.index), by: row, input: n)
                        pending.totals.utxoCount -= 1
                        pending.totals.utxoValue -= coin.value
                        if let address = entry.address {
                            touched[address, default: (0, 0, 0, 0)].sent += coin.value
                            touched[address, default: (0, 0, 0, 0)].inputs += 1
                        }
                    }
                    batch.inputs.append(.init(tx: row, n: n, previousRow: location?.row, previousVout: outpoint.index,
                                              previousTxid: location == nil ? outpoint.txid : nil))
                }
            }
            var spendable = [CoinEntry?]()
            spendable.reserveCapacity(tx.outputs.count)
            for (n, output) in tx.outputs.enumerated() {
                let p = prepared.outputs[outputIndex]
                outputIndex += 1
                let address = try p.address.map { try addressID($0, key: p.addressKey!, height: height) }
                batch.outputs.append(.init(tx: row, vout: n, value: output.value, type: p.type, address: address, unspendable: p.unspendable))
                pending.totals.outputsByType[p.type, default: 0] += 1
                if p.unspendable {
                    spendable.append(nil)
                } else {
                    spendable.append(CoinEntry(value: output.value, row: row, address: address, isCoinbase: tx.isCoinbase))
                    pending.totals.utxoCount += 1
                    pending.totals.utxoValue += output.value
                }
                if let address {
                    touched[address, default: (0, 0, 0, 0)].received += output.value
                    touched[address, default: (0, 0, 0, 0)].outputs += 1
                }
            }
            coins.add(tx.txid, height: height, outputs: spendable)
            for (address, t) in touched {
                pending.addressRows.append(.init(address: address, tx: row, received: t.received, sent: t.sent,
                                               inputs: t.inputs, outputs: t.outputs))
                var summary = pending.summaries[address] ?? (0, 0, 0, 0, height, height)
                summary.balance += t.received - t.sent
                summary.received += t.received
                summary.sent += t.sent
                summary.txs += 1
                summary.first = min(summary.first, height)
                summary.last = max(summary.last, height)
                pending.summaries[address] = summary
            }
        }
        return nil
    }

    /// An output of an earlier block: in the cache, else (when the cache is incomplete) in
    /// the database, unless it was spent since the last commit. What the database has is
    /// cached, so that connecting the block finds it there.
    mutating func lookup(_ outpoint: OutPoint) throws -> CoinLookup {
        if let (height, entry) = coins.find(outpoint) { return .unspent(Coin(value: entry.value, height: height, isCoinbase: entry.isCoinbase)) }
        if coins.complete || spent(OutpointKey(outpoint)) { return .missingOrSpent }
        if let found = try lookups.coin(outpoint) {
            coins.insert(outpoint, height: found.height, output: CoinEntry(value: found.value, row: found.row, address: found.address, isCoinbase: found.isCoinbase))
            return .unspent(Coin(value: found.value, height: found.height, isCoinbase: found.isCoinbase))
        }
        if fromGenesis { return .missingOrSpent }
        return try lookups.seen(outpoint.txid) ? .missingOrSpent : .outsideRange
    }

    /// BIP30: whether an earlier transaction with `tx`'s txid still has unspent outputs.
    func hasUnspentOutputs(_ tx: Transaction) throws -> Bool {
        let txid = tx.txid
        if coins.holdsAny(of: txid, outputs: tx.outputs.count) { return true }
        if coins.complete || !txids.mayContain(txid) { return false }
        return try lookups.unspentOutputs(of: txid).contains { !spent(OutpointKey(txid: txid, index: $0)) }
    }

    /// Whether an output the lookups may still see unspent was spent.
    func spent(_ key: OutpointKey) -> Bool { spentSinceCommit.contains(key) || spentInFlight.contains(key) }

    /// Records a spend: on the output's row when it is in this batch, else as an update at the commit.
    mutating func markSpent(_ row: Int64, vout: Int, by tx: Int64, input: Int) {
        let first = batch.transactions.first?.id ?? .max
        if row >= first {
            batch.outputs[batch.outputStart[Int(row - first)] + vout].spentBy = (tx, input)
        } else {
            pending.spends.append(.init(tx: row, vout: vout, by: tx, input: input))
        }
    }

    /// The id of `text` in `addresses`, assigned on first sight (written by `flush`).
    mutating func addressID(_ text: String, key: AddressKey, height: Int64) throws -> Int64 {
        if let id = addresses.id(of: key, at: height) { return id }
        if !addresses.complete, let existing = try lookups.addressID(text) {
            addresses.insert(key, id: existing, at: height)
            return existing
        }
        let id = nextAddress
        nextAddress += 1
        pending.newAddresses.append((id, text))
        pending.totals.addresses += 1
        addresses.insert(key, id: id, at: height)
        return id
    }

    /// Writes the batch's rows, in the transaction open on `db` (beginning one if none is,
    /// after finishing a commit under way): the caller commits. The rows are written on a
    /// thread of their own while the next batch is gathered, unless a miss would have to read
    /// `db` meanwhile (no separate lookups connection): then here.
    mutating func flush(_ db: Database) throws {
        guard !batch.blocks.isEmpty else { return }
        try finishCommit(db)
        try writes.wait()
        if !db.isInsideTransaction { try db.beginTransaction(.immediate) }
        if statements == nil { statements = try Statements(db) }
        let rows = batch, statements = statements!
        rowsSinceCommit += rows.rows
        batch = Batch()
        if canWriteInBackground {
            writes.submit { times in try Self.write(rows, statements, times: &times) }
        } else {
            try Self.write(rows, statements, times: &writes.times)
        }
    }

    /// Whether the writer thread may use the writing connection while this thread goes on.
    var canWriteInBackground: Bool { lookups.separate || !needsDatabase }

    /// Trims the caches to their bounds; the caller has just committed (so everything
    /// dropped is in what the lookups see).
    mutating func trim() {
        coins.trim()
        addresses.trim()
    }

    /// Rows written since the last commit.
    var rowsSinceCommit = 0
    /// Commits so far (for `IndexTimings`).
    var commits = 0
    /// The writes' statements, prepared once on the database's thread.
    var statements: Statements?
    let writes = BackgroundWrites()

    /// Asks for a commit of what `flush` wrote: the rows waiting for the commit are written
    /// on the writer thread while this one goes on (the lookups keep seeing the commit before,
    /// and the spends since then are remembered until `finishCommit`), or here when the
    /// lookups share the connection. The commit itself happens in `finishCommit`, which
    /// `flush` calls first.
    mutating func requestCommit(_ db: Database) throws {
        try finishCommit(db)
        try writes.wait()
        if pending.rows > 0 || !pending.totals.isEmpty {
            if !db.isInsideTransaction { try db.beginTransaction(.immediate) }
            if statements == nil { statements = try Statements(db) }
            let rows = pending, statements = statements!
            pending = Pending()
            if canWriteInBackground {
                writes.submit { times in try Self.write(rows, statements, times: &times) }
            } else {
                try Self.write(rows, statements, times: &writes.times)
            }
        }
        guard db.isInsideTransaction else { return }
        commitInFlight = true
        spentInFlight.formUnion(spentSinceCommit)
        spentSinceCommit.removeAll(keepingCapacity: false)
        firstUncommittedRow = nextTransaction
        rowsSinceCommit = 0
    }

    /// Commits once the writer thread has written everything asked for; nothing when no
    /// commit is under way.
    mutating func finishCommit(_ db: Database) throws {
        guard commitInFlight else { return }
        try writes.wait()
        let start = monotonicNanoseconds()
        if db.isInsideTransaction { try db.commit() }
        commits += 1
        writes.times.add("    commit", Double(monotonicNanoseconds() - start) / 1e9)
        commitInFlight = false
        spentInFlight.removeAll(keepingCapacity: false)
        // The commit went to the WAL; copying it into the database file (a checkpoint) is
        // the checkpointer's thread's, while this one and the writer go on (SQLite's own
        // checkpoint would run here).
        checkpointer?.request()
    }

    /// Commits now.
    mutating func commit(_ db: Database) throws {
        try requestCommit(db)
        try finishCommit(db)
    }
}

/// How `--dbcache` is shared out, in bytes: the coins cache, the address ids, the rows waiting
/// for the commit, SQLite's page caches (the writing connection's and the lookups').
public struct IndexMemory: Sendable {
    public var coins: Int, addresses: Int, pending: Int, sqlite: Int, lookups: Int

    /// Bitcoin Core's default `-dbcache`, in MiB.
    public static let defaultMiB = 450

    /// `mebibytes` shared out: 45% coins, 15% addresses, 15% rows waiting for the commit,
    /// 20% SQLite's page cache, 5% the lookups' page cache.
    public init(mebibytes: Int) {
        let total = max(1, mebibytes) << 20
        coins = total / 100 * 45
        addresses = total / 100 * 15
        pending = total / 100 * 15
        sqlite = total / 100 * 20
        lookups = total / 100 * 5
    }
}

extension Connector {
    /// The statements `write` runs.
    struct Statements: @unchecked Sendable {  // used by one thread at a time: BackgroundWrites hands them over
        let newAddress, address, transaction, output, input, spend, addressRow, best, total: RowStatement

        init(_ db: Database) throws {
            newAddress = try RowStatement(db, "INSERT INTO addresses (id, address, key, balance, received, sent, tx_count, first_seen_height, last_seen_height) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            address = try RowStatement(db, """
                UPDATE addresses SET balance = balance + ?, received = received + ?, sent = sent + ?, tx_count = tx_count + ?,
                  first_seen_height = MIN(COALESCE(first_seen_height, ?5), ?5), last_seen_height = MAX(COALESCE(last_seen_height, ?6), ?6)
                WHERE id = ?7
                """)
            transaction = try RowStatement(db, "INSERT INTO transactions (id, txid, height, size, weight, fee, is_coinbase, offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            output = try RowStatement(db, "INSERT INTO outputs (tx_id, vout, value, type, address_id, unspendable, spent_by_tx, spent_by_input) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            input = try RowStatement(db, "INSERT INTO inputs (tx_id, n, previous_tx_id, previous_vout, previous_txid) VALUES (?, ?, ?, ?, ?)")
            spend = try RowStatement(db, "UPDATE outputs SET spent_by_tx = ?, spent_by_input = ? WHERE tx_id = ? AND vout = ?")
            addressRow = try RowStatement(db, "INSERT INTO address_transactions (address_id, tx_id, received, sent, inputs, outputs) VALUES (?, ?, ?, ?, ?, ?)")
            best = try RowStatement(db, "UPDATE blocks SET in_best_chain = 1, first_tx_id = ?2 WHERE id = ?1")
            total = try RowStatement(db, "INSERT INTO totals (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = value + ?2")
        }
    }

    /// Writes a batch's rows, each table's in key order, adding the time per table to `times`.
    static func write(_ batch: Batch, _ s: Statements, times: inout IndexTimings) throws {
        var lap = Lap(times: times)
        defer { times = lap.times }
        for t in batch.transactions {
            try s.transaction.run {
                $0.int(t.id); $0.hash(t.txid); $0.int(t.height); $0.int(t.size); $0.int(t.weight)
                $0.int(t.fee); $0.int(t.isCoinbase ? 1 : 0); $0.int(t.offset)
            }
        }
        lap("transactions")
        for o in batch.outputs {
            try s.output.run {
                $0.int(o.tx); $0.int(o.vout); $0.int(o.value); $0.int(Schema.code(of: o.type)); $0.int(o.address); $0.int(o.unspendable ? 1 : 0)
                $0.int(o.spentBy?.tx); $0.int(o.spentBy?.input)
            }
        }
        lap("outputs")
        for i in batch.inputs {
            try s.input.run { $0.int(i.tx); $0.int(i.n); $0.int(i.previousRow); $0.int(Int64(i.previousVout)); $0.hash(i.previousTxid) }
        }
        lap("inputs")
        for b in batch.blocks { try s.best.run { $0.int(b.id); $0.int(b.firstTransaction) } }
        lap("blocks")
    }
}
