import Testing
import TestFixtures
@testable import BitcoinWire

@Suite struct ComputedValueTests {
    /// Fixture names carry the height: blocks of version 2 and later must say it in their coinbase.
    @Test(arguments: Fixtures.files(in: "blocks").filter { !$0.contains("-000") && !$0.contains("unlinked") && !$0.contains("mixed") }
          + Fixtures.files(in: "raw-blocks"))
    func bip34Heights(file: String) throws {
        let bytes = file.hasSuffix(".bin") ? Fixtures.bytes(file) : Fixtures.blocks(file)[0].bytes
        let block = try Block(decoding: bytes)
        let name = file.split(separator: "/").last!
        let height = Int64(name.split(separator: "-")[1].split(separator: ".")[0])!
        if block.header.version >= 2 {
            #expect(block.bip34Height == height, "\(file)")
        } else {
            #expect(block.bip34Height == nil)
        }
    }

    @Test func genesisAndVersionOneBlocksHaveNoHeight() throws {
        #expect(try Block(decoding: Fixtures.blocks("blocks/mainnet-000000.blk")[0].bytes).bip34Height == nil)
    }

    /// BIP141: SHA-256d(witness root || reserved value) is the coinbase's commitment.
    @Test(arguments: ["blocks/mainnet-482300-segwit.blk", "blocks/mainnet-556977-segwit.blk", "raw-blocks/mainnet-481829.bin"])
    func witnessCommitment(file: String) throws {
        let bytes = file.hasSuffix(".bin") ? Fixtures.bytes(file) : Fixtures.blocks(file)[0].bytes
        let block = try Block(decoding: bytes)
        let commitment = try #require(block.witnessCommitment)
        let reserved = try #require(block.transactions[0].inputs[0].witness.first)
        #expect(reserved.count == 32)
        let root = try #require(block.witnessMerkleRoot)
        #expect(SHA256d.hash(root.wireBytes + reserved) == commitment)
        #expect(block.weight <= Limits.maxBlockWeight)
        #expect(block.strippedSize < block.size())
        #expect(block.weight == block.strippedSize * 3 + block.size())
        #expect(block.virtualSize == (block.weight + 3) / 4)
    }

    @Test func networksByMagic() {
        #expect(ChainParameters.known(magic: 0xD9B4BEF9) == .mainnet)
        #expect(ChainParameters.known(magic: 0x0709110B) == .testnet3)
        #expect(ChainParameters.known(magic: 0x12345678) == nil)
        #expect(ChainParameters.known(magic: 0x938E9FF0) == .learning)  // f0 9f 8e 93
        #expect(ChainParameters.known.count == 6)
        #expect(Set(ChainParameters.known.map(\.magic)).count == 6)
        // the genesis hashes are the blocks' own
        let mainGenesis = try! BlockHeader(decoding: Fixtures.blocks("blocks/mainnet-000000.blk")[0].bytes)
        #expect(mainGenesis.hash == ChainParameters.mainnet.genesisHash)
        let testGenesis = try! BlockHeader(decoding: Fixtures.blocks("blocks/testnet3-000000.blk")[0].bytes)
        #expect(testGenesis.hash == ChainParameters.testnet3.genesisHash)
    }
}

@Suite struct ChainParametersTests {
    @Test func subsidyHalvesOnSchedule() {
        let main = ChainParameters.mainnet
        #expect(main.subsidy(atHeight: 0) == 50 * Limits.coin && main.subsidy(atHeight: 209_999) == 50 * Limits.coin)
        #expect(main.subsidy(atHeight: 210_000) == 25 * Limits.coin && main.subsidy(atHeight: 840_000) == 312_500_000)
        #expect(main.subsidy(atHeight: 64 * 210_000) == 0 && main.subsidy(atHeight: 33 * 210_000) == 0)  // 5e9 >> 33 is 0
        #expect(ChainParameters.regtest.subsidy(atHeight: 150) == 25 * Limits.coin)
        #expect(main.retargetInterval == 2016)
    }

    @Test func bip30AsCoreEnforcesIt() {
        let main = ChainParameters.mainnet
        let other = SHA256d.hash([1])
        // Core's two exceptions, by height and hash.
        #expect(!main.enforcesBIP30(height: 91_842, hash: main.bip30Exceptions[91_842]!, bip34BlockHash: nil))
        #expect(main.enforcesBIP30(height: 91_842, hash: other, bip34BlockHash: nil))
        // BIP34 implies BIP30 once the chain has Core's BIP34 block, until 1,983,702.
        #expect(!main.enforcesBIP30(height: 300_000, hash: other, bip34BlockHash: main.bip34Hash))
        #expect(main.enforcesBIP30(height: 300_000, hash: other, bip34BlockHash: other))
        #expect(main.enforcesBIP30(height: 1_983_702, hash: other, bip34BlockHash: main.bip34Hash))
        #expect(ChainParameters.regtest.enforcesBIP30(height: 500, hash: other, bip34BlockHash: other))
        #expect(ChainParameters.known(name: "signet") == .signet && ChainParameters.known(name: "nope") == nil)
    }
}
