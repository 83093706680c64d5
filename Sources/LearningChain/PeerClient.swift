import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import BitcoinWire

/// What a node asks its peers over HTTP. Answers are only bytes to check: hashes, heights and
/// work in them are never used.
struct PeerClient: Sendable {
    /// Each request's time limit.
    var timeout: TimeInterval = 10
    /// The largest answer read (a headers page, a block in hex, a tip).
    static let maximumAnswer = 2 * Limits.maxBlockSerializedSize + 4096

    /// `http://HOST:PORT` (a trailing slash dropped), or nil for anything else.
    static func normalize(_ url: String) -> String? {
        var text = url.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        guard text.count <= 200, let parsed = URL(string: text), parsed.scheme == "http", let host = parsed.host, !host.isEmpty,
              let port = parsed.port, (1...65535).contains(port), parsed.path.isEmpty, parsed.query == nil,
              parsed.user == nil else { return nil }
        return text
    }

    func get(_ url: String) async throws -> Data {
        guard let u = URL(string: url) else { throw ChainError.peer("\(url) is not a URL") }
        var request = URLRequest(url: u)
        request.timeoutInterval = timeout
        return try await send(request, url)
    }

    func send(_ request: URLRequest, _ url: String) async throws -> Data {
        let (data, response): (Data, URLResponse)
        do { (data, response) = try await URLSession.shared.data(for: request) } catch {
            throw ChainError.peer("\(url): \(error.localizedDescription)")
        }
        guard data.count <= Self.maximumAnswer else { throw ChainError.peer("\(url): an answer of \(data.count) bytes") }
        guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            throw ChainError.peer("\(url): HTTP \(status) \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return data
    }

    /// The peer's best-chain headers after the first hash of `locator` it has.
    func headers(_ peer: String, locator: [BlockHash], limit: Int) async throws -> [BlockHeader] {
        let from = locator.map(\.displayHex).joined(separator: ",")
        let data = try await get("\(peer)/headers?from=\(from)&limit=\(limit)")
        guard let items = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]], items.count <= limit else {
            throw ChainError.peer("\(peer)/headers: not a list of at most \(limit) headers")
        }
        return try items.map { item in
            guard let hex = item["header"] as? String, hex.utf8.count == 160, let bytes = Hex.decode(hex),
                  let header = try? BlockHeader(decoding: bytes) else {
                throw ChainError.peer("\(peer)/headers: an item without 80 header bytes in hex")
            }
            return header
        }
    }

    /// The raw block `hash` from the peer.
    func block(_ peer: String, _ hash: BlockHash) async throws -> [UInt8] {
        [UInt8](try await get("\(peer)/blocks/\(hash.displayHex).bin"))
    }

    /// Sends a raw block to the peer's `POST /blocks`, saying where it came from.
    func announce(_ bytes: [UInt8], to peer: String, from me: String?) async throws {
        guard let u = URL(string: "\(peer)/blocks") else { return }
        var request = URLRequest(url: u)
        request.httpMethod = "POST"
        request.timeoutInterval = timeout
        request.httpBody = Data(bytes)
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        if let me { request.setValue(me, forHTTPHeaderField: Node.peerHeader) }
        _ = try? await send(request, "\(peer)/blocks")
    }
}
