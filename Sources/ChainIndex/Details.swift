import Foundation
public import GRDB
public import BitcoinWire
import BlockFile
import BitcoinScript

/// Where a confirmed transaction is: its block's hash, height and time.
public struct BlockRef: Codable, Sendable, Equatable {
    public let hash: String, height: Int64, time: Int64
    public init(hash: String, height: Int64, time: Int64) { (self.hash, self.height, self.time) = (hash, height, time) }
}

/// The output an input spends, as far as the index knows it.
public struct Prevout: Sendable {
    public let scriptPubKey: [UInt8], value: Int64, address: String?
}

/// A best-chain transaction with everything an explorer shows: the index's answers, the
/// transaction itself read back from its blk file, and the outputs its inputs spend.
public struct TransactionDetail: Sendable {
    public let info: TransactionInfo
    public let transaction: Transaction
    /// The transaction's bytes as the block stores them (with witnesses).
    public let raw: [UInt8]
    public let block: BlockRef
    /// Per input; nil for the coinbase and for outputs from before the index's first block.
    public let prevouts: [Prevout?]
}

/// Sums over a block's transactions.
public struct BlockTotals: Sendable { public let fees: Int64, reward: Int64, total: Int64 }

/// A best-chain transaction's row and totals, without its inputs and outputs.
public struct TransactionSummary: Sendable {
    public let txid: String, blockHash: String, height: Int64, position: Int, fee: Int64?, isCoinbase: Bool
    public let size: Int, weight: Int
    /// Inputs that spend an output (a coinbase has none), outputs, and what the outputs hold.
    public let inputCount: Int, outputCount: Int, outputTotal: Int64
}

/// Whether an output is spent, and where.
public struct Outspend: Sendable {
    public let spent: Bool, txid: String?, vin: Int64?, block: BlockRef?
}

/// An address's totals in esplora's terms.
public struct AddressStats: Sendable {
    public let txCount: Int64, fundedCount: Int64, fundedSum: Int64, spentCount: Int64, spentSum: Int64
    public static let none = AddressStats(txCount: 0, fundedCount: 0, fundedSum: 0, spentCount: 0, spentSum: 0)
}

extension IndexSnapshot {
    /// Page sizes of the explorer's lists (esplora's).
    public static let blocksPage = 10, transactionsPage = 25

    /// Up to `count` best-chain blocks, from `height` (default: the tip) down.
    public func blocks(from height: Int64?, count: Int = blocksPage) throws -> [BlockInfo] {
        if let height, height < 0 { throw QueryError.invalidHeight(height) }
        guard let top = try height ?? Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(height) FROM blocks WHERE in_best_chain = 1")) else { return [] }
        return try Data.fetchAll(db.cachedStatement(sql: "SELECT hash FROM blocks WHERE in_best_chain = 1 AND height <= ? ORDER BY height DESC LIMIT ?"),
                                 arguments: [top, count]).compactMap { try blockRow(where: "hash = ?", [$0]) }
    }

    /// The ids of a block's transactions in block order: from the index for a best-chain
    /// block, from its blk file for any other.
    public func transactionIDs(ofBlock text: String) throws -> [String] {
        let block = try block(hash: text)
        if block.inBestChain {
            return try Data.fetchAll(db.cachedStatement(sql: """
                SELECT t.txid FROM blocks b JOIN transactions t ON t.id >= b.first_tx_id AND t.id < b.first_tx_id + b.tx_count
                WHERE b.hash = ? ORDER BY t.id
                """), arguments: [data(Hash256(displayHex: text)!)]).map { hash($0).displayHex }
        }
        let (decoded, _) = try readBlock(file: block.file, offset: block.offset)
        return decoded.transactions.map(\.txid.displayHex)
    }

    /// Up to `count` transactions of a best-chain block from position `start`.
    public func transactions(ofBlock text: String, from start: Int, count: Int = transactionsPage) throws -> [TransactionDetail] {
        let block = try block(hash: text)
        guard block.inBestChain else { throw QueryError.notFound("indexed transactions of block \(text): it is not in the best chain") }
        guard start >= 0, start < max(block.txCount, 1) else { throw QueryError.notFound("transaction \(start) in block \(text) (it has \(block.txCount))") }
        return try Int64.fetchAll(db.cachedStatement(sql: """
            SELECT t.id FROM blocks b JOIN transactions t ON t.id >= b.first_tx_id + ?2 AND t.id < b.first_tx_id + b.tx_count
            WHERE b.hash = ?1 ORDER BY t.id LIMIT ?3
            """), arguments: [data(Hash256(displayHex: text)!), start, count]).map { try detail(row: $0) }
    }

    /// A block by hash only.
    func block(hash text: String) throws -> BlockInfo {
        guard Hash256(displayHex: text) != nil else { throw QueryError.invalidHash(text, what: "block hash") }
        return try block(text)
    }

    /// A best-chain transaction in full.
    /// - Throws: `QueryError.invalidHash`, `.notFound`, or `.blockDataUnavailable` when its
    ///   blk file is gone or changed.
    public func detail(_ txid: String) throws -> TransactionDetail {
        try detail(row: try transactionRow(txid))
    }

    /// A best-chain transaction's summary: one indexed lookup, no input or output rows.
    public func summary(_ txid: String) throws -> TransactionSummary {
        guard let id = Hash256(displayHex: txid) else { throw QueryError.invalidHash(txid, what: "transaction id") }
        guard let r = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT b.hash, t.height, t.id - b.first_tx_id, t.fee, t.is_coinbase, t.size, t.weight,
                   (SELECT COUNT(*) FROM inputs WHERE tx_id = t.id), (SELECT COUNT(*) FROM outputs WHERE tx_id = t.id),
                   (SELECT COALESCE(SUM(value), 0) FROM outputs WHERE tx_id = t.id)
            FROM transactions t JOIN blocks b ON \(Schema.blockOf("t", "b")) WHERE \(Schema.txidMatches("t.txid", "?1")) ORDER BY t.id DESC LIMIT 1
            """), arguments: [data(id)]) else { throw QueryError.notFound("transaction \(txid) in the best chain") }
        return TransactionSummary(txid: txid.lowercased(), blockHash: hash(r[0]).displayHex, height: r[1], position: r[2], fee: r[3],
                                  isCoinbase: r[4], size: r[5], weight: r[6], inputCount: r[7], outputCount: r[8], outputTotal: r[9])
    }

    /// The transaction's bytes as its block stores them.
    public func rawTransaction(_ txid: String) throws -> [UInt8] {
        try rawTransaction(row: try transactionRow(txid)).raw
    }

    /// For each output of a best-chain transaction, whether and where it is spent.
    public func outspends(_ txid: String) throws -> [Outspend] {
        let row = try transactionRow(txid)
        return try Row.fetchAll(db.cachedStatement(sql: """
            SELECT o.spent_by_tx, s.txid, o.spent_by_input, b.hash, b.height, b.time FROM outputs o
            LEFT JOIN transactions s ON s.id = o.spent_by_tx LEFT JOIN blocks b ON \(Schema.blockOf("s", "b"))
            WHERE o.tx_id = ? ORDER BY o.vout
            """), arguments: [row]).map { r in
            guard let spender = r[1] as Data? else { return Outspend(spent: false, txid: nil, vin: nil, block: nil) }
            return Outspend(spent: true, txid: hash(spender).displayHex, vin: r[2], block: BlockRef(hash: hash(r[3]).displayHex, height: r[4], time: r[5]))
        }
    }

    /// The address's totals: transactions, outputs received and spent, and their sums.
    public func addressStats(_ text: String) throws -> AddressStats {
        guard let id = try addressID(text),
              let r = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT COUNT(*), COALESCE(SUM(outputs), 0), COALESCE(SUM(received), 0), COALESCE(SUM(inputs), 0), COALESCE(SUM(sent), 0)
                FROM address_transactions WHERE address_id = ?
                """), arguments: [id])
        else { return .none }
        return AddressStats(txCount: r[0], fundedCount: r[1], fundedSum: r[2], spentCount: r[3], spentSum: r[4])
    }

    /// The address's transactions in full, newest first, `count` at a time, continuing after
    /// `lastSeen` (a txid of the previous page).
    /// - Throws: `QueryError` for a malformed address or txid, `.notFound` when `lastSeen`
    ///   is not in the address's history.
    public func addressTransactions(_ text: String, after lastSeen: String? = nil, count: Int = transactionsPage) throws -> [TransactionDetail] {
        var start = Cursor.start
        if let lastSeen, Hash256(displayHex: lastSeen) == nil { throw QueryError.invalidHash(lastSeen, what: "transaction id") }
        guard let id = try addressID(text) else {
            if let lastSeen { throw QueryError.notFound("transaction \(lastSeen) in the history of \(text)") }
            return []
        }
        if let lastSeen {
            guard let r = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT t.height, x.tx_id FROM transactions t JOIN address_transactions x ON x.address_id = ?1 AND x.tx_id = t.id
                WHERE \(Schema.txidMatches("t.txid", "?2"))
                """), arguments: [id, data(Hash256(displayHex: lastSeen)!)]) else {
                throw QueryError.notFound("transaction \(lastSeen) in the history of \(text)")
            }
            start = Cursor(height: r[0], id: r[1])
        }
        return try Int64.fetchAll(db.cachedStatement(sql: """
            SELECT tx_id FROM address_transactions WHERE address_id = ? AND tx_id < ? ORDER BY tx_id DESC LIMIT ?
            """), arguments: [id, start.id, count]).map { try detail(row: $0) }
    }

    /// The type of the first output paid to the address (Core's names: `pubkey` for the
    /// P2PK outputs a derived address stands for); nil if it was never paid.
    public func outputType(of text: String) throws -> String? {
        guard let id = try addressID(text) else { return nil }
        return try Int.fetchOne(db.cachedStatement(sql: """
            SELECT o.type FROM address_transactions x JOIN outputs o ON o.tx_id = x.tx_id AND o.address_id = x.address_id
            WHERE x.address_id = ?1 AND x.outputs > 0 ORDER BY x.tx_id, o.vout LIMIT 1
            """), arguments: [id]).map { Schema.outputType(code: $0).rawValue }
    }

    /// How many of the address's transactions go the given way.
    public func transactionCount(of text: String, direction: HistoryDirection) throws -> Int64 {
        guard let id = try addressID(text) else { return 0 }
        return try Int64.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM address_transactions x WHERE x.address_id = ? AND \(direction.condition)"),
                                  arguments: [id]) ?? 0
    }

    /// How many transactions pay from `a` to `b`.
    public func transferCount(_ a: String, _ b: String) throws -> Int64 {
        guard let from = try addressID(a), let to = try addressID(b) else { return 0 }
        return Int64(try transfers(from: from, to: to, before: .start, limit: -1).count)
    }

    /// A best-chain block's fees, its coinbase's outputs and all its outputs, in satoshis.
    public func blockTotals(_ hashText: String) throws -> BlockTotals {
        guard let hash = Hash256(displayHex: hashText) else { throw QueryError.invalidHash(hashText, what: "block hash") }
        guard let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM blocks WHERE hash = ?"), arguments: [data(hash)]) else {
            throw QueryError.notFound("block \(hashText)")
        }
        let r = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT (SELECT COALESCE(SUM(t.fee), 0) FROM transactions t WHERE t.id >= b.first_tx_id AND t.id < b.first_tx_id + b.tx_count),
                   (SELECT COALESCE(SUM(o.value), 0) FROM outputs o WHERE o.tx_id = b.first_tx_id),
                   (SELECT COALESCE(SUM(o.value), 0) FROM outputs o WHERE o.tx_id >= b.first_tx_id AND o.tx_id < b.first_tx_id + b.tx_count)
            FROM blocks b WHERE b.id = ?1
            """), arguments: [id])!
        return BlockTotals(fees: r[0], reward: r[1], total: r[2])
    }

    // MARK: reading transactions back

    func transactionRow(_ txid: String) throws -> Int64 {
        guard let id = Hash256(displayHex: txid) else { throw QueryError.invalidHash(txid, what: "transaction id") }
        guard let row = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM transactions WHERE \(Schema.txidMatches("txid", "?1")) ORDER BY id DESC LIMIT 1"), arguments: [data(id)]) else {
            throw QueryError.notFound("transaction \(txid) in the best chain")
        }
        return row
    }

    func detail(row: Int64) throws -> TransactionDetail {
        let (transaction, raw, txid, block) = try rawTransaction(row: row)
        let info = try transactionInfo(row: row, txid: txid, blockHash: block.hash)
        var prevouts = [Prevout?](repeating: nil, count: transaction.inputs.count)
        if !transaction.isCoinbase {
            for r in try Row.fetchAll(db.cachedStatement(sql: """
                SELECT i.n, o.value, a.address, o.type, o.tx_id, o.vout FROM inputs i
                JOIN outputs o ON o.tx_id = i.previous_tx_id AND o.vout = i.previous_vout
                LEFT JOIN addresses a ON a.id = o.address_id WHERE i.tx_id = ?
                """), arguments: [row]) {
                let n: Int = r[0]
                guard n >= 0, n < prevouts.count else { continue }
                let address: String? = r[2], type = Schema.outputType(code: r[3])
                var script: [UInt8]?
                if let address, Self.addressTypes.contains(type) { script = Address.scriptPubKey(for: address, on: network) }
                if script == nil {
                    let vout: Int = r[5], previous = try rawTransaction(row: r[4]).transaction
                    script = vout < previous.outputs.count ? Array(previous.outputs[vout].scriptPubKey) : nil
                }
                if let script { prevouts[n] = Prevout(scriptPubKey: script, value: r[1], address: address) }
            }
        }
        return TransactionDetail(info: info, transaction: transaction, raw: raw, block: block, prevouts: prevouts)
    }

    /// Output types whose address gives back the exact script.
    static let addressTypes: Set<OutputType> = [.pubkeyhash, .scripthash, .witnessV0KeyHash, .witnessV0ScriptHash, .witnessV1Taproot]

    func transactionInfo(row: Int64, txid: String, blockHash: String) throws -> TransactionInfo {
        guard let t = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT t.height, t.id - b.first_tx_id, t.fee, t.is_coinbase, t.size, t.weight FROM transactions t JOIN blocks b ON \(Schema.blockOf("t", "b"))
            WHERE t.id = ?
            """), arguments: [row]) else {
            throw QueryError.notFound("transaction \(txid) in the best chain")
        }
        let inputs = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT COALESCE(p.txid, i.previous_txid), i.previous_vout, a.address, o.value FROM inputs i
            LEFT JOIN transactions p ON p.id = i.previous_tx_id
            LEFT JOIN outputs o ON o.tx_id = i.previous_tx_id AND o.vout = i.previous_vout
            LEFT JOIN addresses a ON a.id = o.address_id
            WHERE i.tx_id = ? ORDER BY i.n
            """), arguments: [row]).map { TransactionInfo.Input(txid: hash($0[0]).displayHex, vout: $0[1], address: $0[2], value: $0[3]) }
        let outputs = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT o.vout, a.address, o.value, o.type, s.txid FROM outputs o LEFT JOIN addresses a ON a.id = o.address_id
            LEFT JOIN transactions s ON s.id = o.spent_by_tx WHERE o.tx_id = ? ORDER BY o.vout
            """), arguments: [row]).map {
            TransactionInfo.Output(n: $0[0], address: $0[1], value: $0[2], type: Schema.outputType(code: $0[3]).rawValue, spentBy: ($0[4] as Data?).map { hash($0).displayHex })
        }
        return TransactionInfo(txid: txid, blockHash: blockHash, height: t[0], position: t[1], fee: t[2],
                               isCoinbase: t[3], size: t[4], weight: t[5], inputs: inputs, outputs: outputs)
    }

    /// Reads a transaction's bytes back from its blk file (through its offset in the block
    /// when the index recorded it, else by decoding the block) and checks its txid.
    func rawTransaction(row: Int64) throws -> (transaction: Transaction, raw: [UInt8], txid: String, block: BlockRef) {
        guard let r = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT t.txid, t.offset, t.id - b.first_tx_id, t.size, b.file, b.offset, b.hash, b.height, b.time
            FROM transactions t JOIN blocks b ON \(Schema.blockOf("t", "b")) WHERE t.id = ?
            """), arguments: [row]) else { throw QueryError.notFound("transaction row \(row)") }
        let txid = hash(r[0]), offset: Int? = r[1], position: Int = r[2], size: Int = r[3], file: String = r[4], blockOffset: Int = r[5]
        let block = BlockRef(hash: hash(r[6]).displayHex, height: r[7], time: r[8])
        var raw: [UInt8]
        if let offset {
            raw = try read(file: file, at: blockOffset + 8 + offset, count: size)
        } else {
            let (_, bytes, offsets) = try readBlockBytes(file: file, offset: blockOffset)
            guard position < offsets.count else { throw QueryError.blockDataUnavailable("\(file) at \(blockOffset) no longer holds block \(block.hash)") }
            raw = Array(bytes[offsets[position]...].prefix(size))
        }
        guard let transaction = try? Transaction(decoding: raw), transaction.txid == txid else {
            throw QueryError.blockDataUnavailable("\(file) no longer holds transaction \(txid.displayHex) where it was indexed")
        }
        return (transaction, raw, txid.displayHex, block)
    }

    func readBlock(file: String, offset: Int) throws -> (block: Block, offsets: [Int]) {
        let (block, _, offsets) = try readBlockBytes(file: file, offset: offset)
        return (block, offsets)
    }

    func readBlockBytes(file: String, offset: Int) throws -> (Block, [UInt8], [Int]) {
        let preamble = try read(file: file, at: offset, count: 8)
        let size = Int(UInt32(preamble[4]) | UInt32(preamble[5]) << 8 | UInt32(preamble[6]) << 16 | UInt32(preamble[7]) << 24)
        guard size >= 80, size <= Limits.maxBlockSerializedSize else {
            throw QueryError.blockDataUnavailable("\(file) at \(offset) no longer holds a block")
        }
        let bytes = try read(file: file, at: offset + 8, count: size)
        guard let (block, offsets) = try? Block.decodeLocated(bytes) else {
            throw QueryError.blockDataUnavailable("\(file) at \(offset) no longer holds a block that decodes")
        }
        return (block, bytes, offsets)
    }

    /// `count` bytes of a blk file from `offset`, de-obfuscated with the folder's XOR key.
    func read(file: String, at offset: Int, count: Int) throws -> [UInt8] {
        guard let path = try String.fetchOne(db.cachedStatement(sql: "SELECT path FROM files WHERE name = ?"), arguments: [file]) else {
            throw QueryError.blockDataUnavailable("the index does not record where \(file) is (re-run blocksmith index on its folder)")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { if fd >= 0 { close(fd) } }
        guard fd >= 0, let bytes = BlockFileFormat.read(fd, at: offset, count: count, key: try xorKey()) else {
            throw QueryError.blockDataUnavailable("cannot read \(count) bytes at \(offset) of \(path)")
        }
        return bytes
    }

    /// The blocks folder's XOR key (`xor.dat`), nil when it has none.
    func xorKey() throws -> [UInt8]? {
        let key = try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'xor_key'")).flatMap { Hex.decode($0) }
        return key?.count == 8 ? key : nil
    }
}
