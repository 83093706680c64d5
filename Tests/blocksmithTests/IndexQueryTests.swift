import Foundation
import Testing
import TestFixtures

/// `blocksmith index` and `blocksmith query`, end to end, with the JSON fields scripts rely on.
@Suite struct IndexQueryCommandTests {
    static func blocksmith(_ arguments: String...) throws -> CommandLineTests.Run {
        try CommandLineTests.run(CommandLineTests.binary, arguments)
    }

    static func object(_ run: CommandLineTests.Run) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
    }

    @Test func indexThenEveryQuery() throws {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = folder.appendingPathComponent("i.sqlite").path
        let indexed = try Self.blocksmith("index", Fixtures.path("blocks/mainnet-000000-000589.blk"), "--db", db)
        #expect(indexed.status == 0)
        #expect(indexed.stderr.contains("590 connected"))
        let (satoshi, hal) = ("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3")
        let expectations: [([String], Set<String>)] = [
            (["address", satoshi], ["address", "balance", "received", "sent", "tx_count", "first_seen_height", "last_seen_height"]),
            (["balance", satoshi, "--at-height", "100"], ["address", "height", "balance"]),
            (["block", "170"], ["hash", "height", "in_best_chain"]),
            (["tip"], ["hash", "height", "in_best_chain"]),
            (["tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"], ["txid", "block_hash", "height", "fee", "inputs", "outputs"]),
            (["history", satoshi, "--limit", "2"], ["items", "next_cursor"]),
            (["between", satoshi, hal], ["items", "next_cursor"]),
            (["utxos", satoshi], ["items"]),
            (["stats"], ["blocks", "transactions", "utxo_count", "utxo_value"]),
            (["richest", "--limit", "3"], ["items"]),
        ]
        for (arguments, fields) in expectations {
            let run = try CommandLineTests.run(CommandLineTests.binary, ["query"] + arguments + ["--db", db, "--json"])
            #expect(run.status == 0, "\(arguments)")
            let object = try Self.object(run)
            #expect(fields.isSubset(of: Set(object.keys)), "\(arguments): \(object.keys.sorted())")
        }
        let tx = try Self.object(CommandLineTests.run(CommandLineTests.binary, ["query", "tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "--db", db, "--json"]))
        #expect(tx["fee"] as? Int == 0)
        #expect(((tx["inputs"] as! [[String: Any]])[0]).keys.contains("address"))
        #expect(((tx["outputs"] as! [[String: Any]])[0])["value"] as? Int == 1_000_000_000)
        let history = try Self.object(CommandLineTests.run(CommandLineTests.binary, ["query", "history", satoshi, "--limit", "2", "--db", db, "--json"]))
        let items = history["items"] as! [[String: Any]]
        #expect(Set(items[0].keys).isSuperset(of: ["txid", "height", "delta"]))
        let between = try Self.object(CommandLineTests.run(CommandLineTests.binary, ["query", "between", satoshi, hal, "--db", db, "--json"]))
        #expect(((between["items"] as! [[String: Any]])[0])["amount"] as? Int == 1_000_000_000)
        let utxos = try Self.object(CommandLineTests.run(CommandLineTests.binary, ["query", "utxos", satoshi, "--db", db, "--json"]))
        #expect(Set((utxos["items"] as! [[String: Any]])[0].keys).isSuperset(of: ["txid", "vout", "value", "height"]))
        // Unknown values are null, never missing.
        let unseen = try Self.object(CommandLineTests.run(CommandLineTests.binary, ["query", "address", "1BitcoinEaterAddressDontSendf59kuE", "--db", db, "--json"]))
        #expect(unseen["first_seen_height"] is NSNull && unseen["tx_count"] as? Int == 0)
        let coinbase = try Self.object(CommandLineTests.run(CommandLineTests.binary, ["query", "tx", "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", "--db", db, "--json"]))
        #expect(coinbase["fee"] is NSNull && coinbase["is_coinbase"] as? Bool == true)
        // Human tables, and clear errors.
        #expect(try Self.blocksmith("query", "address", satoshi, "--db", db).stdout.contains("18.00000000 BTC"))
        let bad = try Self.blocksmith("query", "address", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "--db", db)
        #expect(bad.status == 2 && bad.stderr.contains("not a valid address"))
        let missing = try Self.blocksmith("query", "tip", "--db", folder.appendingPathComponent("none.sqlite").path)
        #expect(missing.status == 2 && missing.stderr.contains("no such index"))
        // Re-running indexes nothing new.
        #expect(try Self.blocksmith("index", Fixtures.path("blocks/mainnet-000000-000589.blk"), "--db", db).stderr.contains("0 new blocks read"))
    }
}
