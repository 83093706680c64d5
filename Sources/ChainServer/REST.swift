import Foundation
import Hummingbird
import BitcoinWire
import ChainIndex

extension ChainServer {
    /// Page sizes the REST additions accept (`between`, `richest`).
    static let restLimits = 1...1000

    /// esplora's endpoints and ours, under `/api`.
    func addREST(to router: Router<BasicRequestContext>) {
        let api = router.group("api")
        api.get("blocks/tip/height") { _, _ in
            try await text { s in
                guard let tip = try s.read({ try $0.tip() }), let height = tip.height else { throw QueryError.notFound("block: the index is empty") }
                return String(height)
            }
        }
        api.get("blocks/tip/hash") { _, _ in
            try await text { s in
                guard let tip = try s.read({ try $0.tip() }) else { throw QueryError.notFound("block: the index is empty") }
                return tip.hash
            }
        }
        api.get("blocks") { _, _ in try await json { s in try s.read { try $0.blocks(from: nil).map(Esplora.Block.init) } } }
        api.get("blocks/:start_height") { _, context in
            let start = try Self.height(context.parameters.require("start_height"))
            return try await json { s in try s.read { try $0.blocks(from: start).map(Esplora.Block.init) } }
        }
        api.get("block-height/:height") { _, context in
            let height = try Self.height(context.parameters.require("height"))
            return try await text { s in try s.read { try $0.block(String(height)).hash } }
        }
        api.get("block/:hash") { _, context in
            let hash = try Self.blockHash(context.parameters.require("hash"))
            return try await json { s in Esplora.Block(try s.read { try $0.block(hash) }) }
        }
        api.get("block/:hash/status") { _, context in
            let hash = try Self.blockHash(context.parameters.require("hash"))
            return try await json { s in Esplora.BlockStatus(try s.read { try $0.block(hash) }) }
        }
        api.get("block/:hash/txids") { _, context in
            let hash = try Self.blockHash(context.parameters.require("hash"))
            return try await json { s in try s.read { try $0.transactionIDs(ofBlock: hash) } }
        }
        for path in ["block/:hash/txs", "block/:hash/txs/:start_index"] {
            api.get(RouterPath(path)) { _, context in
                let hash = try Self.blockHash(context.parameters.require("hash"))
                let start = try context.parameters.get("start_index").map { try Self.startIndex($0) } ?? 0
                return try await json { s in
                    try s.read { snapshot in try snapshot.transactions(ofBlock: hash, from: start).map { Esplora.Transaction($0, network: s.network) } }
                }
            }
        }
        api.get("tx/:txid") { _, context in
            let txid = try context.parameters.require("txid")
            return try await json { s in Esplora.Transaction(try s.read { try $0.detail(txid) }, network: s.network) }
        }
        api.get("tx/:txid/status") { _, context in
            let txid = try context.parameters.require("txid")
            return try await json { s in Esplora.Status(try s.read { try $0.detail(txid) }.block) }
        }
        api.get("tx/:txid/hex") { _, context in
            let txid = try context.parameters.require("txid")
            return try await text { s in Hex.encode(try s.read { try $0.rawTransaction(txid) }) }
        }
        api.get("tx/:txid/outspends") { _, context in
            let txid = try context.parameters.require("txid")
            return try await json { s in try s.read { try $0.outspends(txid).map(Esplora.Outspend.init) } }
        }
        api.get("address/:address") { _, context in
            let address = try context.parameters.require("address")
            return try await json { s in Esplora.Address(address: address, stats: try s.read { try $0.addressStats(address) }) }
        }
        for path in ["address/:address/txs", "address/:address/txs/chain", "address/:address/txs/chain/:last_seen_txid"] {
            api.get(RouterPath(path)) { _, context in
                let address = try context.parameters.require("address"), after = context.parameters.get("last_seen_txid")
                return try await json { s in
                    try s.read { try $0.addressTransactions(address, after: after).map { Esplora.Transaction($0, network: s.network) } }
                }
            }
        }
        api.get("address/:address/utxo") { _, context in
            let address = try context.parameters.require("address")
            return try await json { s in try s.read { try $0.utxos(address).map(Esplora.UTXO.init) } }
        }
        api.get("address/:address/balance") { request, context in
            let address = try context.parameters.require("address")
            let height = try request.uri.queryParameters.get("height").map { try Self.height(String($0)) }
            return try await json { s in try s.read { try $0.balance(address, atHeight: height) } }
        }
        api.get("address/:address/history") { request, context in
            let address = try context.parameters.require("address")
            let limit = try Self.limit(request.uri.queryParameters.get("limit").map { String($0) }, default: 25)
            let cursor = request.uri.queryParameters.get("cursor").map { String($0) }
            return try await json { s in try s.read { try $0.history(address, limit: limit, after: cursor) } }
        }
        api.get("search/:query") { _, context in
            let query = try context.parameters.require("query").trimmingCharacters(in: .whitespaces)
            return try await json { s in ["path": try s.read { try Self.search(query, in: $0) }] }
        }
        api.get("between/:sender/:receiver") { request, context in
            let (a, b) = (try context.parameters.require("sender"), try context.parameters.require("receiver"))
            let query = request.uri.queryParameters
            let bothWays = try Self.flag(query.get("both_ways").map { String($0) }, name: "both_ways")
            let limit = try Self.limit(query.get("limit").map { String($0) }, default: 50)
            let cursor = query.get("cursor").map { String($0) }
            return try await json { s in try s.read { try $0.between(a, b, bothWays: bothWays, limit: limit, after: cursor) } }
        }
        api.get("richest") { request, _ in
            let limit = try Self.limit(request.uri.queryParameters.get("limit").map { String($0) }, default: 10)
            return try await json { s in try s.read { try $0.richest(limit: limit) } }
        }
        api.get("stats") { _, _ in try await json { s in try s.read { try $0.stats() } } }
    }

    /// The explorer page for a search: a height, a txid, a block hash or an address.
    static func search(_ query: String, in snapshot: IndexSnapshot) throws -> String {
        if query.utf8.count <= 18, !query.isEmpty, query.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return "/block/" + (try snapshot.block(query)).hash
        }
        if Hash256(displayHex: query) != nil {
            if (try? snapshot.transaction(query)) != nil { return "/tx/" + query.lowercased() }
            do { return "/block/" + (try snapshot.block(query)).hash } catch let error as QueryError where error.isNotFound {
                throw QueryError.notFound("transaction or block \(query)")
            }
        }
        _ = try snapshot.address(query)
        return "/address/" + query
    }

    // MARK: checking parameters

    static func height(_ text: String) throws -> Int64 {
        guard text.utf8.count <= 18, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let height = Int64(text) else {
            throw RequestError.badRequest("'\(text.prefix(80))' is not a height (a whole number from 0)")
        }
        return height
    }

    static func blockHash(_ text: String) throws -> String {
        guard Hash256(displayHex: text) != nil else { throw QueryError.invalidHash(String(text.prefix(80)), what: "block hash") }
        return text
    }

    static func startIndex(_ text: String) throws -> Int {
        guard text.utf8.count <= 9, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let start = Int(text),
              start % IndexSnapshot.transactionsPage == 0 else {
            throw RequestError.badRequest("'\(text.prefix(80))' is not a start index (a multiple of \(IndexSnapshot.transactionsPage))")
        }
        return start
    }

    static func limit(_ text: String?, default value: Int) throws -> Int {
        guard let text else { return value }
        guard let limit = Int(text), restLimits.contains(limit) else {
            throw RequestError.badRequest("limit '\(text.prefix(80))' is not a whole number from \(restLimits.lowerBound) to \(restLimits.upperBound)")
        }
        return limit
    }

    static func flag(_ text: String?, name: String) throws -> Bool {
        switch text {
        case nil, "", "0", "false": return false
        case "1", "true": return true
        case let other?: throw RequestError.badRequest("\(name) '\(other.prefix(80))' is not true or false")
        }
    }
}
