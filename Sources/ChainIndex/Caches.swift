import BitcoinWire

/// The best chain's unspent outputs the indexer holds in memory (Core's coins cache): per
/// outpoint, its value, its transaction's row, its address id and whether a coinbase made it
/// (with the key and height, 48 bytes a slot, 64 at the table's load).
///
/// When the index was empty at the start of the run the cache is `complete`: it holds every
/// unspent output, so a miss is an answer and the database is never asked. It is bounded by
/// `capacity` outputs; past that the older half goes (right after a commit), the cache is no
/// longer complete, and misses are looked up in the database.
typealias CoinCache = UnspentCache<CoinEntry>

struct CoinEntry {
    let value: Int64
    let row: Int64
    /// The address id; nil for an output without an address.
    let address: Int64?
    let isCoinbase: Bool
}


/// A 128-bit key for an address's text: two 64-bit hashes with the process's random seed.
struct AddressKey: Hashable {
    let a: UInt64, b: UInt64

    init(_ text: String) {
        var first = Hasher(), second = Hasher()
        first.combine(0 as UInt8)
        second.combine(1 as UInt8)
        first.combine(text)
        second.combine(text)
        a = UInt64(UInt(bitPattern: first.finalize()))
        b = UInt64(UInt(bitPattern: second.finalize()))
    }

    func hash(into hasher: inout Hasher) { hasher.combine(a) }
}

/// Address ids by text (under a short key), with the height each was last used at, so that
/// trimming keeps the addresses in use. Complete (a miss is a new address) while the index
/// started empty and nothing was trimmed.
struct AddressCache {
    private var ids = [AddressKey: (id: Int64, seen: UInt32)]()
    var complete: Bool
    var capacity: Int

    init(complete: Bool, capacity: Int) {
        self.complete = complete
        self.capacity = capacity
    }

    /// A cache allocated once for `bytes` of memory (as `UnspentCache(complete:bytes:)`).
    init(complete: Bool, bytes: Int) {
        let slot = MemoryLayout<AddressKey>.stride + MemoryLayout<(id: Int64, seen: UInt32)>.stride
        var buckets = 16
        while buckets * 2 * slot <= bytes { buckets *= 2 }
        // Trimmed at 7/8 of what the table holds: the block that crosses the bound, and the
        // rest of its commit, still fit without the table doubling.
        self.init(complete: complete, capacity: buckets / 4 * 3 / 8 * 7)
        ids.reserveCapacity(buckets / 4 * 3)
    }

    var count: Int { ids.count }

    /// The id of `text`, if cached; marks it used at `height`.
    mutating func id(of key: AddressKey, at height: Int64) -> Int64? {
        guard let index = ids.index(forKey: key) else { return nil }
        ids.values[index].seen = UInt32(clamping: height)
        return ids.values[index].id
    }

    mutating func insert(_ key: AddressKey, id: Int64, at height: Int64) {
        ids[key] = (id, UInt32(clamping: height))
    }

    /// Keeps the more recently used entries, half the capacity of them, when over capacity;
    /// the cache is then incomplete.
    mutating func trim() {
        guard ids.count > capacity else { return }
        let keep = lowestHeightToKeep(ids.values.lazy.map(\.seen), keeping: capacity / 2)
        let old = ids.compactMap { $0.value.seen < keep ? $0.key : nil }
        for key in old { ids.removeValue(forKey: key) }
        complete = false
    }

    mutating func removeAll() {
        ids.removeAll()
        complete = false
    }
}

/// A Bloom filter of the txids indexed in this run (when it started from an empty index):
/// BIP30 asks of every new transaction whether its txid already has unspent outputs, and
/// nearly always the answer is that the txid was never seen, which the filter says without
/// the database. It grows by adding filters twice as large, up to `maximumBytes`; past that
/// it answers "maybe" to everything and the database is asked.
struct TxidFilter {
    private var filters = [(bits: [UInt64], mask: UInt64, count: Int, limit: Int)]()
    private(set) var saturated: Bool
    let maximumBytes: Int
    private var bytes = 0

    /// A filter that knows every txid it will be asked about (`saturated` false), or one that
    /// knows nothing and always answers "maybe".
    init(knowsAll: Bool, maximumBytes: Int = 64 << 20) {
        saturated = !knowsAll
        self.maximumBytes = maximumBytes
    }

    /// Four bit positions from the txid's words: a txid's bytes are a hash already.
    private static func probes(_ txid: TxID) -> (UInt64, UInt64) {
        txid.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: 16, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self)) }
    }

    mutating func insert(_ txid: TxID) {
        guard !saturated else { return }
        if filters.isEmpty || filters[filters.count - 1].count >= filters[filters.count - 1].limit {
            let words = filters.isEmpty ? 1 << 14 : filters[filters.count - 1].bits.count * 2  // 128 KiB first
            guard bytes + words * 8 <= maximumBytes else {
                saturated = true
                filters = []
                return
            }
            bytes += words * 8
            // About 12 bits an entry: 4 probes then answer "maybe" for about 1 txid in 70.
            filters.append((bits: [UInt64](repeating: 0, count: words), mask: UInt64(words * 64 - 1), count: 0, limit: words * 64 / 12))
        }
        let (x, y) = Self.probes(txid)
        let last = filters.count - 1
        let mask = filters[last].mask
        for k in 0..<4 as Range<UInt64> {
            let bit = (x &+ k &* y) & mask
            filters[last].bits[Int(bit >> 6)] |= 1 << (bit & 63)
        }
        filters[last].count += 1
    }

    /// False when the txid was never inserted; true when it may have been.
    func mayContain(_ txid: TxID) -> Bool {
        guard !saturated else { return true }
        let (x, y) = Self.probes(txid)
        for filter in filters {
            var all = true
            for k in 0..<4 as Range<UInt64> {
                let bit = (x &+ k &* y) & filter.mask
                if filter.bits[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { all = false; break }
            }
            if all { return true }
        }
        return false
    }
}
