public import BitcoinWire
import BitcoinScript

/// A consensus rule a block broke: Core's reject reason, a sentence, and where.
public struct RuleFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Core's reject reason, e.g. "high-hash", "bad-txnmrklroot", "bad-cb-missing".
    public let rule: String
    /// What was wrong.
    public let detail: String
    /// Absolute byte offset of the field at fault (the block's start for block-wide rules).
    public let offset: Int

    public init(_ rule: String, _ detail: String, offset: Int) {
        self.rule = rule
        self.detail = detail
        self.offset = offset
    }

    /// "reason: detail".
    public var description: String { "\(rule): \(detail)" }
}

/// The checks every real block must pass on its own (Core `CheckBlock`, `CheckTransaction`,
/// the witness commitment of `ContextualCheckBlock`): no other block, no UTXO set needed.
/// Blocks that fail are valid to have in a file; these rules only say whether the chain would
/// accept them.
public enum BlockRules {
    /// The reasons that say a block's body is not the one its header commits to (Core
    /// `BLOCK_MUTATED`): another copy with the same hash may be valid, so a block failing
    /// only these is not remembered as invalid by hash.
    public static let mutationRules: Set<String> = [
        "bad-txnmrklroot", "bad-txns-duplicate", "bad-witness-nonce-size", "bad-witness-merkle-match", "unexpected-witness",
    ]

    /// Everything `block` breaks, in the order Core checks it.
    /// - Parameters:
    ///   - network: decides the proof-of-work limit and segwit's activation height.
    ///   - height: the block's height, for segwit's rules; nil takes its BIP34 height, and
    ///     without one, segwit counts as active only on a network where it always is.
    ///   - powLimit: the easiest target accepted; nil for the network's. (The index passes
    ///     `.max`: test chains are mined at regtest difficulty under other networks' magic.)
    ///   - baseOffset: where the block's serialization starts, for offsets.
    ///   - transactionOffsets: where each transaction starts in the block's serialization.
    public static func check(_ block: Block, hash: BlockHash, network: ChainParameters, height: Int64? = nil,
                             powLimit: UInt256? = nil, baseOffset: Int = 0, transactionOffsets: [Int] = []) -> [RuleFailure] {
        var failures = [RuleFailure]()
        let header = block.header
        func fail(_ rule: String, _ detail: String, at offset: Int = 0) {
            failures.append(RuleFailure(rule, detail, offset: baseOffset + offset))
        }
        func txOffset(_ i: Int) -> Int { i < transactionOffsets.count ? transactionOffsets[i] : 0 }

        // Proof of work (CheckBlockHeader).
        let target = header.target
        if !target.isValid || target.target > (powLimit ?? network.powLimit) {
            fail("bad-diffbits", "nBits \(Hex.encode(header.bits)) is not a valid target for \(network)", at: 72)
        } else if UInt256(hash) > target.target {
            fail("high-hash", "block hash \(hash) is above the target \(target.target.hex)", at: 76)
        }

        // Merkle root and its CVE-2012-2459 mutation.
        if let (root, mutated) = Merkle.root(block.transactions.map(\.txid)) {
            if root != header.merkleRoot {
                fail("bad-txnmrklroot", "merkle root is \(header.merkleRoot), but the transactions hash to \(root)", at: 36)
            }
            if mutated {
                fail("bad-txns-duplicate", "the transaction list repeats a subtree, so another block has the same merkle root (CVE-2012-2459)", at: 36)
            }
        }

        // Size limits.
        let count = block.transactions.count
        let stripped = block.strippedSize
        if count == 0 || count * Limits.witnessScaleFactor > Limits.maxBlockWeight
            || stripped * Limits.witnessScaleFactor > Limits.maxBlockWeight {
            fail("bad-blk-length", "\(count) transactions, \(stripped) bytes without witness data: over the size limit or empty", at: 80)
        }

        // Exactly one coinbase, first.
        if let first = block.transactions.first, !first.isCoinbase {
            fail("bad-cb-missing", "the first transaction is not a coinbase", at: txOffset(0))
        }
        for (i, tx) in block.transactions.enumerated().dropFirst() where tx.isCoinbase {
            fail("bad-cb-multiple", "transaction \(i) is a second coinbase", at: txOffset(i))
        }

        // Each transaction on its own (CheckTransaction).
        for (i, tx) in block.transactions.enumerated() {
            checkTransaction(tx, index: i, at: txOffset(i), fail: fail)
        }

        // Signature operations, counted the legacy way (GetLegacySigOpCount).
        let sigops = block.transactions.reduce(0) { $0 + legacySigOps($1) }
        if sigops * Limits.witnessScaleFactor > Limits.maxBlockSigOpsCost {
            fail("bad-blk-sigops", "\(sigops) legacy signature operations, over the \(Limits.maxBlockSigOpsCost / 4) allowed", at: 80)
        }

        // Witness commitment (BIP141), once segwit is active at the block's (BIP34) height;
        // before that, or without one, no transaction may carry witness data.
        let segwitActive = (height ?? block.bip34Height).map { $0 >= network.segwitHeight } ?? (network.segwitHeight <= 0)
        if segwitActive, let commitment = block.witnessCommitment {
            if block.witnessReservedValue == nil {
                fail("bad-witness-nonce-size", "the coinbase witness must be one 32-byte item when the block commits to witnesses", at: txOffset(0))
            } else if block.witnessCommitmentIsValid == false {
                fail("bad-witness-merkle-match", "the witness commitment \(commitment) does not match the witnesses", at: txOffset(0))
            }
        } else if let i = block.transactions.firstIndex(where: \.hasWitness) {
            fail("unexpected-witness", "transaction \(i) has witness data but the block has no witness commitment", at: txOffset(i))
        }
        if block.weight > Limits.maxBlockWeight {
            fail("bad-blk-weight", "weight \(block.weight) is over \(Limits.maxBlockWeight)", at: 80)
        }
        return failures
    }

    static func checkTransaction(_ tx: Transaction, index: Int, at offset: Int, fail: (String, String, Int) -> Void) {
        let name = "transaction \(index)"
        if tx.inputs.isEmpty { fail("bad-txns-vin-empty", "\(name) has no inputs", offset) }
        if tx.outputs.isEmpty { fail("bad-txns-vout-empty", "\(name) has no outputs", offset) }
        if tx.size(witness: false) * Limits.witnessScaleFactor > Limits.maxBlockWeight {
            fail("bad-txns-oversize", "\(name) is too large", offset)
        }
        var total: Int64 = 0
        for (o, output) in tx.outputs.enumerated() {
            if output.value < 0 {
                fail("bad-txns-vout-negative", "\(name) output \(o) value is negative (\(output.value))", offset)
                break
            }
            if output.value > Limits.maxMoney {
                fail("bad-txns-vout-toolarge", "\(name) output \(o) value \(output.value) is over 21 million BTC", offset)
                break
            }
            total += output.value
            if total > Limits.maxMoney {
                fail("bad-txns-txouttotal-toolarge", "\(name) outputs add up to more than 21 million BTC", offset)
                break
            }
        }
        if Set(tx.inputs.map(\.previousOutput)).count != tx.inputs.count {
            fail("bad-txns-inputs-duplicate", "\(name) spends the same output twice", offset)
        }
        if tx.isCoinbase {
            let length = tx.inputs[0].scriptSig.count
            if length < 2 || length > 100 {
                fail("bad-cb-length", "\(name) coinbase script is \(length) bytes, outside 2-100", offset)
            }
        } else if tx.inputs.contains(where: \.previousOutput.isNull) {
            fail("bad-txns-prevout-null", "\(name) has an input spending nothing", offset)
        }
    }

    /// Core `GetLegacySigOpCount`: the legacy count over every script of `tx`.
    static func legacySigOps(_ tx: Transaction) -> Int {
        tx.inputs.reduce(0) { $0 + Script($1.scriptSig).legacySigOpCount }
            + tx.outputs.reduce(0) { $0 + Script($1.scriptPubKey).legacySigOpCount }
    }
}
