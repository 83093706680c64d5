#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
package import ChainIndex
package import Export
import BitcoinWire
import BitcoinScript
import BlockFile

/// What to export (`blocksmith export`).
package struct ExportOptions: Sendable {
    package var directory: String
    package var from: Int64 = 0
    /// The last height; nil for the tip.
    package var to: Int64?
    package var tables: [CryptoBitcoin.Table] = CryptoBitcoin.Table.allCases
    package var partitionBlocks: Int64 = 10_000
    package var gzip = false

    package init(directory: String) { self.directory = directory }
}

/// What an export did.
package struct ExportReport: Sendable {
    package var first: Int64 = 0, last: Int64 = -1
    /// Partition files written, and those whose manifest matched the index (left alone).
    package var written = 0, unchanged = 0
    /// Partition folders removed: replaced by a partition of other bounds (the chain grew,
    /// or a reorganization shortened it) or beyond the tip.
    package var removed = 0
    package var blocks: Int64 = 0, transactions: Int64 = 0
    package var bytes = 0
}

/// How far an export is, for a progress display.
package struct ExportProgress: Sendable {
    package var height: Int64 = 0, last: Int64 = 0
    package var blocksDone: Int64 = 0, blocksToDo: Int64 = 0
    package var transactions: Int64 = 0
    package var bytes = 0
}

/// Why an export stopped.
package struct ExportError: Error, CustomStringConvertible, Sendable {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// Writes the index's best chain as BigQuery's `crypto_bitcoin` tables (`CryptoBitcoin`),
/// one partition of `partitionBlocks` blocks at a time.
///
/// Blocks are read back from their blk files (each checked against the hash and merkle root
/// the index recorded), rendered on `workers` threads, and finished in chain order on the
/// calling thread, which knows what each input spends: the outputs of the blocks exported so
/// far, held in a bounded cache (`UnspentCache`), else the index and the blk files. Memory
/// stays bounded by the cache, the blocks in flight and one megabyte per open file.
package final class DatasetExporter {
    let queries: IndexQueries
    let options: ExportOptions
    package var progress: (ExportProgress) -> Void = { _ in }
    /// Threads rendering blocks (the calling thread finishes them in order).
    package var workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4))
    /// Outputs the cache of unspent outputs holds before it drops the older half.
    package var cacheCapacity = 1_000_000
    /// Blocks read from the index at a time within a partition.
    package var slice: Int64 = 10_000

    package init(queries: IndexQueries, options: ExportOptions) {
        self.queries = queries
        self.options = options
    }

    struct SpentOutput {
        let value: Int64
        /// Its fields before the value (`CryptoBitcoinRenderer.destinationFields`).
        let fields: [UInt8]
    }

    /// - Throws: `ExportError` for bad options, an empty index, or blk files that no longer
    ///   hold what was indexed; `FileError` when the output cannot be written.
    package func run() throws -> ExportReport {
        let options = self.options
        guard options.partitionBlocks >= 1, options.partitionBlocks <= 100_000_000 else {
            throw ExportError("--partition-blocks must be between 1 and 100000000 (got \(options.partitionBlocks))")
        }
        guard options.from >= 0 else { throw ExportError("--from must be a height, 0 or more (got \(options.from))") }
        if let to = options.to, to < options.from { throw ExportError("--to \(to) is below --from \(options.from)") }
        guard !options.tables.isEmpty else { throw ExportError("no tables to export") }
        let directory = options.directory
        try createFolder(directory)
        let lock = try FolderLock(directory + "/.blocksmith-export.lock")
        defer { lock.release() }

        return try queries.read { snapshot in
            guard let tip = try snapshot.tipHeight() else { throw ExportError("the index has no blocks (run blocksmith index first)") }
            guard options.from <= tip else { throw ExportError("--from \(options.from) is above the best chain's tip, height \(tip)") }
            let last = min(options.to ?? tip, tip)
            var report = ExportReport(first: options.from, last: last)
            var state = ExportProgress(height: options.from, last: last, blocksToDo: last - options.from + 1)
            var run = try Run(exporter: self, snapshot: snapshot, cacheCapacity: cacheCapacity)
            defer { run.closeFiles() }
            // Partitions of other bounds that the new ones replace go once the run is complete;
            // if it stops, the new ones that overlap them go instead, so the folder holds
            // either the old rows or the new for every block, never both.
            var replaced = [(Partition, CryptoBitcoin.Table)](), written = [(Partition, CryptoBitcoin.Table)]()
            var succeeded = false
            defer {
                if !succeeded {
                    for (new, table) in written where replaced.contains(where: { $0.1 == table && $0.0.overlaps(new) }) { remove(new, table) }
                }
            }
            for partition in Partition.plan(from: options.from, to: last, size: options.partitionBlocks) {
                guard let lastHash = try snapshot.bestHash(at: partition.end) else {
                    throw ExportError("the index's best chain has no block at height \(partition.end)")
                }
                let stale = options.tables.filter { !isCurrent(partition, $0, lastHash: lastHash) }
                if stale.isEmpty {
                    report.unchanged += options.tables.count
                    state.blocksDone += partition.end - partition.start + 1
                    state.height = partition.end
                    progress(state)
                    continue
                }
                report.unchanged += options.tables.count - stale.count
                for table in stale {
                    for old in Partition.existing(in: directory, table: table) where old != partition && old.overlaps(partition)
                        && !replaced.contains(where: { $0.0 == old && $0.1 == table }) {
                        replaced.append((old, table))
                    }
                }
                try run.write(partition, tables: stale, lastHash: lastHash, report: &report, progress: &state)
                written += stale.map { (partition, $0) }
            }
            for (old, table) in replaced {
                remove(old, table)
                report.removed += 1
            }
            // A chain that got shorter (a reorganization to fewer, heavier blocks) leaves
            // partitions above the tip: they are no longer the best chain.
            if options.to == nil || options.to! > tip {
                for table in options.tables {
                    for old in Partition.existing(in: directory, table: table) where old.start > tip {
                        remove(old, table)
                        report.removed += 1
                    }
                }
            }
            succeeded = true
            return report
        }
    }

    /// Whether a partition's file is as the index says it should be: its manifest names the
    /// same range, last block, format and compression, and the file is there, whole.
    func isCurrent(_ partition: Partition, _ table: CryptoBitcoin.Table, lastHash: BlockHash) -> Bool {
        let directory = options.directory
        guard let manifest = Manifest.read(directory + "/" + partition.manifest(table)) else { return false }
        let file = partition.file(table, gzip: options.gzip)
        guard manifest.format == Manifest.currentFormat, manifest.table == table.rawValue, manifest.startBlock == partition.start,
              manifest.endBlock == partition.end, manifest.lastBlockHash == lastHash.displayHex, manifest.gzip == options.gzip,
              manifest.file == file else { return false }
        var info = stat()
        return stat(directory + "/" + file, &info) == 0 && Int(info.st_size) == manifest.bytes
    }

    func remove(_ partition: Partition, _ table: CryptoBitcoin.Table) {
        let fm = FileManager.default
        try? fm.removeItem(atPath: options.directory + "/" + partition.manifest(table))
        let folder = options.directory + "/" + partition.folder(table)
        try? fm.removeItem(atPath: folder)
        // The start_block= folder, if that was its last partition.
        let parent = (folder as NSString).deletingLastPathComponent
        if (try? fm.contentsOfDirectory(atPath: parent))?.isEmpty == true { try? fm.removeItem(atPath: parent) }
    }
}

/// One export's state while it walks the chain: the unspent outputs seen, open blk files, the
/// renderer for spent outputs the cache misses.
private struct Run {
    let exporter: DatasetExporter
    let snapshot: IndexSnapshot
    var cache: UnspentCache<DatasetExporter.SpentOutput>
    var renderer: CryptoBitcoinRenderer
    /// The worker threads' renderers, kept from chunk to chunk (each remembers addresses).
    let renderers: RendererPool
    let paths: [String: String]
    let key: [UInt8]?
    var files = [String: Int32]()
    /// The next height the cache has seen every output below (it is complete from genesis).
    var nextHeight: Int64 = 0
    /// What each input of the transaction being finished spends (nil: unknown).
    var resolved = [DatasetExporter.SpentOutput?]()
    /// Block bytes per chunk a worker renders (rows take about six times as much).
    static let chunkBytes = 1 << 18

    init(exporter: DatasetExporter, snapshot: IndexSnapshot, cacheCapacity: Int) throws {
        self.exporter = exporter
        self.snapshot = snapshot
        cache = UnspentCache(complete: true, capacity: cacheCapacity)
        renderer = CryptoBitcoinRenderer(network: snapshot.network)
        renderers = RendererPool(network: snapshot.network)
        let files = try snapshot.blockFiles()
        paths = files.paths
        key = files.xorKey
    }

    mutating func closeFiles() {
        for fd in files.values { close(fd) }
        files.removeAll()
    }

    /// Writes `tables` for `partition`: the files under temporary names, renamed into place
    /// when complete, then their manifests.
    mutating func write(_ partition: Partition, tables: [CryptoBitcoin.Table], lastHash: BlockHash,
                        report: inout ExportReport, progress: inout ExportProgress) throws {
        let options = exporter.options
        let directory = options.directory
        var outputs = [CryptoBitcoin.Table: TableFile]()
        defer {
            // Cut off: the temporary files go, and the partition's folders if nothing else is in them.
            for (table, file) in outputs {
                file.discard()
                let folder = directory + "/" + partition.folder(table)
                let start = (folder as NSString).deletingLastPathComponent
                for path in [folder, start, (start as NSString).deletingLastPathComponent] { rmdir(path) }
            }
        }
        for table in tables {
            // The old manifest goes first: a run cut off from here on leaves no manifest, so the
            // next run rewrites the partition.
            unlink(directory + "/" + partition.manifest(table))
            let folder = directory + "/" + partition.folder(table)
            try createFolder(folder)
            // Temporary files of a run that was killed (this run holds the folder's lock).
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
                unlink(folder + "/" + name)
            }
            outputs[table] = try TableFile(path: directory + "/" + partition.file(table, gzip: options.gzip), gzip: options.gzip)
        }
        // Outputs spent in this partition may come from blocks the cache has not seen (an
        // export that starts above genesis, or skipped unchanged partitions).
        if partition.start != nextHeight { cache.complete = false }
        var sums = Sums()
        var height = partition.start
        while height <= partition.end {
            let end = min(partition.end, height + exporter.slice - 1)
            let blocks = try snapshot.bestChain(from: height, to: end)
            guard blocks.count == Int(end - height + 1) else {
                throw ExportError("the index's best chain has \(blocks.count) blocks between heights \(height) and \(end), not \(end - height + 1)")
            }
            try openFiles(for: blocks)
            try render(blocks, into: outputs, sums: &sums, progress: &progress)
            height = end + 1
        }
        nextHeight = partition.end + 1
        for table in tables {
            guard let file = outputs[table] else { continue }
            try file.commit()
            outputs[table] = nil
            let manifest = Manifest(format: Manifest.currentFormat, table: table.rawValue, startBlock: partition.start, endBlock: partition.end,
                                    lastBlockHash: lastHash.displayHex, file: partition.file(table, gzip: options.gzip),
                                    bytes: file.bytesOut, gzip: options.gzip, rows: file.rows, sums: sums.manifestSums(table))
            // The other compression's file of the same partition, if an earlier run wrote it.
            unlink(directory + "/" + partition.file(table, gzip: !options.gzip))
            try createFolder(directory + "/" + (partition.manifest(table) as NSString).deletingLastPathComponent)
            let manifestFile = try OutputFile(path: directory + "/" + partition.manifest(table))
            try manifest.encoded().withUnsafeBytes { try manifestFile.write($0) }
            try manifestFile.commit()
            report.written += 1
            report.bytes += file.bytesOut
        }
        report.blocks += partition.end - partition.start + 1
        report.transactions += Int64(truncatingIfNeeded: sums.rows)
    }

    /// Opens the blk files `blocks` are in (and closes the others).
    mutating func openFiles(for blocks: [StoredBlock]) throws {
        let needed = Set(blocks.map(\.file))
        for (name, fd) in files where !needed.contains(name) {
            close(fd)
            files[name] = nil
        }
        for name in needed where files[name] == nil {
            guard let path = paths[name] else {
                throw ExportError("the index does not record where \(name) is (re-run blocksmith index on its folder)")
            }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ExportError("\(path): cannot open (\(String(cString: strerror(errno))))") }
            files[name] = fd
        }
    }

    /// Reads, renders and writes `blocks` (in chain order).
    mutating func render(_ blocks: [StoredBlock], into outputs: [CryptoBitcoin.Table: TableFile], sums: inout Sums,
                         progress: inout ExportProgress) throws {
        // Chunks of blocks for the worker threads: a quarter megabyte each, at most 256 blocks.
        var chunks = [ArraySlice<StoredBlock>]()
        var first = 0, bytes = 0
        for (i, block) in blocks.enumerated() {
            bytes += block.size
            if bytes >= Run.chunkBytes || i - first >= 255 || i == blocks.count - 1 {
                chunks.append(blocks[first...i])
                first = i + 1
                bytes = 0
            }
        }
        var next = chunks.makeIterator()
        let fds = files, key = key, renderers = renderers
        var failure: (any Error)?
        try orderedParallelMap(workers: exporter.workers, window: 4 * exporter.workers, produce: { next.next() }, transform: { chunk in
            var renderer = renderers.take()
            defer { renderers.put(renderer) }
            return Result { () throws(ExportError) -> RenderedBlocks in
                // Rows take about six times the blocks' bytes.
                var rendered = RenderedBlocks(reusing: renderers.buffer(capacity: 8 * chunk.reduce(0) { $0 + $1.size }))
                for stored in chunk {
                    let bytes = try Run.read(stored, fd: fds[stored.file]!, key: key)
                    let rendering = try? renderer.render(block: bytes, height: stored.height, into: &rendered)
                    guard let (hash, merkleRootMatches) = rendering, hash == stored.hash, merkleRootMatches else {
                        throw ExportError("\(stored.file) at offset \(stored.offset) no longer holds block \(stored.height) (\(stored.hash.displayHex)) as indexed; re-run blocksmith index")
                    }
                }
                return rendered
            }
        }, consume: { result in
            do {
                let rendered = try result.get()
                try finish(rendered, into: outputs, sums: &sums, progress: &progress)
                renderers.recycle(rendered.bytes)
                return true
            } catch {
                failure = error
                return false
            }
        })
        if let failure { throw failure }
    }

    /// Reads a block's bytes back from its blk file (the caller checks they are the block).
    static func read(_ stored: StoredBlock, fd: Int32, key: [UInt8]?) throws(ExportError) -> [UInt8] {
        guard stored.size >= 80, stored.size <= Limits.maxBlockSerializedSize else {
            throw ExportError("block \(stored.height) (\(stored.hash.displayHex)): the index records a size of \(stored.size) bytes")
        }
        guard let bytes = BlockFileFormat.read(fd, at: stored.offset + 8, count: stored.size, key: key) else {
            throw ExportError("\(stored.file): block \(stored.height) (\(stored.hash.displayHex)) is no longer at offset \(stored.offset)")
        }
        return bytes
    }

    /// Completes rendered blocks with what their inputs spend, writes their rows and adds
    /// their outputs to the cache.
    mutating func finish(_ rendered: RenderedBlocks, into outputs: [CryptoBitcoin.Table: TableFile], sums: inout Sums,
                         progress: inout ExportProgress) throws {
        let blocksFile = outputs[.blocks], transactionsFile = outputs[.transactions]
        // The rendered bytes, borrowed once (valid while `rendered` lives).
        let raw = rendered.bytes.bytes
        func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: raw[range]) }
        for block in rendered.blocks {
            if let blocksFile {
                blocksFile.withStaging { $0.append(slice(block.row)) }
                blocksFile.rows += 1
                try blocksFile.flushIfFull()
            }
            sums.transactionCount += Int128(block.transactions.count)
            for t in block.transactions {
                let tx = rendered.transactions[t]
                // What each input spends, first: the totals come before the inputs.
                resolved.removeAll(keepingCapacity: true)
                var inputValue: Int64 = 0, known = true
                for i in tx.inputs {
                    let outpoint = rendered.inputs[i].outpoint
                    if let output = cache.spend(outpoint) {
                        resolved.append(output)
                        inputValue = try add(inputValue, output.value)
                    } else if let output = try snapshot.spentOutput(outpoint, spentAt: block.height, read: { self.read($0, at: $1, count: $2) }) {
                        resolved.append(.init(value: output.value, fields: renderer.destinationFields(Script(output.scriptPubKey))))
                        inputValue = try add(inputValue, output.value)
                    } else {
                        resolved.append(nil)
                        known = false
                    }
                }
                var spendable = [DatasetExporter.SpentOutput?]()
                spendable.reserveCapacity(tx.outputs.count)
                for o in tx.outputs {
                    let output = rendered.outputs[o]
                    spendable.append(output.spendable ? .init(value: output.value, fields: output.fields) : nil)
                }
                cache.add(tx.txid, height: block.height, outputs: spendable)

                sums.rows += 1
                sums.inputCount += Int128(tx.inputs.count)
                sums.outputCount += Int128(tx.outputs.count)
                sums.outputValue += Int128(tx.outputValue)
                if tx.isCoinbase { sums.coinbase += 1 }
                let fee: Int64? = tx.isCoinbase ? 0 : known ? inputValue - tx.outputValue : nil
                if known { sums.inputValue += Int128(inputValue) }
                if let fee { sums.fee += Int128(fee) }
                guard let transactionsFile else { continue }
                let resolved = self.resolved
                transactionsFile.withStaging { out in
                    out.append(slice(tx.head))
                    out.append("\"input_value\":")
                    if known { out.append(decimal: inputValue) } else { out.append("null") }
                    out.append(",\"output_value\":")
                    out.append(decimal: tx.outputValue)
                    out.append(tx.isCoinbase ? ",\"is_coinbase\":true,\"fee\":" : ",\"is_coinbase\":false,\"fee\":")
                    if let fee { out.append(decimal: fee) } else { out.append("null") }
                    out.append(",\"inputs\":[")
                    for (n, i) in tx.inputs.enumerated() {
                        if n > 0 { out.append(",") }
                        out.append(slice(rendered.inputs[i].prefix))
                        if let spent = resolved[n] {
                            out.appendBytes(spent.fields)
                            out.append(decimal: spent.value)
                        } else {
                            out.append(CryptoBitcoinRenderer.unknownSpentFields)
                        }
                        out.append("}")
                    }
                    out.append("]")
                    out.append(slice(tx.tail))
                }
                transactionsFile.rows += 1
                try transactionsFile.flushIfFull()
            }
            progress.height = block.height
            progress.blocksDone += 1
            progress.transactions += Int64(block.transactions.count)
        }
        progress.bytes = outputs.values.reduce(0) { $0 + $1.bytesOut }
        if cache.count > cache.capacity { cache.trim() }
        exporter.progress(progress)
    }

    /// Bytes of a blk file, through the run's open files (a spent output the cache does not hold).
    mutating func read(_ name: String, at offset: Int, count: Int) -> [UInt8]? {
        if files[name] == nil {
            guard let path = paths[name] else { return nil }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            files[name] = fd
        }
        return BlockFileFormat.read(files[name]!, at: offset, count: count, key: key)
    }

    func add(_ total: Int64, _ value: Int64) throws -> Int64 {
        let (sum, overflow) = total.addingReportingOverflow(value)
        guard !overflow else { throw ExportError("input values overflow 64 bits (the blk files are not what was indexed)") }
        return sum
    }
}

/// Renderers for the worker threads, each taken for a chunk and put back, and the buffers
/// rendered chunks are written into, handed back once their rows are written.
final class RendererPool: @unchecked Sendable {  // `free` and `buffers` only under `lock`
    let network: ChainParameters
    let lock = NSLock()
    var free = [CryptoBitcoinRenderer]()
    var buffers = [OutputBuffer]()

    /// A buffer of at least `capacity` bytes.
    func buffer(capacity: Int) -> OutputBuffer {
        lock.lock()
        var buffer = buffers.popLast() ?? OutputBuffer(capacity: capacity)
        lock.unlock()
        buffer.removeAll()
        buffer.reserve(capacity)
        return buffer
    }

    func recycle(_ buffer: OutputBuffer) {
        lock.lock()
        defer { lock.unlock() }
        if buffers.count < 4 { buffers.append(buffer) }
    }

    init(network: ChainParameters) { self.network = network }

    func take() -> CryptoBitcoinRenderer {
        lock.lock()
        defer { lock.unlock() }
        return free.popLast() ?? CryptoBitcoinRenderer(network: network)
    }

    func put(_ renderer: CryptoBitcoinRenderer) {
        lock.lock()
        defer { lock.unlock() }
        free.append(renderer)
    }
}

/// Creates a folder and its parents.
func createFolder(_ path: String) throws {
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
        guard isFolder.boolValue else { throw ExportError("\(path) exists and is not a folder") }
        return
    }
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw ExportError("\(path): cannot create the folder (\(error.localizedDescription))")
    }
}

/// An exclusive lock on a file (flock): one export writes a folder at a time.
struct FolderLock {
    let fd: Int32

    init(_ path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ExportError("\(path): cannot create the lock file (\(String(cString: strerror(errno))))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ExportError("another export is writing \((path as NSString).deletingLastPathComponent)")
        }
    }

    func release() { close(fd) }
}
