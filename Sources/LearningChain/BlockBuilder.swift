public import BitcoinWire
import Validation
import BitcoinScript

/// How a learning chain's blocks are made: a coinbase carrying the BIP34 height, an extra
/// nonce and the block's `data` text in an OP_RETURN output; a header over its merkle root.
public enum BlockBuilder {
    /// The version of every block (BIP9's top bits, no deployments signalled).
    public static let version: Int32 = 0x2000_0000
    /// The most bytes of `data` a block carries (the OP_RETURN output's size in Core's
    /// standardness rules, less its opcodes: 80).
    public static let maxDataBytes = 80
    /// The genesis block's time: 2017-06-01 00:00:00 UTC, when the tutorial series appeared.
    public static let genesisTime: UInt32 = 1_496_275_200
    /// The genesis block's data, as the tutorial's first block has it.
    public static let genesisData = "First block data"
    /// The easiest genesis a chain may start from, and the hardest it is offered.
    public static let zerosRange = 3...8
    /// The coinbase's payout script: OP_TRUE, which anyone can spend (the learning chain has no
    /// wallets; Core's tests mine to the same script).
    public static let payoutScript: [UInt8] = [0x51]

    /// The compact target whose hex form starts with `zeros` zeros and then f's: five zeros
    /// is `1e0fffff`, the tutorial's difficulty.
    public static func bits(leadingZeros zeros: Int) -> UInt32 {
        (UInt256.max >> (4 * zeros)).compact
    }

    /// The coinbase of the block at `height`.
    /// - Parameters:
    ///   - data: at most `maxDataBytes` bytes, kept in an OP_RETURN output.
    ///   - extraNonce: a second counter in the coinbase script, for when 2^32 nonces run out.
    ///   - value: what the coinbase pays (the subsidy; fees, were there any).
    public static func coinbase(height: Int64, data: [UInt8], extraNonce: UInt64, value: Int64) -> Transaction {
        precondition(data.count <= maxDataBytes)
        var script = Block.bip34Prefix(height: height)
        script.append(8)
        for i in 0..<8 { script.append(UInt8(truncatingIfNeeded: extraNonce >> (8 * UInt64(i)))) }
        var dataScript: [UInt8] = [0x6a]  // OP_RETURN, then one push of the data
        if data.count <= 75 {
            dataScript.append(UInt8(data.count))
        } else {
            dataScript += [0x4c, UInt8(data.count)]  // OP_PUSHDATA1
        }
        dataScript += data
        return Transaction(
            version: 2,
            inputs: [.init(previousOutput: .null, scriptSig: script[...], sequence: 0xffff_ffff)],
            outputs: [.init(value: value, scriptPubKey: payoutScript[...]), .init(value: 0, scriptPubKey: dataScript[...])],
            lockTime: 0)
    }

    /// The `data` text a block carries: the coinbase's first OP_RETURN output that pushes it
    /// (other blocks: empty). Bytes that are not UTF-8 are replaced.
    public static func data(of block: Block) -> String {
        guard let coinbase = block.transactions.first, coinbase.isCoinbase else { return "" }
        for output in coinbase.outputs {
            if let data = Script(output.scriptPubKey).nullData { return String(decoding: data, as: UTF8.self) }
        }
        return ""
    }

    /// A block with nonce 0 whose header and coinbase are filled in; mining sets the nonce.
    public static func template(previous: BlockHash, height: Int64, time: UInt32, bits: UInt32, data: [UInt8],
                                extraNonce: UInt64, value: Int64) -> Block {
        let coinbase = coinbase(height: height, data: data, extraNonce: extraNonce, value: value)
        let header = BlockHeader(version: version, previousBlockHash: previous, merkleRoot: coinbase.txid,
                                 time: time, bits: bits, nonce: 0)
        return Block(header: header, transactions: [coinbase])
    }

    /// The same block with another nonce.
    public static func with(nonce: UInt32, _ block: Block) -> Block {
        let h = block.header
        return Block(header: BlockHeader(version: h.version, previousBlockHash: h.previousBlockHash, merkleRoot: h.merkleRoot,
                                         time: h.time, bits: h.bits, nonce: nonce),
                     transactions: block.transactions)
    }

    /// The genesis block of a learning chain whose first target has `zeros` leading hex zeros:
    /// the same for everyone who asks with the same number (fixed time, data and extra nonce;
    /// the first nonce that works, counting from zero).
    public static func genesis(leadingZeros zeros: Int = 5, network: ChainParameters = .learning) -> Block {
        let template = template(previous: .zero, height: 0, time: genesisTime, bits: bits(leadingZeros: zeros),
                                data: Array(genesisData.utf8), extraNonce: 0, value: network.subsidy(atHeight: 0))
        // Counting from zero on one thread: the nonce does not depend on scheduling.
        let search = NonceSearch(header: template.header)
        var start: UInt64 = 0
        while start < 1 << 32 {
            let end = min(start + (1 << 20), 1 << 32)
            if let nonce = search.search(start..<end, shouldStop: { false }).nonce { return with(nonce: nonce, template) }
            start = end
        }
        preconditionFailure("no nonce solves the genesis block at \(zeros) zeros")
    }
}
