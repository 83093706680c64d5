import Testing
import TestFixtures
import BitcoinWire
@testable import BitcoinScript

func block(_ file: String) -> Block { try! Block(decoding: Fixtures.blocks("blocks/\(file)")[0].bytes) }

@Suite struct ScriptTests {
    @Test func genesisCoinbaseAndOutput() throws {
        let tx = block("mainnet-000000.blk").transactions[0]
        #expect(Script(tx.inputs[0].scriptSig).asm() == "486604799 4 5468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73")
        let output = Script(tx.outputs[0].scriptPubKey)
        #expect(output.asm() == "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f OP_CHECKSIG")
        #expect(output.pattern.type == .pubkey)
        #expect(output.pattern.address(on: .mainnet) == Address(text: "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", isDerived: true))
    }

    @Test func theFirstPayment() throws {
        let tx = block("mainnet-000170.blk").transactions[1]
        let addresses = tx.outputs.map { Script($0.scriptPubKey).pattern.address(on: .mainnet)?.text }
        #expect(addresses == ["1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"])
        #expect(tx.outputs.map(\.value) == [10 * Limits.coin, 40 * Limits.coin])
        // Core's decoderawtransaction shows the signature with its hash type.
        let asm = Script(tx.inputs[0].scriptSig).asm(decodingSighash: true)
        #expect(asm.hasPrefix("304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d09[ALL]"))
        #expect(!Script(tx.inputs[0].scriptSig).asm().contains("[ALL]"))
    }

    @Test(arguments: [
        ("76a914edf10a7fac6b32e24daa5305c723f3de58db1bc888ac", OutputType.pubkeyhash, "1Nh7uHdvY6fNwtQtM1G5EZAFPLC33B59rB",
         "OP_DUP OP_HASH160 edf10a7fac6b32e24daa5305c723f3de58db1bc8 OP_EQUALVERIFY OP_CHECKSIG"),
        ("a914b32e2027089c7602c966e87e84d4a63d1251263587", .scripthash, "3J2S8k6xUgBWsZvvRPr6czCmCb9CxCrFWr",
         "OP_HASH160 b32e2027089c7602c966e87e84d4a63d12512635 OP_EQUAL"),
        ("0020701a8d401c84fb13e6baf169d59684e17abd9fa216c8cc5b9fc63d622ff8c58d", .witnessV0ScriptHash,
         "bc1qwqdg6squsna38e46795at95yu9atm8azzmyvckulcc7kytlcckxswvvzej",
         "0 701a8d401c84fb13e6baf169d59684e17abd9fa216c8cc5b9fc63d622ff8c58d"),
        ("00146911e5bf5519291bea130d176a28fadf76baf5bb", .witnessV0KeyHash, "bc1qdyg7t064ry53h6snp5tk5286mamt4adm6wdnk0",
         "0 6911e5bf5519291bea130d176a28fadf76baf5bb"),
        ("512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", .witnessV1Taproot,
         "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
         "1 79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
        ("51024e73", .anchor, "bc1pfeessrawgf", "1 29518"),
        ("6002751e", .witnessUnknown, "bc1sw50qgdz25j", "16 7797"),
    ])
    func knownOutputs(hex: String, type: OutputType, address: String, asm: String) throws {
        let script = Script(Hex.decode(hex)!)
        #expect(script.pattern.type == type)
        #expect(script.pattern.address(on: .mainnet)?.text == address)
        #expect(script.pattern.address(on: .mainnet)?.isDerived == false)
        #expect(script.asm() == asm)
    }

    @Test func outputsWithoutAddresses() throws {
        let commitment = Script(Hex.decode("6a24aa21a9ed28314d4ec0c45aa98b5f6659d410be6dfeaa63b45046584d6b5c935d7ff38265")!)
        #expect(commitment.pattern.type == .nulldata)
        #expect(commitment.pattern.address(on: .mainnet) == nil)
        #expect(commitment.asm() == "OP_RETURN aa21a9ed28314d4ec0c45aa98b5f6659d410be6dfeaa63b45046584d6b5c935d7ff38265")
        #expect(Script([0x6a]).pattern.type == .nulldata)
        // 1-of-2 bare multisig with compressed keys
        let key1 = [0x02] + [UInt8](repeating: 1, count: 32), key2 = [0x03] + [UInt8](repeating: 2, count: 32)
        let multisig = Script([0x51, 33] + key1 + [33] + key2 + [0x52, 0xae])
        guard case let .multisig(required, keys) = multisig.pattern else { Issue.record("not multisig"); return }
        #expect(required == 1 && keys.count == 2)
        #expect(multisig.pattern.address(on: .mainnet) == nil)
        // n does not match the key count, or m > n: not multisig
        #expect(Script([0x51, 33] + key1 + [0x52, 0xae]).pattern.type == .nonstandard)
        #expect(Script([0x53, 33] + key1 + [33] + key2 + [0x52, 0xae]).pattern.type == .nonstandard)
        // A v0 program of the wrong length is nonstandard; an invalid key makes P2PK nonstandard.
        #expect(Script([0x00, 0x03, 1, 2, 3]).pattern.type == .nonstandard)
        #expect(Script([33] + [0x05] + [UInt8](repeating: 1, count: 32) + [0xac]).pattern.type == .nonstandard)
        #expect(Script([]).pattern.type == .nonstandard)
    }

    @Test func malformedScriptsNeverFail() {
        #expect(Script([0x4c]).asm() == "[error]")
        #expect(Script([0x51, 0x05, 0x01]).asm() == "1 [error]")
        #expect(Script([0x4d, 0xff]).asm() == "[error]")
        #expect(Script([0x4e, 0xff, 0xff, 0xff, 0xff, 0x00]).asm() == "[error]")
        #expect(Script([0x00, 0x4f, 0xba, 0xbb, 0xff]).asm() == "0 -1 OP_CHECKSIGADD OP_UNKNOWN OP_INVALIDOPCODE")
        #expect(Script([0x02, 0xff, 0x80]).asm() == "-255")   // sign bit in the last byte
        #expect(Script([0x01, 0x80]).asm() == "0")            // negative zero
        #expect(Script([0x4c, 0x01, 0x07]).asm() == "7")      // a non-minimal push is still a number
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...60, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let script = Script(bytes)
            _ = script.asm(decodingSighash: true)
            _ = script.pattern.address(on: .mainnet)
            #expect(Array(script.instructions).count <= bytes.count)
        }
    }

    /// Every output of every fixture block gets a type; every standard one with an address
    /// gets one that parses back to the same script.
    @Test(arguments: Fixtures.files(in: "blocks") + Fixtures.files(in: "raw-blocks"))
    func everyOutputIsClassified(file: String) throws {
        // (network, block bytes): blk files name the network by each block's magic.
        let blocks: [(ChainParameters, [UInt8])]
        if file.hasSuffix(".bin") {
            blocks = [(file.contains("testnet") ? .testnet3 : .mainnet, Fixtures.bytes(file))]
        } else {
            let all = Fixtures.bytes(file)
            blocks = Fixtures.blocks(file).map { offset, bytes in
                let magic = UInt32(all[offset]) | UInt32(all[offset + 1]) << 8 | UInt32(all[offset + 2]) << 16 | UInt32(all[offset + 3]) << 24
                return (ChainParameters.known(magic: magic)!, bytes)
            }
        }
        for (net, bytes) in blocks {
            let block = try Block(decoding: bytes)
            for tx in block.transactions {
                for output in tx.outputs {
                    let pattern = Script(output.scriptPubKey).pattern
                    switch pattern.type {
                    case .pubkeyhash, .scripthash, .witnessV0KeyHash, .witnessV0ScriptHash, .witnessV1Taproot, .witnessUnknown:
                        let address = try #require(pattern.address(on: net))
                        #expect(Address.scriptPubKey(for: address.text, on: net) == Array(output.scriptPubKey), "\(file)")
                    case .pubkey:
                        #expect(pattern.address(on: net)?.isDerived == true)
                    case .multisig, .nulldata, .nonstandard, .anchor:
                        break
                    }
                }
            }
        }
    }
}

@Suite struct CoinbaseTextTests {
    @Test func genesis() {
        #expect(block("mainnet-000000.blk").coinbaseText == "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks")
    }

    @Test func heightIsNotText() throws {
        let text = block("mainnet-556977-segwit.blk").coinbaseText
        #expect(!text.isEmpty)
        #expect(text.allSatisfy { $0.isASCII && !$0.isNewline })
    }
}
