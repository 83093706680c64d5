public import BitcoinWire

/// Unspent outputs held in memory by txid, with something about each transaction
/// (`Info`) and each output (`Output`): Core's coins cache, shaped for whoever reads
/// the chain in order (the indexer checks and connects blocks with it; the export finds
/// what each input spends).
///
/// Bounded by `capacity` outputs: `trim` then keeps the newer half by height, after which
/// a miss may be an output the cache dropped (`complete` is false) and the caller asks the
/// database. While `complete`, the cache holds every unspent output and a miss is an answer.
public struct UnspentCache<Info, Output> {
    @usableFromInline
    struct Entry {
        @usableFromInline
        let info: Info
        @usableFromInline let height: Int64
        @usableFromInline var outputs: [Output?]
        @usableFromInline var unspent: Int

        @usableFromInline
        init(info: Info, height: Int64, outputs: [Output?], unspent: Int) {
            self.info = info
            self.height = height
            self.outputs = outputs
            self.unspent = unspent
        }
    }

    // Inlinable (with what it touches), so a caller in another module gets code specialized
    // for its types rather than generic code that looks up type metadata on every call.
    @usableFromInline var entries = [TxID: Entry]()
    /// Unspent outputs held.
    @usableFromInline package internal(set) var count = 0
    package var complete: Bool
    package var capacity: Int

    package init(complete: Bool, capacity: Int) {
        self.complete = complete
        self.capacity = capacity
    }

    /// The unspent output at `outpoint`, with its transaction and height, if the cache holds it.
    @inlinable
    public func find(_ outpoint: OutPoint) -> (info: Info, height: Int64, output: Output)? {
        guard let entry = entries[outpoint.txid], Int(outpoint.index) < entry.outputs.count,
              let output = entry.outputs[Int(outpoint.index)] else { return nil }
        return (entry.info, entry.height, output)
    }

    /// Whether the cache holds an unspent output of `txid`.
    @inlinable
    public func holds(_ txid: TxID) -> Bool { entries[txid] != nil }

    /// Adds a transaction's spendable outputs (nil for unspendable ones); a repeated txid
    /// replaces the earlier one's, as Core's coins are overwritten (BIP30's two exceptions).
    @inlinable
    public mutating func add(_ txid: TxID, _ info: Info, height: Int64, outputs: [Output?]) {
        let unspent = outputs.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        guard unspent > 0 else { return }
        if let old = entries.updateValue(Entry(info: info, height: height, outputs: outputs, unspent: unspent), forKey: txid) {
            count -= old.unspent
        }
        count += unspent
    }

    /// Removes an output and returns it with its transaction; nil when the cache does not hold it.
    @inlinable
    public mutating func spend(_ outpoint: OutPoint) -> (info: Info, output: Output)? {
        let vout = Int(outpoint.index)
        guard let index = entries.index(forKey: outpoint.txid), vout < entries.values[index].outputs.count,
              let output = entries.values[index].outputs[vout] else { return nil }
        let info = entries.values[index].info
        count -= 1
        if entries.values[index].unspent == 1 {
            entries.remove(at: index)
        } else {
            // In place, holding no copy of the entry: a copy would make the write copy its outputs.
            entries.values[index].outputs[vout] = nil
            entries.values[index].unspent -= 1
        }
        return (info, output)
    }

    /// Keeps the newer half (by height) when over capacity; the cache is then incomplete.
    package mutating func trim() {
        guard count > capacity else { return }
        let heights = entries.values.map(\.height).sorted()
        let cut = heights[heights.count / 2]
        entries = entries.filter { $0.value.height > cut }
        count = entries.values.reduce(0) { $0 + $1.unspent }
        complete = false
    }

    package mutating func removeAll() {
        entries.removeAll()
        count = 0
        complete = false
    }
}
