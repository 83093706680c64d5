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
        let key = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'xor_key'").flatMap { Hex.decode($0) }
        return (paths, key?.count == 8 ? key : nil)
    }

    /// The output `outpoint` names, as a best-chain block at `height` spends it: the latest
    /// transaction with that txid at or below `height` (a repeated txid replaced the earlier
    /// one's outputs; BIP30), read back from its blk file. Nil when the index has no such
    /// transaction (it was before the index's first block) or no such output.
    /// - Throws: `QueryError.blockDataUnavailable` when the blk file no longer holds it.
    package func spentOutput(_ outpoint: OutPoint, spentAt height: Int64) throws -> Transaction.Output? {
        guard let row = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM transactions WHERE txid = ? AND height <= ? ORDER BY id DESC LIMIT 1"),
                                           arguments: [data(outpoint.txid), height]) else { return nil }
        let outputs = try rawTransaction(row: row).transaction.outputs
        return Int(outpoint.index) < outputs.count ? outputs[Int(outpoint.index)] : nil
    }
}
