import Dispatch
import GRDB
import GRDBSQLite
import BitcoinWire

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

    func submit(_ work: @escaping @Sendable (inout IndexTimings) throws -> Void) {
        busy = true
        group.enter()
        queue.async { [self] in
            do { try work(&times) } catch { self.error = error }
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

extension Connector {
    /// Writes the rows that waited for the commit, each table's in key order.
    static func write(_ pending: Pending, _ s: Statements, times: inout IndexTimings) throws {
        var lap = Lap(times: times)
        defer { times = lap.times }
        var summaries = pending.summaries
        for (id, text) in pending.newAddresses {
            let t = summaries.removeValue(forKey: id) ?? (0, 0, 0, 0, 0, 0)
            try s.newAddress.run { $0.int(id); $0.text(text); $0.int(Schema.addressKey(text)); $0.int(t.balance); $0.int(t.received); $0.int(t.sent); $0.int(t.txs); $0.int(t.first); $0.int(t.last) }
        }
        for (id, t) in summaries.sorted(by: { $0.key < $1.key }) {
            try s.address.run { $0.int(t.balance); $0.int(t.received); $0.int(t.sent); $0.int(t.txs); $0.int(t.first); $0.int(t.last); $0.int(id) }
        }
        lap("addresses")
        for p in pending.spends.sorted(by: { ($0.tx, $0.vout) < ($1.tx, $1.vout) }) {
            try s.spend.run { $0.int(p.by); $0.int(p.input); $0.int(p.tx); $0.int(p.vout) }
        }
        lap("spends")
        for r in pending.addressRows.sorted(by: { ($0.address, $0.tx) < ($1.address, $1.tx) }) {
            try s.addressRow.run { $0.int(r.address); $0.int(r.tx); $0.int(r.received); $0.int(r.sent); $0.int(r.inputs); $0.int(r.outputs) }
        }
        lap("address_transactions")
        for (name, amount) in pending.totals.rows { try s.total.run { $0.text(name); $0.int(amount) } }
    }
}

/// Adds the time since the last lap to a step of `times`.
struct Lap {
    var times: IndexTimings
    var mark = monotonicNanoseconds()

    init(times: IndexTimings) { self.times = times }

    mutating func callAsFunction(_ name: String) {
        let now = monotonicNanoseconds()
        times.add("    " + name, Double(now - mark) / 1e9)
        mark = now
    }
}
