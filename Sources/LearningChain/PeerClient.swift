import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import BitcoinWire

/// What a node asks its peers over HTTP. Answers are only bytes to check: hashes, heights and
/// work in them are never used.
package struct PeerClient: Sendable {
    /// Each request's time limit.
    var timeout: TimeInterval = 10
    /// The largest answer read (a headers page, a block in hex, a tip).
    static let maximumAnswer = 2 * Limits.maxBlockSerializedSize + 4096

    /// `http://HOST:PORT` (a trailing slash dropped), or nil for anything else.
    package static func normalize(_ url: String) -> String? {
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
        let (data, response) = try await Self.fetch(request, url: url, timeout: timeout)
        guard data.count <= Self.maximumAnswer else { throw ChainError.peer("\(url): an answer of \(data.count) bytes") }
        guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            throw ChainError.peer("\(url): HTTP \(status) \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return data
    }

    /// One request, answered or failed within `timeout` in all: the answer, an error or the
    /// timer resumes the caller, whichever comes first. (`URLRequest.timeoutInterval` limits
    /// the time between bytes, not the whole request: a peer that trickles its answer a byte
    /// at a time could otherwise hold a sync for ever.)
    static func fetch(_ request: URLRequest, url: String, timeout: TimeInterval) async throws -> (Data, URLResponse) {
        final class Once: @unchecked Sendable {  // `lock` guards `done`
            let lock = NSLock()
            var done = false
            func claim() -> Bool { lock.withLock { if done { return false }; done = true; return true } }
        }
        let once = Once()
        return try await withCheckedThrowingContinuation { continuation in
            let task = URLSession.shared.dataTask(with: request) { data, response, error in
                guard once.claim() else { return }
                if let data, let response {
                    continuation.resume(returning: (data, response))
                } else {
                    continuation.resume(throwing: ChainError.peer("\(url): \(error?.localizedDescription ?? "no answer")"))
                }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout + 1) {
                guard once.claim() else { return }
                task.cancel()
                continuation.resume(throwing: ChainError.peer("\(url): no answer within \(Int(timeout)) s"))
            }
            task.resume()
        }
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
