import Foundation
import GRDB
package import BitcoinWire

/// Where a best-chain block's bytes are: for readers that walk the chain in order (the export).
package struct StoredBlock: Sendable {
    package let height: Int64
    package let hash: BlockHash
    /// The blk file's name, its offset of the block's frame (magic, size, block) and the block's size.
    package let file: String
    package let offset: Int
    package let size: Int
}

extension IndexSnapshot {
    /// The best chain's height; nil for an empty index.
    package func tipHeight() throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(height) FROM blocks WHERE in_best_chain = 1"))
    }

    /// The best chain's blocks from `start` to `end`, in height order.
    package func bestChain(from start: Int64, to end: Int64) throws -> [StoredBlock] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT height, hash, file, offset, size FROM blocks WHERE in_best_chain = 1 AND height BETWEEN ? AND ? ORDER BY height
            """), arguments: [start, end]).map { r in
            StoredBlock(height: r[0], hash: hash(r[1]), file: r[2], offset: r[3], size: r[4])
        }
    }

    /// The best chain's block hash at `height`, if it has one.
    package func bestHash(at height: Int64) throws -> BlockHash? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM blocks WHERE in_best_chain = 1 AND height = ?"), arguments: [height]).map(hash)
    }

    /// Each blk file's path, by name, and the folder's XOR key (nil when it has none).
    package func blockFiles() throws -> (paths: [String: String], xorKey: [UInt8]?) {
        var paths = [String: String]()
        for row in try Row.fetchAll(db, sql: "SELECT name, path FROM files WHERE path IS NOT NULL") { paths[row[0]] = row[1] }
        return (paths, try xorKey())
    }

    /// The output `outpoint` names, as a best-chain block at `height` spends it: the latest
    /// transaction with that txid at or below `height` (a repeated txid replaced the earlier
    /// one's outputs; BIP30), read back from its blk file. Nil when the index has no such
    /// transaction (it was before the index's first block) or no such output.
    /// - Parameter read: reads `count` bytes of a blk file (by name) from an offset, already
    ///   de-obfuscated, for a caller that keeps its files open; when it gives nil (the
    ///   default), the transaction is read as the server reads one.
    /// - Throws: `QueryError.blockDataUnavailable` when the blk file no longer holds it.
    package func spentOutput(_ outpoint: OutPoint, spentAt height: Int64,
                             read: (_ file: String, _ offset: Int, _ count: Int) throws -> [UInt8]? = { _, _, _ in nil }) throws -> Transaction.Output? {
        guard let r = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT t.id, t.offset, t.size, b.file, b.offset FROM transactions t JOIN blocks b ON \(Schema.blockOf("t", "b"))
            WHERE \(Schema.txidMatches("t.txid", "?1")) AND t.height <= ?2 ORDER BY t.id DESC LIMIT 1
            """), arguments: [data(outpoint.txid), height]) else { return nil }
        let transaction: Transaction
        if let offset: Int = r[1], let bytes = try read(r[3], r[4] + 8 + offset, r[2]) {
            guard let decoded = try? Transaction(decoding: bytes), decoded.txid == outpoint.txid else {
                throw QueryError.blockDataUnavailable("\(r[3] as String) no longer holds transaction \(outpoint.txid.displayHex) where it was indexed")
            }
            transaction = decoded
        } else {
            transaction = try rawTransaction(row: r[0]).transaction
        }
        return Int(outpoint.index) < transaction.outputs.count ? transaction.outputs[Int(outpoint.index)] : nil
    }
}
