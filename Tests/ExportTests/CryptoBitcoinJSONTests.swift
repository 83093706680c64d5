import Foundation
import Testing
import TestFixtures
import BitcoinWire
import BitcoinScript
@testable import Export

/// Renders one block alone and returns its `blocks` row and its transactions' rows, with
/// each input's spent-output fields filled by `spent` (unknown when it gives nil).
func renderRows(_ bytes: [UInt8], height: Int64, spent: (OutPoint) -> (Script, Int64)? = { _ in nil })
    throws -> (block: String, transactions: [String], hash: BlockHash, merkleRootMatches: Bool) {
    var renderer = CryptoBitcoinRenderer(network: .mainnet)
    var rendered = RenderedBlocks(reusing: OutputBuffer())
    let (hash, matches) = try renderer.render(block: bytes, height: height, into: &rendered)
    let text = { (range: Range<Int>) in String(decoding: rendered.slice(range), as: UTF8.self) }
    var rows = [String]()
    for tx in rendered.transactions {
        var inputs = [String]()
        var inputValue: Int64 = 0, known = true
        for i in tx.inputs {
            var fields = OutputBuffer()
            if let (script, value) = spent(rendered.inputs[i].outpoint) {
                renderer.writeSpentFields(script, value: value, into: &fields)
                inputValue += value
            } else {
                fields.append(CryptoBitcoinRenderer.unknownSpentFields)
                known = false
            }
            inputs.append(text(rendered.inputs[i].prefix) + String(decoding: fields.bytes, as: UTF8.self) + "}")
        }
        let fee = tx.isCoinbase ? "0" : known ? "\(inputValue - tx.outputValue)" : "null"
        rows.append(text(tx.head) + "\"input_value\":\(known ? "\(inputValue)" : "null"),\"output_value\":\(tx.outputValue),"
                    + "\"is_coinbase\":\(tx.isCoinbase),\"fee\":\(fee),\"inputs\":[" + inputs.joined(separator: ",") + "]" + text(tx.tail))
    }
    return (text(rendered.blocks[0].row), rows, hash, matches)
}

@Suite struct CryptoBitcoinJSONTests {
    @Test(arguments: [
        (UInt32(0), "1970-01-01T00:00:00Z", "1970-01-01"),
        (1_231_006_505, "2009-01-03T18:15:05Z", "2009-01-01"),
        (951_825_600, "2000-02-29T12:00:00Z", "2000-02-01"),     // a leap day in a year divisible by 400
        (4_107_542_400, "2100-03-01T00:00:00Z", "2100-03-01"),   // 2100 is not a leap year
        (1_709_251_199, "2024-02-29T23:59:59Z", "2024-02-01"),
        (UInt32.max, "2106-02-07T06:28:15Z", "2106-02-01"),
    ])
    func civilTime(time: UInt32, timestamp: String, month: String) {
        var t = [UInt8](), m = [UInt8]()
        CryptoBitcoinRenderer.civilTime(time, timestamp: &t, month: &m)
        #expect(String(decoding: t, as: UTF8.self) == timestamp)
        #expect(String(decoding: m, as: UTF8.self) == month)
    }

    /// Every second of a day, and the first second of every day for 140 years, against Foundation.
    @Test func civilTimeAgreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        var t = [UInt8](), m = [UInt8]()
        for time in stride(from: UInt32(0), to: UInt32.max - 86_400, by: 86_400 - 7) {
            CryptoBitcoinRenderer.civilTime(time, timestamp: &t, month: &m)
            let expected = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(time)))
            guard String(decoding: t, as: UTF8.self) == expected else {
                Issue.record("\(time): \(String(decoding: t, as: UTF8.self)) != \(expected)")
                return
            }
            #expect(String(decoding: m, as: UTF8.self) == expected.prefix(8) + "01")
        }
    }

    /// The genesis block, field by field, as the dataset has it.
    @Test func genesisRows() throws {
        let bytes = Fixtures.blocks("blocks/mainnet-000000.blk")[0].bytes
        let rows = try renderRows(bytes, height: 0)
        #expect(rows.merkleRootMatches && rows.hash == ChainParameters.mainnet.genesisHash)
        #expect(rows.block == """
            {"hash":"000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f","size":285,"stripped_size":285,"weight":1140,\
            "number":0,"version":1,"merkle_root":"4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",\
            "timestamp":"2009-01-03T18:15:05Z","timestamp_month":"2009-01-01","nonce":"7c2bac1d","bits":"1d00ffff",\
            "coinbase_param":"04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73",\
            "transaction_count":1}

            """)
        let script = "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac"
        #expect(rows.transactions == ["""
            {"hash":"4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b","size":204,"virtual_size":204,"version":1,"lock_time":0,\
            "block_hash":"000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f","block_number":0,\
            "block_timestamp":"2009-01-03T18:15:05Z","block_timestamp_month":"2009-01-01","input_count":0,"output_count":1,\
            "input_value":0,"output_value":5000000000,"is_coinbase":true,"fee":0,"inputs":[],"outputs":[{"index":0,\
            "script_asm":"\(script.dropFirst(2).dropLast(2)) OP_CHECKSIG","script_hex":"\(script)","required_signatures":1,\
            "type":"pubkey","addresses":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],"value":5000000000}]}

            """])
    }

    /// Block 170: the first payment (block 9's coinbase, to a P2PK key), with the spent output supplied.
    @Test func firstPayment() throws {
        let bytes = Fixtures.blocks("blocks/mainnet-000170.blk")[0].bytes
        let block9Key = "0411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3"
        let spentScript = Script(Hex.decode("41" + block9Key + "ac")!)
        let rows = try renderRows(bytes, height: 170) { _ in (spentScript, 50 * Limits.coin) }
        #expect(rows.merkleRootMatches)
        let tx = try #require(try JSONSerialization.jsonObject(with: Data(rows.transactions[1].utf8)) as? [String: Any])
        #expect(tx["hash"] as? String == "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
        #expect(tx["input_value"] as? Int64 == 50 * Limits.coin && tx["output_value"] as? Int64 == 50 * Limits.coin && tx["fee"] as? Int == 0)
        let input = try #require((tx["inputs"] as? [[String: Any]])?.first)
        #expect(input["spent_transaction_hash"] as? String == "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9")
        #expect(input["spent_output_index"] as? Int == 0 && input["sequence"] as? Int64 == 4_294_967_295)
        #expect(input["type"] as? String == "pubkey" && input["required_signatures"] as? Int == 1)
        #expect(input["addresses"] as? [String] == ["12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"])
        // Core writes a scriptSig's signature with its hash type.
        #expect((input["script_asm"] as? String)?.hasSuffix("[ALL]") == true)
        let outputs = try #require(tx["outputs"] as? [[String: Any]])
        #expect(outputs.map { $0["addresses"] as? [String] } == [["1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"], ["12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"]])
        #expect(outputs.map { $0["value"] as? Int64 } == [10 * Limits.coin, 40 * Limits.coin])
        // Keys in the schema's order, nothing else.
        #expect(rows.transactions[1].hasPrefix(#"{"hash":"#) && rows.transactions[1].contains(#","is_coinbase":false,"fee":0,"inputs":[{"index":0,"spent_transaction_hash":"#))
    }

    /// bitcoin-etl's own test vectors for an output that pays no address, and the types of each pattern.
    @Test func outputsWithoutAddresses() {
        var renderer = CryptoBitcoinRenderer(network: .mainnet)
        func fields(_ hex: String, value: Int64 = 0) -> String {
            var out = OutputBuffer()
            renderer.writeSpentFields(Script(Hex.decode(hex)!), value: value, into: &out)
            return String(decoding: out.bytes, as: UTF8.self)
        }
        #expect(fields("204e0000c93ad870ee0ca407cdc17ddc61c71b12906ad1fa476a9b56") == #""required_signatures":null,"type":"nonstandard","addresses":["nonstandard0cbd12ed8f1b1d8979f7f50d5083e9f21b7f5f78"],"value":0"#)
        #expect(fields("") == #""required_signatures":null,"type":"nonstandard","addresses":["nonstandarde3b0c44298fc1c149afbf4c8996fb92427ae41e4"],"value":0"#)
        // OP_RETURN pays no address: the dataset calls it nonstandard too.
        #expect(fields("6a0568656c6c6f").contains(#""type":"nonstandard","addresses":["nonstandard"#))
        // Bare 1-of-2 multisig: each key's P2PKH address, and m.
        let key1 = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
        let key2 = "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"
        let multisig = fields("51" + "21" + key1 + "21" + key2 + "52ae", value: 7)
        #expect(multisig == #""required_signatures":1,"type":"multisig","addresses":["1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH","1cMh228HTCiwS8ZsaakH8A8wze1JR5ZsP"],"value":7"#)
        // The same script again comes from the memo, byte for byte.
        #expect(fields("51" + "21" + key1 + "21" + key2 + "52ae", value: 7) == multisig)
        #expect(fields("0014751e76e8199196d454941c45d1b3a323f1433bd6", value: 1) == #""required_signatures":1,"type":"witness_v0_keyhash","addresses":["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"],"value":1"#)
        #expect(fields("5120" + String(repeating: "79", count: 32)).contains(#""type":"witness_v1_taproot","addresses":["bc1p"#))
        #expect(fields("a914" + String(repeating: "00", count: 20) + "87").contains(#""type":"scripthash","addresses":["3"#))
    }

    /// A segwit block: size counts witnesses, stripped size and virtual sizes do not.
    @Test func segwitSizes() throws {
        let bytes = Fixtures.blocks("blocks/mainnet-482300-segwit.blk")[0].bytes
        let rows = try renderRows(bytes, height: 482_300)
        #expect(rows.merkleRootMatches)
        let block = try Block(decoding: bytes)
        let row = try #require(try JSONSerialization.jsonObject(with: Data(rows.block.utf8)) as? [String: Any])
        #expect(row["size"] as? Int == bytes.count && row["stripped_size"] as? Int == block.size(witness: false))
        #expect(row["weight"] as? Int == block.weight && block.weight < 4 * bytes.count)
        #expect(row["transaction_count"] as? Int == block.transactions.count && rows.transactions.count == block.transactions.count)
        for (tx, text) in zip(block.transactions, rows.transactions) {
            let t = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            guard t["size"] as? Int == tx.size(), t["virtual_size"] as? Int == tx.virtualSize, t["hash"] as? String == tx.txid.displayHex else {
                Issue.record("\(tx.txid): \(t["size"] ?? "-") \(t["virtual_size"] ?? "-")")
                return
            }
        }
    }

    @Test func bytesThatAreNotABlockThrow() throws {
        let bytes = Fixtures.blocks("blocks/mainnet-000170.blk")[0].bytes
        for cut in [0, 79, 81, 200, bytes.count - 1] {
            #expect(throws: DecodeError.self) { try renderRows(Array(bytes.prefix(cut)), height: 1) }
        }
        #expect(throws: DecodeError.self) { try renderRows(bytes + [0], height: 1) }
        // A changed transaction byte: it still decodes, but the merkle root no longer matches.
        var changed = bytes
        changed[changed.count - 10] ^= 1
        #expect(try renderRows(changed, height: 170).merkleRootMatches == false)
    }
}
