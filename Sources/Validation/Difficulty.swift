public import BitcoinWire

/// Bitcoin's difficulty rules (Core `pow.cpp` and `CBlockIndex::GetMedianTimePast`) for any
/// `ChainParameters`: the nBits a block must carry, given the chain it extends.
public enum Difficulty {
    /// The nBits the block after `parent` must have (Core `GetNextWorkRequired`).
    ///
    /// Difficulty changes only at heights that are multiples of `retargetInterval`; then the
    /// window's first block is `retargetInterval - 1` blocks below the parent (Core's
    /// off-by-one: the window spans one block fewer than the interval). On networks that
    /// allow minimum-difficulty blocks, a block more than two spacings after its parent may
    /// use the limit, and other blocks take the last bits that were not that exception.
    /// - Parameters:
    ///   - parentHeight: height of the block the new one extends.
    ///   - parentBits, parentTime: that block's nBits and time.
    ///   - newBlockTime: the new block's time (only minimum-difficulty networks look at it).
    ///   - ancestor: the time and nBits of the parent's ancestor at a height.
    /// - Returns: the compact target the new block must state.
    public static func nextBits(parentHeight: Int64, parentBits: UInt32, parentTime: Int64, newBlockTime: Int64,
                                network: ChainParameters, ancestor: (Int64) -> (time: Int64, bits: UInt32)) -> UInt32 {
        let interval = network.retargetInterval
        guard (parentHeight + 1) % interval == 0 else {
            guard network.allowsMinDifficultyBlocks else { return parentBits }
            let limitBits = network.powLimit.compact
            if newBlockTime > parentTime + 2 * network.targetSpacing { return limitBits }
            var height = parentHeight, bits = parentBits
            while height > 0 && height % interval != 0 && bits == limitBits {
                height -= 1
                bits = ancestor(height).bits
            }
            return bits
        }
        let firstTime = ancestor(parentHeight - (interval - 1)).time
        return nextBits(lastBits: parentBits, lastTime: parentTime, firstTime: firstTime, network: network)
    }

    /// The retarget itself (Core `CalculateNextWorkRequired`): the last target scaled by how
    /// long the window took against `targetTimespan`, the time clamped to ¼–4× of it, capped
    /// at the proof-of-work limit, rounded down to compact form.
    public static func nextBits(lastBits: UInt32, lastTime: Int64, firstTime: Int64, network: ChainParameters) -> UInt32 {
        if network.noRetargeting { return lastBits }
        let timespan = min(max(lastTime - firstTime, network.targetTimespan / 4), network.targetTimespan * 4)
        // As Core: the product wraps at 256 bits (parameters keep it from doing so).
        var target = CompactTarget(bits: lastBits).target.multipliedReportingOverflow(by: UInt64(timespan)).partialValue
        target = target / UInt256(UInt64(network.targetTimespan))
        if target > network.powLimit { target = network.powLimit }
        return target.compact
    }

    /// The median of up to the last eleven block times, the block's own included (Core
    /// `GetMedianTimePast`): a new block's time must be later than its parent's.
    /// - Parameter times: the times of the block and its ancestors, newest first (extra ones ignored).
    public static func medianTimePast(_ times: some Sequence<Int64>) -> Int64 {
        let last = times.prefix(ChainParameters.medianTimeSpan).sorted()
        return last.isEmpty ? 0 : last[last.count / 2]
    }
}

/// The rules that need the chain a block extends but not its UTXO set (Core
/// `ContextualCheckBlockHeader` and `ContextualCheckBlock`).
public enum ContextualRules {
    /// Checks a header against its place in the chain.
    /// - Parameters:
    ///   - expectedBits: what `Difficulty.nextBits` says the block must state.
    ///   - medianTimePast: the parent's median time past.
    ///   - now: the node's clock, seconds since 1970.
    /// - Returns: the first rule broken: `bad-diffbits` (nBits is not what the chain requires),
    ///   `high-hash` (the hash is above the target), `time-too-old` (not after the median
    ///   time past), `time-too-new` (further ahead of `now` than `maxFutureBlockTime`).
    public static func checkHeader(_ header: BlockHeader, hash: BlockHash, expectedBits: UInt32, medianTimePast: Int64,
                                   now: Int64, network: ChainParameters) -> RuleFailure? {
        if header.bits != expectedBits {
            return RuleFailure("bad-diffbits", "nBits is \(Hex.encode(header.bits)) but the chain requires \(Hex.encode(expectedBits))", offset: 72)
        }
        if !header.hasValidProofOfWork(hash: hash, limit: network.powLimit) {
            return RuleFailure("high-hash", "block hash \(hash) is above the target \(header.target.target.hex)", offset: 76)
        }
        if Int64(header.time) <= medianTimePast {
            return RuleFailure("time-too-old", "block time \(header.time) is not after the median time past \(medianTimePast)", offset: 68)
        }
        if Int64(header.time) > now + network.maxFutureBlockTime {
            return RuleFailure("time-too-new", "block time \(header.time) is more than \(network.maxFutureBlockTime) s after the node's clock (\(now))", offset: 68)
        }
        return nil
    }

    /// Checks a block's transactions against its height and time (Core `ContextualCheckBlock`):
    /// `bad-txns-nonfinal` (a lock time not yet reached, judged by the median time past as
    /// BIP113 says) and `bad-cb-height` (the coinbase does not start with the height, BIP34).
    public static func checkBlock(_ block: Block, height: Int64, medianTimePast: Int64, network: ChainParameters) -> RuleFailure? {
        for (i, tx) in block.transactions.enumerated() where !isFinal(tx, height: height, time: medianTimePast) {
            return RuleFailure("bad-txns-nonfinal", "transaction \(i) is locked until \(tx.lockTime)", offset: 80)
        }
        if height >= network.bip34Height, let coinbase = block.transactions.first, coinbase.isCoinbase {
            let prefix = Block.bip34Prefix(height: height)
            if !coinbase.inputs[0].scriptSig.starts(with: prefix) {
                return RuleFailure("bad-cb-height", "the coinbase does not start with height \(height) (BIP34)", offset: 80)
            }
        }
        return nil
    }

    /// Core `IsFinalTx`: a lock time below 500,000,000 is a height, else a time.
    static func isFinal(_ tx: Transaction, height: Int64, time: Int64) -> Bool {
        if tx.lockTime == 0 { return true }
        let limit = tx.lockTime < 500_000_000 ? height : time
        if Int64(tx.lockTime) < limit { return true }
        return tx.inputs.allSatisfy { $0.sequence == 0xffff_ffff }
    }
}
