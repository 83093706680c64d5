public import BitcoinWire

/// Blocks that break Core's rules while meeting their own proof of work, each on top of a
/// small valid regtest chain: what a real blocks folder can hold, since Core writes a block to
/// disk before it has fully validated it.
public enum CraftedBlocks {
    /// One crafted block, a block built on it, and the reject reason the block earns.
    public struct Case: Sendable {
        public let name: String
        public let block: Block
        /// A valid-looking block on top of the crafted one (more work on an invalid branch).
        public let child: Block
        public let rule: String
    }

    static let time: UInt32 = 1_600_200_000

    /// The chain the crafted blocks extend: a root after the zero hash (a genesis block of its
    /// own), block 1 paying `Miner.payTo(2)`, 100 blocks (so block 1's coinbase matures), and
    /// block 102, whose second transaction spends block 1's coinbase (30 BTC to 9, 19 back to 2,
    /// 1 BTC fee).
    public static let base: [Block] = {
        let g = Miner.block(after: .zero, time: 1_600_000_000, [Miner.coinbase(height: 0, tag: 0, to: 1)])
        let a1 = Miner.block(after: g.hash, time: 1_600_000_600, [coinbase1])
        let filler = Miner.chain(after: a1.hash, heights: 2...101, to: 8)
        let tip = Miner.block(after: filler.last!.hash, time: 1_600_100_000,
                              [Miner.coinbase(height: 102, tag: 0, to: 3, value: 51 * Limits.coin), payment])
        return [g, a1] + filler + [tip]
    }()

    static let coinbase1 = Miner.coinbase(height: 1, tag: 0, to: 2)
    /// Block 102's payment.
    public static let payment = Miner.spend(coinbase1, to: [(9, 30 * Limits.coin), (2, 19 * Limits.coin)])

    /// The valid block 103 that follows `base`.
    public static let next: Block = Miner.block(
        after: base.last!.hash, time: time + 60,
        [Miner.coinbase(height: 103, tag: 7, to: 6, value: 50 * Limits.coin + 5 * Limits.coin),
         Miner.spend(payment, vout: 0, to: [(7, 25 * Limits.coin)])])

    static func crafted(_ name: String, _ rule: String, _ transactions: [Transaction], tag: UInt8) -> Case {
        let block = Miner.block(after: base.last!.hash, time: time + UInt32(tag), transactions)
        let child = Miner.block(after: block.hash, time: time + 600 + UInt32(tag), [Miner.coinbase(height: 104, tag: tag, to: 5)])
        return Case(name: name, block: block, child: child, rule: rule)
    }

    /// A coinbase for height 103.
    static func cb(_ tag: UInt8, value: Int64 = 50 * Limits.coin) -> Transaction { Miner.coinbase(height: 103, tag: tag, to: 5, value: value) }

    static func tx(spending outpoints: [OutPoint], paying outputs: [Int64]) -> Transaction {
        Transaction(version: 1, inputs: outpoints.map { .init(previousOutput: $0, scriptSig: [0x51][...], sequence: .max) },
                    outputs: outputs.map { .init(value: $0, scriptPubKey: Miner.payTo(4)[...]) }, lockTime: 0)
    }

    /// Every class, each with its reject reason.
    public static let cases: [Case] = {
        let paid0 = OutPoint(txid: payment.txid, index: 0)  // 30 BTC
        let paid1 = OutPoint(txid: payment.txid, index: 1)  // 19 BTC
        let x = tx(spending: [paid1], paying: [18 * Limits.coin])
        let y = tx(spending: [paid0], paying: [29 * Limits.coin])
        let early = base[50].transactions[0]  // the coinbase of height 50: immature at 103
        let huge = Transaction(version: 1, inputs: cb(1).inputs,
                               outputs: [.init(value: Int64.max / 2 + 1, scriptPubKey: Miner.payTo(5)[...]),
                                         .init(value: Int64.max / 2 + 1, scriptPubKey: Miner.payTo(5)[...])], lockTime: 0)
        return [
            crafted("coinbase outputs past 2^63-1", "bad-txns-vout-toolarge", [huge], tag: 1),
            crafted("spends an output that never existed", "bad-txns-inputs-missingorspent",
                    [cb(2), tx(spending: [OutPoint(txid: SHA256d.hash([7, 7, 7]), index: 0)], paying: [Limits.coin])], tag: 2),
            crafted("spends an output already spent", "bad-txns-inputs-missingorspent",
                    [cb(3), tx(spending: [OutPoint(txid: coinbase1.txid, index: 0)], paying: [Limits.coin])], tag: 3),
            crafted("spends one output twice in the block", "bad-txns-inputs-missingorspent",
                    [cb(4), tx(spending: [paid0], paying: [29 * Limits.coin]), tx(spending: [paid0], paying: [28 * Limits.coin])], tag: 4),
            crafted("spends one output twice in a transaction", "bad-txns-inputs-duplicate",
                    [cb(5), tx(spending: [paid0, paid0], paying: [59 * Limits.coin])], tag: 5),
            crafted("pays out more than its inputs", "bad-txns-in-belowout",
                    [cb(6), tx(spending: [paid0], paying: [30 * Limits.coin + 1])], tag: 6),
            crafted("coinbase claims more than subsidy", "bad-cb-amount", [cb(7, value: 50 * Limits.coin + 1)], tag: 7),
            crafted("coinbase claims more than subsidy plus fees", "bad-cb-amount",
                    [cb(8, value: 51 * Limits.coin + 1), tx(spending: [paid0], paying: [29 * Limits.coin])], tag: 8),
            crafted("repeats its last transaction (CVE-2012-2459)", "bad-txns-duplicate", [cb(9), x, y, y], tag: 9),
            crafted("repeats a txid with unspent outputs (BIP30)", "bad-txns-BIP30", [early], tag: 10),
            crafted("spends an immature coinbase", "bad-txns-premature-spend-of-coinbase",
                    [cb(11), tx(spending: [OutPoint(txid: early.txid, index: 0)], paying: [Limits.coin])], tag: 11),
            crafted("has no coinbase", "bad-cb-missing", [tx(spending: [paid0], paying: [29 * Limits.coin])], tag: 12),
            crafted("merkle root does not match", "bad-txnmrklroot", [cb(13)], tag: 13),
        ].map { c in
            guard c.name == "merkle root does not match" else { return c }
            // The header commits to other transactions than the block carries.
            let honest = Miner.block(after: base.last!.hash, time: time + 13, [cb(13)])
            let body = Block(header: honest.header, transactions: [cb(14)])
            return Case(name: c.name, block: body, child: Miner.block(after: body.hash, time: time + 700, [Miner.coinbase(height: 104, tag: 13, to: 5)]),
                        rule: c.rule)
        }
    }()

    /// CVE-2012-2459's two copies of one block hash: the mutated one (`[cb, x, y, y]`) and the
    /// valid one (`[cb, x, y]`).
    public static let mutatedAndValid: (mutated: Block, valid: Block) = {
        let mutated = cases.first { $0.rule == "bad-txns-duplicate" }!.block
        return (mutated, Block(header: mutated.header, transactions: Array(mutated.transactions.dropLast())))
    }()
}
