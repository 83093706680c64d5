import Dispatch
public import GRDB
import BitcoinWire

extension IndexSnapshot {
    /// The chain's totals, from the counters the indexer keeps (`totals`): no table is
    /// counted, so the answer costs the same at any chain length.
    public func stats() throws -> Stats {
        var totals = [String: Int64]()
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT name, value FROM totals")) { totals[row[0]] = row[1] }
        var byType = [String: Int64]()
        for (name, value) in totals where name.hasPrefix("outputs:") && value != 0 { byType[String(name.dropFirst(8))] = value }
        let best = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT MIN(height), MAX(height) FROM blocks WHERE in_best_chain = 1
            """))
        let (low, high): (Int64?, Int64?) = (best?[0], best?[1])
        let blocks = low.flatMap { low in high.map { $0 - low + 1 } } ?? 0
        // Block rows are never deleted, so the largest id is how many there are.
        let rows = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(id) FROM blocks")) ?? 0
        return Stats(blocks: blocks, staleBlocks: rows - blocks, transactions: totals["transactions"] ?? 0,
                     outputs: byType.values.reduce(0, +), outputsByType: byType,
                     utxoCount: totals["utxo_count"] ?? 0, utxoValue: totals["utxo_value"] ?? 0, addresses: totals["addresses"] ?? 0,
                     tipHeight: high, network: network.name)
    }

    /// The same totals counted from the tables (tests check the counters against it).
    package func countedStats() throws -> Stats {
        let byType = Dictionary(try Row.fetchAll(db.cachedStatement(sql: "SELECT type, COUNT(*) FROM outputs GROUP BY type"))
            .map { (Schema.outputType(code: $0[0]).rawValue, $0[1] as Int64) }, uniquingKeysWith: +)
        let utxo = try Row.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*), COALESCE(SUM(value), 0) FROM outputs WHERE spent_by_tx IS NULL AND unspendable = 0"))!
        return Stats(
            blocks: try Int64.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM blocks WHERE in_best_chain = 1")) ?? 0,
            staleBlocks: try Int64.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM blocks WHERE in_best_chain = 0")) ?? 0,
            transactions: try Int64.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM transactions")) ?? 0,
            outputs: byType.values.reduce(0, +), outputsByType: byType, utxoCount: utxo[0], utxoValue: utxo[1],
            addresses: try Int64.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM addresses")) ?? 0,
            tipHeight: try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(height) FROM blocks WHERE in_best_chain = 1")),
            network: network.name)
    }
}

/// Query latencies over random addresses, measured in process (for the benchmark).
package struct LatencyReport: Codable, Sendable {
    public struct Figures: Codable, Sendable { public let count: Int, p50Ms: Double, p99Ms: Double, maxMs: Double
        enum CodingKeys: String, CodingKey { case count, p50Ms = "p50_ms", p99Ms = "p99_ms", maxMs = "max_ms" }
    }
    public let address: Figures, history: Figures, between: Figures
}

extension IndexQueries {
    /// Times `address` and `history` (first page of 50) over `count` random addresses, and
    /// `between` (first page of 50) over `count` sender/receiver pairs taken from random
    /// transactions.
    package func latencies(count: Int, seed: UInt64 = 1) throws -> LatencyReport {
        let (addresses, pairs): ([String], [(String, String)]) = try db.read { db in
            let total = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(id) FROM addresses")) ?? 0
            let txs = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(id) FROM transactions")) ?? 0
            var state = seed
            func random(_ bound: Int64) -> Int64 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return bound > 0 ? Int64((state >> 33) % UInt64(bound)) + 1 : 0
            }
            var addresses = [String]()
            while addresses.count < count && total > 0 {
                if let a = try String.fetchOne(db.cachedStatement(sql: "SELECT address FROM addresses WHERE id >= ? ORDER BY id LIMIT 1"), arguments: [random(total)]) {
                    addresses.append(a)
                }
            }
            var pairs = [(String, String)]()
            var attempts = 0
            while pairs.count < count && txs > 0 && attempts < count * 20 {
                attempts += 1
                if let r = try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT ai.address, ao.address FROM inputs i JOIN outputs p ON p.tx_id = i.previous_tx_id AND p.vout = i.previous_vout
                    JOIN outputs o ON o.tx_id = i.tx_id JOIN addresses ai ON ai.id = p.address_id JOIN addresses ao ON ao.id = o.address_id
                    WHERE i.tx_id = (SELECT id FROM transactions WHERE id >= ? AND is_coinbase = 0 ORDER BY id LIMIT 1) LIMIT 1
                    """), arguments: [random(txs)]) {
                    pairs.append((r[0], r[1]))
                }
            }
            return (addresses, pairs)
        }
        func measure(_ n: Int, _ body: (Int) throws -> Void) rethrows -> LatencyReport.Figures {
            var times = [Double]()
            for i in 0..<n {
                let start = DispatchTime.now().uptimeNanoseconds
                try body(i)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            times.sort()
            guard !times.isEmpty else { return .init(count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0) }
            return .init(count: n, p50Ms: times[n / 2], p99Ms: times[min(n - 1, n * 99 / 100)], maxMs: times[n - 1])
        }
        return LatencyReport(
            address: try measure(addresses.count) { i in _ = try read { try $0.address(addresses[i]) } },
            history: try measure(addresses.count) { i in _ = try read { try $0.history(addresses[i], limit: 50) } },
            between: try measure(pairs.count) { i in _ = try read { try $0.between(pairs[i].0, pairs[i].1, limit: 50) } })
    }
}

