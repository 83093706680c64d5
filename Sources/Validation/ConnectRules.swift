public import BitcoinWire
import BitcoinScript

/// An unspent output as the UTXO set holds it (Core `Coin`).
public struct Coin: Sendable, Hashable {
    /// Satoshis.
    public let value: Int64
    /// Height of the block that created it.
    public let height: Int64
    public let isCoinbase: Bool

    public init(value: Int64, height: Int64, isCoinbase: Bool) {
        self.value = value
        self.height = height
        self.isCoinbase = isCoinbase
    }
}

/// What the UTXO set says of an outpoint.
public enum CoinLookup: Sendable, Hashable {
    /// Unspent, with its value and origin.
    case unspent(Coin)
    /// It never existed, or it is spent already, or it is unspendable.
    case missingOrSpent
    /// It is from before the first block the caller holds (a chain whose start is not a
    /// genesis block): it cannot be checked, and its value is unknown.
    case outsideRange
}

/// What connecting a block learned: the coin each input spent (nil where it is outside the
/// range the caller holds) and each transaction's fee (nil where an input's value is unknown).
public struct BlockConnection: Sendable {
    /// Per transaction, its inputs' coins (empty for the coinbase).
    public let spent: [[Coin?]]
    /// Per transaction, its fee (nil for the coinbase, and where an input value is unknown).
    public let fees: [Int64?]
}

/// The rules that need the UTXO set (Core `ConnectBlock` and `Consensus::CheckTxInputs`,
/// without scripts and signatures): every input spends an existing unspent output, once;
/// coinbase outputs only after maturity; values and fees stay in the money range; inputs cover
/// outputs; the coinbase claims at most subsidy plus fees; BIP30.
///
/// The block must already have passed `BlockRules` (so every output value, and each
/// transaction's output total, is in the money range). Nothing is changed: the caller applies
/// the returned spends to its own UTXO set when the block passes.
public enum ConnectRules {
    /// Checks `block` against the UTXO set as it is before the block.
    /// - Parameters:
    ///   - lookup: the UTXO set's answer for an outpoint not created in this block.
    ///   - hasUnspentOutputs: whether an earlier transaction with this one's txid (and so its
    ///     outputs) still has unspent outputs (BIP30); asked only when `enforceBIP30`.
    /// - Returns: the block's spends and fees, or the first rule it breaks, with Core's reject
    ///   reason and the byte offset of the transaction at fault.
    /// - Throws: what `lookup` and `hasUnspentOutputs` throw.
    public static func check(
        _ block: Block, height: Int64, network: ChainParameters, enforceBIP30: Bool,
        transactionOffsets: [Int] = [], baseOffset: Int = 0,
        lookup: (OutPoint) throws -> CoinLookup, hasUnspentOutputs: (Transaction) throws -> Bool
    ) rethrows -> Result<BlockConnection, RuleFailure> {
        func fail(_ rule: String, _ detail: String, transaction i: Int) -> Result<BlockConnection, RuleFailure> {
            .failure(RuleFailure(rule, detail, offset: baseOffset + (i < transactionOffsets.count ? transactionOffsets[i] : 0)))
        }
        if enforceBIP30 {
            for (i, tx) in block.transactions.enumerated() where try hasUnspentOutputs(tx) {
                return fail("bad-txns-BIP30", "transaction \(i) repeats txid \(tx.txid), which still has unspent outputs", transaction: i)
            }
        }
        // Outputs created earlier in this block, and outpoints this block has spent.
        var created = [OutPoint: Coin]()
        var spentHere = Set<OutPoint>()
        var spent = [[Coin?]](), fees = [Int64?]()
        spent.reserveCapacity(block.transactions.count)
        fees.reserveCapacity(block.transactions.count)
        var totalFees: Int64 = 0
        var feesKnown = true
        for (i, tx) in block.transactions.enumerated() {
            if tx.isCoinbase {
                spent.append([])
                fees.append(nil)
            } else {
                var coins = [Coin?]()
                coins.reserveCapacity(tx.inputs.count)
                var valueIn: Int64? = 0
                for (n, input) in tx.inputs.enumerated() {
                    let outpoint = input.previousOutput
                    let found: CoinLookup
                    if spentHere.contains(outpoint) {
                        found = .missingOrSpent
                    } else if let coin = created[outpoint] {
                        found = .unspent(coin)
                    } else {
                        found = try lookup(outpoint)
                    }
                    switch found {
                    case .missingOrSpent:
                        return fail("bad-txns-inputs-missingorspent",
                                    "transaction \(i) input \(n) spends \(outpoint.txid):\(outpoint.index), which does not exist or is already spent",
                                    transaction: i)
                    case .outsideRange:
                        coins.append(nil)
                        valueIn = nil
                    case .unspent(let coin):
                        if coin.isCoinbase && height - coin.height < network.coinbaseMaturity {
                            return fail("bad-txns-premature-spend-of-coinbase",
                                        "transaction \(i) input \(n) spends a coinbase output of height \(coin.height) at height \(height), before \(network.coinbaseMaturity) confirmations",
                                        transaction: i)
                        }
                        coins.append(coin)
                        if let sum = valueIn {
                            let (total, overflow) = sum.addingReportingOverflow(coin.value)
                            guard !overflow, Money.inRange(coin.value), Money.inRange(total) else {
                                return fail("bad-txns-inputvalues-outofrange", "transaction \(i) input values are outside the money range", transaction: i)
                            }
                            valueIn = total
                        }
                    }
                    spentHere.insert(outpoint)
                    created[outpoint] = nil
                }
                // CheckTransaction bounded every output and their sum by MAX_MONEY.
                let valueOut = tx.outputs.reduce(Int64(0)) { $0 + $1.value }
                if let valueIn {
                    guard valueIn >= valueOut else {
                        return fail("bad-txns-in-belowout",
                                    "transaction \(i) spends \(valueIn) sat but pays out \(valueOut) sat", transaction: i)
                    }
                    let fee = valueIn - valueOut
                    totalFees += fee  // both at most MAX_MONEY: no overflow
                    guard Money.inRange(totalFees) else {
                        return fail("bad-txns-accumulated-fee-outofrange", "the block's fees add up past the money range", transaction: i)
                    }
                    fees.append(fee)
                } else {
                    feesKnown = false
                    fees.append(nil)
                }
                spent.append(coins)
            }
            for (o, output) in tx.outputs.enumerated() where !Script(output.scriptPubKey).isUnspendable {
                created[OutPoint(txid: tx.txid, index: UInt32(o))] = Coin(value: output.value, height: height, isCoinbase: tx.isCoinbase)
            }
        }
        if feesKnown, let coinbase = block.transactions.first, coinbase.isCoinbase {
            let claimed = coinbase.outputs.reduce(Int64(0)) { $0 + $1.value }
            let allowed = network.subsidy(atHeight: height) + totalFees
            if claimed > allowed {
                return fail("bad-cb-amount", "the coinbase pays \(claimed) sat, more than the \(allowed) sat of subsidy and fees", transaction: 0)
            }
        }
        return .success(BlockConnection(spent: spent, fees: fees))
    }
}

/// Core's `MoneyRange`.
public enum Money {
    /// 0 ≤ value ≤ 21 million BTC.
    public static func inRange(_ value: Int64) -> Bool { value >= 0 && value <= Limits.maxMoney }
}
