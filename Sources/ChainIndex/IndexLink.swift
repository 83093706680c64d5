import Foundation
import GRDB
import BitcoinWire
import BlockFile
import Validation

extension ChainIndexer {
    // MARK: linking and choosing the best chain

    /// What the index keeps of a block besides its tree node.
    struct Stored {
        let id: Int64, file: String, offset: Int, size: Int
        var height: Int64?, inBest: Bool, invalidReason: String?
    }

    /// The parent the tree gives a stored root whose real parent arrived later (no block hashes to it).
    static let outsideTheChain = Hash256(wireBytes: [UInt8](repeating: 0xff, count: 32))!

    /// Core's reason for a block whose ancestor is invalid (`BLOCK_FAILED_CHILD`).
    static let invalidAncestor = "bad-prevblk"

    /// What the blocks table looks like when a link finished, as `meta.linked` records it:
    /// rows, the last id, best-chain blocks, invalid ones, and the orphans found.
    func linkState(_ db: Database, orphans: Int) throws -> String {
        let r = try Row.fetchOne(db, sql: """
            SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(in_best_chain), 0), COUNT(invalid_reason) FROM blocks
            """)!
        return "\(r[0] as Int64):\(r[1] as Int64):\(r[2] as Int64):\(r[3] as Int64):\(orphans)"
    }

    /// A re-run that read nothing new finds the blocks as the last completed link left them:
    /// then there is nothing to link or connect, and the tip is the stored one (a re-run costs
    /// the same at any chain length).
    func linkedAlready(_ report: inout IndexReport) throws -> Bool {
        try database.read { db in
            guard let linked = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'linked'"),
                  let orphans = Int(linked.split(separator: ":").last ?? ""),
                  try linkState(db, orphans: orphans) == linked, try !Schema.indexesDeferred(db) else { return false }
            if let tip = try Row.fetchOne(db, sql: "SELECT hash, height FROM blocks WHERE in_best_chain = 1 ORDER BY height DESC LIMIT 1") {
                report.tipHash = hash(tip[0])
                report.tipHeight = tip[1]
            }
            report.orphans = orphans
            if orphans > 0 { warn("\(orphans) block\(orphans == 1 ? "" : "s") whose parent never appears (orphans) left out of the chain") }
            return true
        }
    }

    func link(_ folder: BlocksFolder, report: inout IndexReport) throws {
        let linkStart = monotonicNanoseconds()
        state.phase = "linking"
        progress(state)
        var stored = [Stored]()
        var headers = [(hash: BlockHash, previous: BlockHash, bits: UInt32, invalidReason: String?)]()
        try database.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT id, hash, previous_hash, bits, height, in_best_chain, file, offset, size, invalid_reason FROM blocks ORDER BY id
                """)
            while let row = try rows.next() {
                let reason: String? = row[9]
                stored.append(Stored(id: row[0], file: row[6], offset: row[7], size: row[8], height: row[4], inBest: (row[5] as Int64) == 1,
                                     invalidReason: reason))
                headers.append((hash(row[1]), hash(row[2]), UInt32(row[3] as Int64), reason == Self.invalidAncestor ? nil : reason))
            }
        }
        guard !stored.isEmpty else { return }
        // The chain's root is fixed by the first run. When its parent turns up later, the
        // root stays a root: what comes before it is outside the chain (and cannot make the
        // chain invalid), so it is linked in the tree to a parent no block has.
        let storedRoot = try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'root'") }
        if let storedRoot, let known = Hash256(displayHex: storedRoot),
           let i = headers.firstIndex(where: { $0.hash == known }), headers[i].previous != .zero {
            headers[i].previous = Self.outsideTheChain
        }
        var tree = BlockTree(headers: headers)
        headers = []
        let network = ChainParameters.known(name: try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'network'") } ?? "") ?? .mainnet
        // The chain's root: kept from earlier runs, else the one whose tree holds the most work.
        let roots = tree.roots
        let root: Int
        if let storedRoot, let known = Hash256(displayHex: storedRoot), let i = tree.index(of: known) {
            root = i
        } else {
            let bestOfRoot = Dictionary(uniqueKeysWithValues: roots.map { ($0, tree.bestTip(inTreeOf: $0) ?? $0) })
            root = roots.max { a, b in
                let (x, y) = (bestOfRoot[a]!, bestOfRoot[b]!)
                return tree[x].chainWork < tree[y].chainWork || (tree[x].chainWork == tree[y].chainWork && x > y)
            }!
        }
        let rootHeight: Int64
        if let h = stored[root].height {
            rootHeight = h
        } else if tree[root].hash == network.genesisHash || tree[root].previous == .zero {
            rootHeight = 0
        } else if tree[root].previous == network.genesisHash {
            rootHeight = 1
        } else if let bip34 = try readBlock(folder, stored[root], hash: tree[root].hash).block.bip34Height {
            rootHeight = bip34
        } else {
            rootHeight = 0
            warn("the chain starts at block \(tree[root].hash), whose height is unknown: heights count from 0 there")
        }
        // When the chain starts at a genesis block, every input must spend an output inside it.
        let fromGenesis = tree[root].previous == .zero
        report.orphans = tree.nodes.indices.filter { tree[$0].root != root }.count
        if report.orphans > 0 {
            warn("\(report.orphans) block\(report.orphans == 1 ? "" : "s") whose parent never appears (orphans) left out of the chain")
        }
        // Heights, work and inherited invalidity of the root's tree, where they changed.
        try database.write { db in
            if storedRoot == nil {
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('root', ?)", arguments: [tree[root].hash.displayHex])
            }
            let update = try RowStatement(db, "UPDATE blocks SET height = ?, work = ? WHERE id = ?")
            for i in tree.nodes.indices where tree[i].root == root {
                let height = rootHeight + tree[i].depth
                if stored[i].height != height {
                    stored[i].height = height
                    try update.run { $0.int(height); $0.work(tree[i].chainWork); $0.int(stored[i].id) }
                }
            }
            for i in tree.nodes.indices {
                let inherited = tree[i].hasInvalidAncestor && tree[i].invalidReason == nil
                if inherited && stored[i].invalidReason == nil {
                    try markInvalid(db, stored[i], reason: Self.invalidAncestor, detail: "an ancestor is invalid")
                    stored[i].invalidReason = Self.invalidAncestor
                } else if !inherited && stored[i].invalidReason == Self.invalidAncestor {
                    try db.execute(sql: "UPDATE blocks SET invalid_reason = NULL, invalid_detail = NULL WHERE id = ?", arguments: [stored[i].id])
                    stored[i].invalidReason = nil
                }
            }
        }
        // The current tip: the highest block connected by earlier runs.
        let tip = tree.nodes.indices.filter { stored[$0].inBest }.max { stored[$0].height! < stored[$1].height! }
        timings.add("link blocks, heights and work", Double(monotonicNanoseconds() - linkStart) / 1e9)
        // An initial load (nothing connected yet, from a genesis block) keeps the whole UTXO
        // set in memory and builds the secondary indexes once at the end.
        let bulk = try tip == nil && fromGenesis && database.read { db in try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM transactions") == 0 }
        try activateBestChain(folder, tree: &tree, stored: &stored, root: root, tip: tip, fromGenesis: fromGenesis, bulk: bulk,
                              network: network, report: &report)
    }
}
