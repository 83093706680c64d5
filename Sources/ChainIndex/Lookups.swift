import Foundation
import GRDB
import GRDBSQLite
import BitcoinWire

/// The connector's questions to the database when its caches do not hold the answer: an
/// unspent output by outpoint, whether a txid was ever indexed, a txid's unspent outputs
/// (BIP30), an address's id. Prepared once, run through SQLite's C API.
///
/// On a database in WAL mode they run on a read-only connection of their own (`separate`),
/// which sees what was last committed: the writer thread can write the next rows meanwhile.
/// The connector keeps in memory everything it changed since that commit (new outputs and
/// addresses stay cached until the commit; spends of committed outputs are remembered), so
/// the committed state plus those is the whole truth. Elsewhere (an in-memory database) they
/// run on the writing connection, after its writes.
final class Lookups {
    let handle: OpaquePointer
    /// Whether `handle` is a connection of its own (closed with this object).
    let separate: Bool
    private let coin, seen, unspentOfTxid, address: OpaquePointer
    /// How many lookups of each kind ran, and the time they took (for `--timings`).
    private(set) var coins = 0, txids = 0, addressIDs = 0
    private(set) var nanoseconds: UInt64 = 0

    /// A read-only connection to the file of `db` when it is in WAL mode; nil otherwise.
    static func openSeparate(_ db: Database, cacheKiB: Int) throws -> Lookups? {
        guard try String.fetchOne(db, sql: "PRAGMA journal_mode")?.lowercased() == "wal",
              let name = sqlite3_db_filename(db.sqliteConnection, "main"), name.pointee != 0 else { return nil }
        var handle: OpaquePointer?
        guard sqlite3_open_v2(name, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let handle else {
            if let handle { sqlite3_close_v2(handle) }
            return nil
        }
        sqlite3_busy_timeout(handle, 5000)
        sqlite3_exec(handle, "PRAGMA cache_size = -\(cacheKiB)", nil, nil, nil)
        return try Lookups(handle: handle, separate: true)
    }

    /// A connection for checkpoints, which copy committed pages from the WAL into the
    /// database file: its own thread runs one after each commit while the writing connection
    /// goes on (a connection is used by one thread at a time; SQLite's locks keep a
    /// checkpoint and a writer of two connections apart). Nil when `db` is not in WAL mode.
    static func openCheckpointer(_ db: Database) -> Checkpointer? {
        guard let name = sqlite3_db_filename(db.sqliteConnection, "main"), name.pointee != 0 else { return nil }
        var handle: OpaquePointer?
        guard sqlite3_open_v2(name, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let handle else {
            if let handle { sqlite3_close_v2(handle) }
            return nil
        }
        sqlite3_busy_timeout(handle, 5000)
        // A connection opens the WAL only when it first reads: until then a checkpoint on it
        // finds no WAL and copies nothing (and the WAL grows without bound).
        guard sqlite3_exec(handle, "SELECT COUNT(*) FROM sqlite_schema", nil, nil, nil) == SQLITE_OK else {
            sqlite3_close_v2(handle)
            return nil
        }
        return Checkpointer(handle: handle)
    }

    /// The lookups on the writing connection itself.
    static func onWriter(_ db: Database) throws -> Lookups {
        try Lookups(handle: db.sqliteConnection!, separate: false)
    }

    private init(handle: OpaquePointer, separate: Bool) throws {
        self.handle = handle
        self.separate = separate
        func prepare(_ sql: String) throws -> OpaquePointer {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
                let message = String(cString: sqlite3_errmsg(handle))
                if separate { sqlite3_close_v2(handle) }
                throw IndexError("cannot prepare a lookup (\(message))")
            }
            return statement
        }
        // The latest transaction with the txid: a repeated txid replaced the earlier one's outputs (BIP30).
        coin = try prepare("""
            SELECT o.tx_id, o.value, o.address_id, t.height, t.is_coinbase FROM transactions t JOIN outputs o ON o.tx_id = t.id AND o.vout = ?1
            WHERE \(Schema.txidMatches("t.txid", "?2")) AND o.spent_by_tx IS NULL AND o.unspendable = 0 ORDER BY t.id DESC LIMIT 1
            """)
        seen = try prepare("SELECT 1 FROM transactions WHERE \(Schema.txidMatches("txid", "?1")) LIMIT 1")
        unspentOfTxid = try prepare("""
            SELECT o.vout FROM transactions t JOIN outputs o ON o.tx_id = t.id WHERE \(Schema.txidMatches("t.txid", "?1")) AND o.spent_by_tx IS NULL AND o.unspendable = 0
            """)
        address = try prepare("SELECT id FROM addresses WHERE \(Schema.addressMatches("?2", "?1"))")
    }

    deinit {
        for statement in [coin, seen, unspentOfTxid, address] { sqlite3_finalize(statement) }
        if separate { sqlite3_close_v2(handle) }
    }

    /// The unspent, spendable output at `outpoint` as last committed (or written).
    func coin(_ outpoint: OutPoint) throws -> (row: Int64, value: Int64, address: Int64?, height: Int64, isCoinbase: Bool)? {
        let start = monotonicNanoseconds()
        defer { sqlite3_reset(coin); coins += 1; nanoseconds += monotonicNanoseconds() - start }
        sqlite3_bind_int64(coin, 1, Int64(outpoint.index))
        bind(coin, 2, outpoint.txid)
        guard try step(coin) else { return nil }
        let address = sqlite3_column_type(coin, 2) == SQLITE_NULL ? nil : sqlite3_column_int64(coin, 2)
        return (sqlite3_column_int64(coin, 0), sqlite3_column_int64(coin, 1), address, sqlite3_column_int64(coin, 3), sqlite3_column_int64(coin, 4) != 0)
    }

    /// Whether any transaction with this txid is indexed.
    func seen(_ txid: TxID) throws -> Bool {
        let start = monotonicNanoseconds()
        defer { sqlite3_reset(seen); txids += 1; nanoseconds += monotonicNanoseconds() - start }
        bind(seen, 1, txid)
        return try step(seen)
    }

    /// The output numbers of `txid`'s unspent, spendable outputs.
    func unspentOutputs(of txid: TxID) throws -> [UInt32] {
        let start = monotonicNanoseconds()
        defer { sqlite3_reset(unspentOfTxid); txids += 1; nanoseconds += monotonicNanoseconds() - start }
        bind(unspentOfTxid, 1, txid)
        var vouts = [UInt32]()
        while try step(unspentOfTxid) { vouts.append(UInt32(truncatingIfNeeded: sqlite3_column_int64(unspentOfTxid, 0))) }
        return vouts
    }

    /// The id of an address, if it is indexed.
    func addressID(_ text: String) throws -> Int64? {
        let start = monotonicNanoseconds()
        defer { sqlite3_reset(address); addressIDs += 1; nanoseconds += monotonicNanoseconds() - start }
        _ = text.withCString { sqlite3_bind_text(address, 1, $0, -1, SQLITE_TRANSIENT_LOOKUP) }
        sqlite3_bind_int64(address, 2, Schema.addressKey(text))
        return try step(address) ? sqlite3_column_int64(address, 0) : nil
    }

    private func bind(_ statement: OpaquePointer, _ index: Int32, _ hash: Hash256) {
        _ = hash.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, 32, SQLITE_TRANSIENT_LOOKUP) }
    }

    /// Steps once: true for a row, false when done.
    private func step(_ statement: OpaquePointer) throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw IndexError("a lookup in the index failed (\(code): \(String(cString: sqlite3_errmsg(handle))))")
        }
    }
}

/// SQLite's "copy the value now" destructor.
private let SQLITE_TRANSIENT_LOOKUP = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A connection of its own that only checkpoints (see `Lookups.openCheckpointer`), on a
/// thread of its own: a checkpoint writes the WAL's pages into the database file and syncs
/// it, which measured as a fifth of the writer thread's time on a 2 GB chain when it ran
/// there between batches.
final class Checkpointer: @unchecked Sendable {  // `handle` used on `queue` alone; the rest behind `lock`
    private let handle: OpaquePointer
    private let queue = DispatchQueue(label: "blocksmith.index.checkpoints")
    private let lock = NSLock()
    private var scheduled = false
    private var nanoseconds: UInt64 = 0

    init(handle: OpaquePointer) { self.handle = handle }

    /// Copies what it can of the WAL into the database without waiting for readers or
    /// blocking the writer (a passive checkpoint), on the calling thread.
    /// - Returns: the frames in the WAL and those copied (-1 each when the connection finds no WAL).
    @discardableResult
    func checkpoint() -> (frames: Int32, copied: Int32) {
        var frames: Int32 = -1, copied: Int32 = -1
        sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied)
        return (frames, copied)
    }

    /// Asks for a checkpoint on the checkpointer's thread, after a commit; one already
    /// waiting to start covers this commit too.
    func request() {
        lock.lock()
        defer { lock.unlock() }
        guard !scheduled else { return }
        scheduled = true
        queue.async { [self] in
            lock.withLock { scheduled = false }
            let start = monotonicNanoseconds()
            checkpoint()
            let spent = monotonicNanoseconds() - start
            lock.withLock { nanoseconds += spent }
        }
    }

    /// Waits for the checkpoints asked for.
    /// - Returns: the seconds spent in checkpoints so far.
    func finish() -> Double {
        queue.sync {}
        return lock.withLock { Double(nanoseconds) / 1e9 }
    }

    deinit { sqlite3_close_v2(handle) }
}
