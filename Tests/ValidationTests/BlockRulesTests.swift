import Testing
import TestFixtures
import BitcoinWire
import BlockFile
@testable import Validation

/// The rules `verify` applies, each made to fail on purpose.
@Suite struct BlockRulesTests {
    static func block(_ file: String) -> Block { try! Block(decoding: Fixtures.blocks("blocks/\(file)")[0].bytes) }

    /// The rules `block` breaks on `network`.
    static func rules(_ block: Block, network: ChainParameters = .mainnet) -> Set<String> {
        // Checked as built: a transaction with no inputs cannot round-trip through segwit
        // decoding (its empty input count reads as the marker), so no encode/decode here.
        Set(BlockRules.check(block, hash: block.hash, network: network, baseOffset: 0, transactionOffsets: []).map(\.rule))
    }

    /// `block` with its transactions replaced and its merkle root recomputed.
    static func with(_ block: Block, _ transactions: [Transaction], bits: UInt32? = nil) -> Block {
        let h = block.header
        let root = Merkle.root(transactions.map(\.txid))?.root ?? .zero
        return Block(header: BlockHeader(version: h.version, previousBlockHash: h.previousBlockHash, merkleRoot: root,
                                         time: h.time, bits: bits ?? h.bits, nonce: h.nonce), transactions: transactions)
    }

    static func tx(_ tx: Transaction, inputs: [Transaction.Input]? = nil, outputs: [Transaction.Output]? = nil) -> Transaction {
        Transaction(version: tx.version, inputs: inputs ?? tx.inputs, outputs: outputs ?? tx.outputs, lockTime: tx.lockTime)
    }

    @Test func realBlocksPass() {
        for file in ["mainnet-000170.blk", "mainnet-482300-segwit.blk", "mainnet-556977-segwit.blk", "mainnet-277647.blk"] {
            #expect(Self.rules(Self.block(file)).isEmpty, "\(file)")
        }
    }

    @Test func proofOfWork() {
        let genesis = Self.block("mainnet-000000.blk")
        let h = genesis.header
        let other = Block(header: BlockHeader(version: 1, previousBlockHash: .zero, merkleRoot: h.merkleRoot, time: h.time,
                                              bits: h.bits, nonce: h.nonce + 1), transactions: genesis.transactions)
        #expect(Self.rules(other) == ["high-hash"])
        // an easy regtest target is not valid on mainnet, but fine on regtest
        let easy = Self.with(genesis, genesis.transactions, bits: 0x207fffff)
        #expect(Self.rules(easy).contains("bad-diffbits"))
        #expect(!Self.rules(easy, network: .regtest).contains("bad-diffbits"))
    }

    @Test func merkleRootAndMutation() {
        let b = Self.block("mainnet-000586.blk")  // three transactions
        let wrongRoot = Block(header: BlockHeader(version: 1, previousBlockHash: b.header.previousBlockHash, merkleRoot: .zero,
                                                  time: b.header.time, bits: b.header.bits, nonce: b.header.nonce), transactions: b.transactions)
        #expect(Self.rules(wrongRoot).contains("bad-txnmrklroot"))
        // Repeating the last transaction leaves the merkle root (and so the hash) as it was.
        let mutated = Block(header: b.header, transactions: b.transactions + [b.transactions[2]])
        #expect(Merkle.root(mutated.transactions.map(\.txid))?.root == b.header.merkleRoot)
        #expect(Self.rules(mutated) == ["bad-txns-duplicate"])
    }

    @Test func coinbasePlacement() {
        let b = Self.block("mainnet-000170.blk")
        #expect(Self.rules(Self.with(b, [b.transactions[1]])).contains("bad-cb-missing"))
        #expect(Self.rules(Self.with(b, [b.transactions[0], b.transactions[0]])).contains("bad-cb-multiple"))
        let short = Self.tx(b.transactions[0], inputs: [Transaction.Input(previousOutput: .null, scriptSig: [0x51][...], sequence: 0)])
        #expect(Self.rules(Self.with(b, [short, b.transactions[1]])).contains("bad-cb-length"))
        #expect(Self.rules(Self.with(b, [])).contains("bad-blk-length"))
    }

    @Test func transactionRules() {
        let b = Self.block("mainnet-000170.blk")
        let (coinbase, spend) = (b.transactions[0], b.transactions[1])
        let output = spend.outputs[0]
        func rulesWith(_ changed: Transaction) -> Set<String> { Self.rules(Self.with(b, [coinbase, changed])) }
        #expect(rulesWith(Self.tx(spend, outputs: [.init(value: -1, scriptPubKey: output.scriptPubKey)])).contains("bad-txns-vout-negative"))
        #expect(rulesWith(Self.tx(spend, outputs: [.init(value: Limits.maxMoney + 1, scriptPubKey: output.scriptPubKey)])).contains("bad-txns-vout-toolarge"))
        let half = Transaction.Output(value: Limits.maxMoney / 2 + 1, scriptPubKey: output.scriptPubKey)
        #expect(rulesWith(Self.tx(spend, outputs: [half, half])).contains("bad-txns-txouttotal-toolarge"))
        #expect(rulesWith(Self.tx(spend, inputs: [])).contains("bad-txns-vin-empty"))
        #expect(rulesWith(Self.tx(spend, outputs: [])).contains("bad-txns-vout-empty"))
        #expect(rulesWith(Self.tx(spend, inputs: spend.inputs + spend.inputs)).contains("bad-txns-inputs-duplicate"))
        let null = Transaction.Input(previousOutput: .null, scriptSig: [1, 2][...], sequence: 0)
        #expect(rulesWith(Self.tx(spend, inputs: spend.inputs + [null])).contains("bad-txns-prevout-null"))
        // 20,001 OP_CHECKSIGs in one output: more signature operations than a block may have
        let sigops = Transaction.Output(value: 1, scriptPubKey: [UInt8](repeating: 0xac, count: 20_001)[...])
        #expect(rulesWith(Self.tx(spend, outputs: [sigops])).contains("bad-blk-sigops"))
    }

    @Test func witnessCommitment() {
        let b = Self.block("mainnet-482300-segwit.blk")
        // Change one witness item: txids (and the merkle root) stay, the commitment breaks.
        let i = b.transactions.firstIndex { $0.hasWitness && !$0.isCoinbase }!
        let tx = b.transactions[i]
        var witness = tx.inputs[0].witness
        witness[0] = ([0x00] + witness[0].dropFirst())[...]
        let changed = Self.tx(tx, inputs: [Transaction.Input(previousOutput: tx.inputs[0].previousOutput, scriptSig: tx.inputs[0].scriptSig,
                                                             sequence: tx.inputs[0].sequence, witness: witness)] + tx.inputs.dropFirst())
        var transactions = b.transactions
        transactions[i] = changed
        #expect(changed.txid == tx.txid && changed.wtxid != tx.wtxid)
        #expect(Self.rules(Block(header: b.header, transactions: transactions)) == ["bad-witness-merkle-match"])
        // A coinbase without its 32-byte reserved value.
        let coinbase = b.transactions[0]
        let bare = Transaction(version: coinbase.version, inputs: [Transaction.Input(previousOutput: .null, scriptSig: coinbase.inputs[0].scriptSig,
                                                                                      sequence: coinbase.inputs[0].sequence)],
                               outputs: coinbase.outputs, lockTime: coinbase.lockTime)
        #expect(Self.rules(Self.with(b, [bare] + b.transactions.dropFirst())).contains("bad-witness-nonce-size"))
        // Witness data in a block without a commitment.
        let old = Self.block("mainnet-000170.blk")
        #expect(Self.rules(Self.with(old, [old.transactions[0], tx])).contains("unexpected-witness"))
    }

    @Test func weightLimit() {
        let b = Self.block("mainnet-482300-segwit.blk")
        let i = b.transactions.firstIndex { $0.hasWitness && !$0.isCoinbase }!
        let tx = b.transactions[i]
        let huge = [[UInt8](repeating: 7, count: 4_000_000)[...]]
        let heavy = Self.tx(tx, inputs: [Transaction.Input(previousOutput: tx.inputs[0].previousOutput, scriptSig: tx.inputs[0].scriptSig,
                                                           sequence: tx.inputs[0].sequence, witness: huge)] + tx.inputs.dropFirst())
        var transactions = b.transactions
        transactions[i] = heavy
        #expect(Self.rules(Block(header: b.header, transactions: transactions)).contains("bad-blk-weight"))
    }

    @Test func preSegwitCommitmentIsNotChecked() throws {
        // Block 481,815 committed to witnesses 9 blocks before segwit activated, without the
        // coinbase witness that becomes required at 481,824.
        let block = try Block(decoding: Fixtures.bytes("raw-blocks/mainnet-481815.bin"))
        #expect(block.witnessCommitment != nil)
        #expect(Self.rules(block).isEmpty)
    }
}
