import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import ChainIndex
import ChainServer
import TestFixtures
import BitcoinWire

/// A real server on a free loopback port, in this process, over an index built for the test;
/// requests go through the network stack (URLSession), so routing, parameters, middleware and
/// status codes are what a client gets.
final class RunningServer: @unchecked Sendable {
    let base: String
    let task: Task<Void, any Error>
    /// A client of this server's own: a shared session could reuse a kept-alive connection
    /// to an earlier test's server that had the same port.
    let session = URLSession(configuration: .ephemeral)

    init(db: String, configure: (inout ServerOptions) -> Void = { _ in }) async throws {
        var options = ServerOptions()
        options.port = 0
        configure(&options)
        let server = try ChainServer(sessions: IndexSessions(path: db), options: options)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        task = Task { try await server.run { _, port in continuation.yield(port) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        base = "http://127.0.0.1:\(port)"
    }

    deinit {
        session.invalidateAndCancel()
        task.cancel()
    }

    struct Reply {
        let status: Int, body: Data, headers: [String: String]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: Any { (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])) ?? NSNull() }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
    }

    func get(_ path: String, headers: [String: String] = [:], method: String = "GET", body: Data? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.httpBody = body
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields = [String: String]()
        for (k, v) in http.allHeaderFields { fields[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, body: data, headers: fields)
    }

    func graphQL(_ query: String, variables: [String: Any] = [:]) async throws -> Reply {
        let body = try JSONSerialization.data(withJSONObject: ["query": query, "variables": variables])
        return try await get("/graphql", headers: ["Content-Type": "application/json"], method: "POST", body: body)
    }
}

/// Indexes fixtures once per process.
enum ServerFixtures {
    static let early: String = index(["blocks/mainnet-000000-000589.blk"])
    static let spend: String = index(["spend-chain/spend-2000.blk"])

    static func index(_ files: [String]) -> String {
        let db = Fixtures.temporaryFolder().appendingPathComponent("index.sqlite").path
        let indexer = try! ChainIndexer(database: ChainIndexer.open(path: db))
        _ = try! indexer.index(BlocksFolder(paths: files.map { Fixtures.path($0) }))
        return db
    }
}

import BlockFile

@Suite(.serialized) struct RESTTests {
    static let (satoshi, hal) = ("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3")
    static let pizza = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
    static let block170 = "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"

    @Test func blocksAndTip() async throws {
        let server = try await RunningServer(db: ServerFixtures.early)
        #expect(try await server.get("/api/blocks/tip/height").text == "589")
        #expect(try await server.get("/api/blocks/tip/hash").text == "00000000b96305605f1eb5ab800024ff3fa260deedf6005e1e3987daa11d3935")
        #expect(try await server.get("/api/block-height/170").text == Self.block170)
        let head = try await server.get("/api/block-height/170", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty && head.headers["content-length"] == "64")
        let block = try await server.get("/api/block/\(Self.block170)").object
        for field in ["id", "height", "version", "timestamp", "mediantime", "bits", "nonce", "difficulty", "merkle_root", "tx_count", "size", "weight", "previousblockhash"] {
            #expect(block.keys.contains(field), "\(field)")
        }
        #expect(block["height"] as? Int == 170 && block["tx_count"] as? Int == 2 && block["bits"] as? Int == 0x1d00ffff && block["size"] as? Int == 490)
        #expect(block["merkle_root"] as? String == "7dac2c5666815c17a3b36427de37bb9d2e2c5ccec3f8633eb91a4205cb4c10ff")
        #expect(block["previousblockhash"] as? String == "000000002a22cfee1f2c846adbd12b3e183d4f97683f85dad08a79780a84bd55")
        // The median of blocks 160-170's times, worked out from the fixture's headers.
        let times = Fixtures.blocks("blocks/mainnet-000000-000589.blk")[160...170].map { b in
            Int(b.bytes[68]) | Int(b.bytes[69]) << 8 | Int(b.bytes[70]) << 16 | Int(b.bytes[71]) << 24
        }.sorted()
        #expect(block["mediantime"] as? Int == times[5])
        let genesis = try await server.get("/api/block/000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f").object
        #expect(genesis["previousblockhash"] is NSNull && genesis["height"] as? Int == 0)
        let status = try await server.get("/api/block/\(Self.block170)/status").object
        #expect(status["in_best_chain"] as? Bool == true && status["height"] as? Int == 170)
        #expect(status["next_best"] as? String == "00000000c9ec538cab7f38ef9c67a95742f56ab07b0a37c5be6b02808dbfb4e0")
        let tipStatus = try await server.get("/api/block/00000000b96305605f1eb5ab800024ff3fa260deedf6005e1e3987daa11d3935/status").object
        #expect(tipStatus["next_best"] is NSNull)
        #expect(try await server.get("/api/block/\(Self.block170)/txids").json as? [String]
                == ["b1fea52486ce0c62bb442b530a3f0132b826c74e473d1f2c220bfa78111c5082", Self.pizza])
        // Ten a page, from the tip or a height down; to the end.
        let latest = try await server.get("/api/blocks").array
        #expect(latest.map { $0["height"] as? Int } == Array(580...589).reversed())
        #expect(try await server.get("/api/blocks/5").array.map { $0["height"] as? Int } == [5, 4, 3, 2, 1, 0])
        #expect(try await server.get("/api/blocks/9999").array.first?["height"] as? Int == 589)
        let txs = try await server.get("/api/block/\(Self.block170)/txs").array
        #expect(txs.map { $0["txid"] as? String } == ["b1fea52486ce0c62bb442b530a3f0132b826c74e473d1f2c220bfa78111c5082", Self.pizza])
        #expect(try await server.get("/api/block/\(Self.block170)/txs/0").array.count == 2)
    }

    @Test func transactions() async throws {
        let server = try await RunningServer(db: ServerFixtures.early)
        let tx = try await server.get("/api/tx/\(Self.pizza)").object
        #expect(tx["fee"] as? Int == 0 && tx["size"] as? Int == 275 && tx["weight"] as? Int == 1100 && tx["version"] as? Int == 1 && tx["locktime"] as? Int == 0)
        let vin = (tx["vin"] as! [[String: Any]])[0]
        #expect(vin["txid"] as? String == "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9" && vin["vout"] as? Int == 0)
        #expect(vin["is_coinbase"] as? Bool == false && vin["sequence"] as? Int == 0xffff_ffff && (vin["witness"] as? [String])?.isEmpty == true)
        #expect((vin["scriptsig_asm"] as? String)?.hasPrefix("OP_PUSHBYTES_71 304402204e45e169") == true)
        let prevout = vin["prevout"] as! [String: Any]
        #expect(prevout["value"] as? Int == 5_000_000_000 && prevout["scriptpubkey_type"] as? String == "p2pk")
        #expect(prevout["scriptpubkey_address"] as? String == Self.satoshi)
        #expect((prevout["scriptpubkey"] as? String)?.hasPrefix("410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac") == true)
        let vout = tx["vout"] as! [[String: Any]]
        #expect(vout.map { $0["value"] as? Int } == [1_000_000_000, 4_000_000_000])
        #expect(vout[0]["scriptpubkey_address"] as? String == Self.hal)
        #expect((vout[0]["scriptpubkey_asm"] as? String)?.hasSuffix(" OP_CHECKSIG") == true)
        let status = tx["status"] as! [String: Any]
        #expect(status["confirmed"] as? Bool == true && status["block_height"] as? Int == 170 && status["block_hash"] as? String == Self.block170)
        #expect(status["block_time"] as? Int == 1_231_731_025)
        #expect(try await server.get("/api/tx/\(Self.pizza)/status").object["block_height"] as? Int == 170)
        // The raw bytes, read back from the blk file, hash to the txid.
        let hex = try await server.get("/api/tx/\(Self.pizza)/hex").text
        let fixture = Fixtures.bytes("blocks/mainnet-000170.blk")
        #expect(Hex.encode(fixture).contains(hex) && hex.count == 550)
        let spends = try await server.get("/api/tx/\(Self.pizza)/outspends").array
        #expect(spends.count == 2 && spends[0]["spent"] as? Bool == false && spends[0].count == 1)
        #expect(spends[1]["txid"] as? String == "a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be" && spends[1]["vin"] as? Int == 0)
        #expect((spends[1]["status"] as? [String: Any])?["block_height"] as? Int == 181)
        let coinbase = try await server.get("/api/tx/4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b").object
        let input = (coinbase["vin"] as! [[String: Any]])[0]
        #expect(input["is_coinbase"] as? Bool == true && input["prevout"] is NSNull && input["vout"] as? Int == 0xffff_ffff)
    }

    @Test func addresses() async throws {
        let server = try await RunningServer(db: ServerFixtures.early)
        let summary = try await server.get("/api/address/\(Self.satoshi)").object
        let chain = summary["chain_stats"] as! [String: Any], mempool = summary["mempool_stats"] as! [String: Any]
        #expect(chain["tx_count"] as? Int == 6 && chain["funded_txo_sum"] as? Int == 19_500_000_000 && chain["spent_txo_sum"] as? Int == 17_700_000_000)
        #expect(chain["funded_txo_count"] as? Int == 6 && chain["spent_txo_count"] as? Int == 5)
        #expect(mempool.values.allSatisfy { $0 as? Int == 0 } && mempool.count == 5)
        let utxo = try await server.get("/api/address/\(Self.satoshi)/utxo").array
        #expect(utxo.count == 1 && utxo[0]["value"] as? Int == 1_800_000_000 && (utxo[0]["status"] as? [String: Any])?["block_height"] as? Int == 248)
        let balance = try await server.get("/api/address/\(Self.satoshi)/balance?height=170").object
        // 50 BTC from block 9's coinbase, then 10 to Hal in block 170 with 40 back as change.
        #expect(balance["balance"] as? Int == 4_000_000_000 && balance["height"] as? Int == 170)
        let between = try await server.get("/api/between/\(Self.satoshi)/\(Self.hal)").object
        let items = between["items"] as! [[String: Any]]
        #expect(items.count == 1 && items[0]["txid"] as? String == Self.pizza && items[0]["amount"] as? Int == 1_000_000_000)
        #expect((try await server.get("/api/between/\(Self.hal)/\(Self.satoshi)").object["items"] as? [Any])?.isEmpty == true)
        let back = try await server.get("/api/between/\(Self.hal)/\(Self.satoshi)?both_ways=true").object["items"] as! [[String: Any]]
        #expect(back.map { $0["txid"] as? String } == [Self.pizza])
        #expect(try await server.get("/api/richest?limit=3").array.count == 3)
        #expect(try await server.get("/api/stats").object["tip_height"] as? Int == 589)
        // newest first, 25 a page; /txs is the first page of /txs/chain
        let first = try await server.get("/api/address/\(Self.satoshi)/txs").array.map { $0["txid"] as! String }
        #expect(first.count == 6 && first.last == "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9")
        #expect(try await server.get("/api/address/\(Self.satoshi)/txs/chain").array.map { $0["txid"] as! String } == first)
        let after = try await server.get("/api/address/\(Self.satoshi)/txs/chain/\(first[2])").array.map { $0["txid"] as! String }
        #expect(after == Array(first[3...]))
        #expect(try await server.get("/api/search/\(Self.satoshi)").object["path"] as? String == "/address/\(Self.satoshi)")
        #expect(try await server.get("/api/search/\(Self.pizza)").object["path"] as? String == "/tx/\(Self.pizza)")
        #expect(try await server.get("/api/search/170").object["path"] as? String == "/block/\(Self.block170)")
    }

    /// Every malformed input is a 400 with a JSON error, every well-formed unknown a 404; the
    /// server stays up.
    @Test func errors() async throws {
        let server = try await RunningServer(db: ServerFixtures.early)
        let bad = [
            "/api/tx/zz", "/api/tx/\(String(repeating: "g", count: 64))", "/api/tx/\(Self.pizza)00", "/api/block/170", "/api/block/xyz/status",
            "/api/blocks/-1", "/api/blocks/18446744073709551616", "/api/block-height/1e3", "/api/block/\(Self.block170)/txs/3",
            "/api/address/1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "/api/address/tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
            "/api/address/\(String(repeating: "1", count: 5000))", "/api/address/\(Self.satoshi)/txs/chain/nothex",
            "/api/address/\(Self.satoshi)/balance?height=-5", "/api/between/\(Self.satoshi)/\(Self.hal)?cursor=abc",
            "/api/between/\(Self.satoshi)/\(Self.hal)?limit=100000", "/api/between/\(Self.satoshi)/\(Self.hal)?both_ways=maybe",
            "/api/richest?limit=-1", "/api/richest?limit=x", "/api/address/%00%ff/utxo", "/api/address/\(Self.satoshi)/history?cursor=9:9:9",
        ]
        for path in bad {
            let reply = try await server.get(path)
            #expect(reply.status == 400, "\(path): \(reply.status) \(reply.text)")
            #expect((reply.object["error"] as? String)?.isEmpty == false, "\(path)")
        }
        let missing = [
            "/api/tx/\(String(repeating: "0", count: 64))", "/api/block/\(String(repeating: "0", count: 64))", "/api/block-height/590",
            "/api/block/\(String(repeating: "a", count: 64))/txids", "/api/tx/\(String(repeating: "1", count: 64))/outspends",
            "/api/address/\(Self.satoshi)/txs/chain/\(String(repeating: "0", count: 64))", "/api/no/such/thing", "/api/block/\(Self.block170)/txs/25",
        ]
        for path in missing {
            let reply = try await server.get(path)
            #expect(reply.status == 404, "\(path): \(reply.status) \(reply.text)")
            #expect(reply.object["error"] is String, "\(path)")
        }
        // An address never seen is not an error: esplora answers zeros.
        #expect(try await server.get("/api/address/1BitcoinEaterAddressDontSendf59kuE").status == 200)
        // Bodies over 64 KiB are refused; GraphQL requests that are not JSON are 400.
        let big = try await server.get("/graphql", headers: ["Content-Type": "application/json"], method: "POST", body: Data(repeating: 0x20, count: 70_000))
        #expect(big.status == 413 && big.object["error"] is String)
        #expect(try await server.get("/graphql", method: "POST", body: Data("garbage".utf8)).status == 400)
        #expect(try await server.get("/api/blocks/tip/height").text == "589")
    }

    /// A request past its time limit is a 503 with the reason, and the server goes on.
    @Test func timeLimit() async throws {
        let server = try await RunningServer(db: ServerFixtures.early) { $0.timeLimit = .nanoseconds(1) }
        let reply = try await server.get("/api/address/\(Self.satoshi)")
        #expect(reply.status == 503 && (reply.object["error"] as? String)?.contains("time limit") == true, "\(reply.text)")
        #expect(try await server.get("/health").text == "ok")
    }

    @Test func cors() async throws {
        let plain = try await RunningServer(db: ServerFixtures.early)
        let without = try await plain.get("/api/blocks/tip/height", headers: ["Origin": "https://example.org"])
        #expect(without.headers["access-control-allow-origin"] == nil)
        let server = try await RunningServer(db: ServerFixtures.early) { $0.corsOrigin = "https://example.org" }
        let with = try await server.get("/api/blocks/tip/height", headers: ["Origin": "https://example.org"])
        #expect(with.headers["access-control-allow-origin"] == "https://example.org")
        let preflight = try await server.get("/api/blocks", headers: ["Origin": "https://example.org", "Access-Control-Request-Method": "GET"], method: "OPTIONS")
        #expect(preflight.status == 204 && preflight.headers["access-control-allow-origin"] == "https://example.org")
    }

    /// esplora's address totals against the spend chain's ground truth, and paging to the end.
    @Test func spendChainLedger() async throws {
        let server = try await RunningServer(db: ServerFixtures.spend)
        let ledger = try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("spend-chain/spend-2000.ledger.json"))) as! [String: Any]
        #expect(try await server.get("/api/blocks/tip/hash").text == ledger["tip_hash"] as? String)
        for entry in (ledger["sample"] as! [[String: Any]]).prefix(150) {
            let address = entry["address"] as! String
            let stats = try await server.get("/api/address/\(address)").object["chain_stats"] as! [String: Any]
            #expect(stats["tx_count"] as? Int == entry["tx_count"] as? Int, "\(address)")
            #expect(stats["funded_txo_count"] as? Int == entry["funded_txo_count"] as? Int, "\(address)")
            #expect(stats["spent_txo_count"] as? Int == entry["spent_txo_count"] as? Int, "\(address)")
            #expect(stats["funded_txo_sum"] as? Int == entry["received"] as? Int, "\(address)")
            #expect(stats["spent_txo_sum"] as? Int == entry["sent"] as? Int, "\(address)")
            let utxo = try await server.get("/api/address/\(address)/utxo").array.reduce(0) { $0 + ($1["value"] as! Int) }
            #expect(utxo == entry["balance"] as? Int, "\(address)")
        }
        // The busiest sampled address, paged to the end through /txs/chain.
        let busy = (ledger["sample"] as! [[String: Any]]).max { ($0["tx_count"] as! Int) < ($1["tx_count"] as! Int) }!
        let address = busy["address"] as! String
        var seen = [String](), last: String?
        repeat {
            let page = try await server.get("/api/address/\(address)/txs/chain" + (last.map { "/\($0)" } ?? "")).array
            #expect(page.count <= 25)
            if page.isEmpty { break }
            let heights = page.map { ($0["status"] as! [String: Any])["block_height"] as! Int }
            #expect(heights == heights.sorted(by: >))
            seen += page.map { $0["txid"] as! String }
            last = seen.last
        } while true
        #expect(seen.count == busy["tx_count"] as? Int && Set(seen).count == seen.count)
        // Every transaction's prevouts add up to its inputs' values, and its fee is inputs - outputs.
        for txid in seen.prefix(40) {
            let tx = try await server.get("/api/tx/\(txid)").object
            let vin = tx["vin"] as! [[String: Any]], vout = tx["vout"] as! [[String: Any]]
            if vin[0]["is_coinbase"] as? Bool == true { continue }
            let inputs = vin.reduce(0) { $0 + (($1["prevout"] as! [String: Any])["value"] as! Int) }
            let outputs = vout.reduce(0) { $0 + ($1["value"] as! Int) }
            #expect(tx["fee"] as? Int == inputs - outputs, "\(txid)")
            #expect(try await server.get("/api/tx/\(txid)/hex").text.count == 2 * (tx["size"] as! Int))
        }
    }
}
