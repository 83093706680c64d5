import Foundation
public import Synchronization
public import BitcoinWire
public import Validation

/// A learning chain node: the chain under a lock, its peers, mining, syncing and
/// announcing. Every block from anywhere goes through `submit`, which validates it fully.
public final class Node: Sendable {
    /// The request header a node names itself in when it announces a block.
    public static let peerHeader = "X-Blocksmith-Peer"
    /// Headers asked for per request while syncing.
    static let headersPerRequest = 2000
    /// Headers taken from one peer in one sync, at most (each is kept in memory; Core's
    /// pre-sync of headers before storing them is not done here).
    static let headersPerSync = 100_000

    private let chain: Mutex<Chain>
    private let peerList = Mutex<[String]>([])
    private let syncing = Mutex<Set<String>>([])
    /// Changes whenever the tip does: miners working on an older tip stop.
    private let tipGeneration = Atomic<UInt64>(0)
    private let stopping = Atomic<Bool>(false)
    /// Nonces tried by this node's miners.
    public let hashesTried = Atomic<UInt64>(0)
    private let ownURL = Mutex<String?>(nil)
    /// Mining threads.
    public let threads: Int
    let client = PeerClient()
    /// Where the node tells what happens (one line each).
    public let log: @Sendable (String) -> Void

    /// Where the peer list is kept between runs (`DIR/peers.json`), if anywhere.
    let peersFile: String?

    public init(chain: sending Chain, threads: Int, log: @escaping @Sendable (String) -> Void = { _ in }) {
        peersFile = chain.store.map { $0.directory.appendingPathComponent("peers.json").path }
        self.chain = Mutex(chain)
        self.threads = max(1, threads)
        self.log = log
        if let peersFile, let data = FileManager.default.contents(atPath: peersFile),
           let saved = try? JSONDecoder().decode([String].self, from: data) {
            peerList.withLock { $0 = Array(saved.compactMap(PeerClient.normalize).prefix(Self.maximumPeers)) }
        }
    }

    /// Peers a node keeps at most.
    public static let maximumPeers = 64

    private func savePeers(_ list: [String]) {
        guard let peersFile, let data = try? JSONEncoder().encode(list) else { return }
        try? data.write(to: URL(fileURLWithPath: peersFile), options: .atomic)
    }

    /// Runs `body` with the chain locked.
    public func read<T: Sendable>(_ body: (Chain) throws -> T) rethrows -> T {
        try chain.withLock { c in try body(c) }
    }

    /// The URL peers reach this node at (set once it listens).
    public var url: String? {
        get { ownURL.withLock { $0 } }
        set { ownURL.withLock { $0 = newValue } }
    }

    /// Stops mining and background syncing.
    public func stop() { stopping.store(true, ordering: .relaxed) }
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    // MARK: blocks

    /// Validates and stores a block and moves the tip if it wins; new tips are announced to
    /// every peer but `source`.
    /// - Throws: `RuleFailure` with Core's reject reason.
    @discardableResult
    public func submit(_ block: Block, bytes: [UInt8]? = nil, requested: Bool, source: String?, announce: Bool = true) throws(RuleFailure) -> Acceptance {
        let result: Result<Acceptance, RuleFailure> = chain.withLock { c in
            Result { () throws(RuleFailure) in try c.accept(block, bytes: bytes, requested: requested) }
        }
        let acceptance = try result.get()
        if acceptance.tipChanged {
            tipGeneration.add(1, ordering: .relaxed)
            let tip = read { $0.tip }
            log("\(source == nil ? "mined" : "accepted") block \(acceptance.height) \(acceptance.hash)"
                + (source.map { " from \($0)" } ?? "")
                + (acceptance.disconnected > 0 ? "; reorganized: \(acceptance.disconnected) blocks disconnected" : "")
                + (tip.hash != acceptance.hash ? "; tip now \(tip.height) \(tip.hash)" : ""))
            if announce { announceTip(except: source) }
        }
        return acceptance
    }

    /// Sends the tip block to every peer but `except`, in the background.
    public func announceTip(except: String? = nil) {
        let (bytes, peers, me) = (read { c in c.block(c.tip.hash)!.encoded() }, peers, url)
        for peer in peers where peer != except {
            Task { try? await client.announce(bytes, to: peer, from: me) }
        }
    }

    // MARK: mining

    /// Mines one block on the tip and submits it.
    /// - Parameters:
    ///   - data: the block's text (at most 80 bytes); nil says "block N".
    ///   - shouldStop: asked while mining; true gives up.
    /// - Returns: the block's acceptance; nil when stopped.
    public func mineOne(data: String? = nil, shouldStop: @escaping @Sendable () -> Bool = { false }) -> Acceptance? {
        var extraNonce: UInt64 = 0
        while !isStopping && !shouldStop() {
            let generation = tipGeneration.load(ordering: .relaxed)
            let template = chain.withLock { c in
                c.template(data: Array((data ?? "block \(c.height + 1)").utf8.prefix(BlockBuilder.maxDataBytes)), extraNonce: extraNonce)
            }
            let (nonce, tried) = Miner.solve(template.header, threads: threads) { [self] in
                isStopping || tipGeneration.load(ordering: .relaxed) != generation || shouldStop()
            }
            hashesTried.add(tried, ordering: .relaxed)
            if let nonce {
                do {
                    return try submit(BlockBuilder.with(nonce: nonce, template), requested: true, source: nil)
                } catch {
                    log("mined block refused: \(error.rule) (\(error.detail))")
                }
            } else if tipGeneration.load(ordering: .relaxed) == generation {
                extraNonce += 1  // all 2^32 nonces failed: another coinbase, another merkle root
            }
        }
        return nil
    }

    /// Mines until the node stops (`chain serve --mine`), on its own thread.
    public func mineContinuously(data: String?) {
        Thread.detachNewThread { [self] in
            repeat { _ = mineOne(data: data) } while !isStopping
        }
    }

    // MARK: peers

    public var peers: [String] { peerList.withLock { $0 } }

    /// Adds a peer (`http://HOST:PORT`).
    /// - Returns: false when the URL is not one, or is this node.
    @discardableResult
    public func addPeer(_ url: String) -> Bool {
        guard let peer = PeerClient.normalize(url), peer != self.url else { return false }
        let list: [String]? = peerList.withLock { list in
            guard !list.contains(peer), list.count < Self.maximumPeers else { return nil }
            list.append(peer)
            return list
        }
        if let list { savePeers(list) }
        return list != nil || peers.contains(peer)
    }

    public func removePeer(_ url: String) -> Bool {
        guard let peer = PeerClient.normalize(url) else { return false }
        let list: [String]? = peerList.withLock { list in
            let before = list.count
            list.removeAll { $0 == peer }
            return list.count != before ? list : nil
        }
        if let list { savePeers(list) }
        return list != nil
    }

    /// What one sync did.
    public struct SyncReport: Sendable, CustomStringConvertible {
        public var peer: String
        public var headers = 0
        public var blocks = 0
        /// Set when the peer's chain was refused (less work, or a rule it broke).
        public var refused: String?
        public var tipHeight: Int64 = 0

        public var description: String {
            "\(peer): \(headers) headers, \(blocks) blocks" + (refused.map { "; refused: \($0)" } ?? "") + "; tip at \(tipHeight)"
        }
    }

    /// Pulls `peer`'s best chain: its headers after where the chains fork, each checked against
    /// this node's rules; if their work (computed here) beats the tip's, the missing blocks,
    /// each validated in full. A chain with less work is refused without downloading it.
    /// - Throws: `ChainError.peer` when the peer cannot be reached or sends what is not
    ///   headers or blocks; `RuleFailure` when what it sends breaks a rule.
    @discardableResult
    public func sync(from url: String) async throws -> SyncReport {
        guard let peer = PeerClient.normalize(url) else { throw ChainError.peer("'\(url)' is not http://HOST:PORT") }
        guard syncing.withLock({ $0.insert(peer).inserted }) else {
            return SyncReport(peer: peer, refused: "a sync from this peer is already running")
        }
        defer { _ = syncing.withLock { $0.remove(peer) } }
        var report = SyncReport(peer: peer)
        var locator = read { $0.locator() }
        var last: ChainEntry?
        while report.headers < Self.headersPerSync, !isStopping {
            let headers = try await client.headers(peer, locator: locator, limit: Self.headersPerRequest)
            if headers.isEmpty { break }
            let result: Result<ChainEntry, RuleFailure> = chain.withLock { c in
                Result { () throws(RuleFailure) in
                    var e: ChainEntry?
                    for header in headers { e = try c.accept(header: header) }
                    return e!
                }
            }
            let entry = try result.get()
            last = entry
            report.headers += headers.count
            if headers.count < Self.headersPerRequest { break }
            locator = [entry.hash]
        }
        let tip = read { $0.tip }
        report.tipHeight = tip.height
        guard let target = last else { return report }
        guard target.chainWork > tip.chainWork else {
            if !read({ $0.isBest(target.hash) }) {
                report.refused = "too-little-chainwork: its chain (height \(target.height)) has less work than this node's"
            }
            return report
        }
        let before = tip.hash
        for hash in read({ $0.missingBodies(upTo: target.hash) }) where !isStopping {
            let bytes = try await client.block(peer, hash)
            guard let block = try? Block(decoding: bytes), block.header.hash == hash else {
                throw ChainError.peer("\(peer)/blocks/\(hash).bin is not that block")
            }
            switch Result(catching: { () throws(RuleFailure) in try submit(block, bytes: bytes, requested: true, source: peer, announce: false) }) {
            case .success: report.blocks += 1
            case .failure(let failure) where failure.rule == "duplicate": continue
            case .failure(let failure): throw failure
            }
        }
        report.tipHeight = read { $0.height }
        if read({ $0.tip.hash }) != before { announceTip(except: peer) }
        return report
    }

    /// Syncs from every peer every `interval` until the node stops, so nodes converge even
    /// when an announcement is lost.
    public func syncPeriodically(every interval: Duration = .seconds(2)) {
        Task { [self] in
            // The last problem with each peer: said once, not every round.
            var problems = [String: String]()
            while !isStopping {
                for peer in peers {
                    var problem = ""
                    do {
                        let report = try await sync(from: peer)
                        if report.blocks > 0 { log("synced from \(report)") }
                        if let refused = report.refused, !refused.hasPrefix("a sync") { problem = "sync from \(report)" }
                    } catch {
                        problem = "sync from \(peer): \(error)"
                    }
                    if problem != problems[peer, default: ""] {
                        if !problem.isEmpty { log(problem) }
                        problems[peer] = problem
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
