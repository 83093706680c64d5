import Foundation
import Testing
import BitcoinWire
import TestFixtures
import GRDB
@testable import ChainIndex

/// The indexer's in-memory caches: what they hold, what trimming keeps, the txid filter.
@Suite struct CacheTests {
    /// A txid made from a number (its bytes spread by SHA-256d, as real txids' are).
    static func txid(_ n: Int) -> TxID { Array("tx \(n)".utf8).withUnsafeBytes { SHA256d.hash($0) } }

    @Test func unspentCacheFindsSpendsAndTrimsTheOlderHalf() {
        var cache = UnspentCache<Int>(complete: true, capacity: 1000)
        for n in 0..<1200 { cache.add(Self.txid(n), height: Int64(n), outputs: [n, nil, n + 1_000_000]) }
        #expect(cache.count == 2400)
        #expect(cache.find(OutPoint(txid: Self.txid(7), index: 0))?.output == 7)
        #expect(cache.find(OutPoint(txid: Self.txid(7), index: 1)) == nil)  // unspendable: never added
        #expect(cache.find(OutPoint(txid: Self.txid(7), index: 2))?.output == 1_000_007)
        #expect(cache.find(OutPoint(txid: Self.txid(7), index: 3)) == nil)
        #expect(cache.holdsAny(of: Self.txid(7), outputs: 3) && cache.holdsAny(of: Self.txid(7), outputs: 1))
        #expect(cache.spend(OutPoint(txid: Self.txid(7), index: 0)) == 7)
        #expect(cache.spend(OutPoint(txid: Self.txid(7), index: 0)) == nil)
        #expect(!cache.holdsAny(of: Self.txid(7), outputs: 1) && cache.holdsAny(of: Self.txid(7), outputs: 3))
        #expect(cache.spend(OutPoint(txid: Self.txid(7), index: 2)) == 1_000_007)
        #expect(!cache.holdsAny(of: Self.txid(7), outputs: 3) && !cache.holdsAny(of: Self.txid(12_345), outputs: 3))
        #expect(cache.complete)
        cache.trim()
        // The newest outputs, half the capacity of them, stay; everything older is gone.
        #expect(!cache.complete)
        #expect(cache.count == 500)
        #expect((950..<1200).allSatisfy { cache.find(OutPoint(txid: Self.txid($0), index: 0))?.output == $0 })
        #expect((0..<950).allSatisfy { cache.find(OutPoint(txid: Self.txid($0), index: 0)) == nil })
    }

    @Test func oneHugeHeightIsDroppedWhenItAloneExceedsTheCapacity() {
        var cache = UnspentCache<Int>(complete: true, capacity: 10)
        cache.add(Self.txid(1), height: 5, outputs: Array(0..<30))
        cache.add(Self.txid(2), height: 4, outputs: [1])
        cache.trim()
        #expect(cache.count == 0)
    }

    @Test func aRepeatedTxidReplacesTheEarlierOutputs() {
        var cache = UnspentCache<Int>(complete: true, capacity: 100)
        cache.add(Self.txid(1), height: 1, outputs: [10, 11])
        cache.add(Self.txid(1), height: 2, outputs: [20])
        #expect(cache.find(OutPoint(txid: Self.txid(1), index: 0))! == (2, 20))
        #expect(cache.find(OutPoint(txid: Self.txid(1), index: 1))?.output == 11)
    }

    @Test func keysOfNearbyOutpointsDiffer() {
        var keys = Set<OutpointKey>()
        for n in 0..<2000 { for index in 0..<50 as Range<UInt32> { keys.insert(OutpointKey(txid: Self.txid(n), index: index)) } }
        #expect(keys.count == 100_000)
        // The same outpoint, the same key.
        #expect(OutpointKey(txid: Self.txid(3), index: 9) == OutpointKey(OutPoint(txid: Self.txid(3), index: 9)))
    }

    @Test func aCacheSizedInBytesHoldsWhatItWasGiven() {
        let cache = CoinCache(complete: true, bytes: 64 << 20)
        // 2^20 slots of 48 bytes: 786,432 at the load of 3/4, trimmed at 7/8 of that.
        #expect(cache.capacity == (1 << 20) / 4 * 3 / 8 * 7)
        let addresses = AddressCache(complete: true, bytes: 16 << 20)
        #expect(addresses.capacity == (1 << 19) / 4 * 3 / 8 * 7)
    }

    @Test func addressCacheKeepsTheRecentlyUsedHalf() {
        var cache = AddressCache(complete: true, capacity: 100)
        for n in 0..<150 { cache.insert(AddressKey("address \(n)"), id: Int64(n), at: Int64(n)) }
        // Address 3 was used again lately: it stays.
        #expect(cache.id(of: AddressKey("address 3"), at: 1000) == 3)
        cache.trim()
        #expect(!cache.complete && cache.count == 50)
        #expect(cache.id(of: AddressKey("address 3"), at: 1001) == 3)
        #expect(cache.id(of: AddressKey("address 149"), at: 1001) == 149)
        #expect(cache.id(of: AddressKey("address 10"), at: 1001) == nil)
        #expect(AddressKey("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa") != AddressKey("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"))
    }

    @Test func txidFilterNeverForgetsAndRarelyImagines() {
        var filter = TxidFilter(knowsAll: true)
        for n in 0..<300_000 { filter.insert(Self.txid(n)) }
        #expect((0..<300_000).allSatisfy { filter.mayContain(Self.txid($0)) })
        let imagined = (300_000..<400_000).filter { filter.mayContain(Self.txid($0)) }.count
        #expect(imagined < 4000, "\(imagined) false positives in 100,000")
        #expect(!filter.saturated)
        // Past its memory it says "maybe" to everything, which is never wrong.
        // (128 KiB for the first 87,381 txids, then 256 KiB more, past the 256 KiB allowed.)
        var small = TxidFilter(knowsAll: true, maximumBytes: 1 << 18)
        for n in 0..<87_381 { small.insert(Self.txid(n)) }
        #expect(!small.saturated)
        for n in 87_381..<100_000 { small.insert(Self.txid(n)) }
        #expect(small.saturated && small.mayContain(Self.txid(1_000_000)))
        #expect(TxidFilter(knowsAll: false).mayContain(Self.txid(1)))
    }
}

/// The checkpoints the indexer runs after each commit, on a connection of their own.
@Suite struct CheckpointTests {
    /// They copy the WAL into the database file. A connection that has not read yet finds no
    /// WAL and copies nothing: that bug let the WAL grow to 30 GB indexing the 2 GB chain.
    @Test func checkpointsCopyTheWAL() throws {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let pool = try ChainIndexer.open(path: folder.appendingPathComponent("index.sqlite").path)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            let checkpointer = try #require(Lookups.openCheckpointer(db))
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('test', 'x')")
            let (frames, copied) = checkpointer.checkpoint()
            #expect(frames > 0 && copied == frames)
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 1000")
        }
    }
}
