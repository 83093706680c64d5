import Foundation
import Testing
import ChainIndex
import ChainServer
import BlockFile
import TestFixtures

@Suite(.serialized) struct GraphQLTests {
    static func data(_ reply: RunningServer.Reply) -> [String: Any] { reply.object["data"] as? [String: Any] ?? [:] }
    static func errors(_ reply: RunningServer.Reply) -> [String] {
        (reply.object["errors"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
    }

    /// OCAP's showcase: the payment from Satoshi to Hal Finney in block 170.
    @Test func transactionsByAddress() async throws {
        let server = try await RunningServer(db: ServerFixtures.early)
        let reply = try await server.graphQL("""
            query ($from: String, $to: String) { transactionsByAddress(sender: $from, receiver: $to) {
              data { hash blockHeight blockHash fees total numberInputs numberOutputs lockTime version
                     inputs { data { account value preTx preOutput script sequence } page { total } }
                     outputs { data { account value index scriptType script } } }
              page { cursor next total } } }
            """, variables: ["from": RESTTests.satoshi, "to": RESTTests.hal])
        #expect(reply.status == 200 && Self.errors(reply).isEmpty, "\(reply.text)")
        let result = Self.data(reply)["transactionsByAddress"] as! [String: Any]
        let txs = result["data"] as! [[String: Any]]
        #expect(txs.count == 1 && (result["page"] as! [String: Any])["total"] as? Int == 1 && (result["page"] as! [String: Any])["next"] as? Bool == false)
        let tx = txs[0]
        #expect(tx["hash"] as? String == RESTTests.pizza && tx["blockHeight"] as? Int == 170 && tx["fees"] as? Int == 0)
        #expect(tx["total"] as? Int == 5_000_000_000 && tx["numberInputs"] as? Int == 1 && tx["lockTime"] as? Int == 0 && tx["version"] as? Int == 1)
        let input = ((tx["inputs"] as! [String: Any])["data"] as! [[String: Any]])[0]
        #expect(input["account"] as? String == RESTTests.satoshi && input["value"] as? Int == 5_000_000_000 && input["preOutput"] as? Int == 0)
        #expect(input["preTx"] as? String == "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9")
        #expect((input["script"] as? String)?.hasPrefix("47304402204e45e169") == true && input["sequence"] as? Int == 0xffff_ffff)
        let outputs = (tx["outputs"] as! [String: Any])["data"] as! [[String: Any]]
        #expect(outputs.map { $0["account"] as? String } == [RESTTests.hal, RESTTests.satoshi])
        #expect(outputs.map { $0["value"] as? Int } == [1_000_000_000, 4_000_000_000] && outputs[0]["scriptType"] as? String == "pubkey")
        // sender == receiver: the address's transactions either way; one side only: that way.
        let either = try await server.graphQL("{ transactionsByAddress(sender: \"\(RESTTests.satoshi)\", receiver: \"\(RESTTests.satoshi)\") { data { hash } page { total } } }")
        #expect(((Self.data(either)["transactionsByAddress"] as! [String: Any])["page"] as! [String: Any])["total"] as? Int == 6)
        let sent = try await server.graphQL("{ transactionsByAddress(sender: \"\(RESTTests.satoshi)\") { data { hash } page { total } } }")
        #expect(((Self.data(sent)["transactionsByAddress"] as! [String: Any])["data"] as! [Any]).count == 5)
        let received = try await server.graphQL("{ transactionsByAddress(receiver: \"\(RESTTests.hal)\") { data { hash } } }")
        #expect((((Self.data(received)["transactionsByAddress"] as! [String: Any])["data"] as! [[String: Any]]).first?["hash"] as? String) == RESTTests.pizza)
    }

    @Test func everyQuery() async throws {
        let server = try await RunningServer(db: ServerFixtures.early)
        let reply = try await server.graphQL("""
            { blockByHash(hash: "\(RESTTests.block170)") { hash height preHash merkleRoot numberTxs fees reward total medianTime bits
                transactions { data { hash } page { total next } } }
              blockByHeight(height: 9) { hash }
              genesisBlock { hash height preHash }
              blockchainInfo { network latestHeight latestHash numberTxs numberAddresses utxoCount utxoValue }
              transactionByHash(hash: "\(RESTTests.pizza)") { hash witnessHash strippedSize virtualSize weight size }
              accountByAddress(address: "\(RESTTests.satoshi)") { address balance totalAmountReceived totalAmountSent numberTxsReceived
                numberTxsSent scriptType transactions(paging: {size: 4}) { data { hash } page { cursor next total } } }
              richestAccounts(paging: {size: 3}) { data { address balance } page { cursor next total } }
              unknown: blockByHash(hash: "\(String(repeating: "0", count: 64))") { hash }
              missing: transactionByHash(hash: "\(String(repeating: "1", count: 64))") { hash } }
            """)
        #expect(Self.errors(reply).isEmpty, "\(reply.text)")
        let d = Self.data(reply)
        let block = d["blockByHash"] as! [String: Any]
        #expect(block["height"] as? Int == 170 && block["numberTxs"] as? Int == 2 && block["reward"] as? Int == 5_000_000_000 && block["total"] as? Int == 10_000_000_000)
        #expect(((block["transactions"] as! [String: Any])["page"] as! [String: Any])["total"] as? Int == 2)
        #expect((d["blockByHeight"] as! [String: Any])["hash"] as? String == "000000008d9dc510f23c2657fc4f67bea30078cc05a90eb89e84cc475c080805")
        #expect((d["genesisBlock"] as! [String: Any])["hash"] as? String == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
        let info = d["blockchainInfo"] as! [String: Any]
        #expect(info["latestHeight"] as? Int == 589 && info["numberTxs"] as? Int == 605 && info["network"] as? String == "mainnet")
        let tx = d["transactionByHash"] as! [String: Any]
        #expect(tx["witnessHash"] as? String == RESTTests.pizza && tx["strippedSize"] as? Int == 275 && tx["virtualSize"] as? Int == 275)
        let account = d["accountByAddress"] as! [String: Any]
        #expect(account["balance"] as? Int == 1_800_000_000 && account["totalAmountReceived"] as? Int == 19_500_000_000)
        #expect(account["numberTxsReceived"] as? Int == 6 && account["numberTxsSent"] as? Int == 5 && account["scriptType"] as? String == "pubkey")
        #expect(d["unknown"] is NSNull && d["missing"] is NSNull)
        let richest = (d["richestAccounts"] as! [String: Any])["data"] as! [[String: Any]]
        #expect(richest.map { $0["balance"] as! Int } == richest.map { $0["balance"] as! Int }.sorted(by: >) && richest.count == 3)
        // GET works as POST does.
        let get = try await server.get("/graphql?query=" + "{ genesisBlock { height } }".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        #expect((Self.data(get)["genesisBlock"] as? [String: Any])?["height"] as? Int == 0)
    }

    /// Pages chained by their cursors reach the end, with nothing twice and nothing left out.
    @Test func pagingToTheEnd() async throws {
        let server = try await RunningServer(db: ServerFixtures.spend)
        let ledger = try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("spend-chain/spend-2000.ledger.json"))) as! [String: Any]
        let busy = (ledger["sample"] as! [[String: Any]]).max { ($0["tx_count"] as! Int) < ($1["tx_count"] as! Int) }!
        let address = busy["address"] as! String
        var hashes = [String](), cursor = ""
        for _ in 0..<100 {
            let reply = try await server.graphQL("query ($a: String!, $c: String) { accountByAddress(address: $a) { transactions(paging: {cursor: $c, size: 100}) { data { hash blockHeight } page { cursor next total } } } }",
                                                 variables: ["a": address, "c": cursor])
            let page = ((Self.data(reply)["accountByAddress"] as! [String: Any])["transactions"] as! [String: Any])
            hashes += (page["data"] as! [[String: Any]]).map { $0["hash"] as! String }
            let info = page["page"] as! [String: Any]
            #expect(info["total"] as? Int == busy["tx_count"] as? Int)
            guard info["next"] as? Bool == true else { break }
            cursor = info["cursor"] as! String
        }
        #expect(hashes.count == busy["tx_count"] as? Int && Set(hashes).count == hashes.count)
        var heights = [Int](), blockCursor = ""
        for _ in 0..<30 {
            let reply = try await server.graphQL("query ($c: String) { listBlocks(paging: {cursor: $c, size: 100}) { data { height } page { cursor next total } } }", variables: ["c": blockCursor])
            let page = Self.data(reply)["listBlocks"] as! [String: Any]
            heights += (page["data"] as! [[String: Any]]).map { $0["height"] as! Int }
            let info = page["page"] as! [String: Any]
            guard info["next"] as? Bool == true else { break }
            blockCursor = info["cursor"] as! String
        }
        #expect(heights == Array((0...1999).reversed()))
    }

    @Test func limits() async throws {
        let server = try await RunningServer(db: ServerFixtures.early)
        // A transaction links back to its block, so queries can nest without end: eight
        // levels run, nine are refused before anything runs, fragments included.
        let eight = try await server.graphQL("{ genesisBlock { transactions { data { block { transactions { data { block { hash } } } } } } } }")
        #expect(eight.status == 200 && Self.errors(eight).isEmpty, "\(eight.text)")
        #expect((Self.data(eight)["genesisBlock"] as? [String: Any]) != nil)
        let nine = try await server.graphQL("{ genesisBlock { transactions { data { block { transactions { data { outputs { data { account } } } } } } } } }")
        #expect(nine.status == 400 && Self.errors(nine).first?.contains("nested 9 levels") == true, "\(nine.text)")
        let fragments = try await server.graphQL("""
            fragment O on BitcoinTransaction { outputs { data { account } } }
            fragment T on BitcoinBlock { transactions { data { ...O } } }
            { genesisBlock { transactions { data { block { ...T } } } } }
            """)
        #expect(fragments.status == 400 && Self.errors(fragments).first?.contains("nested 9 levels") == true, "\(fragments.text)")
        let cycle = try await server.graphQL("fragment A on BitcoinBlock { transactions { data { block { ...A } } } } { genesisBlock { ...A } }")
        #expect(cycle.status == 400, "\(cycle.text)")
        // Page sizes, cursors and addresses are checked.
        let size = try await server.graphQL("{ listBlocks(paging: {size: 101}) { data { height } } }")
        #expect(Self.errors(size).first?.contains("paging.size 101") == true)
        let cursor = try await server.graphQL("{ accountByAddress(address: \"\(RESTTests.satoshi)\") { transactions(paging: {cursor: \"x\"}) { data { hash } } } }")
        #expect(Self.errors(cursor).first?.contains("cursor") == true)
        let address = try await server.graphQL("{ accountByAddress(address: \"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb\") { balance } }")
        #expect(Self.errors(address).first?.contains("not a valid address") == true)
        let big = try await server.graphQL("{ blockByHeight(height: 99999999999) { hash } }")
        #expect(big.status == 200 && Self.data(big)["blockByHeight"] is NSNull)
        // The row budget stops an expensive query.
        let wide = (1...4).map { "a\($0): listBlocks(paging: {size: 100}) { data { transactions(paging: {size: 100}) { data { hash } } } }" }.joined(separator: " ")
        let budget = try await server.graphQL("{ \(wide) }")
        #expect(Self.errors(budget).contains { $0.contains("rows") }, "\(budget.text.prefix(300))")
        // Syntax errors are 400 with GraphQL's message; unknown fields are GraphQL errors.
        let syntax = try await server.graphQL("{ listBlocks { ")
        #expect(syntax.status == 400 && !Self.errors(syntax).isEmpty)
        #expect(Self.errors(try await server.graphQL("{ nothing }")).first?.contains("nothing") == true)
        #expect(try await server.get("/api/blocks/tip/height").text == "589")
    }
}
