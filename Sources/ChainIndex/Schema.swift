package import GRDB
package import BitcoinScript
import BitcoinWire

/// The index's tables, created and upgraded by GRDB migrations. Every table grows with the
/// chain's blocks, transactions, inputs and outputs, never faster.
///
/// - `files`: how far each blk file has been read (re-runs start there).
/// - `blocks`: every block seen, best chain or not, with its height and chain work once linked,
///   and for a best-chain block its first transaction's id (`first_tx_id`).
/// - `transactions`, `inputs`, `outputs`: the best chain's; an output's `spent_by_tx` is the
///   spending transaction, so the UTXO set is the unspent, spendable outputs; its `type` is a
///   code (`outputTypes`). An input names the output it spends by row; its txid is stored
///   only for an output outside the index. Transactions are found by txid through an index of
///   each txid's first 8 bytes (`txidMatches`); they are numbered in chain order, so a block's
///   are a range of ids and a transaction's block is the best chain's at its height (`blockOf`).
/// - `addresses`: per-address summaries, found by a key made from the text (`addressKey`); `address_transactions`: each transaction touching an
///   address, once, with what it received and sent there and how many of the transaction's
///   inputs and outputs are the address's. "From A to B" is the transactions in which A has
///   inputs and B outputs: a join of the two addresses' rows, keyed by (address, tx).
///   Transactions are numbered in chain order (`transactions.id`), so by id is by height.
/// - `meta`: the network, the root block, the blocks folder's XOR key (`xor_key`, hex), and
///   `indexes_deferred` while an initial load runs without its secondary indexes.
package enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE files (name TEXT PRIMARY KEY, data_end INTEGER NOT NULL);
                CREATE TABLE blocks (
                    id INTEGER PRIMARY KEY,
                    hash BLOB NOT NULL UNIQUE,
                    previous_hash BLOB NOT NULL,
                    height INTEGER,
                    work BLOB,
                    version INTEGER NOT NULL,
                    merkle_root BLOB NOT NULL,
                    time INTEGER NOT NULL,
                    bits INTEGER NOT NULL,
                    nonce INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    weight INTEGER NOT NULL,
                    tx_count INTEGER NOT NULL,
                    file TEXT NOT NULL,
                    offset INTEGER NOT NULL,
                    in_best_chain INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX blocks_best_height ON blocks(height) WHERE in_best_chain = 1;
                CREATE TABLE transactions (
                    id INTEGER PRIMARY KEY,
                    txid BLOB NOT NULL,
                    block_id INTEGER NOT NULL,
                    height INTEGER NOT NULL,
                    position INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    weight INTEGER NOT NULL,
                    fee INTEGER,
                    is_coinbase INTEGER NOT NULL);
                CREATE INDEX transactions_txid ON transactions(txid);
                CREATE INDEX transactions_block ON transactions(block_id, position);
                CREATE TABLE outputs (
                    tx_id INTEGER NOT NULL,
                    vout INTEGER NOT NULL,
                    value INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    address_id INTEGER,
                    unspendable INTEGER NOT NULL,
                    spent_by_tx INTEGER,
                    spent_by_input INTEGER,
                    PRIMARY KEY (tx_id, vout)) WITHOUT ROWID;
                CREATE INDEX outputs_address ON outputs(address_id, tx_id) WHERE address_id IS NOT NULL;
                CREATE INDEX outputs_spent_by ON outputs(spent_by_tx) WHERE spent_by_tx IS NOT NULL;
                CREATE TABLE inputs (
                    tx_id INTEGER NOT NULL,
                    n INTEGER NOT NULL,
                    previous_txid BLOB NOT NULL,
                    previous_vout INTEGER NOT NULL,
                    address_id INTEGER,
                    value INTEGER,
                    PRIMARY KEY (tx_id, n)) WITHOUT ROWID;
                CREATE INDEX inputs_address ON inputs(address_id, tx_id) WHERE address_id IS NOT NULL;
                CREATE TABLE addresses (
                    id INTEGER PRIMARY KEY,
                    address TEXT NOT NULL UNIQUE,
                    balance INTEGER NOT NULL DEFAULT 0,
                    received INTEGER NOT NULL DEFAULT 0,
                    sent INTEGER NOT NULL DEFAULT 0,
                    tx_count INTEGER NOT NULL DEFAULT 0,
                    first_seen_height INTEGER,
                    last_seen_height INTEGER);
                CREATE INDEX addresses_balance ON addresses(balance DESC, id);
                CREATE TABLE address_transactions (
                    address_id INTEGER NOT NULL,
                    height INTEGER NOT NULL,
                    tx_id INTEGER NOT NULL,
                    received INTEGER NOT NULL,
                    sent INTEGER NOT NULL,
                    inputs INTEGER NOT NULL,
                    outputs INTEGER NOT NULL,
                    PRIMARY KEY (address_id, height, tx_id)) WITHOUT ROWID;
                CREATE INDEX address_transactions_tx ON address_transactions(tx_id);
                CREATE TABLE transfers (
                    sender_id INTEGER NOT NULL,
                    receiver_id INTEGER NOT NULL,
                    height INTEGER NOT NULL,
                    tx_id INTEGER NOT NULL,
                    amount INTEGER NOT NULL,
                    PRIMARY KEY (sender_id, receiver_id, height, tx_id)) WITHOUT ROWID;
                CREATE INDEX transfers_tx ON transfers(tx_id);
                """)
        }
        migrator.registerMigration("v2: invalid blocks") { db in
            // A block that breaks a rule: Core's reject reason ("bad-prevblk" for a block whose
            // ancestor is invalid) and a sentence.
            try db.execute(sql: """
                ALTER TABLE blocks ADD COLUMN invalid_reason TEXT;
                ALTER TABLE blocks ADD COLUMN invalid_detail TEXT;
                """)
        }
        migrator.registerMigration("v3: raw bytes") { db in
            // Where to read a transaction's bytes back: its file's path and the obfuscation
            // key (the server's raw-transaction answers), and its offset in its block's bytes.
            // Rows written before this migration have none; readers then decode the block.
            try db.execute(sql: """
                ALTER TABLE files ADD COLUMN path TEXT;
                ALTER TABLE transactions ADD COLUMN offset INTEGER;
                """)
        }
        migrator.registerMigration("v4: linear storage") { db in
            // No table grows faster than inputs plus outputs: `transfers` (input address ×
            // output address per transaction) goes, `between` joins `address_transactions`
            // with itself. An input names the output it spends by row (`previous_tx_id`,
            // `previous_vout`); its txid is kept only when the output is outside the index
            // (`previous_txid`), and its address and value are the output's. Indexes no query
            // uses go.
            try db.execute(sql: """
                DROP TABLE transfers;
                DROP INDEX address_transactions_tx;
                CREATE TABLE inputs_v4 (
                    tx_id INTEGER NOT NULL,
                    n INTEGER NOT NULL,
                    previous_tx_id INTEGER,
                    previous_vout INTEGER NOT NULL,
                    previous_txid BLOB,
                    PRIMARY KEY (tx_id, n)) WITHOUT ROWID;
                INSERT INTO inputs_v4 (tx_id, n, previous_tx_id, previous_vout, previous_txid)
                  SELECT i.tx_id, i.n, o.tx_id, i.previous_vout, CASE WHEN o.tx_id IS NULL THEN i.previous_txid END
                  FROM inputs i LEFT JOIN outputs o ON o.spent_by_tx = i.tx_id AND o.spent_by_input = i.n;
                DROP TABLE inputs;
                ALTER TABLE inputs_v4 RENAME TO inputs;
                DROP INDEX outputs_spent_by;
                """)
        }
        migrator.registerMigration("v5: totals") { db in
            // The chain's totals, kept as the index grows (`query stats` and `/api/stats` count
            // nothing). Filled once here from an index written by an earlier release.
            try db.execute(sql: """
                CREATE TABLE totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO totals SELECT 'transactions', COUNT(*) FROM transactions;
                INSERT INTO totals SELECT 'outputs:' || type, COUNT(*) FROM outputs GROUP BY type;
                INSERT INTO totals SELECT 'utxo_count', COUNT(*) FROM outputs WHERE spent_by_tx IS NULL AND unspendable = 0;
                INSERT INTO totals SELECT 'utxo_value', COALESCE(SUM(value), 0) FROM outputs WHERE spent_by_tx IS NULL AND unspendable = 0;
                INSERT INTO totals SELECT 'addresses', COUNT(*) FROM addresses;
                DELETE FROM totals WHERE value = 0;
                """)
        }
        migrator.registerMigration("v6: compact outputs") { db in
            // An output's type as a small integer (`Schema.outputTypes`), not its name; no index
            // of outputs by address (an address's outputs are found through its history rows,
            // which name each transaction paying it); the txid index keeps 8 bytes of each txid
            // (the rows it finds are compared in full).
            let codes = outputTypes.enumerated().map { "WHEN '\($0.element.rawValue)' THEN \($0.offset)" }.joined(separator: " ")
            let hadTxidIndex = try hasIndex(db, txidIndex.name)
            try db.execute(sql: """
                CREATE TABLE outputs_v6 (
                    tx_id INTEGER NOT NULL,
                    vout INTEGER NOT NULL,
                    value INTEGER NOT NULL,
                    type INTEGER NOT NULL,
                    address_id INTEGER,
                    unspendable INTEGER NOT NULL,
                    spent_by_tx INTEGER,
                    spent_by_input INTEGER,
                    PRIMARY KEY (tx_id, vout)) WITHOUT ROWID;
                INSERT INTO outputs_v6 SELECT tx_id, vout, value, CASE type \(codes) ELSE \(outputTypes.firstIndex(of: .nonstandard)!) END,
                  address_id, unspendable, spent_by_tx, spent_by_input FROM outputs ORDER BY tx_id, vout;
                DROP TABLE outputs;
                ALTER TABLE outputs_v6 RENAME TO outputs;
                DROP INDEX IF EXISTS transactions_txid;
                """)
            if hadTxidIndex { try db.execute(sql: txidIndex.sql) }
        }
        migrator.registerMigration("v7: shorter keys") { db in
            // Transactions are numbered in chain order (a block's after its parent's, in block
            // order), so an address's history is keyed by transaction alone: the height each
            // row repeated is the transaction's. Addresses are found by an 8-byte key made from
            // their text (`addressKey`), not by a second copy of the text.
            let key = DatabaseFunction("blocksmith_address_key", argumentCount: 1, pure: true) { values in
                String.fromDatabaseValue(values[0]).map(addressKey)
            }
            db.add(function: key)
            defer { db.remove(function: key) }
            let hadBalanceIndex = try hasIndex(db, balanceIndex.name)
            try db.execute(sql: """
                CREATE TABLE addresses_v7 (
                    id INTEGER PRIMARY KEY,
                    address TEXT NOT NULL,
                    key INTEGER NOT NULL,
                    balance INTEGER NOT NULL DEFAULT 0,
                    received INTEGER NOT NULL DEFAULT 0,
                    sent INTEGER NOT NULL DEFAULT 0,
                    tx_count INTEGER NOT NULL DEFAULT 0,
                    first_seen_height INTEGER,
                    last_seen_height INTEGER);
                INSERT INTO addresses_v7 SELECT id, address, blocksmith_address_key(address), balance, received, sent, tx_count,
                  first_seen_height, last_seen_height FROM addresses ORDER BY id;
                DROP TABLE addresses;
                ALTER TABLE addresses_v7 RENAME TO addresses;
                CREATE INDEX addresses_key ON addresses(key);
                """)
            if hadBalanceIndex { try db.execute(sql: balanceIndex.sql) }
            // A block's transactions are the ids from its `first_tx_id` on (they are numbered
            // in chain order), and a transaction's block is the best chain's at its height: no
            // index of transactions by block, no block row and position in each transaction.
            let hadTxidIndex = try hasIndex(db, txidIndex.name)
            try db.execute(sql: """
                ALTER TABLE blocks ADD COLUMN first_tx_id INTEGER;
                UPDATE blocks SET first_tx_id = f.first FROM (SELECT block_id, MIN(id) AS first FROM transactions GROUP BY block_id) f
                  WHERE blocks.id = f.block_id AND blocks.in_best_chain = 1;
                CREATE TABLE transactions_v7 (
                    id INTEGER PRIMARY KEY,
                    txid BLOB NOT NULL,
                    height INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    weight INTEGER NOT NULL,
                    fee INTEGER,
                    is_coinbase INTEGER NOT NULL,
                    offset INTEGER);
                INSERT INTO transactions_v7 SELECT id, txid, height, size, weight, fee, is_coinbase, offset FROM transactions ORDER BY id;
                DROP TABLE transactions;
                ALTER TABLE transactions_v7 RENAME TO transactions;
                """)
            if hadTxidIndex { try db.execute(sql: txidIndex.sql) }
            try db.execute(sql: """
                CREATE TABLE address_transactions_v7 (
                    address_id INTEGER NOT NULL,
                    tx_id INTEGER NOT NULL,
                    received INTEGER NOT NULL,
                    sent INTEGER NOT NULL,
                    inputs INTEGER NOT NULL,
                    outputs INTEGER NOT NULL,
                    PRIMARY KEY (address_id, tx_id)) WITHOUT ROWID;
                INSERT INTO address_transactions_v7 SELECT address_id, tx_id, received, sent, inputs, outputs
                  FROM address_transactions ORDER BY address_id, tx_id;
                DROP TABLE address_transactions;
                ALTER TABLE address_transactions_v7 RENAME TO address_transactions;
                """)
        }
        return migrator
    }

    /// Output types as `outputs.type` stores them: each its position here. The commonest come
    /// first (SQLite stores 0 and 1 in no bytes at all); new types are only ever appended.
    package static let outputTypes: [OutputType] = [.pubkeyhash, .witnessV0KeyHash, .scripthash, .witnessV1Taproot, .witnessV0ScriptHash,
                                                    .pubkey, .multisig, .nulldata, .nonstandard, .witnessUnknown, .anchor]
    private static let outputTypeCodes = Dictionary(uniqueKeysWithValues: outputTypes.enumerated().map { ($0.element, $0.offset) })

    /// The code `outputs.type` stores for `type`.
    static func code(of type: OutputType) -> Int { outputTypeCodes[type] ?? outputTypeCodes[.nonstandard]! }

    /// The type a stored code stands for (a code this release does not know reads as nonstandard).
    static func outputType(code: Int) -> OutputType {
        outputTypes.indices.contains(code) ? outputTypes[code] : .nonstandard
    }

    /// The key `addresses.key` stores for an address: the first 8 bytes of SHA-256d of its
    /// text. Rows are found by key and compared in full (`addressMatches`).
    static func addressKey(_ text: String) -> Int64 {
        SHA256d.hash(Array(text.utf8)).withUnsafeBytes { bytes in
            Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) })
        }
    }

    /// The condition that finds the address whose text is the parameter `text` and whose
    /// key (`addressKey`) is the parameter `key`.
    static func addressMatches(_ key: String, _ text: String) -> String {
        "key = \(key) AND address = \(text)"
    }

    /// The condition that joins best-chain transaction `tx` to its block `block` (through
    /// the index of best-chain heights; a transaction's position in its block is its id less
    /// the block's `first_tx_id`).
    static func blockOf(_ tx: String, _ block: String) -> String {
        "\(block).in_best_chain = 1 AND \(block).height = \(tx).height"
    }

    /// The condition that finds the transactions whose txid is the parameter `parameter`
    /// through the txid index, which holds each txid's first 8 bytes.
    static func txidMatches(_ column: String, _ parameter: String) -> String {
        "substr(\(column), 1, 8) = substr(\(parameter), 1, 8) AND \(column) = \(parameter)"
    }

    /// Secondary indexes that an initial load builds once at the end instead of row by row
    /// (`deferIndexes`); every query works without them, only slower.
    static let deferrable = [txidIndex, balanceIndex]
    static let txidIndex = (name: "transactions_txid", sql: "CREATE INDEX IF NOT EXISTS transactions_txid ON transactions(substr(txid, 1, 8))")
    static let balanceIndex = (name: "addresses_balance", sql: "CREATE INDEX IF NOT EXISTS addresses_balance ON addresses(balance DESC, id)")

    /// Builds the deferred index that lookups by txid need (misses of the coins cache).
    static func buildLookupIndexes(_ db: Database) throws {
        try db.execute(sql: txidIndex.sql)
    }

    static func lookupIndexesBuilt(_ db: Database) throws -> Bool {
        try hasIndex(db, txidIndex.name)
    }

    /// Whether the database has the index `name`.
    static func hasIndex(_ db: Database, _ name: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?", arguments: [name]) ?? false
    }

    /// Drops the deferrable indexes and notes it in `meta`, in the caller's transaction.
    static func deferIndexes(_ db: Database) throws {
        for (name, _) in deferrable { try db.execute(sql: "DROP INDEX IF EXISTS \(name)") }
        try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('indexes_deferred', '1')")
    }

    /// Whether the deferrable indexes are missing (an initial load is under way, or was cut off).
    static func indexesDeferred(_ db: Database) throws -> Bool {
        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'indexes_deferred'") != nil
    }

    /// Builds the deferred indexes (each one sort of its table) and clears the note.
    static func restoreIndexes(_ db: Database) throws {
        for (_, sql) in deferrable { try db.execute(sql: sql) }
        try db.execute(sql: "DELETE FROM meta WHERE key = 'indexes_deferred'")
    }
}

extension Schema {
    /// Every row of every table, in key order, one line each: two indexes of the same input
    /// must give the same lines (the crash-safety tests compare them).
    package static func rows(_ db: any DatabaseReader) throws -> [String] {
        try db.read { db in
            var lines = [String]()
            for (table, order) in [("meta", "1"), ("files", "1"), ("blocks", "1"), ("transactions", "1"), ("outputs", "1, 2"),
                                   ("inputs", "1, 2"), ("addresses", "1"), ("address_transactions", "1, 2"), ("totals", "1")] {
                // A total that came back to zero is the same as one never added to.
                let filter = table == "totals" ? " WHERE value != 0" : ""
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table)\(filter) ORDER BY \(order)") { lines.append("\(table) \(row)") }
            }
            return lines
        }
    }
}
