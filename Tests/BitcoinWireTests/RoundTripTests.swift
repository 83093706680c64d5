import Testing
import TestFixtures
@testable import BitcoinWire

/// Decode then encode gives the same bytes, for every block in the fixtures.
@Suite struct RoundTripTests {
    static let blkFiles = Fixtures.files(in: "blocks")
    static let rawFiles = Fixtures.files(in: "raw-blocks")

    @Test(arguments: blkFiles)
    func blkFileBlocksRoundTrip(file: String) throws {
        for (offset, bytes) in Fixtures.blocks(file) {
            let block = try Block(decoding: bytes, baseOffset: offset + 8)
            #expect(block.encoded() == bytes, "block at \(offset) in \(file)")
            #expect(block.size() == bytes.count)
            let merkle = try #require(Merkle.root(block.transactions.map(\.txid)))
            #expect(merkle.root == block.header.merkleRoot, "merkle root of block at \(offset) in \(file)")
        }
    }

    @Test(arguments: rawFiles)
    func rawBlocksRoundTrip(file: String) throws {
        let bytes = Fixtures.bytes(file)
        let block = try Block(decoding: bytes)
        #expect(block.encoded() == bytes)
        #expect(Merkle.root(block.transactions.map(\.txid))?.root == block.header.merkleRoot)
    }

    @Test func segwitTransactionsKeepTheirWitnesses() throws {
        let bytes = Fixtures.blocks("blocks/mainnet-482300-segwit.blk")[0].bytes
        let block = try Block(decoding: bytes)
        let segwit = block.transactions.filter(\.hasWitness)
        #expect(!segwit.isEmpty)
        for tx in segwit {
            #expect(tx.wtxid != tx.txid)
            #expect(tx.size(witness: false) < tx.size(witness: true))
            #expect(SHA256d.hash(tx.encoded(witness: false)) == tx.txid)
            #expect(SHA256d.hash(tx.encoded(witness: true)) == tx.wtxid)
            #expect(try Transaction(decoding: tx.encoded()) == tx)
        }
        // Read as the pre-segwit format, the same block does not decode exactly.
        #expect(throws: DecodeError.self) { try Block(decoding: bytes, options: .legacy) }
    }

    @Test func builtTransactionComputesItsTxid() throws {
        let genesis = try Block(decoding: Fixtures.blocks("blocks/mainnet-000000.blk")[0].bytes)
        let tx = genesis.transactions[0]
        let rebuilt = Transaction(version: tx.version, inputs: tx.inputs, outputs: tx.outputs, lockTime: tx.lockTime)
        #expect(rebuilt.txid == tx.txid)
        #expect(rebuilt == tx)
    }
}
