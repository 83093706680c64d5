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
