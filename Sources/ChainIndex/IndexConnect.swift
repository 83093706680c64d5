import Foundation
import GRDB
import BitcoinWire
import BlockFile
import Validation

extension ChainIndexer {
    /// Core's ActivateBestChain: moves to the best valid tip of the root's tree, disconnecting
    /// down to the fork first on a reorganization; when a block on the way turns out invalid,
    /// marks it (and what builds on it) and chooses again.
    func activateBestChain(_ folder: BlocksFolder, tree: inout BlockTree, stored: inout [Stored], root: Int, tip start: Int?,
                           fromGenesis: Bool, bulk: Bool, network: ChainParameters, report: inout IndexReport) throws {
        var tip = start
        let memory = self.memory
        var connector = try database.writeWithoutTransaction { db in
            // Otherwise lookups go to SQLite: an interrupted load's indexes are built first.
            if bulk { try db.inTransaction { try Schema.deferIndexes(db); return .commit } } else { try restoreIndexes(db) }
            try db.execute(sql: "PRAGMA cache_size = -\(max(1024, memory.sqlite >> 10))")
            let lookups = try Lookups.openSeparate(db, cacheKiB: max(256, memory.lookups >> 10)) ?? Lookups.onWriter(db)
            // With lookups of their own, checkpoints run on a thread of their own after each commit.
            // Index builds sort in temporary files, not in memory (mainnet's tables are larger
            // than any memory).
            let checkpointer = lookups.separate ? Lookups.openCheckpointer(db) : nil
            if checkpointer != nil { try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
            try db.execute(sql: "PRAGMA temp_store = FILE")
            var connector = try Connector(db, network: network, fromGenesis: fromGenesis, complete: bulk, lookups: lookups, memory: memory)
            connector.checkpointer = checkpointer
            if let coinCapacity {
                connector.coins.capacity = coinCapacity
                connector.addresses.capacity = coinCapacity
                connector.spentCapacity = coinCapacity
                connector.pendingCapacity = coinCapacity
            }
            return connector
        }
        defer {
            try? database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 1000; PRAGMA temp_store = MEMORY") }
        }
        state.phase = "connecting"
        state.blocks = 0
        while let target = tree.bestTip(inTreeOf: root), target != tip {
            let (stale, fresh) = tree.path(from: tip, to: target)
            state.blocksTotal = state.blocks + stale.count + fresh.count
            state.connectBytesTotal = state.connectedBytes + fresh.reduce(0) { $0 + stored[$1].size }
            // Undoing blocks needs the indexes, and leaves the caches behind the database.
            if !stale.isEmpty { try database.writeWithoutTransaction { db in try restoreIndexes(db) } }
            for batch in stride(from: 0, to: stale.count, by: batchSize) {
                let part = stale[batch..<min(batch + batchSize, stale.count)]
                try database.write { db in
                    for i in part { try disconnect(db, stored[i]) }
                }
                for i in part { stored[i].inBest = false }
                tip = tree[part.last!].parent
                report.disconnected += part.count
                state.blocks += part.count
                try committedBatch()
            }
            if !stale.isEmpty { try database.writeWithoutTransaction { db in try connector.forget(db) } }
            try measure("connect blocks (decoded on 2 threads)") {
                try connect(fresh, folder: folder, tree: &tree, stored: &stored, tip: &tip, connector: &connector, report: &report)
            }
        }
        try database.writeWithoutTransaction { db in
            try restoreIndexes(db)
            let state = try linkState(db, orphans: report.orphans)
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('linked', ?)", arguments: [state])
        }
        let lookups = connector.lookups
        timings.add("  of which, in UTXO rules and rows: lookups in SQLite (\(lookups.coins) coins, \(lookups.txids) txids, \(lookups.addressIDs) addresses)",
                    Double(lookups.nanoseconds) / 1e9)
        for step in connector.writes.times.steps {
            let name = step.name.trimmingCharacters(in: .whitespaces)
            timings.add("  writer thread: " + (name == "commit" ? "\(connector.commits) commits" : name), step.seconds)
        }
        if let seconds = connector.checkpointer?.finish() { timings.add("  checkpoint thread: checkpoints", seconds) }
        if let tip {
            report.tipHash = tree[tip].hash
            report.tipHeight = stored[tip].height
        }
        openFiles.removeAll()
    }

    /// Connects `fresh` (a path up from the tip) block by block until one is invalid.
    /// Blocks are read and decoded on two threads, a window ahead of the writer (the window
    /// holds about `readAheadBytes` of the largest of them); the writer checks each against the
    /// UTXO set and writes batches of `batchSize` blocks or `batchRows` rows.
    func connect(_ fresh: [Int], folder: BlocksFolder, tree: inout BlockTree, stored: inout [Stored], tip: inout Int?,
                 connector: inout Connector, report: inout IndexReport) throws {
        guard !fresh.isEmpty else { return }
        let largest = fresh.map { stored[$0].size }.max() ?? 1
        let window = min(256, max(4, readAheadBytes / max(largest, 1)))
        let network = connector.network
        let key = folder.xorKey
        var next = 0
        var produceError: (any Error)?
        let items = fresh.map { (node: $0, file: stored[$0].file, offset: stored[$0].offset, size: stored[$0].size) }
        var readSinceRelease = 0
        try database.writeWithoutTransaction { db in
            // Rows are written every `writeBlocks` blocks or `batchRows` rows (bounding the
            // memory they take), and committed every `batchSize` blocks or `commitRows` rows:
            // each commit rewrites every page its transaction touched, so fewer, larger
            // commits write far less.
            // A commit is asked for, and happens once the writer thread has written its rows
            // (at the next `flush`, or when `commit` waits): the blocks in it count as
            // connected from then on.
            var written = [Int](), committing = [Int]()
            func committed() throws {
                guard !committing.isEmpty, !connector.commitInFlight else { return }
                for i in committing { stored[i].inBest = true }
                tip = committing.last ?? tip
                report.connected += committing.count
                committing.removeAll()
                try committedBatch()
            }
            func write() throws {
                let blocks = connector.batch.blocks.count
                guard blocks > 0 else { return }
                try measure("  handing rows to the writer (waiting for it)") { try connector.flush(db) }
                try committed()
                state.blocks += blocks
                progress(state)
            }
            func commit(wait: Bool) throws {
                try write()
                try measure("  handing rows to the writer (waiting for it)") { try connector.finishCommit(db) }
                try committed()
                // (It waits for the writer thread before it looks at the connection.)
                try measure("  handing rows to the writer (waiting for it)") { try connector.requestCommit(db) }
                guard connector.commitInFlight else { return }
                committing = written
                written.removeAll()
                if wait || !connector.canWriteInBackground {
                    try measure("  handing rows to the writer (waiting for it)") { try connector.finishCommit(db) }
                    try committed()
                }
            }
            do {
                try orderedParallelMap(
                    workers: 2, window: window,
                    produce: { () -> (node: Int, file: MappedFile, offset: Int)? in
                        guard produceError == nil, next < items.count else { return nil }
                        let item = items[next]
                        next += 1
                        // Each block is copied out of its file's mapping when read: every
                        // 64 MB read, the mapped pages leave memory (they come back from the
                        // page cache if touched again), so resident memory does not grow with
                        // the files.
                        readSinceRelease += item.size
                        if readSinceRelease >= 64 << 20 {
                            for file in self.openFiles.values { file.release(0..<file.bytes.count) }
                            readSinceRelease = 0
                        }
                        do { return (item.node, try self.openFile(folder, item.file), item.offset) } catch {
                            produceError = error
                            return nil
                        }
                    },
                    transform: { item in
                        Result {
                            let (block, offsets) = try Self.readBlock(in: item.file, key: key, at: item.offset)
                            return PreparedBlock(node: item.node, block: block, offsets: offsets, network: network)
                        }
                    },
                    consume: { result in
                        let prepared = try result.get()
                        let i = prepared.node
                        if let failure = try measure("  UTXO rules and rows", { try connector.connect(prepared, id: stored[i].id, height: stored[i].height!) }) {
                            try commit(wait: true)
                            let invalid = InvalidBlock(hash: tree[i].hash, file: stored[i].file, offset: stored[i].offset,
                                                       rule: failure.rule, detail: failure.detail)
                            report.invalid.append(invalid)
                            warn(invalid.description)
                            stored[i].invalidReason = failure.rule
                            let descendants = tree.markInvalid(i, reason: failure.rule)
                            try db.inTransaction {
                                try markInvalid(db, stored[i], reason: failure.rule, detail: failure.detail)
                                for j in descendants where stored[j].invalidReason == nil {
                                    try markInvalid(db, stored[j], reason: Self.invalidAncestor, detail: "an ancestor is invalid")
                                    stored[j].invalidReason = Self.invalidAncestor
                                }
                                return .commit
                            }
                            return false
                        }
                        written.append(i)
                        state.transactions += prepared.block.transactions.count
                        state.connectedBytes += stored[i].size
                        if connector.batch.blocks.count >= writeBlocks || connector.batch.rows >= batchRows { try write() }
                        if written.count >= batchSize || connector.rowsSinceCommit >= commitRows || connector.needsCommit { try commit(wait: false) }
                        if connector.needsTrim {
                            // The caches drop only what is committed: the lookups see nothing else.
                            try commit(wait: true)
                            try measure("  trimming the caches") { try trimCaches(db, &connector) }
                        }
                        return true
                    })
                try commit(wait: true)
            } catch {
                try? connector.writes.wait()
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
        }
        if let produceError { throw produceError }
    }

    /// Trims the connector's caches after a commit. Misses then go to the database by txid,
    /// so an initial load builds that index now (the others wait for its end).
    func trimCaches(_ db: Database, _ connector: inout Connector) throws {
        if try Schema.indexesDeferred(db), try !Schema.lookupIndexesBuilt(db) {
            try buildIndexes(db, phase: "building the txid index", Schema.buildLookupIndexes)
        }
        connector.trim()
    }

    /// Builds the indexes an initial load deferred, if any are missing.
    func restoreIndexes(_ db: Database) throws {
        guard try Schema.indexesDeferred(db) else { return }
        try buildIndexes(db, phase: "building indexes", Schema.restoreIndexes)
    }

    /// Runs `build` in a savepoint of its own under its progress phase, then goes back to connecting.
    private func buildIndexes(_ db: Database, phase: String, _ build: (Database) throws -> Void) throws {
        state.phase = phase
        progress(state)
        try measure("build deferred indexes") {
            try db.inSavepoint {
                try build(db)
                return .commit
            }
        }
        state.phase = "connecting"
    }
}
