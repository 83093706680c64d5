import ArgumentParser
import Foundation
import BitcoinWire
import LearningChain
import ChainServer
import Validation

/// `blocksmith chain`: the learning blockchain.
struct ChainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain",
        abstract: "A learning blockchain node: Bitcoin's blocks and rules, a block every few seconds.",
        discussion: """
            Follows the tutorial series "How to Build Your Own Blockchain": blocks stored in a \
            chaindata folder, /blockchain.json, mining by proof of work, nodes that sync. The \
            blocks are real Bitcoin blocks (network "learning": a block every 5 s, a retarget \
            every 20 blocks) in Core-style blk files that `blocksmith show`, `verify` and `index` read.
            """,
        subcommands: [ChainInit.self, ChainMine.self, ChainServe.self, ChainSync.self, ChainShow.self, ChainHashRate.self])
}

struct ChainDirectory: ParsableArguments {
    @Option(help: "The chain's folder.")
    var dir = "chaindata"

    func openStore() throws -> BlockStore {
        do { return try BlockStore(opening: dir) } catch let error as ChainError { throw ToolError(error.description) }
    }

    func load() throws -> LearningChain.Chain {
        let store = try openStore()
        do { return try LearningChain.Chain.load(store: store, log: { standardError("chain: \($0)") }) } catch let error as ChainError {
            throw ToolError(error.description)
        }
    }
}

/// The mining options of `chain mine` and `chain serve`.
struct MiningOptions: ParsableArguments {
    @Option(help: "The mined blocks' text (at most 80 bytes; default \"block N\").")
    var data: String?

    @Option(help: "Mining threads (default: every core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard (1...1024).contains(threads) else { throw ValidationError("--threads must be 1 to 1024") }
        if let data, data.utf8.count > BlockBuilder.maxDataBytes {
            throw ValidationError("--data is \(data.utf8.count) bytes; a block carries at most \(BlockBuilder.maxDataBytes)")
        }
    }
}

struct ChainInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a chain: its genesis block, the same for everyone who uses the same --zeros.")

    @OptionGroup var directory: ChainDirectory

    @Option(help: "Leading hex zeros of the genesis block's target (3 to 6); 5 is the tutorial's.")
    var zeros = 5

    func validate() throws {
        guard BlockBuilder.zerosRange.contains(zeros) else {
            throw ValidationError("--zeros must be \(BlockBuilder.zerosRange.lowerBound) to \(BlockBuilder.zerosRange.upperBound)")
        }
    }

    func run() throws {
        let genesis = BlockBuilder.genesis(leadingZeros: zeros)
        do { _ = try BlockStore.create(at: directory.dir, genesis: genesis, zeros: zeros) } catch let error as ChainError {
            throw ToolError(error.description)
        }
        let chain = try directory.load()
        print("created \(directory.dir): genesis block \(genesis.header.hash)")
        print("  nonce \(genesis.header.nonce), bits \(Hex.encode(genesis.header.bits)), data \"\(BlockBuilder.genesisData)\"")
        print("  \(directory.dir)/blocks/blk00000.dat and \(directory.dir)/json/000000.json; tip at height \(chain.height)")
    }
}

struct ChainMine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mine",
        abstract: "Mine blocks on the chain's tip, here (no node may be running on the folder).")

    @OptionGroup var directory: ChainDirectory

    @Option(help: "How many blocks.")
    var blocks = 1

    @OptionGroup var mining: MiningOptions

    func validate() throws {
        guard (1...1_000_000).contains(blocks) else { throw ValidationError("--blocks must be 1 to 1000000") }
    }

    func run() throws {
        let node = Node(chain: try directory.load(), threads: mining.threads)
        for _ in 0..<blocks {
            let start = Date.now, before = node.hashesTried.load(ordering: .relaxed)
            guard let accepted = node.mineOne(data: mining.data) else { break }
            let seconds = Date.now.timeIntervalSince(start)
            let tried = node.hashesTried.load(ordering: .relaxed) - before
            let entry = node.read { $0.entry(accepted.hash)! }
            print("mined block \(accepted.height) \(accepted.hash) nonce \(entry.header.nonce) bits \(Hex.encode(entry.header.bits))"
                  + String(format: " (%.2f s, %@ hashes, %.2f MH/s)", seconds, "\(tried)", Double(tried) / max(seconds, 1e-9) / 1e6))
        }
    }
}

struct ChainServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a node: its HTTP API, its peers, and mining with --mine.",
        discussion: """
            GET /blockchain.json, /tip, /blocks/HASH[.bin], /headers?from=HASH; POST /blocks and \
            /mined (a raw block), /generate {"blocks": N}; GET, POST, DELETE /peers {"url": …}. \
            The first line on standard output is `listening on http://HOST:PORT`; then one line \
            per block mined or accepted. SIGINT or SIGTERM stops it.
            """)

    @OptionGroup var directory: ChainDirectory

    @Option(help: "HOST:PORT to listen on; port 0 takes a free port.")
    var bind = "127.0.0.1:3000"

    @Option(help: "A peer to sync with and announce blocks to (http://HOST:PORT); repeat for more.")
    var peer: [String] = []

    @Flag(help: "Mine blocks continuously.")
    var mine = false

    @OptionGroup var mining: MiningOptions

    func run() async throws {
        let (host, port) = try Serve.address(bind)
        let node = Node(chain: try directory.load(), threads: mining.threads) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        for url in peer where !node.addPeer(url) { throw ToolError("--peer '\(url)' is not http://HOST:PORT") }
        let server = NodeServer(node: node, host: host, port: port)
        let mine = self.mine, data = mining.data
        // On SIGINT or SIGTERM the miners stop at once (a `POST /generate` in progress answers
        // 503), so the graceful shutdown does not wait for blocks still to be mined.
        let stoppers = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { node.stop() }
            source.resume()
            return source
        }
        defer { stoppers.forEach { $0.cancel() } }
        try await server.run { host, port in
            let shown = Serve.announceListening(host: host, port: port)
            let reachable = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "[::1]" : shown
            node.url = "http://\(reachable):\(port)"
            let tip = node.read { $0.tip }
            FileHandle.standardOutput.write(Data("chain at height \(tip.height), tip \(tip.hash)\n".utf8))
            node.syncPeriodically()
            if mine { node.mineContinuously(data: data) }
        }
        node.stop()
    }
}

struct ChainSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Pull a node's chain once: headers, then the blocks of a chain with more work, each checked here.")

    @OptionGroup var directory: ChainDirectory

    @Option(help: "The node to pull from (http://HOST:PORT).")
    var from: String

    func run() async throws {
        let node = Node(chain: try directory.load(), threads: 1)
        do {
            let report = try await node.sync(from: from)
            print("synced from \(report)")
            if report.refused != nil { throw ExitCode(1) }
        } catch let error as ChainError {
            throw ToolError(error.description)
        } catch let failure as RuleFailure {
            standardError("blocksmith: \(from) sent a block or header that breaks a rule: \(failure)")
            throw ExitCode(1)
        }
    }
}

struct ChainShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the best chain, one block per line (or the tutorial's JSON with --json).")

    @OptionGroup var directory: ChainDirectory

    @Flag(help: "The tutorial's view of each block, as /blockchain.json gives it.")
    var json = false

    func run() throws {
        let chain = try directory.load()
        let items = chain.bestBlocks(from: 0, limit: Int.max)
        if json {
            FileHandle.standardOutput.write(Data(BlockView.json(items)))
            return
        }
        for (entry, block) in items {
            let h = entry.header
            print("#\(entry.height) \(entry.hash) prev \(String(h.previousBlockHash.displayHex.prefix(16)))… "
                  + "time \(h.time) nonce \(h.nonce) bits \(Hex.encode(h.bits)) data \"\(BlockBuilder.data(of: block))\"")
        }
        print("tip: height \(chain.height), chainwork \(chain.tip.chainWork.hex)")
    }
}

/// Measures mining speed for the benchmark: nonces per second on a fixed template.
struct ChainHashRate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hashrate", abstract: "Nonces per second of the miner (for the benchmark).", shouldDisplay: false)

    @Option var threads = 1
    @Option var seconds = 3.0
    @Flag(help: "Hash with swift-crypto's SHA256 alone (one thread), for comparison.") var library = false

    func run() throws {
        // An impossible target: every nonce is tried.
        let genesis = BlockBuilder.genesis(leadingZeros: 3)
        let h = genesis.header
        let header = BlockHeader(version: h.version, previousBlockHash: h.previousBlockHash, merkleRoot: h.merkleRoot,
                                 time: h.time, bits: 0x0300_0001, nonce: 0)
        let deadline = Date.now.addingTimeInterval(seconds)
        if library {
            let start = Date.now
            let tried = NonceSearch.libraryHasherRate(header: header) { Date.now >= deadline }
            print(String(format: "%.0f", Double(tried) / Date.now.timeIntervalSince(start)))
            return
        }
        let search = NonceSearch(header: header)
        let start = Date.now
        let (_, tried) = Miner.solve(search, in: 0..<(1 << 32), threads: threads) { Date.now >= deadline }
        let elapsed = Date.now.timeIntervalSince(start)
        print(String(format: "%.0f", Double(tried) / elapsed))
    }
}
