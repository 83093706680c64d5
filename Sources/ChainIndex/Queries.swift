import Dispatch
import Foundation
public import GRDB
public import BitcoinWire
import BitcoinScript

/// A block as the index knows it.
public struct BlockInfo: Codable, Sendable {
    public let hash: String, height: Int64?, inBestChain: Bool, previousHash: String
    public let time: Int64, bits: String, chainWork: String?, size: Int, weight: Int, txCount: Int, file: String, offset: Int
    public let version: Int64, merkleRoot: String, nonce: Int64
    /// The target's difficulty (nil for a zero target).
    public let difficulty: Double?
    /// The median time of the block and the ten before it (fewer near the root).
    public let medianTime: Int64
    /// The next best-chain block, for a best-chain block that is not the tip.
    public let nextBest: String?
    /// "best-chain", "stale" (valid as far as checked, not in the best chain), "invalid" (it
    /// or an ancestor breaks a rule) or "orphan" (its parent never appeared).
    public let status: String
    /// Core's reject reason when invalid ("bad-prevblk": an ancestor is), and what was wrong.
    public let invalidReason: String?, invalidDetail: String?
    enum CodingKeys: String, CodingKey {
        case hash, height, inBestChain = "in_best_chain", previousHash = "previous_hash", time, bits, chainWork = "chain_work"
        case size, weight, txCount = "tx_count", file, offset, status, invalidReason = "invalid_reason", invalidDetail = "invalid_detail"
        case version, merkleRoot = "merkle_root", nonce, difficulty, medianTime = "median_time", nextBest = "next_best"
    }
}

public struct TransactionInfo: Codable, Sendable {
    public struct Input: Codable, Sendable {
        public let txid: String, vout: Int64, address: String?, value: Int64?
    }
    public struct Output: Codable, Sendable {
        public let n: Int, address: String?, value: Int64, type: String, spentBy: String?
        enum CodingKeys: String, CodingKey { case n, address, value, type, spentBy = "spent_by" }
    }
    public let txid: String, blockHash: String, height: Int64, position: Int, fee: Int64?, isCoinbase: Bool
    public let size: Int, weight: Int, inputs: [Input], outputs: [Output]
    enum CodingKeys: String, CodingKey {
        case txid, blockHash = "block_hash", height, position, fee, isCoinbase = "is_coinbase", size, weight, inputs, outputs
    }
}

public struct AddressSummary: Codable, Sendable {
    public let address: String, balance: Int64, received: Int64, sent: Int64, txCount: Int64
    public let firstSeenHeight: Int64?, lastSeenHeight: Int64?
    enum CodingKeys: String, CodingKey {
        case address, balance, received, sent, txCount = "tx_count", firstSeenHeight = "first_seen_height", lastSeenHeight = "last_seen_height"
    }
}

public struct HistoryPage: Codable, Sendable {
    public struct Item: Codable, Sendable { public let txid: String, height: Int64, delta: Int64, received: Int64, sent: Int64 }
    public let items: [Item]
    public let nextCursor: String?
    enum CodingKeys: String, CodingKey { case items, nextCursor = "next_cursor" }
}

public struct Balance: Codable, Sendable { public let address: String, height: Int64, balance: Int64 }

public struct UTXO: Codable, Sendable {
    public let txid: String, vout: Int64, value: Int64, height: Int64, blockHash: String, blockTime: Int64
    enum CodingKeys: String, CodingKey { case txid, vout, value, height, blockHash = "block_hash", blockTime = "block_time" }
}

public struct BetweenItem: Codable, Sendable {
    public let txid: String, height: Int64, from: String, to: String, amount: Int64
}

public struct BetweenPage: Codable, Sendable {
    public let items: [BetweenItem]
    public let nextCursor: String?
    enum CodingKeys: String, CodingKey { case items, nextCursor = "next_cursor" }
}

public struct Stats: Codable, Sendable {
    public let blocks: Int64, staleBlocks: Int64, transactions: Int64, outputs: Int64, outputsByType: [String: Int64]
    public let utxoCount: Int64, utxoValue: Int64, addresses: Int64, tipHeight: Int64?, network: String
    enum CodingKeys: String, CodingKey {
        case blocks, staleBlocks = "stale_blocks", transactions, outputs, outputsByType = "outputs_by_type"
        case utxoCount = "utxo_count", utxoValue = "utxo_value", addresses, tipHeight = "tip_height", network
    }
}

/// Why a query cannot be answered. Callers branch on the case: a server answers
/// `isNotFound` with 404, `isUnavailable` with 503 and everything else with 400.
public enum QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not an address: bad characters, length or checksum.
    case invalidAddress(String)
    /// A valid address of another network than the index's.
    case wrongNetwork(address: String, addressNetwork: String, indexNetwork: String)
    /// Not a 64-hex-digit hash (`what` says which: "transaction id", "block hash", …).
    case invalidHash(String, what: String)
    /// Neither a block hash nor a height (a whole number from 0).
    case invalidBlockReference(String)
    /// A negative height.
    case invalidHeight(Int64)
    /// Not a cursor an earlier page returned.
    case badCursor(String)
    /// A page size or count outside what the query allows.
    case limitOutOfRange(Int, allowed: ClosedRange<Int>)
    /// Well-formed, but the index has no such thing.
    case notFound(String)
    /// The index knows it, but its blk file is gone or no longer holds it.
    case blockDataUnavailable(String)

    /// True for `notFound`: the request was well-formed.
    public var isNotFound: Bool { if case .notFound = self { true } else { false } }
    /// True for `blockDataUnavailable`: the request was fine, the server's files are not.
    public var isUnavailable: Bool { if case .blockDataUnavailable = self { true } else { false } }

    public var description: String {
        switch self {
        case .invalidAddress(let text): "\(text) is not a valid address (bad characters, length or checksum)"
        case let .wrongNetwork(address, other, index): "\(address) is a \(other) address, but this index is of \(index)"
        case let .invalidHash(text, what): "'\(text)' is not a \(what) (64 hex digits)"
        case .invalidBlockReference(let text): "'\(text)' is neither a block hash (64 hex digits) nor a height"
        case .invalidHeight(let height): "height \(height) is negative"
        case .badCursor(let text): "'\(text)' is not a cursor from an earlier page"
        case let .limitOutOfRange(limit, allowed): "limit \(limit) is outside \(allowed.lowerBound)...\(allowed.upperBound)"
        case .notFound(let what): "no \(what) in the index"
        case .blockDataUnavailable(let what): what
        }
    }
}

/// Which of an address's transactions: all, those it sends from, or those it receives in.
public enum HistoryDirection: Sendable {
    case any, sent, received

    var condition: String {
        switch self {
        case .any: "1"
        case .sent: "x.sent > 0"
        case .received: "x.received > 0"
        }
    }
}

/// Page sizes the queries accept.
public enum QueryLimits {
    /// History, between and richest: 1 to 10,000 a page (`between` also takes no limit: all).
    public static let page: ClosedRange<Int> = 1...10_000

    static func check(_ limit: Int) throws(QueryError) {
        guard page.contains(limit) else { throw .limitOutOfRange(limit, allowed: page) }
    }
}

/// A position in a page sequence: height and row id, newest first.
/// Where a page of a history ends: the last transaction's height (for whoever reads the
/// cursor) and row id, which orders the pages (transactions are numbered in chain order).
struct Cursor {
    let height: Int64, id: Int64
    static let start = Cursor(height: .max, id: .max)

    init(height: Int64, id: Int64) {
        self.height = height
        self.id = id
    }

    /// Parses `HEIGHT:ID` as `description` writes it.
    init(_ text: String?) throws(QueryError) {
        guard let text else { self = .start; return }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let h = Int64(parts[0]), let i = Int64(parts[1]), h >= 0, i >= 0 else { throw .badCursor(text) }
        self.init(height: h, id: i)
    }

    var text: String { "\(height):\(id)" }
}

/// The index, opened for questions. Each answer comes from one read transaction
/// (`read`), so it never mixes two tips while an indexer writes the same file.
public struct IndexQueries: Sendable {
    let db: any DatabaseReader
    public let network: ChainParameters

    public init(_ db: any DatabaseReader) throws {
        self.db = db
        network = try db.read { try IndexSnapshot.network($0) }
    }

    /// Runs `body` in one read transaction.
    public func read<T>(_ body: (IndexSnapshot) throws -> T) throws -> T {
        try db.read { db in try body(IndexSnapshot(db: db, network: network)) }
    }
}

/// The questions the index answers, all inside one read transaction.
public struct IndexSnapshot {
    let db: Database
    public let network: ChainParameters

    package init(db: Database, network: ChainParameters) {
        self.db = db
        self.network = network
    }

    static func network(_ db: Database) throws -> ChainParameters {
        ChainParameters.known(name: try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'network'")) ?? "") ?? .mainnet
    }

    /// The best chain's tip; nil for an empty index.
    public func tip() throws -> BlockInfo? {
        try blockRow(where: "in_best_chain = 1 ORDER BY height DESC LIMIT 1", [])
    }

    /// A block by hash (best chain, stale or invalid) or by height (best chain).
    /// - Throws: `QueryError.invalidBlockReference` for text that is neither,
    ///   `.notFound` when the index has no such block.
    public func block(_ hashOrHeight: String) throws -> BlockInfo {
        let found: BlockInfo?
        if let hash = Hash256(displayHex: hashOrHeight) {
            found = try blockRow(where: "hash = ?", [data(hash)])
        } else if hashOrHeight.utf8.count <= 18, hashOrHeight.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let height = Int64(hashOrHeight) {
            found = try blockRow(where: "in_best_chain = 1 AND height = ?", [height])
        } else {
            throw QueryError.invalidBlockReference(hashOrHeight)
        }
        guard let found else { throw QueryError.notFound("block \(hashOrHeight)") }
        return found
    }

    func blockRow(where clause: String, _ arguments: StatementArguments) throws -> BlockInfo? {
        guard let r = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT hash, height, in_best_chain, previous_hash, time, bits, work, size, weight, tx_count, file, offset,
                   invalid_reason, invalid_detail, version, merkle_root, nonce FROM blocks WHERE \(clause)
            """), arguments: arguments) else { return nil }
        let inBest: Bool = r[2], height: Int64? = r[1], reason: String? = r[12], bits: Int64 = r[5]
        let status = inBest ? "best-chain" : reason != nil ? "invalid" : height == nil ? "orphan" : "stale"
        // The median time past: this block's time and up to ten ancestors'.
        var times: [Int64] = [r[4]], previous: Data = r[3]
        while times.count < 11, let p = try Row.fetchOne(db.cachedStatement(sql: "SELECT time, previous_hash FROM blocks WHERE hash = ?"), arguments: [previous]) {
            times.append(p[0])
            previous = p[1]
        }
        times.sort()
        let next = inBest ? try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM blocks WHERE in_best_chain = 1 AND height = ?"), arguments: [(height ?? -2) + 1]) : nil
        return BlockInfo(hash: hash(r[0]).displayHex, height: height, inBestChain: inBest, previousHash: hash(r[3]).displayHex, time: r[4],
                         bits: String(format: "%08x", bits), chainWork: (r[6] as Data?).map { $0.map { String(format: "%02x", $0) }.joined() },
                         size: r[7], weight: r[8], txCount: r[9], file: r[10], offset: r[11],
                         version: r[14], merkleRoot: hash(r[15]).displayHex, nonce: r[16],
                         difficulty: CompactTarget(bits: UInt32(truncatingIfNeeded: bits)).difficulty, medianTime: times[times.count / 2],
                         nextBest: next.map { hash($0).displayHex }, status: status, invalidReason: reason, invalidDetail: r[13])
    }

    /// A best-chain transaction with every input's address and value, and its fee.
    /// - Throws: `QueryError.invalidHash` for a malformed txid, `.notFound` when the best
    ///   chain has no such transaction.
    public func transaction(_ txid: String) throws -> TransactionInfo {
        let row = try transactionRow(txid)
        let block = try Data.fetchOne(db.cachedStatement(sql: "SELECT b.hash FROM transactions t JOIN blocks b ON \(Schema.blockOf("t", "b")) WHERE t.id = ?"), arguments: [row])
        return try transactionInfo(row: row, txid: txid.lowercased(), blockHash: block.map { hash($0).displayHex } ?? "")
    }

    /// Checks an address (checksum and network) and returns its id, nil if never seen. An
    /// address the index holds is valid by construction (the indexer wrote it), so only
    /// text it does not hold is decoded and checked.
    func addressID(_ text: String) throws -> Int64? {
        guard text.utf8.count <= 100 else { throw QueryError.invalidAddress(String(text.prefix(100))) }
        if let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM addresses WHERE \(Schema.addressMatches("?2", "?1"))"),
                                      arguments: [text, Schema.addressKey(text)]) { return id }
        guard Address.scriptPubKey(for: text, on: network) != nil else {
            if let other = ChainParameters.known.first(where: { Address.scriptPubKey(for: text, on: $0) != nil }) {
                throw QueryError.wrongNetwork(address: text, addressNetwork: other.name, indexNetwork: network.name)
            }
            throw QueryError.invalidAddress(text)
        }
        return nil
    }

    public func address(_ text: String) throws -> AddressSummary {
        guard let id = try addressID(text),
              let r = try Row.fetchOne(db.cachedStatement(sql: "SELECT balance, received, sent, tx_count, first_seen_height, last_seen_height FROM addresses WHERE id = ?"), arguments: [id])
        else { return AddressSummary(address: text, balance: 0, received: 0, sent: 0, txCount: 0, firstSeenHeight: nil, lastSeenHeight: nil) }
        return AddressSummary(address: text, balance: r[0], received: r[1], sent: r[2], txCount: r[3], firstSeenHeight: r[4], lastSeenHeight: r[5])
    }

    /// The address's transactions, newest first, `limit` at a time; pass `next_cursor` back as `after`.
    /// - Throws: `QueryError` for a malformed address or cursor, or a limit outside `QueryLimits.page`.
    public func history(_ text: String, limit: Int = 50, after cursor: String? = nil, direction: HistoryDirection = .any) throws -> HistoryPage {
        try QueryLimits.check(limit)
        let start = try Cursor(cursor)
        guard let id = try addressID(text) else { return HistoryPage(items: [], nextCursor: nil) }
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT t.txid, t.height, x.received, x.sent, x.tx_id FROM address_transactions x JOIN transactions t ON t.id = x.tx_id
            WHERE x.address_id = ? AND x.tx_id < ? AND \(direction.condition)
            ORDER BY x.tx_id DESC LIMIT ?
            """), arguments: [id, start.id, limit + 1])
        let items = rows.prefix(limit).map { r in
            HistoryPage.Item(txid: hash(r[0]).displayHex, height: r[1], delta: (r[2] as Int64) - (r[3] as Int64), received: r[2], sent: r[3])
        }
        let next = rows.count > limit ? Cursor(height: rows[limit - 1][1], id: rows[limit - 1][4]).text : nil
        return HistoryPage(items: Array(items), nextCursor: next)
    }

    /// The balance at the tip, or after block `height`.
    /// - Throws: `QueryError` for a malformed address or a negative height.
    public func balance(_ text: String, atHeight height: Int64? = nil) throws -> Balance {
        if let height, height < 0 { throw QueryError.invalidHeight(height) }
        let tip = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(height) FROM blocks WHERE in_best_chain = 1")) ?? 0
        let at = min(height ?? tip, tip)
        guard let id = try addressID(text) else { return Balance(address: text, height: at, balance: 0) }
        let value = try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT COALESCE(SUM(x.received - x.sent), 0) FROM address_transactions x JOIN transactions t ON t.id = x.tx_id
            WHERE x.address_id = ? AND t.height <= ?
            """),
                                       arguments: [id, at]) ?? 0
        return Balance(address: text, height: at, balance: value)
    }

    /// The address's unspent outputs (spendable ones: not OP_RETURN, not the genesis coinbase).
    public func utxos(_ text: String) throws -> [UTXO] {
        guard let id = try addressID(text) else { return [] }
        return try Row.fetchAll(db.cachedStatement(sql: """
            SELECT t.txid, o.vout, o.value, t.height, b.hash, b.time FROM address_transactions x
            JOIN outputs o ON o.tx_id = x.tx_id AND o.address_id = x.address_id
            JOIN transactions t ON t.id = x.tx_id JOIN blocks b ON \(Schema.blockOf("t", "b"))
            WHERE x.address_id = ?1 AND x.outputs > 0 AND o.spent_by_tx IS NULL AND o.unspendable = 0 ORDER BY x.tx_id, o.vout
            """), arguments: [id]).map {
            UTXO(txid: hash($0[0]).displayHex, vout: $0[1], value: $0[2], height: $0[3], blockHash: hash($0[4]).displayHex, blockTime: $0[5])
        }
    }

    /// Transactions in which `a` is among the input addresses and `b` among the output
    /// addresses, with what `b` received; newest first. `bothWays` adds those from `b` to `a`.
    /// - Parameters:
    ///   - limit: at most this many (nil: all), continuing after `cursor` (a `next_cursor`).
    /// - Throws: `QueryError` for a malformed address or cursor, or a limit outside `QueryLimits.page`.
    public func between(_ a: String, _ b: String, bothWays: Bool = false, limit: Int? = nil, after cursor: String? = nil) throws -> BetweenPage {
        if let limit { try QueryLimits.check(limit) }
        let start = try Cursor(cursor)
        let (from, to) = (try addressID(a), try addressID(b))
        guard let from, let to else { return BetweenPage(items: [], nextCursor: nil) }
        let limitArgument = limit.map { $0 + 1 } ?? -1
        var rows = try transfers(from: from, to: to, before: start, limit: limitArgument)
        if bothWays && from != to {
            rows += try transfers(from: to, to: from, before: start, limit: limitArgument)
            rows.sort { (a, b) in
                let (ha, hb): (Int64, Int64) = (a[1], b[1]), (ta, tb): (Int64, Int64) = (a[0], b[0]), (sa, sb): (Int64, Int64) = (a[4], b[4])
                return (ha, ta, -sa) > (hb, tb, -sb)
            }
            if limitArgument >= 0 { rows = Array(rows.prefix(limitArgument)) }
        }
        let shown = limit.map { Array(rows.prefix($0)) } ?? rows
        let items = shown.map { r in
            let forward = (r[4] as Int64) == from
            return BetweenItem(txid: hash(r[3]).displayHex, height: r[1], from: forward ? a : b, to: forward ? b : a, amount: r[2])
        }
        var next: String?
        if let limit, rows.count > limit, let last = shown.last { next = Cursor(height: last[1], id: last[0]).text }
        return BetweenPage(items: items, nextCursor: next)
    }

    /// Rows (tx row, height, amount received by `to`, txid, `from`) of the transactions in
    /// which `from` has inputs and `to` has outputs, before `cursor`, newest first: a join of
    /// the two addresses' `address_transactions` rows. It walks the address with fewer
    /// transactions and looks each one up in the other's rows by key, so its cost is that
    /// address's row count at most, however wide the transactions are.
    func transfers(from: Int64, to: Int64, before cursor: Cursor, limit: Int) throws -> [Row] {
        let counts = try Row.fetchOne(db.cachedStatement(sql: "SELECT (SELECT tx_count FROM addresses WHERE id = ?), (SELECT tx_count FROM addresses WHERE id = ?)"),
                                      arguments: [from, to])
        let (fromCount, toCount): (Int64, Int64) = (counts?[0] ?? 0, counts?[1] ?? 0)
        // CROSS JOIN keeps SQLite's join order: the first table is the one walked.
        let (outer, inner) = fromCount <= toCount ? ("s", "r") : ("r", "s")
        return try Row.fetchAll(db.cachedStatement(sql: """
            SELECT s.tx_id, t.height, r.received, t.txid, s.address_id
            FROM address_transactions \(outer) CROSS JOIN address_transactions \(inner)
              ON \(inner).address_id = ?\(inner == "s" ? 1 : 2) AND \(inner).tx_id = \(outer).tx_id
            JOIN transactions t ON t.id = s.tx_id
            WHERE \(outer).address_id = ?\(outer == "s" ? 1 : 2) AND s.inputs > 0 AND r.outputs > 0 AND \(outer).tx_id < ?3
            ORDER BY \(outer).tx_id DESC LIMIT ?4
            """), arguments: [from, to, cursor.id, limit])
    }

    /// - Throws: `QueryError.limitOutOfRange` for a limit outside `QueryLimits.page`.
    public func richest(limit: Int = 10) throws -> [AddressSummary] {
        try QueryLimits.check(limit)
        return try Row.fetchAll(db.cachedStatement(sql: """
            SELECT address, balance, received, sent, tx_count, first_seen_height, last_seen_height FROM addresses
            ORDER BY balance DESC, id LIMIT ?
            """), arguments: [limit]).map {
            AddressSummary(address: $0[0], balance: $0[1], received: $0[2], sent: $0[3], txCount: $0[4], firstSeenHeight: $0[5], lastSeenHeight: $0[6])
        }
    }
}

// Fields scripts rely on are always present: an unknown value is `null`, not a missing key
// (JSONEncoder would leave nil optionals out).
extension BlockInfo {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hash, forKey: .hash); try c.encode(height, forKey: .height); try c.encode(inBestChain, forKey: .inBestChain)
        try c.encode(previousHash, forKey: .previousHash); try c.encode(time, forKey: .time); try c.encode(bits, forKey: .bits)
        try c.encode(chainWork, forKey: .chainWork); try c.encode(size, forKey: .size); try c.encode(weight, forKey: .weight)
        try c.encode(txCount, forKey: .txCount); try c.encode(file, forKey: .file); try c.encode(offset, forKey: .offset)
        try c.encode(status, forKey: .status); try c.encode(invalidReason, forKey: .invalidReason)
        try c.encode(invalidDetail, forKey: .invalidDetail); try c.encode(version, forKey: .version)
        try c.encode(merkleRoot, forKey: .merkleRoot); try c.encode(nonce, forKey: .nonce); try c.encode(difficulty, forKey: .difficulty)
        try c.encode(medianTime, forKey: .medianTime); try c.encode(nextBest, forKey: .nextBest)
    }
}

extension TransactionInfo.Input {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(txid, forKey: .txid); try c.encode(vout, forKey: .vout); try c.encode(address, forKey: .address); try c.encode(value, forKey: .value)
    }
}

extension TransactionInfo.Output {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(n, forKey: .n); try c.encode(address, forKey: .address); try c.encode(value, forKey: .value)
        try c.encode(type, forKey: .type); try c.encode(spentBy, forKey: .spentBy)
    }
}

extension TransactionInfo {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(txid, forKey: .txid); try c.encode(blockHash, forKey: .blockHash); try c.encode(height, forKey: .height)
        try c.encode(position, forKey: .position); try c.encode(fee, forKey: .fee); try c.encode(isCoinbase, forKey: .isCoinbase)
        try c.encode(size, forKey: .size); try c.encode(weight, forKey: .weight); try c.encode(inputs, forKey: .inputs); try c.encode(outputs, forKey: .outputs)
    }
}

extension AddressSummary {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address); try c.encode(balance, forKey: .balance); try c.encode(received, forKey: .received)
        try c.encode(sent, forKey: .sent); try c.encode(txCount, forKey: .txCount)
        try c.encode(firstSeenHeight, forKey: .firstSeenHeight); try c.encode(lastSeenHeight, forKey: .lastSeenHeight)
    }
}

extension HistoryPage {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items); try c.encode(nextCursor, forKey: .nextCursor)
    }
}

extension BetweenPage {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items); try c.encode(nextCursor, forKey: .nextCursor)
    }
}
