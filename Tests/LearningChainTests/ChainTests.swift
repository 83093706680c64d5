import Foundation
import Testing
import BitcoinWire
import Validation
import TestFixtures
@testable import LearningChain

/// Blocks mined by hand on a learning chain whose genesis is at the proof-of-work limit.
struct Miniature {
    static let genesis = BlockBuilder.genesis(leadingZeros: 3)
    static let start = Int64(BlockBuilder.genesisTime)

    static func chain(now: Int64 = start + 100_000_000) -> LearningChain.Chain {
        LearningChain.Chain(genesis: genesis, now: { now })
    }

    /// A block on `parent` with `time`, mined against `bits` (default: what the chain requires).
    static func block(on parent: ChainEntry, in chain: LearningChain.Chain, time: Int64, data: String = "",
                      bits: UInt32? = nil, value: Int64? = nil, height: Int64? = nil, extra: [Transaction] = []) -> Block {
        let h = height ?? parent.height + 1
        var block = BlockBuilder.template(previous: parent.hash, height: h, time: UInt32(time),
                                          bits: bits ?? chain.expectedBits(after: parent, time: time), data: Array(data.utf8),
                                          extraNonce: 0, value: value ?? ChainParameters.learning.subsidy(atHeight: h))
        if !extra.isEmpty {
            let txs = block.transactions + extra
            let root = Merkle.root(txs.map(\.txid))!.root
            let hd = block.header
            block = Block(header: BlockHeader(version: hd.version, previousBlockHash: hd.previousBlockHash, merkleRoot: root,
                                              time: hd.time, bits: hd.bits, nonce: 0), transactions: txs)
        }
        let nonce = Miner.solve(block.header, threads: 1).nonce!
        return BlockBuilder.with(nonce: nonce, block)
    }

    /// Extends the tip `count` times, `step` seconds apart from `time`.
    @discardableResult
    static func extend(_ chain: LearningChain.Chain, count: Int, from time: Int64, step: Int64 = 1, data: String = "") throws -> [Block] {
        var blocks = [Block]()
        for i in 0..<count {
            let b = block(on: chain.tip, in: chain, time: time + Int64(i) * step, data: data)
            try chain.accept(b)
            blocks.append(b)
        }
        return blocks
    }

    static func with(nonce: UInt32, _ b: Block) -> Block { BlockBuilder.with(nonce: nonce, b) }
}

@Suite struct ChainTests {
    let t0 = Miniature.start + 100_000_000 - 1000

    func rejection(_ chain: LearningChain.Chain, _ block: Block, requested: Bool = false) -> String? {
        let tip = chain.tip.hash
        do {
            try chain.accept(block, requested: requested)
            return nil
        } catch {
            #expect(chain.tip.hash == tip, "a refused block moved the tip")
            return error.rule
        }
    }

    @Test func eachRejectionReason() throws {
        let chain = Miniature.chain()
        try Miniature.extend(chain, count: 12, from: t0)
        let tip = chain.tip
        let good = Miniature.block(on: tip, in: chain, time: t0 + 20, data: "good")

        // Proof of work: a nonce whose hash is above the target.
        var nonce = good.header.nonce &+ 1
        while UInt256(Miniature.with(nonce: nonce, good).header.hash) <= good.header.target.target { nonce &+= 1 }
        #expect(rejection(chain, Miniature.with(nonce: nonce, good)) == "high-hash")
        // nBits other than the rules require, even with the work done for them.
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 20, bits: 0x1f07_ffff)) == "bad-diffbits")
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 20, bits: 0x2000_ffff)) == "bad-diffbits")
        // A body that is not the header's.
        let other = Miniature.block(on: tip, in: chain, time: t0 + 20, data: "other")
        #expect(rejection(chain, Block(header: good.header, transactions: other.transactions)) == "bad-txnmrklroot")
        // An unknown parent.
        var orphanParent = tip
        orphanParent = ChainEntry(hash: SHA256d.hash(Array("nowhere".utf8)), header: tip.header, height: tip.height, chainWork: tip.chainWork)
        #expect(rejection(chain, Miniature.block(on: orphanParent, in: chain, time: t0 + 20)) == "prev-blk-not-found")
        // Times: not after the median of the last eleven; too far past the clock.
        let median = chain.medianTimePast(of: tip)
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: median)) == "time-too-old")
        chain.now = { t0 + 100 }
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 100 + 61)) == "time-too-new")
        // The coinbase: more than the subsidy; the wrong height.
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 20, value: 50 * Limits.coin + 1)) == "bad-cb-amount")
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 20, height: tip.height + 2)) == "bad-cb-height")
        // A spend of a coinbase before maturity, and of nothing.
        let coinbase1 = chain.block(chain.entry(atHeight: 1)!.hash)!.transactions[0]
        let early = Transaction(version: 2, inputs: [.init(previousOutput: OutPoint(txid: coinbase1.txid, index: 0), scriptSig: [0x51][...], sequence: 0xffff_ffff)],
                                outputs: [.init(value: 1000, scriptPubKey: [0x51][...])], lockTime: 0)
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 20, extra: [early])) == "bad-txns-premature-spend-of-coinbase")
        let nothing = Transaction(version: 2, inputs: [.init(previousOutput: OutPoint(txid: SHA256d.hash([1]), index: 0), scriptSig: [0x51][...], sequence: 0xffff_ffff)],
                                  outputs: [.init(value: 1000, scriptPubKey: [0x51][...])], lockTime: 0)
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 20, extra: [nothing])) == "bad-txns-inputs-missingorspent")
        let locked = Transaction(version: 2, inputs: [.init(previousOutput: OutPoint(txid: SHA256d.hash([1]), index: 0), scriptSig: [0x51][...], sequence: 0)],
                                 outputs: [.init(value: 1000, scriptPubKey: [0x51][...])], lockTime: 1000)
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 20, extra: [locked])) == "bad-txns-nonfinal")

        // The good block passes at the edge of the clock; then it is a duplicate.
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 100 + 60, data: "edge")) == nil)
        #expect(rejection(chain, Miniature.block(on: tip, in: chain, time: t0 + 100 + 60, data: "edge")) == "duplicate")
        #expect(chain.height == 13)
    }

    @Test func invalidBlocksAreRememberedAndSoAreTheirChildren() throws {
        let chain = Miniature.chain()
        try Miniature.extend(chain, count: 3, from: t0)
        let bad = Miniature.block(on: chain.tip, in: chain, time: t0 + 10, value: 50 * Limits.coin + 1)
        #expect(rejection(chain, bad) == "bad-cb-amount")
        #expect(rejection(chain, bad) == "duplicate-invalid")
        let child = Miniature.block(on: chain.entry(bad.header.hash)!, in: chain, time: t0 + 11)
        #expect(rejection(chain, child) == "bad-prevblk")
        // A mutated body does not condemn the header: the real body is accepted after it.
        let good = Miniature.block(on: chain.tip, in: chain, time: t0 + 12, data: "real")
        let fake = Block(header: good.header, transactions: Miniature.block(on: chain.tip, in: chain, time: t0 + 12, data: "fake").transactions)
        #expect(rejection(chain, fake) == "bad-txnmrklroot")
        #expect(rejection(chain, good) == nil)
    }

    /// 42 fast blocks (difficulty ×4 after the second window) have more work than 45 slow
    /// ones at the limit: the longer chain is refused, until it really has more work.
    @Test func aLongerChainWithLessWorkIsRefused() throws {
        let heavy = Miniature.chain()
        try Miniature.extend(heavy, count: 42, from: t0, step: 1)
        #expect(heavy.tip.header.bits != heavy.entry(atHeight: 39)!.header.bits)
        let heavyTip = heavy.tip

        let light = Miniature.chain()
        let lightBlocks = try Miniature.extend(light, count: 45, from: Miniature.start + 30, step: 30)
        #expect(light.height > heavy.height)
        #expect(light.tip.chainWork < heavyTip.chainWork)

        // Unrequested: the first block already has less work than the tip, and is not stored.
        #expect(rejection(heavy, lightBlocks[0]) == "too-little-chainwork")
        // Requested (as a sync would): stored, valid, and the tip stays.
        for block in lightBlocks { try heavy.accept(block, requested: true) }
        #expect(heavy.tip.hash == heavyTip.hash)
        #expect(heavy.entry(lightBlocks.last!.header.hash)!.hasData)

        // Ten more slow blocks give it more work: the chain reorganizes to it.
        let more = Miniature.block(on: heavy.entry(lightBlocks.last!.header.hash)!, in: heavy, time: Miniature.start + 30 * 46)
        var last = try heavy.accept(more, requested: true)
        var parent = heavy.entry(more.header.hash)!
        var k: Int64 = 47
        while heavy.tip.hash == heavyTip.hash {
            let b = Miniature.block(on: parent, in: heavy, time: Miniature.start + 30 * k)
            last = try heavy.accept(b, requested: true)
            parent = heavy.entry(b.header.hash)!
            k += 1
        }
        #expect(last.tipChanged)
        #expect(last.disconnected == 42)
        #expect(heavy.tip.chainWork > heavyTip.chainWork)
        #expect(!heavy.isBest(heavyTip.hash))
    }

    @Test func aTieKeepsTheBlockSeenFirst() throws {
        let chain = Miniature.chain()
        try Miniature.extend(chain, count: 2, from: t0)
        let parent = chain.tip
        let first = Miniature.block(on: parent, in: chain, time: t0 + 5, data: "first")
        let second = Miniature.block(on: parent, in: chain, time: t0 + 5, data: "second")
        try chain.accept(first)
        let result = try chain.accept(second)
        #expect(!result.tipChanged)
        #expect(chain.tip.hash == first.header.hash)
    }

    @Test func headersAndLocator() throws {
        let chain = Miniature.chain()
        let blocks = try Miniature.extend(chain, count: 30, from: t0)
        let locator = chain.locator()
        #expect(locator.first == chain.tip.hash)
        #expect(locator.last == chain.genesisHash)
        #expect(locator.count < 20)
        // After a hash on the chain; unknown hashes are skipped; none known: from height 1.
        #expect(chain.headers(after: [blocks[9].header.hash], limit: 5).map(\.height) == [11, 12, 13, 14, 15])
        #expect(chain.headers(after: [SHA256d.hash([9]), blocks[27].header.hash], limit: 5).map(\.height) == [29, 30])
        #expect(chain.headers(after: [], limit: 2).map(\.height) == [1, 2])
        #expect(chain.headers(after: [chain.tip.hash], limit: 5).isEmpty)
    }
}

@Suite struct StoreTests {
    let t0 = Int64(Date.now.timeIntervalSince1970) - 500

    func files(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("json").path)) ?? []).sorted()
    }

    func viewMatches(_ chain: LearningChain.Chain, _ dir: URL) throws {
        #expect(files(dir) == (0...chain.height).map { String(format: "%06lld.json", $0) })
        for h in 0...chain.height {
            let data = try Data(contentsOf: dir.appendingPathComponent("json").appendingPathComponent(String(format: "%06lld.json", h)))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(object["hash"] as? String == chain.entry(atHeight: h)!.hash.displayHex)
            #expect(object["index"] as? Int == Int(h))
            for key in ["timestamp", "data", "prev_hash", "nonce", "version", "merkle_root", "bits", "target", "difficulty", "chainwork", "header"] {
                #expect(object[key] != nil, "\(key)")
            }
        }
        let tip = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("tip.json"))) as? [String: Any])
        #expect(tip["hash"] as? String == chain.tip.hash.displayHex)
        #expect(tip["height"] as? Int == Int(chain.height))
    }

    @Test func reorgRewritesTheViewAndRestartsAgree() throws {
        let dir = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try BlockStore.create(at: dir.path, genesis: Miniature.genesis, zeros: 3)
        let chain = try LearningChain.Chain.load(store: store)
        let fork = chain.tip
        try Miniature.extend(chain, count: 6, from: t0, data: "first branch")
        try viewMatches(chain, dir)
        // A heavier branch from the genesis block: 8 blocks.
        var parent = fork
        for i in 0..<8 {
            let b = Miniature.block(on: parent, in: chain, time: t0 + 100 + Int64(i), data: "second branch")
            try chain.accept(b, requested: true)
            parent = chain.entry(b.header.hash)!
        }
        #expect(chain.height == 8)
        #expect(BlockBuilder.data(of: chain.block(chain.tip.hash)!) == "second branch")
        try viewMatches(chain, dir)
        let tip = chain.tip.hash
        // Back to a shorter branch? No: a third branch of 3 stays aside, and its files never appear.
        parent = fork
        for i in 0..<3 {
            let b = Miniature.block(on: parent, in: chain, time: t0 + 200 + Int64(i), data: "third")
            try chain.accept(b, requested: true)
            parent = chain.entry(b.header.hash)!
        }
        #expect(chain.tip.hash == tip)
        try viewMatches(chain, dir)
        // Restart: every stored block (18) read back, the same tip.
        store.release()
        let reopened = try LearningChain.Chain.load(store: try BlockStore(opening: dir.path))
        #expect(reopened.tip.hash == tip)
        try viewMatches(reopened, dir)
    }

    /// Headers first, then bodies in any order: a child stored before its parent waits for it,
    /// live and after a restart (found by tests/chain_nodes.py: a sync looked for missing
    /// bodies only above the last one it had).
    @Test func bodiesOutOfOrderLiveAndAfterARestart() throws {
        let source = Miniature.chain(now: t0 + 1000)
        let blocks = try Miniature.extend(source, count: 6, from: t0)
        let dir = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try BlockStore.create(at: dir.path, genesis: Miniature.genesis, zeros: 3)
        let chain = try LearningChain.Chain.load(store: store, now: { t0 + 1000 })
        for b in blocks { try chain.accept(header: b.header) }
        for b in blocks[3...] { try chain.accept(b, requested: true) }
        #expect(chain.height == 0)
        #expect(chain.missingBodies(upTo: blocks[5].header.hash) == blocks[0..<3].map(\.header.hash))
        try chain.accept(blocks[1], requested: true)
        #expect(chain.missingBodies(upTo: blocks[5].header.hash) == [blocks[0].header.hash, blocks[2].header.hash])
        try chain.accept(blocks[0], requested: true)
        #expect(chain.height == 2)
        try chain.accept(blocks[2], requested: true)
        #expect(chain.tip.hash == blocks[5].header.hash)
        #expect(chain.missingBodies(upTo: blocks[5].header.hash).isEmpty)
        try viewMatches(chain, dir)
        store.release()
        var warnings = [String]()
        let reopened = try LearningChain.Chain.load(store: try BlockStore(opening: dir.path), now: { t0 + 1000 }, log: { warnings.append($0) })
        #expect(reopened.tip.hash == blocks[5].header.hash)
        #expect(warnings.isEmpty, "\(warnings)")
    }

    @Test func aTornWriteIsCutAndTheViewRepaired() throws {
        let dir = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let extra: [UInt8]
        do {
            let store = try BlockStore.create(at: dir.path, genesis: Miniature.genesis, zeros: 3)
            let chain = try LearningChain.Chain.load(store: store)
            try Miniature.extend(chain, count: 5, from: t0)
            extra = Miniature.block(on: chain.tip, in: chain, time: t0 + 50).encoded()
        }
        let blk = dir.appendingPathComponent("blocks/blk00000.dat")
        let whole = try Data(contentsOf: blk)
        // The next block half written, a stale view file above the tip, one file damaged, one missing.
        let handle = try FileHandle(forWritingTo: blk)
        try handle.seekToEnd()
        var frame = [UInt8]()
        withUnsafeBytes(of: ChainParameters.learning.magic.littleEndian) { frame += $0 }
        withUnsafeBytes(of: UInt32(extra.count).littleEndian) { frame += $0 }
        frame += extra.prefix(extra.count / 2)
        try handle.write(contentsOf: Data(frame))
        try handle.close()
        let json = dir.appendingPathComponent("json")
        try Data("{\"hash\":\"stale\"}".utf8).write(to: json.appendingPathComponent("000006.json"))
        try Data("garbage".utf8).write(to: json.appendingPathComponent("000003.json"))
        try FileManager.default.removeItem(at: json.appendingPathComponent("000004.json"))

        var warnings = [String]()
        let chain = try LearningChain.Chain.load(store: try BlockStore(opening: dir.path), log: { warnings.append($0) })
        #expect(chain.height == 5)
        #expect(warnings.contains { $0.contains("torn write") })
        #expect(try Data(contentsOf: blk).count == whole.count)
        try viewMatches(chain, dir)
        // The chain goes on from there.
        try Miniature.extend(chain, count: 2, from: t0 + 60)
        try viewMatches(chain, dir)
    }

    @Test func oneProcessPerFolder() throws {
        let dir = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try BlockStore.create(at: dir.path, genesis: Miniature.genesis, zeros: 3)
        #expect(throws: ChainError.self) { try BlockStore(opening: dir.path) }
        #expect(throws: ChainError.self) { try BlockStore.create(at: dir.path, genesis: Miniature.genesis, zeros: 3) }
        _ = store
        #expect(throws: ChainError.self) { try BlockStore(opening: dir.appendingPathComponent("none").path) }
    }
}

/// Random block trees (forks anywhere, some blocks over-paying their coinbase), headers in
/// order and bodies in random order: the tip is always the most-work chain without a bad
/// block, its UTXO set is its coinbases, and a restart from the files finds the same tip.
@Suite struct RandomTreeTests {
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func theMostWorkValidChainWins(seed: UInt64) throws {
        var rng = SplitMix(state: seed)
        let clock = Miniature.start + 100_000_000
        let builder = Miniature.chain(now: clock)
        // (block, index of parent in `made` or -1 for genesis, bad)
        var made = [(block: Block, parent: Int, bad: Bool)]()
        var times = [Int64(BlockBuilder.genesisTime)]
        for _ in 0..<45 {
            let p = rng.below(made.count + 1) - 1
            let parentEntry = p < 0 ? builder.entry(builder.genesisHash)! : builder.entry(made[p].block.header.hash)!
            let time = (p < 0 ? times[0] : times[p + 1]) + 1 + Int64(rng.below(40))
            let bad = rng.below(8) == 0
            let block = Miniature.block(on: parentEntry, in: builder, time: time, data: "\(made.count)",
                                        value: bad ? 50 * Limits.coin + 1 : nil)
            try builder.accept(header: block.header)
            made.append((block, p, bad))
            times.append(time)
        }
        func poisoned(_ i: Int) -> Bool { i < 0 ? false : made[i].bad || poisoned(made[i].parent) }

        let dir = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try BlockStore.create(at: dir.path, genesis: Miniature.genesis, zeros: 3)
        let chain = try LearningChain.Chain.load(store: store, now: { clock })
        for (block, _, _) in made { try chain.accept(header: block.header) }
        var order = Array(made.indices)
        for i in order.indices.reversed() { order.swapAt(i, rng.below(i + 1)) }
        for i in order {
            do { try chain.accept(made[i].block, requested: true) } catch {
                #expect(["bad-cb-amount", "bad-prevblk", "duplicate-invalid"].contains(error.rule), "\(error)")
            }
        }
        let expectedWork = made.indices.filter { !poisoned($0) }.map { builder.entry(made[$0].block.header.hash)!.chainWork }
            .max() ?? chain.entry(chain.genesisHash)!.chainWork
        #expect(chain.tip.chainWork == expectedWork)
        // No bad block on the best chain; its UTXO set is one coinbase output per block above the genesis block.
        let bad = Set(made.filter(\.bad).map(\.block.header.hash))
        #expect((0...chain.height).allSatisfy { !bad.contains(chain.entry(atHeight: $0)!.hash) })
        #expect(chain.unspentCount == Int(chain.height))
        for h in 1...max(1, chain.height) where h <= chain.height {
            #expect(chain.entry(atHeight: h)!.header.previousBlockHash == chain.entry(atHeight: h - 1)!.hash)
        }
        store.release()
        let reopened = try LearningChain.Chain.load(store: try BlockStore(opening: dir.path), now: { clock })
        #expect(reopened.tip.chainWork == expectedWork)
        #expect(reopened.tip.hash == chain.tip.hash)
    }
}
