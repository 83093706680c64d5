public import BitcoinWire

/// A 128-bit key for an outpoint: a keyed 64-bit hash of the txid and index (the hasher is
/// seeded at random per process, so nobody can grind transactions that collide in it) and
/// the txid's second word mixed with the index. Two different outpoints share a key with
/// probability 2^-128; the key is 16 bytes instead of the outpoint's 36.
public struct OutpointKey: Hashable, Sendable {
    @usableFromInline let a: UInt64, b: UInt64

    @inlinable
    public init(_ outpoint: OutPoint) { self.init(txid: outpoint.txid, index: outpoint.index) }

    @inlinable
    public init(txid: TxID, index: UInt32) {
        let (w0, w1) = txid.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        var hasher = Hasher()
        hasher.combine(txid)  // the first word
        hasher.combine(w1)
        hasher.combine(index)
        a = UInt64(UInt(bitPattern: hasher.finalize()))
        b = (w0 &+ w1) ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// `a` is already a keyed hash: dictionaries hash it alone.
    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(a) }
}

/// Unspent outputs held in memory, one entry per outpoint under its short key, with the
/// height of the block that made it and what the caller keeps of it (`Output`): Core's coins
/// cache, shaped for whoever reads the chain in order (the indexer checks and connects blocks
/// with it; the export finds what each input spends).
///
/// Bounded by `capacity` outputs: `trim` then keeps the newer half by height, after which a
/// miss may be an output the cache dropped (`complete` is false) and the caller asks the
/// database. While `complete`, the cache holds every unspent output and a miss is an answer.
public struct UnspentCache<Output> {
    @usableFromInline
    struct Entry {
        @usableFromInline var output: Output
        @usableFromInline let height: UInt32

        @usableFromInline
        init(output: Output, height: UInt32) {
            self.output = output
            self.height = height
        }
    }

    // Inlinable (with what it touches), so a caller in another module gets code specialized
    // for its types rather than generic code that looks up type metadata on every call.
    @usableFromInline var entries = [OutpointKey: Entry]()
    package var complete: Bool
    package var capacity: Int

    package init(complete: Bool, capacity: Int) {
        self.complete = complete
        self.capacity = capacity
    }

    /// A cache whose table is allocated once for `bytes` of memory: the most outputs a table
    /// of a power-of-two size at the dictionary's load of 3/4 holds (it never grows, and the
    /// memory it takes is what was given).
    package init(complete: Bool, bytes: Int) {
        let slot = MemoryLayout<OutpointKey>.stride + MemoryLayout<Entry>.stride
        var buckets = 16
        while buckets * 2 * slot <= bytes { buckets *= 2 }
        // Trimmed at 7/8 of what the table holds: the block that crosses the bound, and the
        // rest of its commit, still fit without the table doubling.
        self.init(complete: complete, capacity: buckets / 4 * 3 / 8 * 7)
        entries.reserveCapacity(buckets / 4 * 3)
    }

    /// Unspent outputs held.
    @inlinable
    package var count: Int { entries.count }

    /// The unspent output at `outpoint`, with its height, if the cache holds it.
    @inlinable
    public func find(_ outpoint: OutPoint) -> (height: Int64, output: Output)? {
        guard let entry = entries[OutpointKey(outpoint)] else { return nil }
        return (Int64(entry.height), entry.output)
    }

    /// Whether the cache holds one of the first `outputs` outputs of `txid` (BIP30 asks this
    /// of a transaction's own txid and output count, as Core asks its coins view).
    @inlinable
    public func holdsAny(of txid: TxID, outputs: Int) -> Bool {
        for index in 0..<outputs where entries[OutpointKey(txid: txid, index: UInt32(truncatingIfNeeded: index))] != nil { return true }
        return false
    }

    /// Adds a transaction's spendable outputs (nil for unspendable ones); a repeated txid
    /// replaces the earlier one's, as Core's coins are overwritten (BIP30's two exceptions).
    @inlinable
    public mutating func add(_ txid: TxID, height: Int64, outputs: [Output?]) {
        for (index, output) in outputs.enumerated() {
            guard let output else { continue }
            entries[OutpointKey(txid: txid, index: UInt32(truncatingIfNeeded: index))] = Entry(output: output, height: UInt32(clamping: height))
        }
    }

    /// Adds one output (one the caller found in the database).
    @inlinable
    public mutating func insert(_ outpoint: OutPoint, height: Int64, output: Output) {
        entries[OutpointKey(outpoint)] = Entry(output: output, height: UInt32(clamping: height))
    }

    /// Removes an output and returns it; nil when the cache does not hold it.
    @inlinable
    public mutating func spend(_ outpoint: OutPoint) -> Output? {
        entries.removeValue(forKey: OutpointKey(outpoint))?.output
    }

    /// Keeps the newer entries, half the capacity of them, when over capacity; the cache is
    /// then incomplete.
    package mutating func trim() {
        guard count > capacity else { return }
        let keep = lowestHeightToKeep(entries.values.lazy.map(\.height), keeping: capacity / 2)
        // In place: the storage stays allocated for the entries to come (no second table).
        let old = entries.compactMap { $0.value.height < keep ? $0.key : nil }
        for key in old { entries.removeValue(forKey: key) }
        complete = false
    }

    package mutating func removeAll() {
        entries.removeAll()
        complete = false
    }
}

/// The lowest height from which on at most `target` of `heights` lie (all of one height or
/// none of it), from a histogram rather than a sort of every entry; `UInt32.max` when the
/// newest height alone has more.
func lowestHeightToKeep(_ heights: some Sequence<UInt32>, keeping target: Int) -> UInt32 {
    var histogram = [UInt32: Int]()
    for height in heights { histogram[height, default: 0] += 1 }
    var kept = 0, lowest = UInt32.max
    for height in histogram.keys.sorted(by: >) {
        kept += histogram[height]!
        if kept > target { break }
        lowest = height
    }
    return lowest
}
