import Foundation
import GRDB
import Testing
import TestFixtures
import BitcoinWire
import BlockFile
@testable import ChainIndex

/// Blocks that meet their own proof of work but break Core's rules: each is recorded as
/// invalid with Core's reason, kept out of the best chain with its descendants, and changes
/// nothing the valid chain says.
@Suite struct InvalidBlockTests {
    /// The index of the valid chain alone: base and the next valid block.
    static let reference: DatabaseQueue = {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        Miner.write(CraftedBlocks.base + [CraftedBlocks.next], to: folder, file: 0)
        let db = try! DatabaseQueue()
        try! index([folder], into: db)
        return db
    }()

    /// Totals that must not move: the tip, every address, the UTXO set, the counts of the
    /// best chain (not where its blocks lie in the files, nor how many stale blocks there are).
    static func totals(_ db: any DatabaseReader) throws -> [String] {
        let q = try IndexQueries(db)
        let tip = try #require(try q.read { try $0.tip() })
        let s = try q.read { try $0.stats() }
        // The kept totals are what counting the tables gives.
        let counted = try q.read { try $0.countedStats() }
        #expect(try json(s) == json(counted))
        return ["tip \(tip.hash) \(tip.height!)", "blocks \(s.blocks) transactions \(s.transactions) outputs \(s.outputs)",
                "utxo \(s.utxoCount) \(s.utxoValue) addresses \(s.addresses) \(s.outputsByType.sorted { $0.key < $1.key })",
                try json(q.read { try $0.richest(limit: 1000) })]
    }

    /// Each crafted block, with the coins cache as a bulk load has it (every unspent output in
    /// memory) and with one holding a single output (every lookup after the first batch of
    /// 100 blocks goes to SQLite).
    /// With the bulk load's caches, and with caches of one entry (every lookup in SQLite): on
    /// the writing connection (in memory), and on a connection of their own (a file).
    @Test(arguments: CraftedBlocks.cases.map(\.name), [(false, false), (true, false), (true, true)])
    func craftedBlockStaysOutOfTheChain(name: String, options: (smallCache: Bool, onDisk: Bool)) throws {
        let smallCache = options.smallCache
        let crafted = CraftedBlocks.cases.first { $0.name == name }!
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (pool, poolFolder) = try temporaryPool()
        defer { try? FileManager.default.removeItem(at: poolFolder) }
        // The crafted block and a block on it come before the valid next block, so their branch
        // is seen first and, with two blocks, has more work.
        Miner.write(CraftedBlocks.base, to: folder, file: 0)
        Miner.write([crafted.block, crafted.child], to: folder, file: 1)
        let db: any DatabaseWriter = options.onDisk ? pool : try DatabaseQueue()
        var report = try index([folder], into: db, coinCapacity: smallCache ? 1 : nil)
        #expect(report.tipHash == CraftedBlocks.base.last!.hash, "\(name)")
        #expect(report.invalid.map(\.rule) == [crafted.rule], "\(name)")
        #expect(report.invalid.first?.hash == crafted.block.hash)
        #expect(report.invalid.first?.file == "blk00001.dat" && report.invalid.first?.offset == 0)
        let q = try IndexQueries(db)
        let info = try q.read { try $0.block(crafted.block.hash.displayHex) }
        #expect(info.status == "invalid" && info.invalidReason == crafted.rule && !info.inBestChain, "\(name)")
        let child = try q.read { try $0.block(crafted.child.hash.displayHex) }
        #expect(child.status == "invalid" && child.invalidReason == "bad-prevblk", "\(name)")
        #expect(try q.read { try $0.stats() }.tipHeight == 102)

        // The next valid block still connects, and everything is as if the crafted ones never were.
        Miner.write([CraftedBlocks.next], to: folder, file: 2)
        report = try index([folder], into: db)
        #expect(report.tipHash == CraftedBlocks.next.hash && report.connected == 1 && report.disconnected == 0, "\(name)")
        #expect(try Self.totals(db) == Self.totals(Self.reference), "\(name)")
        // Balances add up to the UTXO set, and none is negative.
        let (sum, negative) = try db.read { db in
            (try Int64.fetchOne(db, sql: "SELECT SUM(balance) FROM addresses")!, try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM addresses WHERE balance < 0")!)
        }
        #expect(sum == (try q.read { try $0.stats() }).utxoValue && negative == 0)
        // A run from scratch over the same files agrees.
        let fresh = try DatabaseQueue()
        try index([folder], into: fresh)
        #expect(try Self.totals(fresh) == Self.totals(db))
        #expect(try IndexQueries(fresh).read { try $0.block(crafted.block.hash.displayHex) }.invalidReason == crafted.rule)
    }

    /// `[cb, x, y, y]` has the hash of `[cb, x, y]`: the mutated copy is refused, and the valid
    /// copy, read later, takes its place and connects (Core does not remember mutated blocks as
    /// invalid by hash).
    @Test func validCopyOfAMutatedBlockConnects() throws {
        let (mutated, valid) = CraftedBlocks.mutatedAndValid
        #expect(mutated.hash == valid.hash)
        for together in [true, false] {
            let folder = Fixtures.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            Miner.write(CraftedBlocks.base + [mutated], to: folder, file: 0)
            let db = try DatabaseQueue()
            if !together {
                let report = try index([folder], into: db)
                #expect(report.tipHeight == 102 && report.invalid.map(\.rule) == ["bad-txns-duplicate"])
            }
            Miner.write([valid], to: folder, file: 1)
            let report = try index([folder], into: db)
            #expect(report.tipHash == valid.hash && report.tipHeight == 103, "together: \(together)")
            let info = try IndexQueries(db).read { try $0.block(valid.hash.displayHex) }
            #expect(info.status == "best-chain" && info.invalidReason == nil && info.file == "blk00001.dat")
            #expect(try IndexQueries(db).read { try $0.block("103") }.txCount == 3)
        }
    }

    /// A heavier branch whose second block is invalid: the index connects its first block, finds
    /// the second invalid, and falls back to the best valid chain.
    @Test func heavierBranchThatTurnsInvalidFallsBack() throws {
        let tip = CraftedBlocks.base.last!
        let fork1 = Miner.block(after: CraftedBlocks.base[CraftedBlocks.base.count - 2].hash, time: 1_600_300_000,
                                [Miner.coinbase(height: 102, tag: 40, to: 11)])
        let bad = Miner.block(after: fork1.hash, time: 1_600_300_600, [Miner.coinbase(height: 103, tag: 41, to: 11, value: 60 * Limits.coin)])
        let beyond = Miner.block(after: bad.hash, time: 1_600_301_200, [Miner.coinbase(height: 104, tag: 42, to: 11)])
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        Miner.write(CraftedBlocks.base, to: folder, file: 0)
        let db = try DatabaseQueue()
        let before = try index([folder], into: db)
        #expect(before.tipHash == tip.hash)
        let valid = try Self.totals(db)
        Miner.write([fork1, bad, beyond], to: folder, file: 1)
        let report = try index([folder], into: db)
        #expect(report.invalid.map(\.rule) == ["bad-cb-amount"])
        // fork1 has as much work as the old tip but came later: the old tip wins again.
        #expect(report.tipHash == tip.hash)
        #expect(try Self.totals(db) == valid)
        #expect(try IndexQueries(db).read { try $0.block(fork1.hash.displayHex) }.status == "stale")
    }

    /// When the chain starts at a genesis block, its coinbase is unspendable (as in Core) and
    /// every input must spend an output inside the index.
    @Test func genesisCoinbaseIsUnspendable() throws {
        let blocks = Fixtures.framedBlocks("blocks/mainnet-000000-000589.blk")
        let tip = try Block(decoding: Array(blocks.last!.dropFirst(8)))
        let spendGenesis = Transaction(
            version: 1, inputs: [.init(previousOutput: OutPoint(txid: Hash256(displayHex: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b")!, index: 0),
                                       scriptSig: [0x51][...], sequence: .max)],
            outputs: [.init(value: 49 * Limits.coin, scriptPubKey: Miner.payTo(1)[...])], lockTime: 0)
        let block = Miner.block(after: tip.hash, time: tip.header.time + 600, [Miner.coinbase(height: 590, tag: 0, to: 1), spendGenesis])
        var mainnet = block.encoded()
        mainnet = [0xf9, 0xbe, 0xb4, 0xd9] + withUnsafeBytes(of: UInt32(mainnet.count).littleEndian, Array.init) + mainnet
        let folder = Fixtures.blocksFolder(blocks + [mainnet], files: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = try index([folder], into: DatabaseQueue())
        #expect(report.tipHeight == 589)
        #expect(report.invalid.map(\.rule) == ["bad-txns-inputs-missingorspent"])
    }
}
