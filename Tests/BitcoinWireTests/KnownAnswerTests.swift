import Testing
import TestFixtures
@testable import BitcoinWire

@Suite struct KnownAnswerTests {
    @Test func genesisBlock() throws {
        let block = try Block(decoding: Fixtures.blocks("blocks/mainnet-000000.blk")[0].bytes)
        #expect(block.hash.displayHex == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
        #expect(block.header.version == 1)
        #expect(block.header.previousBlockHash == .zero)
        #expect(block.header.time == 1_231_006_505)
        #expect(block.header.bits == 0x1d00ffff)
        #expect(block.header.nonce == 2_083_236_893)
        #expect(block.transactions.count == 1)
        let coinbase = block.transactions[0]
        #expect(coinbase.isCoinbase)
        #expect(coinbase.txid.displayHex == "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b")
        #expect(coinbase.wtxid == coinbase.txid)
        #expect(coinbase.outputs[0].value == 50 * Limits.coin)
        #expect(coinbase.inputs[0].scriptSig.count == 77)
        #expect(coinbase.outputs[0].scriptPubKey.count == 67)
    }

    /// The first blocks with 2, 4 and 3 transactions; txids and roots computed independently.
    @Test(arguments: [
        ("mainnet-000170.blk", "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee",
         "7dac2c5666815c17a3b36427de37bb9d2e2c5ccec3f8633eb91a4205cb4c10ff",
         ["b1fea52486ce0c62bb442b530a3f0132b826c74e473d1f2c220bfa78111c5082",
          "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"]),
        ("mainnet-000546.blk", "000000005a4ded781e667e06ceefafb71410b511fe0d5adc3e5a27ecbec34ae6",
         "e10a7f8442ea6cc6803a2b83713765c0b1199924110205f601f90fef125e7dfe",
         ["e980fe9f792d014e73b95203dc1335c5f9ce19ac537a419e6df5b47aecb93b70",
          "28204cad1d7fc1d199e8ef4fa22f182de6258a3eaafe1bbe56ebdcacd3069a5f",
          "6b0f8a73a56c04b519f1883e8aafda643ba61a30bd1439969df21bea5f4e27e2",
          "3c1d7e82342158e4109df2e0b6348b6e84e403d8b4046d7007663ace63cddb23"]),
        ("mainnet-000586.blk", "000000000d0d23516c5efd3af4eb951603bb30b2c93884b522a318b30e918ee7",
         "197b3d968ce463aa5da7d8eeba8af35eba80ded4e4fe6808e6cc0dd1c069594d",
         ["d45724bacd1480b0c94d363ebf59f844fb54e60cdfda0cd38ef67154e9d0bc43",
          "4d6edbeb62735d45ff1565385a8b0045f066055c9425e21540ea7a8060f08bf2",
          "6bf363548b08aa8761e278be802a2d84b8e40daefe8150f9af7dd7b65a0de49f"]),
    ])
    func merkleRoots(file: String, hash: String, root: String, txids: [String]) throws {
        let block = try Block(decoding: Fixtures.blocks("blocks/\(file)")[0].bytes)
        #expect(block.hash.displayHex == hash)
        #expect(block.transactions.map(\.txid.displayHex) == txids)
        let computed = try #require(Merkle.root(block.transactions.map(\.txid)))
        #expect(computed.root.displayHex == root)
        #expect(computed.root == block.header.merkleRoot)
        #expect(!computed.mutated)
    }

    @Test func merkleOfOneIsTheHashItself() throws {
        let h = SHA256d.hash([1, 2, 3])
        #expect(Merkle.root([h])?.root == h)
        #expect(Merkle.root([]) == nil)
    }

    @Test func merkleOddLevelRepeatsLastAndDuplicatePairIsFlagged() throws {
        let (a, b, c) = (SHA256d.hash([1]), SHA256d.hash([2]), SHA256d.hash([3]))
        let three = try #require(Merkle.root([a, b, c]))
        let four = try #require(Merkle.root([a, b, c, c]))
        #expect(three.root == SHA256d.hash(SHA256d.hash(a, b), SHA256d.hash(c, c)))
        #expect(three.root == four.root)       // CVE-2012-2459: same root...
        #expect(!three.mutated && four.mutated) // ...but only the duplicated list is flagged
    }

    @Test func sha256dOfEmptyInput() {
        // SHA-256d("") = 5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456
        #expect(SHA256d.hash([]).wireBytes == Hex.decode("5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"))
    }

    @Test func hashDisplayOrderIsReversedWireOrder() throws {
        let hash = try #require(Hash256(displayHex: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"))
        #expect(hash.wireBytes.first == 0x6f)
        #expect(hash.wireBytes.last == 0x00)
        #expect(hash.description == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
        #expect(Hash256(displayHex: "00") == nil)
        #expect(Hash256(displayHex: String(repeating: "g", count: 64)) == nil)
    }

    @Test func hashesCompareAsLittleEndianNumbers() throws {
        let small = try #require(Hash256(displayHex: "00000000000000000000000000000000000000000000000000000000000000ff"))
        let large = try #require(Hash256(displayHex: "0100000000000000000000000000000000000000000000000000000000000000"))
        #expect(small < large)
        #expect(!(large < small))
    }

    @Test func hexRoundTrip() {
        #expect(Hex.encode([0x00, 0x0f, 0xf0, 0xff]) == "000ff0ff")
        #expect(Hex.decode("000FF0ff") == [0x00, 0x0f, 0xf0, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        let all = (0...255).map { UInt8($0) }
        #expect(Hex.decode(Hex.encode(all)) == all)
    }
}

/// Segwit blocks: hashes, txids and wtxids computed independently (witness stripped by hand).
@Suite struct SegwitKnownAnswerTests {
    @Test func block482300() throws {
        let block = try Block(decoding: Fixtures.blocks("blocks/mainnet-482300-segwit.blk")[0].bytes)
        #expect(block.hash.displayHex == "0000000000000000007d107138348f11c09530fd6f0a065d0ea30c333005c8e5")
        #expect(block.transactions.count == 470)
        #expect(block.transactions.filter(\.hasWitness).count == 3)
        let coinbase = block.transactions[0]
        #expect(coinbase.txid.displayHex == "ac89110ff49be7ea6011d1815c7fa4d6913f9cc6f17a3cadda007e6a4f2982fb")
        #expect(coinbase.wtxid.displayHex == "9aceffa4b5d76a9c445e4726462bab427be87b297f8066b5ff9dc3b42c38a423")
        let tx = block.transactions[7]
        #expect(tx.txid.displayHex == "47521c2a13455e92d3bd563fada5786e85b45e9685a8c9a3feb89a4fb50daff5")
        #expect(tx.wtxid.displayHex == "74700e2ce030013e2e10fcfd06df99c7826e41c725ca5c467660bfa4874f65bf")
        #expect(Merkle.root(block.transactions.map(\.txid))?.root == block.header.merkleRoot)
    }

    @Test func block556977() throws {
        let block = try Block(decoding: Fixtures.blocks("blocks/mainnet-556977-segwit.blk")[0].bytes)
        #expect(block.hash.displayHex == "00000000000000000020d460310a9838efe31f0b22e21c2283f32bedf7c33736")
        #expect(block.transactions.count == 2898)
        #expect(block.transactions.filter(\.hasWitness).count == 930)
        #expect(block.transactions[0].txid.displayHex == "15f34b8b183b2cddbd4f79929de211b4f8136c7221458ea5d583e112e2966d9e")
        #expect(block.transactions[0].wtxid.displayHex == "fb50f56af291561510371f165e7d2a5f2f7fcfc473ebbe2ac06104f8cfb1d985")
        #expect(block.bip34Height == 556977)
        #expect(block.header.version == 0x20c0_0000)  // BIP9: top bits 001, signalling bits 22 and 23
    }
}
