import Foundation
import Synchronization
import GRDBSQLite
public import GRDB
public import BitcoinWire

/// Read-only connections to an index that another process (or the same one) may be writing,
/// for a server: each request leases one connection and holds one read transaction on it for
/// as long as the request runs, however many queries (or GraphQL resolvers) it makes, so an
/// answer never mixes two tips. The next request sees what was committed since.
public final class IndexSessions: Sendable {
    public let path: String
    public let network: ChainParameters
    /// Most connections open at once; a request beyond them is refused (`SessionError.busy`).
    public let maximumConnections: Int
    let idle = Mutex<(connections: [Connection], open: Int)>(([], 0))

    /// Opens the index at `path` read-only. It must exist and hold a network.
    public init(path: String, maximumConnections: Int = 64) throws {
        self.path = path
        self.maximumConnections = maximumConnections
        guard FileManager.default.fileExists(atPath: path) else { throw SessionError.noIndex(path) }
        try Self.migrateIfOld(path)
        let first = try Connection(path)
        network = try first.queue.read { try IndexSnapshot.network($0) }
        idle.withLock { $0 = ([first], 1) }
    }

    /// A read-only connection and the deadline its SQLite progress handler enforces.
    final class Connection: @unchecked Sendable {  // the deadline is set by the one request leasing it
        let queue: DatabaseQueue
        /// Nanoseconds on the monotonic clock; a statement still running then is interrupted.
        let deadline = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)

        init(_ path: String) throws {
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(5)
            // A session holds its read transaction open across calls (see `withSession`).
            config.allowsUnsafeTransactions = true
            config.label = "blocksmith.reader"
            queue = try DatabaseQueue(path: path, configuration: config)
            deadline.pointee = .max
            let deadline = self.deadline
            queue.inDatabase { db in
                sqlite3_progress_handler(db.sqliteConnection, 10_000, { context in
                    monotonicNanoseconds() > context!.load(as: UInt64.self) ? 1 : 0
                }, deadline)
            }
        }

        deinit { deadline.deallocate() }
    }

    /// Runs `body` with a session holding one read transaction; a statement still running
    /// after `timeLimit` is interrupted, and later reads refused (`SessionError.timeLimit`).
    public func withSession<T: Sendable>(timeLimit: Duration = .seconds(10), _ body: (IndexSession) async throws -> T) async throws -> T {
        let connection = try lease()
        defer { release(connection) }
        let (seconds, attoseconds) = timeLimit.components
        connection.deadline.pointee = monotonicNanoseconds() + UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        let queue = connection.queue
        let session = IndexSession(queue: queue, network: network, deadline: connection.deadline.pointee)
        defer {
            connection.deadline.pointee = .max
            queue.inDatabase { db in if db.isInsideTransaction { try? db.rollback() } }
        }
        return try await body(session)
    }

    func lease() throws -> Connection {
        let leased: Connection?? = idle.withLock { state in
            if let queue = state.connections.popLast() { return .some(queue) }
            guard state.open < maximumConnections else { return .none }
            state.open += 1
            return .some(nil)
        }
        switch leased {
        case .none: throw SessionError.busy
        case .some(let queue?): return queue
        case .some(nil):
            do { return try Connection(path) } catch {
                idle.withLock { $0.open -= 1 }
                throw error
            }
        }
    }

    func release(_ connection: Connection) {
        idle.withLock { $0.connections.append(connection) }
    }
}

/// One request's view of the index.
public final class IndexSession: @unchecked Sendable {
    let queue: DatabaseQueue
    public let network: ChainParameters
    let deadline: UInt64
    /// The read transaction begins with the first read (saving a round trip to the queue).
    var begun = false

    init(queue: DatabaseQueue, network: ChainParameters, deadline: UInt64) {
        self.queue = queue
        self.network = network
        self.deadline = deadline
    }

    /// Runs `body` inside the session's read transaction.
    /// - Throws: `SessionError.timeLimit` once the request's time is up.
    public func read<T>(_ body: (IndexSnapshot) throws -> T) throws -> T {
        guard monotonicNanoseconds() < deadline else { throw SessionError.timeLimit }
        do {
            return try queue.inDatabase { db in
                if !begun {
                    try db.beginTransaction(.deferred)
                    begun = true
                }
                return try body(IndexSnapshot(db: db, network: network))
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
            throw SessionError.timeLimit
        }
    }
}

extension IndexSessions {
    /// An index an earlier release wrote is migrated in place first (the readers expect this
    /// release's tables); one a later release wrote is refused.
    static func migrateIfOld(_ path: String) throws {
        var config = Configuration()
        config.readonly = true
        // Another connection closing (its checkpoint takes the database for a moment) or an
        // indexer committing must not fail the open: wait as the sessions do.
        config.busyMode = .timeout(5)
        let (current, newer) = try DatabaseQueue(path: path, configuration: config).read { db in
            (try Schema.migrator.hasCompletedMigrations(db), try Schema.migrator.hasBeenSuperseded(db))
        }
        if newer { throw SessionError.unknownSchema(path, "it was written by a later release of blocksmith") }
        guard !current else { return }
        do {
            try ChainIndexer.open(path: path).close()
        } catch {
            throw SessionError.unknownSchema(path, "it was written by an earlier release and could not be migrated (\(error)); "
                                             + "run blocksmith index on it once, or delete it and index again")
        }
    }
}

public enum SessionError: Error, Sendable, CustomStringConvertible {
    case noIndex(String), busy, timeLimit
    case unknownSchema(String, String)

    public var description: String {
        switch self {
        case .noIndex(let path): "there is no index at \(path) (run blocksmith index first)"
        case .busy: "the server is busy: too many requests at once"
        case .timeLimit: "the request ran past its time limit"
        case .unknownSchema(let path, let why): "cannot serve the index at \(path): \(why)"
        }
    }
}

/// The monotonic clock in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
