import Foundation
import GRDB
import BitcoinWire
import BlockFile
import Validation

extension ChainIndexer {
    /// Undoes a block: its outputs go, the outputs it spent are unspent again, and the
    /// addresses it touched lose its amounts.
    func disconnect(_ db: Database, _ node: Stored) throws {
        let txs = try Int64.fetchAll(db, sql: """
            SELECT t.id FROM blocks b JOIN transactions t ON t.id >= b.first_tx_id AND t.id < b.first_tx_id + b.tx_count
            WHERE b.id = ? ORDER BY t.id DESC
            """, arguments: [node.id])
        var touched = Set<Int64>()
        var totals = [String: Int64]()
        for id in txs {
            // The totals lose the transaction, its outputs (and those unspent from the UTXO
            // set) and get back the outputs it spent.
            totals["transactions", default: 0] -= 1
            for r in try Row.fetchAll(db, sql: "SELECT type, COUNT(*) FROM outputs WHERE tx_id = ? GROUP BY type", arguments: [id]) {
                totals["outputs:" + Schema.outputType(code: r[0]).rawValue, default: 0] -= r[1]
            }
            let unspent = try Row.fetchOne(db, sql: """
                SELECT COUNT(*), COALESCE(SUM(value), 0) FROM outputs WHERE tx_id = ? AND spent_by_tx IS NULL AND unspendable = 0
                """, arguments: [id])!
            let respent = try Row.fetchOne(db, sql: """
                SELECT COUNT(*), COALESCE(SUM(o.value), 0) FROM inputs i JOIN outputs o ON o.tx_id = i.previous_tx_id AND o.vout = i.previous_vout
                WHERE i.tx_id = ?
                """, arguments: [id])!
            totals["utxo_count", default: 0] += (respent[0] as Int64) - (unspent[0] as Int64)
            totals["utxo_value", default: 0] += (respent[1] as Int64) - (unspent[1] as Int64)
            // The addresses of its outputs and of the outputs its inputs spent.
            let addresses = try Int64.fetchAll(db, sql: """
                SELECT address_id FROM outputs WHERE tx_id = ?1 AND address_id IS NOT NULL
                UNION SELECT o.address_id FROM inputs i JOIN outputs o ON o.tx_id = i.previous_tx_id AND o.vout = i.previous_vout
                WHERE i.tx_id = ?1 AND o.address_id IS NOT NULL
                """, arguments: [id])
            for address in addresses {
                guard let row = try Row.fetchOne(db, sql: "SELECT received, sent FROM address_transactions WHERE address_id = ? AND tx_id = ?",
                                                 arguments: [address, id]) else { continue }
                let (received, sent): (Int64, Int64) = (row[0], row[1])
                touched.insert(address)
                try db.execute(sql: "UPDATE addresses SET balance = balance - ?, received = received - ?, sent = sent - ?, tx_count = tx_count - 1 WHERE id = ?",
                               arguments: [received - sent, received, sent, address])
                try db.execute(sql: "DELETE FROM address_transactions WHERE address_id = ? AND tx_id = ?", arguments: [address, id])
            }
            try db.execute(sql: """
                UPDATE outputs SET spent_by_tx = NULL, spent_by_input = NULL
                WHERE (tx_id, vout) IN (SELECT previous_tx_id, previous_vout FROM inputs WHERE tx_id = ? AND previous_tx_id IS NOT NULL)
                """, arguments: [id])
            try db.execute(sql: "DELETE FROM outputs WHERE tx_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM inputs WHERE tx_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM transactions WHERE id = ?", arguments: [id])
        }
        for address in touched {
            try db.execute(sql: """
                UPDATE addresses SET
                  first_seen_height = (SELECT t.height FROM address_transactions x JOIN transactions t ON t.id = x.tx_id
                                       WHERE x.address_id = ?1 ORDER BY x.tx_id LIMIT 1),
                  last_seen_height = (SELECT t.height FROM address_transactions x JOIN transactions t ON t.id = x.tx_id
                                      WHERE x.address_id = ?1 ORDER BY x.tx_id DESC LIMIT 1)
                WHERE id = ?1
                """, arguments: [address])
            try db.execute(sql: "DELETE FROM addresses WHERE id = ? AND tx_count = 0", arguments: [address])
            totals["addresses", default: 0] -= Int64(db.changesCount)
        }
        for (name, amount) in totals where amount != 0 {
            try db.execute(sql: "INSERT INTO totals (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = value + ?2",
                           arguments: [name, amount])
        }
        try db.execute(sql: "UPDATE blocks SET in_best_chain = 0, first_tx_id = NULL WHERE id = ?", arguments: [node.id])
    }
}
