import Foundation
public import BitcoinWire
import BitcoinScript

/// A small regtest miner: blocks at nBits 0x207fffff take a couple of hashes.
public enum Miner {
    public static let bits: UInt32 = 0x207f_ffff

    /// A P2PKH script paying to a made-up key hash.
    public static func payTo(_ n: UInt8) -> [UInt8] { [0x76, 0xa9, 20] + [UInt8](repeating: n, count: 20) + [0x88, 0xac] }

    /// The regtest address of `payTo(n)`.
    public static func address(_ n: UInt8) -> String { Script(payTo(n)).pattern.address(on: .regtest)!.text }

    public static func coinbase(height: Int, tag: UInt8, to n: UInt8, value: Int64 = 50 * Limits.coin) -> Transaction {
        let heightPush: [UInt8] = [3, UInt8(height & 0xff), UInt8((height >> 8) & 0xff), UInt8(height >> 16)]
        return Transaction(version: 1, inputs: [.init(previousOutput: .null, scriptSig: (heightPush + [1, tag])[...], sequence: .max)],
                           outputs: [.init(value: value, scriptPubKey: payTo(n)[...])], lockTime: 0)
    }

    public static func spend(_ tx: Transaction, vout: UInt32 = 0, to outputs: [(UInt8, Int64)]) -> Transaction {
        Transaction(version: 1, inputs: [.init(previousOutput: OutPoint(txid: tx.txid, index: vout), scriptSig: [0x51][...], sequence: .max)],
                    outputs: outputs.map { .init(value: $0.1, scriptPubKey: payTo($0.0)[...]) }, lockTime: 0)
    }

    public static func block(after previous: BlockHash, time: UInt32, version: Int32 = 2, _ transactions: [Transaction]) -> Block {
        let root = Merkle.root(transactions.map(\.txid))!.root
        var nonce: UInt32 = 0
        while true {
            let header = BlockHeader(version: version, previousBlockHash: previous, merkleRoot: root, time: time, bits: bits, nonce: nonce)
            if header.hasValidProofOfWork(hash: header.hash, limit: ChainParameters.regtest.powLimit) {
                return Block(header: header, transactions: transactions)
            }
            nonce += 1
        }
    }

    /// Blocks of one coinbase each, paying `payTo(n)`, at `heights`, each on the one before.
    public static func chain(after previous: BlockHash, heights: ClosedRange<Int>, to n: UInt8, tag: UInt8 = 0) -> [Block] {
        var blocks = [Block]()
        var previous = previous
        for height in heights {
            let block = Miner.block(after: previous, time: 1_600_000_000 + UInt32(height) * 600, [coinbase(height: height, tag: tag, to: n)])
            blocks.append(block)
            previous = block.hash
        }
        return blocks
    }

    /// Magic, size and block, as in a regtest blk file.
    public static func framed(_ block: Block) -> [UInt8] {
        let bytes = block.encoded()
        return [0xfa, 0xbf, 0xb5, 0xda] + withUnsafeBytes(of: UInt32(bytes.count).littleEndian, Array.init) + bytes
    }

    public static func write(_ blocks: [Block], to folder: URL, file: Int) {
        let name = "blk" + String(repeating: "0", count: 5 - String(file).count) + String(file) + ".dat"
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data(blocks.flatMap(framed)))
    }
}

