import Testing
import TestFixtures
import BitcoinWire
@testable import BitcoinScript

@Suite struct HashVectorTests {
    @Test(arguments: [
        ("", "9c1185a5c5e9fc54612808977ee8f548b2258d31"), ("a", "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe"),
        ("abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"), ("message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "12a053384a9c0c88e405a06c27dcf49ada62eb2b"),
        (String(repeating: "a", count: 1000), "aa69deee9a8922e92f8105e007f76110f381e9cf"),
    ])
    func ripemd160(message: String, digest: String) {
        #expect(Hex.encode(RIPEMD160.hash(Array(message.utf8))) == digest)
    }

    /// Bitcoin Core's base58_encode_decode.json vectors.
    @Test(arguments: [
        ("", ""), ("61", "2g"), ("626262", "a3gV"), ("636363", "aPEr"),
        ("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"),
        ("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"),
        ("516b6fcd0f", "ABnLTmg"), ("bf4f89001e670274dd", "3SEo3LWLoPntC"), ("572e4794", "3EFU7m"),
        ("ecac89cad93923c02321", "EJDM8drfXA6uyA"), ("10c8511e", "Rt5zm"), ("00000000000000000000", "1111111111"),
    ])
    func base58(hex: String, text: String) {
        let bytes = Hex.decode(hex)!
        #expect(Base58.encode(bytes) == text)
        #expect(Base58.decode(text) == bytes)
    }

    @Test func base58CheckRejectsBadChecksumsAndCharacters() {
        #expect(Base58.decodeCheck("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")?.first == 0)
        #expect(Base58.decodeCheck("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb") == nil)
        #expect(Base58.decode("0OIl") == nil)
    }
}

@Suite struct SegwitAddressTests {
    /// BIP173 and BIP350 valid addresses and the output scripts they stand for.
    @Test(arguments: [
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
        ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
        ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"),
        ("BC1SW50QGDZ25J", "6002751e"),
        ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
        ("tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
        ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
    ])
    func validAddress(address: String, scriptHex: String) throws {
        let network: ChainParameters = address.lowercased().hasPrefix("bc") ? .mainnet : .testnet3
        let script = try #require(Address.scriptPubKey(for: address, on: network))
        #expect(Hex.encode(script) == scriptHex)
        // and back: the script's address is the lowercase form
        #expect(Script(script).pattern.address(on: network)?.text == address.lowercased())
    }

    /// BIP350's invalid addresses (wrong prefix, checksum or variant, version, padding, length, case).
    @Test(arguments: [
        "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
        "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
        "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
        "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
        "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
        "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
        "bc1pw5dgrnzv",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
        "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
        "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
        "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
        "bc1gmk9yu",
    ])
    func invalidAddress(address: String) {
        #expect(Address.scriptPubKey(for: address, on: .mainnet) == nil)
        #expect(Address.scriptPubKey(for: address, on: .testnet3) == nil)
    }

    @Test func networksHaveTheirOwnPrefixes() throws {
        let hash = [UInt8](repeating: 0x11, count: 20)
        let p2pkh = ScriptPattern.pubkeyHash(hash[...]), p2sh = ScriptPattern.scriptHash(hash[...])
        let p2wpkh = ScriptPattern.witness(version: 0, program: hash[...])
        #expect(p2pkh.address(on: .mainnet)?.text.first == "1")
        #expect(p2sh.address(on: .mainnet)?.text.first == "3")
        #expect(p2wpkh.address(on: .mainnet)?.text.hasPrefix("bc1q") == true)
        for network in [ChainParameters.testnet3, .testnet4, .signet] {
            #expect(["m", "n"].contains(p2pkh.address(on: network)?.text.first.map(String.init)))
            #expect(p2sh.address(on: network)?.text.first == "2")
            #expect(p2wpkh.address(on: network)?.text.hasPrefix("tb1q") == true)
        }
        #expect(p2wpkh.address(on: .regtest)?.text.hasPrefix("bcrt1q") == true)
        // A mainnet address is not valid on testnet, and the other way round.
        #expect(Address.scriptPubKey(for: "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", on: .testnet3) == nil)
        let testnetAddress = try #require(p2pkh.address(on: .testnet3)).text
        #expect(Address.scriptPubKey(for: testnetAddress, on: .mainnet) == nil)
        #expect(Address.scriptPubKey(for: testnetAddress, on: .testnet3) != nil)
    }
}
