import Foundation
public import BitcoinWire
public import Validation
import BitcoinScript

/// One block the node knows of: its header always, its body once received.
public struct ChainEntry: Sendable {
    public let hash: BlockHash
    public let header: BlockHeader
    public let height: Int64
    /// Work of this block and every ancestor, from the nBits each states (computed here, never
    /// taken from a peer).
    public let chainWork: UInt256
    /// The body is stored.
    public internal(set) var hasData = false
    /// The rule this block broke, or `bad-prevblk` when an ancestor broke one.
    public internal(set) var invalidReason: String?
    /// This block and all its ancestors have bodies: it can become the tip.
    var isComplete = false
    /// When its body arrived (ties in work go to the earlier).
    var sequence = Int.max
}

/// What accepting a block did.
public struct Acceptance: Sendable {
    public let hash: BlockHash
    public let height: Int64
    /// The tip changed (to this block, or to a chain this block completed).
    public let tipChanged: Bool
    /// Blocks taken off the best chain by a reorganization.
    public let disconnected: Int

    package init(hash: BlockHash, height: Int64, tipChanged: Bool, disconnected: Int) {
        self.hash = hash
        self.height = height
        self.tipChanged = tipChanged
        self.disconnected = disconnected
    }
}

/// A learning chain's state: every header and block the node accepted, the best chain, and
/// its UTXO set, validated by Core's rules (the checks of `BlockRules`, `ContextualRules`,
/// `Difficulty` and `ConnectRules`; scripts and signatures are not run). Nothing a peer states
/// is trusted: hashes, heights and work are computed here from the bytes.
///
/// The chain with the most work is the best; a tie keeps the block that arrived first. A
/// better chain is connected from the fork point, each block against the UTXO set; a block
/// that fails there is marked invalid with its descendants, and the best valid chain is
/// chosen again.
///
/// Not thread-safe: `Node` holds it under a lock. Sized for learning chains: every block is
/// kept in memory.
public final class Chain {
    public let network: ChainParameters
    public let store: BlockStore?
    /// The node's clock (seconds since 1970), for `time-too-new`.
    public var now: () -> Int64
    /// Told of torn writes and other things the node repaired.
    public var log: (String) -> Void = { _ in }

    private(set) var entries: [BlockHash: ChainEntry] = [:]
    private var children: [BlockHash: [BlockHash]] = [:]
    private var blocks: [BlockHash: Block] = [:]
    /// The best chain, by height.
    public private(set) var best: [BlockHash] = []
    private var utxo: [OutPoint: Coin] = [:]
    private var unspentPerTransaction: [TxID: Int] = [:]
    private var undo: [BlockHash: [(OutPoint, Coin)]] = [:]
    private var nextSequence = 0
    /// The genesis block's hash.
    public let genesisHash: BlockHash

    /// Seconds since 1970 by the system clock.
    public static func systemClock() -> Int64 { Int64(Date.now.timeIntervalSince1970) }

    /// A chain holding `genesis` only, in memory (or over an empty `store`: the caller wrote
    /// the genesis block there).
    public init(genesis: Block, network: ChainParameters = .learning, store: BlockStore? = nil,
                now: @escaping () -> Int64 = Chain.systemClock) {
        self.network = network
        self.store = store
        self.now = now
        let hash = genesis.header.hash
        genesisHash = hash
        var entry = ChainEntry(hash: hash, header: genesis.header, height: 0, chainWork: genesis.header.target.work)
        entry.hasData = true
        entry.isComplete = true
        entry.sequence = nextSequence
        nextSequence += 1
        entries[hash] = entry
        blocks[hash] = genesis
        best = [hash]
    }

    /// The chain stored in `store`: its first block is the genesis block; every other block
    /// is validated again, as if received, and the view files are brought in line.
    /// - Throws: `ChainError.corrupt` when the first block is not the genesis block the folder
    ///   was created with; what the store's `load` throws.
    public static func load(store: BlockStore, now: @escaping () -> Int64 = Chain.systemClock,
                            log: @escaping (String) -> Void = { _ in }) throws -> Chain {
        let stored = try store.load(warn: log)
        guard let first = stored.first, let genesis = try? Block(decoding: first),
              genesis.header.hash.displayHex == store.settings.genesis else {
            throw ChainError.corrupt("\(store.blocksDirectory.path): the first block is not the chain's genesis block \(store.settings.genesis)")
        }
        let chain = Chain(genesis: genesis, network: store.network, store: store, now: now)
        chain.log = log
        // A block may be stored before its parent (its parent's header was known, its body not
        // yet): such blocks wait for their parent, as Core's reindex does.
        var waiting = [BlockHash: [Block]]()
        for bytes in stored.dropFirst() {
            guard let block = try? Block(decoding: bytes) else { continue }
            var queue = [block]
            while let next = queue.popLast() {
                do {
                    _ = try chain.accept(next, requested: true, fromStore: true)
                    queue += waiting.removeValue(forKey: next.header.hash) ?? []
                } catch where error.rule == "prev-blk-not-found" {
                    waiting[next.header.previousBlockHash, default: []].append(next)
                } catch where error.rule == "duplicate" {
                    continue
                } catch {
                    log("stored block \(next.header.hash) is not accepted again: \(error.rule) (\(error.detail))")
                }
            }
        }
        for block in waiting.values.joined() {
            log("stored block \(block.header.hash) is not accepted again: its parent \(block.header.previousBlockHash) is not stored")
        }
        try chain.writeView(from: 0)
        return chain
    }

    // MARK: reading

    public var tip: ChainEntry { entries[best[best.count - 1]]! }
    public var height: Int64 { Int64(best.count - 1) }

    public func entry(_ hash: BlockHash) -> ChainEntry? { entries[hash] }
    public func block(_ hash: BlockHash) -> Block? { blocks[hash] }

    /// The best chain's block at `height`.
    public func entry(atHeight height: Int64) -> ChainEntry? {
        guard height >= 0, height < best.count else { return nil }
        return entries[best[Int(height)]]
    }

    /// Whether `hash` is on the best chain.
    public func isBest(_ hash: BlockHash) -> Bool {
        guard let e = entries[hash], e.height < best.count else { return false }
        return best[Int(e.height)] == hash
    }

    /// The ancestor of `entry` at `height`.
    func ancestor(of entry: ChainEntry, atHeight height: Int64) -> ChainEntry {
        var e = entry
        while e.height > height {
            if isBest(e.hash) { return entries[best[Int(height)]]! }
            e = entries[e.header.previousBlockHash]!
        }
        return e
    }

    /// The median time past of `entry` (its time and up to ten ancestors').
    public func medianTimePast(of entry: ChainEntry) -> Int64 {
        var times = [Int64]()
        var e: ChainEntry? = entry
        while let x = e, times.count < ChainParameters.medianTimeSpan {
            times.append(Int64(x.header.time))
            e = x.height > 0 ? entries[x.header.previousBlockHash] : nil
        }
        return Difficulty.medianTimePast(times)
    }

    /// The nBits a block after `parent` with `time` must state.
    public func expectedBits(after parent: ChainEntry, time: Int64) -> UInt32 {
        Difficulty.nextBits(parentHeight: parent.height, parentBits: parent.header.bits, parentTime: Int64(parent.header.time),
                            newBlockTime: time, network: network) { height in
            let a = ancestor(of: parent, atHeight: height)
            return (Int64(a.header.time), a.header.bits)
        }
    }

    /// Hashes of the best chain going back from the tip: the last ten, then doubling steps,
    /// then the genesis block (Core's block locator), for a peer to find where chains fork.
    public func locator(from start: BlockHash? = nil) -> [BlockHash] {
        var hashes = [BlockHash]()
        var e = start.flatMap { entries[$0] } ?? tip
        var step: Int64 = 1
        while true {
            hashes.append(e.hash)
            if e.height == 0 { break }
            let next = max(0, e.height - step)
            e = ancestor(of: e, atHeight: next)
            if hashes.count >= 10 { step *= 2 }
        }
        return hashes
    }

    /// The best chain's headers after the first locator hash on it (after the genesis block
    /// when none is), at most `limit` (Core `getheaders`).
    public func headers(after locator: [BlockHash], limit: Int) -> [ChainEntry] {
        let start = locator.first(where: isBest).map { entries[$0]!.height + 1 } ?? 1
        guard start < best.count else { return [] }
        let end = min(best.count, Int(start) + limit)
        return best[Int(start)..<end].map { entries[$0]! }
    }

    // MARK: accepting

    /// Accepts a header whose parent is known, after checking it against its place in the
    /// chain; a header already known is returned as it is.
    /// - Throws: `RuleFailure` with Core's reason: `prev-blk-not-found`, `bad-prevblk`,
    ///   `duplicate-invalid`, `bad-diffbits`, `high-hash`, `time-too-old`, `time-too-new`.
    @discardableResult
    public func accept(header: BlockHeader, fromStore: Bool = false) throws(RuleFailure) -> ChainEntry {
        let hash = header.hash
        if let known = entries[hash] {
            if let reason = known.invalidReason { throw RuleFailure("duplicate-invalid", "block \(hash) is known to be invalid (\(reason))", offset: 0) }
            return known
        }
        guard let parent = entries[header.previousBlockHash] else {
            throw RuleFailure("prev-blk-not-found", "the previous block \(header.previousBlockHash) is not known", offset: 4)
        }
        if let reason = parent.invalidReason {
            throw RuleFailure("bad-prevblk", "the previous block \(parent.hash) is invalid (\(reason))", offset: 4)
        }
        if let failure = ContextualRules.checkHeader(header, hash: hash, expectedBits: expectedBits(after: parent, time: Int64(header.time)),
                                                     medianTimePast: medianTimePast(of: parent),
                                                     now: fromStore ? Int64.max / 2 : now(), network: network) {
            throw failure
        }
        let entry = ChainEntry(hash: hash, header: header, height: parent.height + 1, chainWork: parent.chainWork &+ header.target.work)
        entries[hash] = entry
        children[parent.hash, default: []].append(hash)
        return entry
    }

    /// Accepts a block: its header in place, its body by every rule, stored, and the best
    /// chain moved to it if it now has the most work.
    /// - Parameters:
    ///   - bytes: its serialization (to store); nil encodes `block`.
    ///   - requested: the node asked for it (syncing). An unrequested block with less work
    ///     than the tip is not stored (Core: `too-little-chainwork`).
    ///   - fromStore: it is being read back from the node's own files.
    /// - Throws: `RuleFailure` with Core's reason (`duplicate`, the header's reasons, the
    ///   block's: `bad-txnmrklroot`, `bad-cb-height`, `bad-cb-amount`, …).
    @discardableResult
    public func accept(_ block: Block, bytes: [UInt8]? = nil, requested: Bool = false, fromStore: Bool = false) throws(RuleFailure) -> Acceptance {
        let hash = block.header.hash
        if let known = entries[hash], known.hasData, known.invalidReason == nil {
            throw RuleFailure("duplicate", "block \(hash) is already stored", offset: 0)
        }
        let entry = try accept(header: block.header, fromStore: fromStore)
        if !requested && !fromStore && entry.chainWork < tip.chainWork {
            throw RuleFailure("too-little-chainwork", "block \(hash) is on a chain with less work than the tip's \(tip.chainWork.hex)", offset: 0)
        }
        if let failure = BlockRules.check(block, hash: hash, network: network, height: entry.height).first {
            // A body that does not match its header says nothing of the header (Core BLOCK_MUTATED).
            if !BlockRules.mutationRules.contains(failure.rule) { markInvalid(hash, reason: failure.rule) }
            throw failure
        }
        let parent = entries[block.header.previousBlockHash]!
        if let failure = ContextualRules.checkBlock(block, height: entry.height, medianTimePast: medianTimePast(of: parent), network: network) {
            markInvalid(hash, reason: failure.rule)
            throw failure
        }
        if !fromStore, let store {
            do { try store.append(bytes ?? block.encoded()) } catch {
                throw RuleFailure("store-failed", "the block could not be written: \(error)", offset: 0)
            }
        }
        blocks[hash] = block
        entries[hash]!.hasData = true
        entries[hash]!.sequence = nextSequence
        nextSequence += 1
        markComplete(from: hash)
        let before = tip
        let (disconnected, failures) = activateBestChain()
        if !fromStore && tip.hash != before.hash {
            try? writeView(from: before.height - Int64(disconnected) + 1, removingStale: tip.height < before.height)
        }
        if let failure = failures[hash] { throw failure }
        return Acceptance(hash: hash, height: entry.height, tipChanged: tip.hash != before.hash, disconnected: disconnected)
    }

    private func markComplete(from hash: BlockHash) {
        guard let e = entries[hash], e.hasData, let parent = entries[e.header.previousBlockHash], parent.isComplete || e.height == 0 else { return }
        var stack = [hash]
        while let h = stack.popLast() {
            guard entries[h]!.hasData, !entries[h]!.isComplete else { continue }
            entries[h]!.isComplete = true
            stack += children[h] ?? []
        }
    }

    private func markInvalid(_ hash: BlockHash, reason: String) {
        entries[hash]?.invalidReason = reason
        var stack = children[hash] ?? []
        while let h = stack.popLast() {
            if entries[h]!.invalidReason == nil { entries[h]!.invalidReason = "bad-prevblk" }
            stack += children[h] ?? []
        }
    }

    /// The complete, valid block with the most work; the earliest among equals.
    private func bestCandidate() -> ChainEntry {
        var best = tip
        for e in entries.values where e.isComplete && e.invalidReason == nil {
            // The tip keeps a tie; among other equals, the block that arrived first wins.
            if e.chainWork > best.chainWork || (e.chainWork == best.chainWork && best.hash != tip.hash && e.sequence < best.sequence) {
                best = e
            }
        }
        return best
    }

    /// Moves the tip to the best candidate, block by block (Core `ActivateBestChain`).
    /// - Returns: how many blocks were disconnected, and the blocks that failed to connect.
    private func activateBestChain() -> (Int, [BlockHash: RuleFailure]) {
        var failures = [BlockHash: RuleFailure]()
        var disconnected = 0
        for _ in 0..<entries.count + 1 {
            let candidate = bestCandidate()
            if candidate.hash == tip.hash { break }
            // Down to the fork point.
            var path = [ChainEntry]()
            var e = candidate
            while !isBest(e.hash) {
                path.append(e)
                e = entries[e.header.previousBlockHash]!
            }
            while tip.hash != e.hash {
                disconnectTip()
                disconnected += 1
            }
            for next in path.reversed() {
                if let failure = connect(next) {
                    failures[next.hash] = failure
                    markInvalid(next.hash, reason: failure.rule)
                    break
                }
            }
        }
        return (disconnected, failures)
    }

    /// Connects `entry` on top of the tip against the UTXO set.
    private func connect(_ entry: ChainEntry) -> RuleFailure? {
        let block = blocks[entry.hash]!
        let result = ConnectRules.check(
            block, height: entry.height, network: network,
            enforceBIP30: network.enforcesBIP30(height: entry.height, hash: entry.hash, bip34BlockHash: nil),
            lookup: { utxo[$0].map(CoinLookup.unspent) ?? .missingOrSpent },
            hasUnspentOutputs: { (unspentPerTransaction[$0.txid] ?? 0) > 0 })
        switch result {
        case .failure(let failure):
            return failure
        case .success(let connection):
            var spent = [(OutPoint, Coin)]()
            for (i, tx) in block.transactions.enumerated() {
                for (n, input) in tx.inputs.enumerated() where !tx.isCoinbase {
                    if let coin = connection.spent[i][n] { spent.append((input.previousOutput, coin)) }
                    removeCoin(input.previousOutput)
                }
                for (o, output) in tx.outputs.enumerated() where !Script(output.scriptPubKey).isUnspendable {
                    addCoin(OutPoint(txid: tx.txid, index: UInt32(o)), Coin(value: output.value, height: entry.height, isCoinbase: tx.isCoinbase))
                }
            }
            undo[entry.hash] = spent
            best.append(entry.hash)
            return nil
        }
    }

    private func disconnectTip() {
        let hash = best.removeLast()
        let block = blocks[hash]!
        for tx in block.transactions.reversed() {
            for o in tx.outputs.indices { removeCoin(OutPoint(txid: tx.txid, index: UInt32(o))) }
        }
        for (outpoint, coin) in undo.removeValue(forKey: hash) ?? [] { addCoin(outpoint, coin) }
    }

    private func addCoin(_ outpoint: OutPoint, _ coin: Coin) {
        if utxo.updateValue(coin, forKey: outpoint) == nil { unspentPerTransaction[outpoint.txid, default: 0] += 1 }
    }

    private func removeCoin(_ outpoint: OutPoint) {
        guard utxo.removeValue(forKey: outpoint) != nil else { return }
        unspentPerTransaction[outpoint.txid]! -= 1
        if unspentPerTransaction[outpoint.txid] == 0 { unspentPerTransaction[outpoint.txid] = nil }
    }

    /// Unspent outputs in the UTXO set.
    public var unspentCount: Int { utxo.count }

    // MARK: mining

    /// A block to mine on the tip: the next height, the nBits the rules require, a time after
    /// the median time past (the clock's, if later), the subsidy to the coinbase.
    public func template(data: [UInt8], extraNonce: UInt64) -> Block {
        let parent = tip
        let time = max(now(), medianTimePast(of: parent) + 1)
        return BlockBuilder.template(previous: parent.hash, height: parent.height + 1, time: UInt32(clamping: time),
                                     bits: expectedBits(after: parent, time: time), data: data, extraNonce: extraNonce,
                                     value: network.subsidy(atHeight: parent.height + 1))
    }

    // MARK: the tutorial's view on disk

    /// Rewrites the view files from `height` up to the tip where they differ from the best
    /// chain, removes those above the tip (when the chain may have got shorter: a listing of
    /// the folder), and writes the tip file.
    func writeView(from height: Int64, removingStale: Bool = true) throws {
        guard let store else { return }
        var h = max(0, height)
        // After a crash the files may lag further behind: start from the first that differs.
        while h > 0, store.viewHash(height: h - 1) != best[Int(h - 1)].displayHex { h -= 1 }
        while h < best.count {
            if store.viewHash(height: h) != best[Int(h)].displayHex {
                try store.writeView(height: h, json: BlockView.json(entry: entries[best[Int(h)]]!, block: blocks[best[Int(h)]]!))
            }
            h += 1
        }
        if removingStale { store.removeViews(above: Int64(best.count - 1)) }
        try store.writeTip(BlockView.tipJSON(tip))
    }
}

extension Chain {
    /// The blocks without bodies on the way to `hash`, oldest first (what a sync downloads).
    /// Bodies may arrive out of order (a child announced before its parent's body came), so
    /// every block back to the first complete ancestor is looked at, not only the last ones.
    public func missingBodies(upTo hash: BlockHash) -> [BlockHash] {
        var missing = [BlockHash]()
        var e = entries[hash]
        while let x = e, !x.isComplete {
            if !x.hasData { missing.append(x.hash) }
            e = x.height > 0 ? entries[x.header.previousBlockHash] : nil
        }
        return missing.reversed()
    }

    /// Blocks of the best chain from `height`, at most `limit`, with their bodies.
    public func bestBlocks(from height: Int64, limit: Int) -> [(ChainEntry, Block)] {
        guard height >= 0, height < best.count, limit > 0 else { return [] }
        let end = min(best.count, Int(height) + limit)
        return best[Int(height)..<end].map { (entries[$0]!, blocks[$0]!) }
    }
}
