import Foundation
import GRDB
import Testing
import TestFixtures
import BitcoinWire
import BitcoinScript
import BlockFile
@testable import ChainIndex

@Suite struct RealDataTests {
    static let plain = Fixtures.url("blocks/mainnet-000000-000589.blk")

    /// Blocks 0-589 split over three files, shuffled, XOR-obfuscated and zero-padded give the
    /// same index as the plain file.
    @Test func shuffledObfuscatedFolderMatchesPlainFile() throws {
        let reference = try DatabaseQueue()
        try index([Self.plain], into: reference)
        let folder = Fixtures.blocksFolder(Fixtures.framedBlocks("blocks/mainnet-000000-000589.blk"), files: 3, shuffle: 40,
                                           xor: [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], padding: 3000)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (pool, dbFolder) = try temporaryPool()
        defer { try? FileManager.default.removeItem(at: dbFolder) }
        let report = try index([folder], into: pool)
        #expect(report.tipHeight == 589)
        #expect(report.orphans == 0)

        let q = try IndexQueries(pool), r = try IndexQueries(reference)
        #expect(try q.read { try $0.block("0") }.hash == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
        #expect(try q.read { try $0.block("170") }.hash == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee")
        #expect(try q.read { try $0.tip() }?.height == 589)
        // The first bitcoin payment: block 170's second transaction spends block 9's coinbase.
        let payment = try q.read { try $0.transaction("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16") }
        #expect(payment.height == 170 && payment.fee == 0)
        #expect(payment.inputs.map(\.value) == [50 * Limits.coin])
        #expect(payment.inputs.map(\.address) == ["12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"])
        #expect(payment.outputs.map(\.value) == [10 * Limits.coin, 40 * Limits.coin])
        #expect(try q.read { try $0.transaction("0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9") }.height == 9)
        // Known early addresses.
        #expect(try q.read { try $0.address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa") }.balance == 50 * Limits.coin)  // genesis, credited
        #expect(try q.read { try $0.address("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3") }.received == 10 * Limits.coin)  // Hal Finney
        // Block 9's coinbase key, in blocks 0-589 (worked out independently with a short
        // Python script over the raw file): transactions at heights 9, 170, 181, 182, 183 and
        // 248; 195 BTC in, 177 BTC out.
        let satoshi = try q.read { try $0.address("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S") }
        #expect(satoshi.txCount == 6 && satoshi.firstSeenHeight == 9 && satoshi.lastSeenHeight == 248)
        #expect(satoshi.received == 195 * Limits.coin && satoshi.sent == 177 * Limits.coin && satoshi.balance == 18 * Limits.coin)
        // The genesis output is credited but never spendable: not in the UTXO set.
        let stats = try q.read { try $0.stats() }
        #expect(stats.blocks == 590 && stats.utxoValue == 589 * 50 * Limits.coin)
        #expect(try q.read { try $0.utxos("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa") }.isEmpty)
        // Identical to the plain file's index.
        #expect(try json(stats) == json(r.read { try $0.stats() }))
        #expect(try json(stats) == json(q.read { try $0.countedStats() }))
        #expect(try json(q.read { try $0.richest(limit: 1000) }) == json(r.read { try $0.richest(limit: 1000) }))
        let addresses = try pool.read { try String.fetchAll($0, sql: "SELECT address FROM addresses ORDER BY address") }
        #expect(addresses.count == 603)
        for address in addresses {
            #expect(try json(q.read { try $0.address(address) }) == json(r.read { try $0.address(address) }))
        }
        // A re-run finds nothing new.
        let again = try index([folder], into: pool)
        #expect(again.blocksRead == 0 && again.connected == 0)
    }

    @Test func inputThatStartsAfterGenesisCountsFromOne() throws {
        let db = try DatabaseQueue()
        let report = try index([Fixtures.url("blocks/mainnet-000001-000255.blk")], into: db)
        #expect(report.tipHeight == 255)
        #expect(try IndexQueries(db).read { try $0.block("1") }.hash == "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048")
    }

    @Test func garbageBetweenBlocksIsSkippedWithAWarning() throws {
        var blocks = Fixtures.framedBlocks("blocks/mainnet-000000-000009.blk")
        blocks.insert(Array("not a block at all".utf8), at: 4)
        let folder = Fixtures.blocksFolder(blocks, files: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        var warnings = [String]()
        let report = try index([folder], into: DatabaseQueue(), warnings: { warnings.append($0) })
        #expect(report.tipHeight == 9)
        #expect(warnings == ["blk00000.dat: skipped 18 bytes that are not a block at offset 962"])
    }

    @Test func wrongSizedXorKeyIsAnError() throws {
        let folder = Fixtures.blocksFolder(Fixtures.framedBlocks("blocks/mainnet-000000-000009.blk"), files: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("xor.dat").path, contents: Data([1, 2, 3]))
        #expect(throws: FileError.self) { try BlocksFolder(paths: [folder.path]) }
    }

    /// Killing the indexer part way and running it again gives exactly the same database.
    @Test func interruptedIndexingResumesToTheSameDatabase() throws {
        let folder = Fixtures.blocksFolder(Fixtures.framedBlocks("spend-chain/spend-2000.blk"), files: 2, shuffle: 30,
                                           xor: [9, 8, 7, 6, 5, 4, 3, 2], padding: 100)
        defer { try? FileManager.default.removeItem(at: folder) }
        let whole = try DatabaseQueue()
        try index([folder], into: whole, batch: 100)
        // The first batches write block rows as the files are read; the later ones connect blocks.
        for abortAfter in [1, 7, 11, 12, 19, 25, 38] {
            let (pool, dbFolder) = try temporaryPool()
            defer { try? FileManager.default.removeItem(at: dbFolder) }
            #expect(throws: IndexAbort.self) { try index([folder], into: pool, batch: 100, abortAfter: abortAfter) }
            try index([folder], into: pool, batch: 100)
            #expect(try dump(pool) == dump(whole), "aborted after \(abortAfter) batches")
        }
    }
}

/// Indexes written by earlier releases.
@Suite struct MigrationTests {
    /// The server reads an earlier release's index after migrating it in place (its readers
    /// expect this release's tables: an output type read as a code, not a name).
    @Test func serverMigratesAnEarlierIndexBeforeReadingIt() async throws {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("index.sqlite").path
        try FileManager.default.copyItem(atPath: Fixtures.path("index/mainnet-000000-000589-v3.sqlite"), toPath: path)
        let sessions = try IndexSessions(path: path)
        let types = try await sessions.withSession { session in
            try session.read { try $0.transaction("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16") }.outputs.map { $0.type }
        }
        #expect(types == ["pubkey", "pubkey"])
        let current = try await DatabaseQueue(path: path).read { try Schema.migrator.hasCompletedMigrations($0) }
        #expect(current)
    }

    /// Every output type has a code of its own, and each code reads back as its type.
    @Test func outputTypeCodesCoverEveryType() {
        #expect(Set(Schema.outputTypes) == Set(OutputType.allCases) && Schema.outputTypes.count == OutputType.allCases.count)
        for type in OutputType.allCases { #expect(Schema.outputType(code: Schema.code(of: type)) == type) }
        #expect(Schema.outputType(code: 99) == .nonstandard && Schema.outputType(code: -1) == .nonstandard)
    }

    /// The previous release's index of blocks 0-589 (schema v3, with the `transfers` table and
    /// inputs that repeat their outputs' txid, address and value) migrates to rows identical to
    /// a fresh index of the same blocks, and goes on answering and indexing.
    @Test func v3IndexMigratesToTheSameRows() throws {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("index.sqlite").path
        try FileManager.default.copyItem(atPath: Fixtures.path("index/mainnet-000000-000589-v3.sqlite"), toPath: path)
        let migrated = try ChainIndexer.open(path: path)
        let report = try index([RealDataTests.plain], into: migrated)  // nothing new: links once, records it
        #expect(report.connected == 0 && report.tipHeight == 589)
        let fresh = try DatabaseQueue()
        try index([RealDataTests.plain], into: fresh)
        // `files` holds the absolute path the old index was built from.
        let rows = { (db: any DatabaseReader) in try dump(db).filter { !$0.hasPrefix("files ") } }
        #expect(try rows(migrated) == rows(fresh))
        let q = try IndexQueries(migrated)
        #expect(try migrated.read { try Bool.fetchOne($0, sql: "SELECT 1 FROM sqlite_schema WHERE name = 'transfers'") } == nil)
        // v6: types stored as codes, no index of outputs by address, 8 bytes of each txid indexed.
        let indexes = try migrated.read { try String.fetchAll($0, sql: "SELECT name || ': ' || sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name") }
        #expect(try indexes == fresh.read { try String.fetchAll($0, sql: "SELECT name || ': ' || sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name") })
        #expect(indexes.contains { $0.hasPrefix("transactions_txid: ") && $0.contains("substr(txid, 1, 8)") })
        #expect(!indexes.contains { $0.hasPrefix("outputs_address") })
        #expect(try migrated.read { try String.fetchAll($0, sql: "SELECT DISTINCT typeof(type) FROM outputs") } == ["integer"])
        // v7: no index of transactions by block, addresses by an 8-byte key (no copy of their
        // text in an index), histories keyed by transaction alone.
        #expect(!indexes.contains { $0.hasPrefix("transactions_block") } && indexes.contains { $0.hasPrefix("addresses_key: ") })
        #expect(try migrated.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_schema WHERE tbl_name = 'addresses' AND type = 'index'") } == 2)
        #expect(try migrated.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM pragma_table_info('address_transactions') WHERE name = 'height'") } == 0)
        let freshQueries = try IndexQueries(fresh)
        for address in ["12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"] {
            let utxos = try q.read { try $0.utxos(address) }
            let expected = try json(freshQueries.read { try $0.utxos(address) })
            #expect(try !utxos.isEmpty && json(utxos) == expected)
        }
        #expect(try q.read { try $0.between("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3") }.items.map(\.amount) == [10 * Limits.coin])
        // Two pages of one, newest first, as a fresh index pages them.
        let page = try q.read { try $0.history("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", limit: 1) }
        #expect(try json(page) == json(freshQueries.read { try $0.history("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", limit: 1) }))
        let second = try q.read { try $0.history("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", limit: 1, after: page.nextCursor) }
        #expect(try json(second) == json(freshQueries.read { try $0.history("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", limit: 1, after: page.nextCursor) }))
        #expect(page.items.count == 1 && second.items.count == 1 && second.items[0].height <= page.items[0].height && second.items[0].txid != page.items[0].txid)
        let block = "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"  // 170: the first payment
        #expect(try q.read { try $0.transactionIDs(ofBlock: block) } == freshQueries.read { try $0.transactionIDs(ofBlock: block) })
        #expect(try q.read { try $0.summary("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16") }.position == 1)
        #expect(try q.read { try $0.transaction("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16") }.inputs.map(\.address)
                == ["12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"])
    }
}

/// The generator's ground truth: every number in its ledger.
@Suite struct LedgerTests {
    /// The standard spend chain, and one with CoinJoin-shaped transactions (50-200 inputs of
    /// distinct owners); each indexed in one run with batches of 250 blocks, and in one run
    /// with caches so small (300 coins, 300 address ids, 300 remembered spends) that most
    /// lookups go to the database; in memory (lookups on the writing connection) and in a
    /// file as the command writes it (lookups on a connection of their own while a thread
    /// writes).
    @Test(arguments: ["spend-chain/spend-2000", "spend-chain/coinjoin-1500"], [(false, false), (true, false), (false, true), (true, true)])
    func indexMatchesTheLedger(chain: String, options: (smallCache: Bool, onDisk: Bool)) throws {
        let ledger = try JSONSerialization.jsonObject(with: Data(Fixtures.bytes(chain + ".ledger.json"))) as! [String: Any]
        let folder = Fixtures.blocksFolder(Fixtures.framedBlocks(chain + ".blk"), files: 3, shuffle: 50,
                                           xor: [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], padding: 1 << 16)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (pool, poolFolder) = try temporaryPool()
        defer { try? FileManager.default.removeItem(at: poolFolder) }
        let db: any DatabaseWriter = options.onDisk ? pool : try DatabaseQueue()
        try index([folder], into: db, batch: 250, coinCapacity: options.smallCache ? 300 : nil)
        #expect(try db.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
        let q = try IndexQueries(db)
        let stats = try q.read { try $0.stats() }
        #expect(try json(stats) == json(q.read { try $0.countedStats() }))
        #expect(try q.read { try $0.tip() }?.hash == ledger["tip_hash"] as? String)
        #expect(stats.tipHeight == (ledger["tip_height"] as! NSNumber).int64Value)
        #expect(stats.transactions == (ledger["transactions"] as! NSNumber).int64Value)
        #expect(stats.outputs == (ledger["outputs"] as! NSNumber).int64Value)
        #expect(stats.utxoCount == (ledger["utxo_count"] as! NSNumber).int64Value)
        #expect(stats.utxoValue == (ledger["utxo_value"] as! NSNumber).int64Value)
        #expect(stats.addresses == (ledger["addresses_received"] as! NSNumber).int64Value)
        let fees = try db.read { try Int64.fetchOne($0, sql: "SELECT SUM(fee) FROM transactions") }
        #expect(fees == (ledger["fees"] as! NSNumber).int64Value)
        // The ledger counts coinbase inputs; the index keeps only inputs that spend something.
        let inputs = try db.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM inputs") }
        #expect(inputs.map { $0 + stats.blocks } == (ledger["inputs"] as! NSNumber).int64Value)
        let richest = (ledger["richest"] as! [[String: Any]]).map { "\($0["address"]!) \($0["balance"]!)" }
        #expect(try q.read { try $0.richest(limit: richest.count) }.map { "\($0.address) \($0.balance)" } == richest)
        for sample in ledger["sample"] as! [[String: Any]] {
            let address = sample["address"] as! String
            let summary = try q.read { try $0.address(address) }
            #expect(summary.balance == (sample["balance"] as! NSNumber).int64Value, "\(address)")
            #expect(summary.received == (sample["received"] as! NSNumber).int64Value, "\(address)")
            #expect(summary.sent == (sample["sent"] as! NSNumber).int64Value, "\(address)")
            #expect(summary.txCount == (sample["tx_count"] as! NSNumber).int64Value, "\(address)")
            let funded = try db.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM outputs o JOIN addresses a ON a.id = o.address_id WHERE a.address = ?", arguments: [address]) }
            #expect(funded == (sample["funded_txo_count"] as! NSNumber).int64Value, "\(address)")
        }
    }

    /// `between` against what the decoded blocks say: for sampled (input address, output
    /// address) pairs of every transaction (25 of each CoinJoin's), the transactions in which
    /// the first has an input and the second an output, newest first, with what the second
    /// received; and the same in pages of two.
    @Test func betweenMatchesTheDecodedBlocks() throws {
        let db = try DatabaseQueue()
        try index([Fixtures.url("spend-chain/coinjoin-1500.blk")], into: db)
        var owner = [OutPoint: String]()
        var sends = [String: Set<Int>]()  // address → transactions (in chain order) with its inputs
        var receives = [String: [Int: Int64]]()  // address → transaction → amount
        var txids = [String]()
        var pairs = [(String, String)]()
        var wide = 0
        for (_, bytes) in Fixtures.blocks("spend-chain/coinjoin-1500.blk") {
            for tx in try Block(decoding: bytes).transactions {
                let t = txids.count
                txids.append(tx.txid.displayHex)
                var paid = [String: Int64]()
                for (n, output) in tx.outputs.enumerated() {
                    guard let address = Script(output.scriptPubKey).pattern.address(on: .mainnet)?.text else { continue }
                    paid[address, default: 0] += output.value
                    owner[OutPoint(txid: tx.txid, index: UInt32(n))] = address
                }
                for (address, amount) in paid { receives[address, default: [:]][t] = amount }
                guard !tx.isCoinbase else { continue }
                let senders = Set(tx.inputs.compactMap { owner[$0.previousOutput] }).sorted()
                for a in senders { sends[a, default: []].insert(t) }
                let wideOne = senders.count >= 50
                if wideOne { wide += 1 }
                let take = wideOne ? 5 : 2
                for a in senders.prefix(take) { for b in paid.keys.sorted().prefix(take) { pairs.append((a, b)) } }
            }
        }
        #expect(wide >= 20)  // the chain has CoinJoins
        #expect(pairs.count > 3_000)
        let q = try IndexQueries(db)
        for (i, (a, b)) in pairs.enumerated() {
            let expected = (sends[a] ?? []).compactMap { t in receives[b]?[t].map { (t, $0) } }.sorted { $0.0 > $1.0 }
            let answer = try q.read { try $0.between(a, b) }.items
            #expect(answer.map(\.txid) == expected.map { txids[$0.0] }, "\(a) → \(b)")
            #expect(answer.map(\.amount) == expected.map(\.1), "\(a) → \(b)")
            #expect(answer.allSatisfy { $0.from == a && $0.to == b })
            if i % 50 == 0 {
                var paged = [BetweenItem](), cursor: String?
                repeat {
                    let page = try q.read { try $0.between(a, b, limit: 2, after: cursor) }
                    paged += page.items
                    cursor = page.nextCursor
                } while cursor != nil
                #expect(paged.map(\.txid) == answer.map(\.txid))
            }
        }
    }
}

/// Forks built with the regtest miner: a stale sibling, a heavier late branch, an orphan.
@Suite struct ForkTests {
    @Test func staleBranchThenReorgThenOrphan() throws {
        let cbG = Miner.coinbase(height: 0, tag: 0, to: 1)
        let g = Miner.block(after: .zero, time: 1_600_000_000, [cbG])
        let cb1 = Miner.coinbase(height: 1, tag: 0, to: 2)
        let a1 = Miner.block(after: g.hash, time: 1_600_000_600, [cb1])
        // 100 more blocks, so that a1's coinbase may be spent (coinbase maturity).
        let filler = Miner.chain(after: a1.hash, heights: 2...101, to: 8)
        let top = filler.last!.hash
        let pay = Miner.spend(cb1, to: [(9, 30 * Limits.coin), (2, 19 * Limits.coin)])  // 1 BTC fee
        let a2 = Miner.block(after: top, time: 1_600_100_000, [Miner.coinbase(height: 102, tag: 0, to: 3, value: 51 * Limits.coin), pay])
        let b2 = Miner.block(after: top, time: 1_600_100_100, [Miner.coinbase(height: 102, tag: 1, to: 4)])
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        Miner.write([g, a1] + filler + [a2, b2], to: folder, file: 0)
        let db = try DatabaseQueue()
        var report = try index([folder], into: db)
        let q = try IndexQueries(db)
        // Equal work: the first seen (a2) wins; b2 is kept as stale.
        #expect(report.tipHash == a2.hash && report.tipHeight == 102)
        #expect(try q.read { try $0.block(b2.hash.displayHex) }.inBestChain == false)
        #expect(try q.read { try $0.address(Miner.address(9)) }.balance == 30 * Limits.coin)
        #expect(try q.read { try $0.address(Miner.address(2)) }.balance == 19 * Limits.coin)
        #expect(try q.read { try $0.address(Miner.address(2)) }.txCount == 2)
        #expect(try q.read { try $0.transaction(pay.txid.displayHex) }.fee == Limits.coin)
        #expect(try q.read { try $0.between(Miner.address(2), Miner.address(9)) }.items.map(\.amount) == [30 * Limits.coin])
        #expect(try q.read { try $0.stats() }.utxoCount == 104)  // g, the filler, a2's coinbase, and the two outputs of pay

        // A later file brings a heavier branch on b2, and an orphan.
        let b3 = Miner.block(after: b2.hash, time: 1_600_100_700, [Miner.coinbase(height: 103, tag: 1, to: 5)])
        let b4 = Miner.block(after: b3.hash, time: 1_600_101_300, [Miner.coinbase(height: 104, tag: 1, to: 6)])
        let orphan = Miner.block(after: SHA256d.hash([1, 2, 3]), time: 1_600_003_000, [Miner.coinbase(height: 7, tag: 2, to: 7)])
        Miner.write([b3, orphan, b4], to: folder, file: 1)
        report = try index([folder], into: db)
        #expect(report.disconnected == 1 && report.connected == 3 && report.orphans == 1)
        #expect(report.tipHash == b4.hash && report.tipHeight == 104)
        // A re-run with nothing new skips linking (its cost would grow with the chain) and
        // reports the same tip and orphans; a new block links again.
        var warnings = [String]()
        let indexer = try ChainIndexer(database: db)
        indexer.warn = { warnings.append($0) }
        let again = try indexer.index(BlocksFolder(paths: [folder.path]))
        #expect(again.blocksRead == 0 && again.tipHash == b4.hash && again.tipHeight == 104 && again.orphans == 1)
        #expect(!indexer.timings.steps.contains { $0.name.hasPrefix("link") } && warnings.count == 1)
        #expect(try q.read { try $0.block(a2.hash.displayHex) }.inBestChain == false)
        #expect(try q.read { try $0.block("102") }.hash == b2.hash.displayHex)
        // a2 is undone: its payment is gone, block 1's coinbase is unspent again.
        #expect(try q.read { try $0.address(Miner.address(9)) }.txCount == 0)
        #expect(try q.read { try $0.address(Miner.address(2)) }.balance == 50 * Limits.coin)
        #expect(try q.read { try $0.utxos(Miner.address(2)) }.map(\.txid) == [cb1.txid.displayHex])
        #expect(throws: QueryError.notFound("transaction \(pay.txid.displayHex) in the best chain")) { try q.read { try $0.transaction(pay.txid.displayHex) } }
        #expect(try q.read { try $0.address(Miner.address(4)) }.balance == 50 * Limits.coin)
        #expect(try q.read { try $0.address(Miner.address(7)) }.txCount == 0)  // the orphan's coinbase is not indexed
        #expect(try q.read { try $0.stats() }.utxoCount == 105)  // g, a1, the filler, b2, b3, b4

        // Indexing the same files from scratch gives the same answers.
        let fresh = try DatabaseQueue()
        try index([folder], into: fresh)
        let f = try IndexQueries(fresh)
        #expect(try json(f.read { try $0.stats() }) == json(q.read { try $0.stats() }))
        #expect(try json(q.read { try $0.countedStats() }) == json(q.read { try $0.stats() }))
        #expect(try json(f.read { try $0.richest(limit: 100) }) == json(q.read { try $0.richest(limit: 100) }))

        // After a run that skipped linking, a new block links and connects again.
        let b5 = Miner.block(after: b4.hash, time: 1_600_101_900, [Miner.coinbase(height: 105, tag: 1, to: 6)])
        Miner.write([b5], to: folder, file: 2)
        let grown = try indexer.index(BlocksFolder(paths: [folder.path]))
        #expect(grown.connected == 1 && grown.tipHash == b5.hash && grown.tipHeight == 105 && grown.orphans == 1)
        #expect(indexer.timings.steps.contains { $0.name.hasPrefix("link") })
        // Through the reorganization, transactions stay numbered in chain order (histories
        // and their cursors are keyed by that number), and the block 102 they replaced leaves
        // no history rows behind.
        let disorder = try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM transactions a JOIN transactions b ON b.id > a.id AND b.height < a.height") }
        // Each best-chain block's transactions are the ids from its first_tx_id on.
        let misplaced = try db.read { try Int.fetchOne($0, sql: """
            SELECT COUNT(*) FROM blocks b WHERE in_best_chain = 1 AND tx_count !=
              (SELECT COUNT(*) FROM transactions t WHERE t.id >= b.first_tx_id AND t.id < b.first_tx_id + b.tx_count AND t.height = b.height)
            """) }
        let stray = try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM blocks WHERE in_best_chain = 0 AND first_tx_id IS NOT NULL") }
        #expect(misplaced == 0 && stray == 0)
        let highest = try db.read { try Int.fetchOne($0, sql: "SELECT MAX(height) FROM transactions") }
        #expect(disorder == 0 && highest == 105)
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM address_transactions x LEFT JOIN transactions t ON t.id = x.tx_id WHERE t.id IS NULL") } == 0)
        #expect(try q.read { try $0.history(Miner.address(6)) }.items.map(\.height) == [105, 104])
    }

    /// A complete run records that it linked; a later run that read new blocks and was cut off
    /// while connecting them leaves blocks to connect, which the next run (reading nothing
    /// new) must not skip.
    @Test func runCutOffAfterACompleteRunIsFinishedByTheNext() throws {
        let g = Miner.block(after: .zero, time: 1_600_000_000, [Miner.coinbase(height: 0, tag: 0, to: 1)])
        let first = Miner.chain(after: g.hash, heights: 1...5, to: 2)
        let second = Miner.chain(after: first.last!.hash, heights: 6...9, to: 3)
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        Miner.write([g] + first, to: folder, file: 0)
        let db = try DatabaseQueue()
        #expect(try index([folder], into: db).tipHeight == 5)
        Miner.write(second, to: folder, file: 1)
        // Batches of one block: four while reading blk00001, then one connected.
        #expect(throws: IndexAbort.self) { try index([folder], into: db, batch: 1, abortAfter: 5) }
        #expect(try IndexQueries(db).read { try $0.tip() }?.height == 6)
        let report = try index([folder], into: db)
        #expect(report.blocksRead == 0 && report.connected == 3 && report.tipHash == second.last!.hash)
    }

    @Test func rootHeightFromBIP34OrZero() throws {
        var warnings = [String]()
        for (version, height) in [(Int32(2), Int64(1000)), (Int32(1), Int64(0))] {
            let root = Miner.block(after: SHA256d.hash([9]), time: 1_600_000_000, version: version, [Miner.coinbase(height: 1000, tag: 0, to: 1, value: 0)])
            let next = Miner.block(after: root.hash, time: 1_600_000_600, version: version, [Miner.coinbase(height: 1001, tag: 0, to: 1, value: 0)])
            let folder = Fixtures.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            Miner.write([next, root], to: folder, file: 0)
            let report = try index([folder], into: DatabaseQueue(), warnings: { warnings.append($0) })
            #expect(report.tipHeight == height + 1)
        }
        #expect(warnings.count == 1 && warnings[0].contains("height is unknown"))
    }

    /// Found by FuzzIndex: a chain indexed from a root whose parent was missing, then a later
    /// file with that parent, itself on top of an invalid block. The root stays the root, its
    /// chain stays valid and grows, and the late blocks are left out as orphans.
    @Test func aLateParentOfTheRootDoesNotInvalidateTheChain() throws {
        let bytes = Fixtures.bytes("fuzz/index-late-invalid-parent.bin")
        let cut = 2469  // where the fuzzer split it: the second file starts at a magic
        #expect(bytes[cut] == 0xf9 && bytes[cut + 1] == 0xbe)
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = try DatabaseQueue()
        let indexer = try ChainIndexer(database: db)
        indexer.batchSize = 7
        FileManager.default.createFile(atPath: folder.appendingPathComponent("blk00000.dat").path, contents: Data(bytes[..<cut]))
        #expect(try indexer.index(BlocksFolder(paths: [folder.path])).tipHeight == 2)
        FileManager.default.createFile(atPath: folder.appendingPathComponent("blk00001.dat").path, contents: Data(bytes[cut...]))
        let report = try indexer.index(BlocksFolder(paths: [folder.path]))
        #expect(report.tipHeight == 3)
        try db.read { db in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blocks WHERE in_best_chain = 1 AND invalid_reason IS NOT NULL") == 0)
            let tipWork = try Data.fetchOne(db, sql: "SELECT work FROM blocks WHERE in_best_chain = 1 ORDER BY height DESC LIMIT 1")
            let bestWork = try Data.fetchOne(db, sql: "SELECT MAX(work) FROM blocks WHERE invalid_reason IS NULL AND height IS NOT NULL")
            #expect(tipWork == bestWork)
        }
    }
}

@Suite struct QueryTests {
    static let db: DatabaseQueue = {
        let db = try! DatabaseQueue()
        try! index([Fixtures.url("blocks/mainnet-000000-000589.blk")], into: db)
        return db
    }()

    @Test func addressesAreValidated() throws {
        let q = try IndexQueries(Self.db)
        #expect(throws: QueryError.self) { try q.read { try $0.address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb") } }  // checksum
        #expect(throws: QueryError.self) { try q.read { try $0.address("not an address") } }
        let testnet = Script([0x76, 0xa9, 20] + [UInt8](repeating: 1, count: 20) + [0x88, 0xac]).pattern.address(on: .testnet3)!.text
        do {
            _ = try q.read { try $0.address(testnet) }
            Issue.record("a testnet address was accepted")
        } catch let error as QueryError {
            #expect(error.description == "\(testnet) is a testnet3 address, but this index is of mainnet")
        }
        #expect(try q.read { try $0.address("1BitcoinEaterAddressDontSendf59kuE") }.txCount == 0)  // valid, never seen
    }

    @Test func historyPagesAreStableAndComplete() throws {
        let q = try IndexQueries(Self.db)
        let address = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
        let all = try q.read { try $0.history(address, limit: 1000) }.items
        #expect(all.count == 6)
        var paged = [HistoryPage.Item]()
        var cursor: String?
        repeat {
            let page = try q.read { try $0.history(address, limit: 1, after: cursor) }
            paged += page.items
            cursor = page.nextCursor
        } while cursor != nil
        #expect(paged.map(\.txid) == all.map(\.txid))
        #expect(all.map(\.height) == [248, 183, 182, 181, 170, 9])
        #expect(all.reduce(0) { $0 + $1.delta } == (try q.read { try $0.address(address) }).balance)
    }

    @Test func balanceAtHeight() throws {
        let q = try IndexQueries(Self.db)
        let address = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
        #expect(try q.read { try $0.balance(address, atHeight: 8) }.balance == 0)
        #expect(try q.read { try $0.balance(address, atHeight: 9) }.balance == 50 * Limits.coin)
        #expect(try q.read { try $0.balance(address, atHeight: 169) }.balance == 50 * Limits.coin)  // block 9's coinbase only
        #expect(try q.read { try $0.balance(address, atHeight: 170) }.balance == 40 * Limits.coin)  // 10 to Hal, 40 back
        #expect(try q.read { try $0.balance(address) }.balance == (try q.read { try $0.address(address) }).balance)
        #expect(try q.read { try $0.utxos(address) }.reduce(0) { $0 + $1.value } == (try q.read { try $0.address(address) }).balance)
    }

    @Test func betweenBothWays() throws {
        let q = try IndexQueries(Self.db)
        let (satoshi, hal) = ("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3")
        #expect(try q.read { try $0.between(satoshi, hal) }.items.map(\.amount) == [10 * Limits.coin])
        #expect(try q.read { try $0.between(hal, satoshi) }.items.isEmpty)
        #expect(try q.read { try $0.between(hal, satoshi, bothWays: true) }.items.map(\.txid) == ["f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"])
        // change back to the sender counts as from A to A
        #expect(try q.read { try $0.between(satoshi, satoshi) }.items.last?.amount == 40 * Limits.coin)  // block 170's change
    }
}
