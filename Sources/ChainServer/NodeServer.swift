import Foundation
public import Hummingbird
import NIOCore
import BitcoinWire
import Validation
public import LearningChain

/// `blocksmith chain serve`: a learning chain node's HTTP API (tutorial names where it has them):
///
/// | route | what |
/// |---|---|
/// | `GET /blockchain.json?from=&limit=` | the best chain, the tutorial's view |
/// | `GET /tip` | `{"hash", "height", "chainwork"}` |
/// | `GET /blocks/HASH`, `GET /blocks/HASH.bin` | one block, JSON or raw |
/// | `GET /headers?from=HASH[,HASH…]&limit=` | best-chain headers after the first hash known |
/// | `POST /blocks`, `POST /mined` | a raw block (bytes or hex) |
/// | `GET`, `POST`, `DELETE /peers` | the peers (`{"url": "http://HOST:PORT"}`) |
/// | `POST /generate` | `{"blocks": N, "data": "text"}`: mine N blocks now |
public struct NodeServer: Sendable {
    public let node: Node
    public var host = "127.0.0.1", port = 3000
    /// Largest `limit` of `/blockchain.json` and `/headers`.
    public static let pageLimit = 2000
    /// Blocks `POST /generate` mines at most per request.
    public static let generateLimit = 1000
    static let smallBody = 64 << 10

    public init(node: Node, host: String, port: Int) {
        self.node = node
        self.host = host
        self.port = port
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: NodeErrorMiddleware())
        let node = self.node
        router.get("/") { _, _ in
            Self.json(#"{"node":"blocksmith chain","network":"learning","endpoints":["GET /blockchain.json?from=&limit=","GET /tip","GET /blocks/HASH","GET /blocks/HASH.bin","GET /headers?from=HASH&limit=","POST /blocks","POST /mined","GET /peers","POST /peers","DELETE /peers","POST /generate"]}"# + "\n")
        }
        router.get("/blockchain.json") { request, _ in
            let query = request.uri.queryParameters
            let from = try Self.number(query.get("from").map { String($0) }, name: "from", default: 0, range: 0...Int64(Int32.max))
            let limit = try Self.number(query.get("limit").map { String($0) }, name: "limit", default: Int64(Self.pageLimit),
                                        range: 1...Int64(Self.pageLimit))
            let page = node.read { c in BlockView.json(c.bestBlocks(from: from, limit: Int(limit))) }
            return Self.bytes(page)
        }
        router.get("/tip") { _, _ in Self.bytes(node.read { BlockView.tipJSON($0.tip) }) }
        router.get("/blocks/:hash") { _, context in
            var text = try context.parameters.require("hash")
            let raw = text.hasSuffix(".bin")
            if raw { text.removeLast(4) }
            guard let hash = Hash256(displayHex: text) else { throw NodeRequestError.bad("'\(text)' is not a block hash (64 hex digits)") }
            let found: [UInt8]? = node.read { c in
                guard let entry = c.entry(hash), let block = c.block(hash) else { return nil }
                return raw ? block.encoded() : BlockView.json(entry: entry, block: block)
            }
            guard let found else { throw NodeRequestError(status: .notFound, message: "no block \(hash) here") }
            return Self.bytes(found, type: raw ? "application/octet-stream" : "application/json")
        }
        router.get("/headers") { request, _ in
            let query = request.uri.queryParameters
            let limit = try Self.number(query.get("limit").map { String($0) }, name: "limit", default: Int64(Self.pageLimit),
                                        range: 1...Int64(Self.pageLimit))
            let from = query.get("from").map { String($0) } ?? ""
            let parts = from.split(separator: ",", omittingEmptySubsequences: true)
            guard parts.count <= 101 else { throw NodeRequestError.bad("from: at most 101 hashes") }
            var locator = [BlockHash]()
            for part in parts {
                guard let hash = Hash256(displayHex: part) else { throw NodeRequestError.bad("from: '\(part.prefix(80))' is not a block hash") }
                locator.append(hash)
            }
            let entries = node.read { $0.headers(after: locator, limit: Int(limit)) }
            var out = "["
            for (i, e) in entries.enumerated() {
                if i > 0 { out += ",\n" }
                out += #"{"height":\#(e.height),"hash":"\#(e.hash.displayHex)","header":"\#(Hex.encode(e.header.encoded))"}"#
            }
            return Self.json(out + "]\n")
        }
        for path in ["/blocks", "/mined"] {
            router.post(RouterPath(path)) { request, _ in
                var request = request
                let limit = 2 * Limits.maxBlockSerializedSize + 2
                let body = try await request.collectBody(upTo: limit)
                let bytes = Self.blockBytes(Array(buffer: body))
                let block: Block
                do { block = try Block(decoding: bytes) } catch {
                    throw RuleFailure("bad-blk-decode", "the body is not a block (raw bytes or hex): \(error)", offset: 0)
                }
                let source = request.headers.first { $0.name.canonicalName == Node.peerHeader.lowercased() }
                    .flatMap { PeerClient.normalize($0.value) }
                do {
                    let accepted = try node.submit(block, bytes: bytes, requested: false, source: source)
                    return Self.accepted(accepted, node: node)
                } catch let error as RuleFailure where error.rule == "prev-blk-not-found" && source != nil {
                    // The sender has the parents: fetch them, then this block.
                    let report: Node.SyncReport
                    do { report = try await node.sync(from: source!) } catch {
                        throw RuleFailure("prev-blk-not-found", "the previous block is not known here, and fetching it from \(source!) failed: \(error)", offset: 4)
                    }
                    guard let entry = node.read({ $0.entry(block.header.hash) }), entry.hasData else {
                        throw RuleFailure(report.refused.map { String($0.prefix { $0 != ":" }) } ?? "prev-blk-not-found",
                                          "the previous block was not found here; syncing from \(source!): \(report)", offset: 4)
                    }
                    return Self.accepted(Acceptance(hash: entry.hash, height: entry.height, tipChanged: node.read { $0.tip.hash } == entry.hash,
                                                    disconnected: 0), node: node)
                }
            }
        }
        router.get("/peers") { _, _ in Self.json(Self.peerList(node.peers)) }
        router.post("/peers") { request, _ in
            let url = try await Self.peerURL(request)
            guard node.addPeer(url) else { throw NodeRequestError.bad("'\(url)' is not http://HOST:PORT (or it is this node)") }
            Task { _ = try? await node.sync(from: url) }
            return Self.json(Self.peerList(node.peers))
        }
        router.delete("/peers") { request, _ in
            let url = try await Self.peerURL(request)
            guard node.removePeer(url) else { throw NodeRequestError(status: .notFound, message: "'\(url)' is not a peer") }
            return Self.json(Self.peerList(node.peers))
        }
        router.post("/generate") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: Self.smallBody)
            struct Generate: Decodable { var blocks: Int64; var data: String? }
            guard let ask = try? JSONDecoder().decode(Generate.self, from: Data(buffer: body)) else {
                throw NodeRequestError.bad(#"the body must be {"blocks": N} (and optionally "data": "text")"#)
            }
            guard (1...Int64(Self.generateLimit)).contains(ask.blocks) else {
                throw NodeRequestError.bad("blocks must be 1 to \(Self.generateLimit)")
            }
            if let data = ask.data, data.utf8.count > BlockBuilder.maxDataBytes {
                throw NodeRequestError.bad("data is \(data.utf8.count) bytes; a block carries at most \(BlockBuilder.maxDataBytes)")
            }
            // Mining blocks its threads for as long as it takes: never on Swift's cooperative pool.
            let hashes: [String] = await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    var hashes = [String]()
                    for _ in 0..<ask.blocks {
                        guard let accepted = node.mineOne(data: ask.data) else { break }
                        hashes.append(#""\#(accepted.hash.displayHex)""#)
                    }
                    continuation.resume(returning: hashes)
                }
            }
            guard hashes.count == ask.blocks else { throw NodeRequestError(status: .serviceUnavailable, message: "the node is stopping") }
            return Self.json("[" + hashes.joined(separator: ",") + "]\n")
        }
        return router
    }

    /// Serves until SIGINT or SIGTERM; `onListening` gets the address actually bound.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        try await ChainServer.serve(router(), host: host, port: port, name: "blocksmith-chain", logLabel: "blocksmith.chain",
                                    onListening: onListening)
    }

    // MARK: helpers

    /// A block body: raw bytes, or the same in hex (what curl users paste).
    static func blockBytes(_ body: [UInt8]) -> [UInt8] {
        let trimmed = body.filter { $0 != 0x0a && $0 != 0x0d && $0 != 0x20 }
        if !trimmed.isEmpty, trimmed.count % 2 == 0,
           trimmed.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) }),
           let decoded = Hex.decode(String(decoding: trimmed, as: UTF8.self)) {
            return decoded
        }
        return body
    }

    static func accepted(_ a: Acceptance, node: Node) -> Response {
        let tip = node.read { $0.tip }
        return json(#"{"accepted":true,"hash":"\#(a.hash.displayHex)","height":\#(a.height),"tip":"\#(tip.hash.displayHex)","tip_height":\#(tip.height)}"# + "\n")
    }

    static func peerURL(_ request: Request) async throws -> String {
        var request = request
        let body = try await request.collectBody(upTo: smallBody)
        struct Peer: Decodable { var url: String }
        guard let peer = try? JSONDecoder().decode(Peer.self, from: Data(buffer: body)) else {
            throw NodeRequestError.bad(#"the body must be {"url": "http://HOST:PORT"}"#)
        }
        return peer.url
    }

    static func peerList(_ peers: [String]) -> String {
        "[" + peers.map { #""\#($0)""# }.joined(separator: ",") + "]\n"
    }

    static func number(_ text: String?, name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
        guard let text else { return value }
        guard let n = Int64(text), range.contains(n) else {
            throw NodeRequestError.bad("\(name) must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func bytes(_ bytes: [UInt8], type: String = "application/json") -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// A request the node refuses, with its status.
struct NodeRequestError: Error {
    let status: HTTPResponse.Status, message: String
    static func bad(_ message: String) -> NodeRequestError { NodeRequestError(status: .badRequest, message: message) }
}

/// `{"error": reason, "message": sentence}`: 400 with Core's reject reason for a block a rule
/// refuses, 400/404 for malformed or unknown requests, 502 when a peer fails, 413 for bodies
/// over the limit. Nothing a client sends becomes a 500.
struct NodeErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let (status, reason, message): (HTTPResponse.Status, String, String)
            switch error {
            case let e as RuleFailure: (status, reason, message) = (.badRequest, e.rule, e.detail)
            case let e as NodeRequestError:
                (status, reason, message) = (e.status, e.status == .notFound ? "not-found" : e.status == .serviceUnavailable ? "unavailable" : "bad-request",
                                             e.message)
            case let e as ChainError: (status, reason, message) = (.badGateway, "peer-failed", e.description)
            case is NIOTooManyBytesError: (status, reason, message) = (.contentTooLarge, "too-large", "the request body is over the limit")
            case let e as HTTPError:
                (status, reason, message) = (e.status == .notFound ? .notFound : e.status, e.status == .notFound ? "not-found" : "bad-request",
                                             e.status == .notFound ? "no such endpoint" : (e.body ?? e.status.reasonPhrase))
            default: (status, reason, message) = (.internalServerError, "internal", "\(error)")
            }
            var out = #"{"error":"# + Self.quote(reason) + #","message":"# + Self.quote(message) + "}\n"
            if status == .internalServerError { out = #"{"error":"internal","message":"internal error"}"# + "\n" }
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: out)))
        }
    }

    static func quote(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
