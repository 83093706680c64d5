import Foundation
import Synchronization
import Hummingbird
import NIOCore
import Graphiti
import GraphQL
import BitcoinWire
import BitcoinScript
import ChainIndex

/// OCAP's Bitcoin GraphQL API over the index: the same query names, types and paging
/// (`paging: {cursor, size}` in, `{data, page {cursor, next, total}}` out). Amounts are
/// satoshis in a 64-bit `Long` scalar.
///
/// Limits: queries nested deeper than `maximumDepth` are refused before they run, and each
/// request may read at most `rowBudget` rows (`GraphContext.spend`).
final class GraphQLService: Sendable {
    static let maximumDepth = 8, rowBudget = 20_000
    static let defaultPage = 25, pageSizes = 1...100
    /// Distinct query texts kept parsed and validated (clients send the same few).
    static let cachedDocuments = 512
    let api: BitcoinAPI
    let documents = Mutex([String: Document]())

    init(network: ChainParameters) throws {
        api = BitcoinAPI(resolver: GraphResolver(), schema: try BitcoinAPI.makeSchema())
    }

    func add(to router: Router<BasicRequestContext>, server: ChainServer) {
        router.post("/graphql") { request, _ in
            var request = request
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > server.options.maximumBody {
                throw RequestError(status: .contentTooLarge, message: "the request body (\(length) bytes) is over the limit of \(server.options.maximumBody)")
            }
            let body = try await request.collectBody(upTo: server.options.maximumBody)
            let graphRequest: GraphQLRequest
            do { graphRequest = try JSONDecoder().decode(GraphQLRequest.self, from: Data(buffer: body)) } catch {
                throw RequestError.badRequest("the body is not a GraphQL request: JSON with a \"query\" string, and optional \"variables\" and \"operationName\"")
            }
            return try await self.execute(graphRequest, server: server)
        }
        router.get("/graphql") { request, _ in
            let query = Self.form(request.uri.query ?? "")
            guard let text = query["query"] else { throw RequestError.badRequest("no query: pass ?query=… (or POST JSON)") }
            var variables = [String: Map]()
            if let given = query["variables"], !given.isEmpty {
                guard let decoded = try? JSONDecoder().decode([String: Map].self, from: Data(given.utf8)) else {
                    throw RequestError.badRequest("variables is not a JSON object")
                }
                variables = decoded
            }
            return try await self.execute(GraphQLRequest(query: text, operationName: query["operationName"], variables: variables), server: server)
        }
    }

    /// A query string as HTML forms encode it (`+` for a space, then percent escapes).
    static func form(_ query: String) -> [String: String] {
        var fields = [String: String]()
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String? { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            if let name = decode(parts[0]), fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }

    func execute(_ request: GraphQLRequest, server: ChainServer) async throws -> Response {
        guard request.query.utf8.count <= server.options.maximumBody else { throw RequestError(status: .contentTooLarge, message: "the query is over the limit") }
        let document: Document
        if let known = documents.withLock({ $0[request.query] }) {
            document = known
        } else {
            do { document = try parse(source: request.query) } catch {
                return ChainServer.json(["errors": [["message": "\(error)"]]], status: .badRequest)
            }
            let depth = Self.depth(of: document)
            guard depth <= Self.maximumDepth else {
                return ChainServer.json(["errors": [["message": "the query is nested \(depth) levels deep; at most \(Self.maximumDepth) are allowed"]]], status: .badRequest)
            }
            let errors = validate(schema: api.schema.schema, ast: document, rules: specifiedRules)
            guard errors.isEmpty else { return Self.encode(GraphQLResult(errors: errors)) }
            // Parsed, within depth and valid: later requests with the same text skip all three.
            documents.withLock { cache in
                if cache.count >= Self.cachedDocuments { cache.removeAll() }
                cache[request.query] = document
            }
        }
        let result = try await server.sessions.withSession(timeLimit: server.options.timeLimit) { session in
            try await GraphQL.execute(schema: api.schema.schema, documentAST: document, rootValue: api.resolver, context: GraphContext(session: session),
                                      variableValues: request.variables, operationName: request.operationName)
        }
        return Self.encode(result)
    }

    static func encode(_ result: GraphQLResult) -> Response {
        let data = (try? GraphQLJSONEncoder().encode(result)) ?? Data(#"{"errors":[{"message":"the answer could not be encoded"}]}"#.utf8)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// How deeply the query's fields nest (fragments expanded; 1 for `{ a }`).
    static func depth(of document: Document) -> Int {
        var fragments = [String: SelectionSet]()
        for case let fragment as FragmentDefinition in document.definitions { fragments[fragment.name.value] = fragment.selectionSet }
        func depth(_ set: SelectionSet?, _ level: Int) -> Int {
            guard let set, level <= maximumDepth + 1 else { return level }
            var deepest = level
            for selection in set.selections {
                switch selection {
                case let field as GraphQL.Field: deepest = max(deepest, field.selectionSet == nil ? level + 1 : depth(field.selectionSet, level + 1))
                case let spread as FragmentSpread: deepest = max(deepest, depth(fragments[spread.name.value], level))
                case let inline as InlineFragment: deepest = max(deepest, depth(inline.selectionSet, level))
                default: break
                }
            }
            return deepest
        }
        var deepest = 0
        for case let operation as OperationDefinition in document.definitions { deepest = max(deepest, depth(operation.selectionSet, 0)) }
        for set in fragments.values { deepest = max(deepest, depth(set, 0)) }
        return deepest
    }
}

/// One request's context: its read session, its row budget, and transactions read back.
final class GraphContext: Sendable {
    let session: IndexSession
    let budget = Mutex(GraphQLService.rowBudget)
    let transactions = Mutex([String: Transaction]())

    init(session: IndexSession) { self.session = session }

    /// Charges `rows` to the request's budget.
    func spend(_ rows: Int) throws {
        let left = budget.withLock { $0 -= rows; return $0 }
        guard left >= 0 else { throw GraphQLError(message: "the query reads more than \(GraphQLService.rowBudget) rows; ask for smaller pages") }
    }

    /// Runs `body` in the request's read transaction, charging `rows` first.
    func read<T>(rows: Int = 1, _ body: (IndexSnapshot) throws -> T) throws -> T {
        try spend(rows)
        do { return try session.read(body) } catch let error as QueryError {
            throw error.isNotFound ? NotFound(message: error.description) : GraphQLError(message: error.description)
        }
    }

    /// The transaction itself, read back from its blk file once per request.
    func transaction(_ txid: String) throws -> Transaction {
        if let known = transactions.withLock({ $0[txid] }) { return known }
        let raw = try read { try $0.rawTransaction(txid) }
        guard let tx = try? Transaction(decoding: raw) else { throw GraphQLError(message: "transaction \(txid) does not decode") }
        transactions.withLock { $0[txid] = tx }
        return tx
    }
}

// MARK: paging

struct PagingInput: Codable, Sendable {
    let cursor: String?, size: Int?

    /// The page size asked for, checked.
    static func size(_ paging: PagingInput?) throws -> Int {
        let size = paging?.size ?? GraphQLService.defaultPage
        guard GraphQLService.pageSizes.contains(size) else {
            throw GraphQLError(message: "paging.size \(size) is outside \(GraphQLService.pageSizes.lowerBound)...\(GraphQLService.pageSizes.upperBound)")
        }
        return size
    }

    /// A cursor that is a position in a list (what the list pages return).
    static func offset(_ paging: PagingInput?) throws -> Int {
        guard let cursor = paging?.cursor, !cursor.isEmpty else { return 0 }
        guard cursor.utf8.count <= 9, let offset = Int(cursor), offset >= 0 else { throw GraphQLError(message: "'\(cursor.prefix(80))' is not a cursor from an earlier page") }
        return offset
    }
}

struct PagingArguments: Codable, Sendable { let paging: PagingInput? }

struct PageInfo: Codable, Sendable { let cursor: String, next: Bool, total: Int64? }

struct Page<Item: Sendable>: Sendable { let data: [Item], page: PageInfo }

extension Page {
    /// A page of a list held in memory, the cursor being the next position.
    init(slicing all: [Item], paging: PagingInput?) throws {
        let (offset, size) = (try PagingInput.offset(paging), try PagingInput.size(paging))
        let slice = Array(all.dropFirst(offset).prefix(size))
        let end = min(all.count, offset + slice.count)
        self.init(data: slice, page: PageInfo(cursor: String(end), next: end < all.count, total: Int64(all.count)))
    }
}

// MARK: the types

struct GraphBlock: Sendable {
    let info: BlockInfo
    var hash: String { info.hash }
    var height: Int64? { info.height }
    var preHash: String { info.previousHash }
    var merkleRoot: String { info.merkleRoot }
    var version: Int64 { info.version }
    var time: Int64 { info.time }
    var medianTime: Int64 { info.medianTime }
    var bits: String { info.bits }
    var nonce: Int64 { info.nonce }
    var numberTxs: Int64 { Int64(info.txCount) }
    var size: Int64 { Int64(info.size) }
    var weight: Int64 { Int64(info.weight) }
    var difficulty: Double { info.difficulty ?? 0 }
    var status: String { info.status }
    var inBestChain: Bool { info.inBestChain }

    func transactions(context: GraphContext, arguments: PagingArguments) throws -> Page<GraphTransaction> {
        let (offset, size) = (try PagingInput.offset(arguments.paging), try PagingInput.size(arguments.paging))
        guard info.inBestChain, offset < info.txCount else {
            return Page(data: [], page: PageInfo(cursor: String(offset), next: false, total: info.inBestChain ? Int64(info.txCount) : 0))
        }
        let ids = try context.read(rows: size) { try $0.transactionIDs(ofBlock: info.hash) }
        let data = try ids.dropFirst(offset).prefix(size).map { txid in try GraphTransaction(context.read { try $0.summary(txid) }) }
        let end = offset + data.count
        return Page(data: data, page: PageInfo(cursor: String(end), next: end < ids.count, total: Int64(ids.count)))
    }

    func totals(_ context: GraphContext) throws -> BlockTotals { try context.read { try $0.blockTotals(info.hash) } }
    func fees(context: GraphContext, arguments: NoArguments) throws -> Int64 { try totals(context).fees }
    func reward(context: GraphContext, arguments: NoArguments) throws -> Int64 { try totals(context).reward }
    func total(context: GraphContext, arguments: NoArguments) throws -> Int64 { try totals(context).total }
}

struct GraphTransaction: Sendable {
    let summary: TransactionSummary
    init(_ summary: TransactionSummary) { self.summary = summary }
    var hash: String { summary.txid }
    var blockHash: String { summary.blockHash }
    var blockHeight: Int64 { summary.height }
    var index: Int64 { Int64(summary.position) }
    var fees: Int64 { summary.fee ?? 0 }
    var size: Int64 { Int64(summary.size) }
    var weight: Int64 { Int64(summary.weight) }
    var virtualSize: Int64 { Int64((summary.weight + 3) / 4) }
    var numberInputs: Int64 { Int64(summary.inputCount) }
    var numberOutputs: Int64 { Int64(summary.outputCount) }
    var total: Int64 { summary.outputTotal }
    var isCoinbase: Bool { summary.isCoinbase }

    /// The block holding the transaction (so queries can walk back up).
    func block(context: GraphContext, arguments: NoArguments) throws -> GraphBlock {
        GraphBlock(info: try context.read { try $0.block(blockHash) })
    }
    func lockTime(context: GraphContext, arguments: NoArguments) throws -> Int64 { Int64(try context.transaction(hash).lockTime) }
    func version(context: GraphContext, arguments: NoArguments) throws -> Int64 { Int64(try context.transaction(hash).version) }
    func witnessHash(context: GraphContext, arguments: NoArguments) throws -> String { try context.transaction(hash).wtxid.displayHex }
    func strippedSize(context: GraphContext, arguments: NoArguments) throws -> Int64 { Int64(try context.transaction(hash).size(witness: false)) }

    func inputs(context: GraphContext, arguments: PagingArguments) throws -> Page<GraphInput> {
        let info = try context.read(rows: summary.inputCount + summary.outputCount) { try $0.transaction(hash) }
        let all = info.isCoinbase ? [] : info.inputs.enumerated().map { GraphInput(input: $1, index: Int64($0), transaction: self) }
        return try Page(slicing: all, paging: arguments.paging)
    }

    func outputs(context: GraphContext, arguments: PagingArguments) throws -> Page<GraphOutput> {
        let info = try context.read(rows: summary.inputCount + summary.outputCount) { try $0.transaction(hash) }
        return try Page(slicing: info.outputs.map { GraphOutput(output: $0, transaction: self) }, paging: arguments.paging)
    }
}

struct GraphInput: Sendable {
    let input: TransactionInfo.Input, index: Int64, transaction: GraphTransaction
    var account: String? { input.address }
    var value: Int64? { input.value }
    var preTx: String { input.txid }
    var preOutput: Int64 { input.vout }
    var txHash: String { transaction.hash }
    var txIndex: Int64 { transaction.index }
    var blockHash: String { transaction.blockHash }
    var blockHeight: Int64 { transaction.blockHeight }

    func script(context: GraphContext, arguments: NoArguments) throws -> String {
        Hex.encode(try context.transaction(txHash).inputs[Int(index)].scriptSig)
    }
    func sequence(context: GraphContext, arguments: NoArguments) throws -> Int64 { Int64(try context.transaction(txHash).inputs[Int(index)].sequence) }
}

struct GraphOutput: Sendable {
    let output: TransactionInfo.Output, transaction: GraphTransaction
    var account: String? { output.address }
    var value: Int64 { output.value }
    var index: Int64 { Int64(output.n) }
    var scriptType: String { output.type }
    var spentBy: String? { output.spentBy }
    var txHash: String { transaction.hash }
    var txIndex: Int64 { transaction.index }
    var blockHash: String { transaction.blockHash }
    var blockHeight: Int64 { transaction.blockHeight }

    func script(context: GraphContext, arguments: NoArguments) throws -> String {
        Hex.encode(try context.transaction(txHash).outputs[output.n].scriptPubKey)
    }
}

struct GraphAccount: Sendable {
    let summary: AddressSummary, network: ChainParameters
    var address: String { summary.address }
    var balance: Int64 { summary.balance }
    var totalAmountReceived: Int64 { summary.received }
    var totalAmountSent: Int64 { summary.sent }
    var numberTxs: Int64 { summary.txCount }
    var firstSeenHeight: Int64? { summary.firstSeenHeight }
    var lastSeenHeight: Int64? { summary.lastSeenHeight }
    /// The type of the outputs this address is paid with (Core's names; `pubkey` for a
    /// P2PK key's derived address).
    func scriptType(context: GraphContext, arguments: NoArguments) throws -> String? {
        try context.read { try $0.outputType(of: address) }
            ?? Address.scriptPubKey(for: address, on: network).map { Script($0).pattern.type.rawValue }
    }

    func numberTxsReceived(context: GraphContext, arguments: NoArguments) throws -> Int64 {
        try context.read(rows: Int(min(summary.txCount, 1000))) { try $0.transactionCount(of: address, direction: .received) }
    }
    func numberTxsSent(context: GraphContext, arguments: NoArguments) throws -> Int64 {
        try context.read(rows: Int(min(summary.txCount, 1000))) { try $0.transactionCount(of: address, direction: .sent) }
    }
    func transactions(context: GraphContext, arguments: PagingArguments) throws -> Page<GraphTransaction> {
        try GraphResolver.history(context, address, direction: .any, paging: arguments.paging)
    }
}

struct BlockchainInfo: Sendable {
    let network: String, latestHeight: Int64?, latestHash: String?, latestTime: Int64?
    func stats(_ context: GraphContext) throws -> Stats { try context.read(rows: 1000) { try $0.stats() } }
    func numberTxs(context: GraphContext, arguments: NoArguments) throws -> Int64 { try stats(context).transactions }
    func numberAddresses(context: GraphContext, arguments: NoArguments) throws -> Int64 { try stats(context).addresses }
    func utxoCount(context: GraphContext, arguments: NoArguments) throws -> Int64 { try stats(context).utxoCount }
    func utxoValue(context: GraphContext, arguments: NoArguments) throws -> Int64 { try stats(context).utxoValue }
}

// MARK: the queries

struct GraphResolver: Sendable {
    struct HashArguments: Codable, Sendable { let hash: String }
    struct HeightArguments: Codable, Sendable { let height: Int64 }
    struct AddressArguments: Codable, Sendable { let address: String }
    struct TransfersArguments: Codable, Sendable { let sender: String?, receiver: String?, paging: PagingInput? }

    func blockByHash(context: GraphContext, arguments: HashArguments) throws -> GraphBlock? {
        guard Hash256(displayHex: arguments.hash) != nil else { throw GraphQLError(message: QueryError.invalidHash(String(arguments.hash.prefix(80)), what: "block hash").description) }
        return try Self.optional { GraphBlock(info: try context.read { try $0.block(arguments.hash) }) }
    }

    func blockByHeight(context: GraphContext, arguments: HeightArguments) throws -> GraphBlock? {
        guard arguments.height >= 0 else { throw GraphQLError(message: QueryError.invalidHeight(arguments.height).description) }
        return try Self.optional { GraphBlock(info: try context.read { try $0.block(String(arguments.height)) }) }
    }

    func genesisBlock(context: GraphContext, arguments: NoArguments) throws -> GraphBlock? {
        try Self.optional { GraphBlock(info: try context.read { try $0.block("0") }) }
    }

    func blockchainInfo(context: GraphContext, arguments: NoArguments) throws -> BlockchainInfo {
        let tip = try context.read { try $0.tip() }
        return BlockchainInfo(network: context.session.network.name, latestHeight: tip?.height, latestHash: tip?.hash, latestTime: tip?.time)
    }

    /// Best-chain blocks from the tip down; the cursor is the next height.
    func listBlocks(context: GraphContext, arguments: PagingArguments) throws -> Page<GraphBlock> {
        let size = try PagingInput.size(arguments.paging)
        guard let tip = try context.read({ try $0.tip() })?.height else { return Page(data: [], page: PageInfo(cursor: "", next: false, total: 0)) }
        var from = tip
        if let cursor = arguments.paging?.cursor, !cursor.isEmpty {
            guard cursor.utf8.count <= 18, let height = Int64(cursor), height >= 0 else { throw GraphQLError(message: "'\(cursor.prefix(80))' is not a cursor from an earlier page") }
            from = min(height, tip)
        }
        let blocks = try context.read(rows: size * 12) { try $0.blocks(from: from, count: size) }
        let last = blocks.last?.height ?? 0
        return Page(data: blocks.map(GraphBlock.init), page: PageInfo(cursor: String(last - 1), next: last > 0, total: tip + 1))
    }

    func transactionByHash(context: GraphContext, arguments: HashArguments) throws -> GraphTransaction? {
        guard Hash256(displayHex: arguments.hash) != nil else { throw GraphQLError(message: QueryError.invalidHash(String(arguments.hash.prefix(80)), what: "transaction id").description) }
        return try Self.optional { GraphTransaction(try context.read { try $0.summary(arguments.hash) }) }
    }

    func accountByAddress(context: GraphContext, arguments: AddressArguments) throws -> GraphAccount? {
        let summary = try context.read { try $0.address(arguments.address) }
        return GraphAccount(summary: summary, network: context.session.network)
    }

    /// From `sender` to `receiver`; with `sender == receiver` (or only one of them) the
    /// address's transactions in either direction (only one: sent, or received).
    func transactionsByAddress(context: GraphContext, arguments: TransfersArguments) throws -> Page<GraphTransaction> {
        switch (arguments.sender, arguments.receiver) {
        case (nil, nil): throw GraphQLError(message: "give a sender, a receiver, or both")
        case let (sender?, receiver?) where sender == receiver: return try Self.history(context, sender, direction: .any, paging: arguments.paging)
        case let (sender?, nil): return try Self.history(context, sender, direction: .sent, paging: arguments.paging)
        case let (nil, receiver?): return try Self.history(context, receiver, direction: .received, paging: arguments.paging)
        case let (sender?, receiver?):
            let size = try PagingInput.size(arguments.paging)
            let page = try context.read(rows: size) { try $0.between(sender, receiver, limit: size, after: arguments.paging?.cursor.flatMap { $0.isEmpty ? nil : $0 }) }
            let total = try context.read(rows: 100) { try $0.transferCount(sender, receiver) }
            var seen = Set<String>()
            let data = try page.items.filter { seen.insert($0.txid).inserted }.map { item in
                GraphTransaction(try context.read { try $0.summary(item.txid) })
            }
            return Page(data: data, page: PageInfo(cursor: page.nextCursor ?? "", next: page.nextCursor != nil, total: total))
        }
    }

    func richestAccounts(context: GraphContext, arguments: PagingArguments) throws -> Page<GraphAccount> {
        let (offset, size) = (try PagingInput.offset(arguments.paging), try PagingInput.size(arguments.paging))
        guard offset + size <= QueryLimits.page.upperBound else { throw GraphQLError(message: "richestAccounts pages end at \(QueryLimits.page.upperBound)") }
        let accounts = try context.read(rows: offset + size) { try $0.richest(limit: offset + size) }.dropFirst(offset)
        let total = try context.read(rows: 1000) { try $0.stats().addresses }
        let end = offset + accounts.count
        return Page(data: accounts.map { GraphAccount(summary: $0, network: context.session.network) },
                    page: PageInfo(cursor: String(end), next: Int64(end) < total, total: total))
    }

    /// A page of an address's history as transactions.
    static func history(_ context: GraphContext, _ address: String, direction: HistoryDirection, paging: PagingInput?) throws -> Page<GraphTransaction> {
        let size = try PagingInput.size(paging)
        let page = try context.read(rows: size) { try $0.history(address, limit: size, after: paging?.cursor.flatMap { $0.isEmpty ? nil : $0 }, direction: direction) }
        let total = try context.read(rows: 100) { try $0.transactionCount(of: address, direction: direction) }
        let data = try page.items.map { item in GraphTransaction(try context.read { try $0.summary(item.txid) }) }
        return Page(data: data, page: PageInfo(cursor: page.nextCursor ?? "", next: page.nextCursor != nil, total: total))
    }

    /// nil for what is not in the index (GraphQL's way), an error for anything else.
    static func optional<T>(_ body: () throws -> T) throws -> T? {
        do { return try body() } catch is NotFound { return nil }
    }
}

/// Something well-formed the index does not have.
struct NotFound: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
