import Foundation
import Testing
import GRDB
import TestFixtures
import BitcoinWire
import BlockFile
import ChainIndex
import Export
@testable import DatasetExport

/// Indexes `paths` into a fresh on-disk index; returns it and its folder (removed by the caller).
func indexed(_ paths: [URL], into existing: (DatabasePool, URL)? = nil) throws -> (DatabasePool, URL) {
    let (pool, folder) = try existing ?? {
        let folder = Fixtures.temporaryFolder()
        return (try ChainIndexer.open(path: folder.appendingPathComponent("index.sqlite").path), folder)
    }()
    try ChainIndexer(database: pool).index(BlocksFolder(paths: paths.map(\.path)))
    return (pool, folder)
}

/// Exports `pool` into `directory`.
@discardableResult
func export(_ pool: DatabasePool, to directory: URL, cacheCapacity: Int? = nil, workers: Int? = nil,
            _ configure: (inout ExportOptions) -> Void = { _ in }) throws -> ExportReport {
    var options = ExportOptions(directory: directory.path)
    configure(&options)
    let exporter = DatasetExporter(queries: try IndexQueries(pool), options: options)
    if let cacheCapacity { exporter.cacheCapacity = cacheCapacity }
    if let workers { exporter.workers = workers }
    return try exporter.run()
}

/// The partitions of `table` in `directory`, in order, and their files' lines.
func partitions(_ directory: URL, _ table: String) throws -> [(name: String, lines: [String])] {
    let root = directory.appendingPathComponent(table).path
    var found = [(String, [String])]()
    let fm = FileManager.default
    for start in try fm.contentsOfDirectory(atPath: root).sorted() {
        for end in try fm.contentsOfDirectory(atPath: root + "/" + start).sorted() {
            let files = try fm.contentsOfDirectory(atPath: root + "/" + start + "/" + end)
            #expect(files.count == 1, "\(start)/\(end) holds \(files)")
            for file in files {
                let text = try String(contentsOfFile: root + "/" + start + "/" + end + "/" + file, encoding: .utf8)
                found.append(("\(start)/\(end)/\(file)", text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)))
            }
        }
    }
    return found
}

func lines(_ directory: URL, _ table: String) throws -> [String] { try partitions(directory, table).flatMap(\.lines) }

func object(_ line: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

@Suite struct DatasetExportTests {
    /// Mainnet's first 590 blocks: every row, the first payment enriched from the index, manifests.
    @Test func mainnetBlocks() throws {
        let (pool, folder) = try indexed([Fixtures.url("blocks/mainnet-000000-000589.blk")])
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("export")
        let report = try export(pool, to: out) { $0.partitionBlocks = 100 }
        #expect(report.written == 12 && report.unchanged == 0 && report.blocks == 590 && report.first == 0 && report.last == 589)
        let blockParts = try partitions(out, "blocks")
        #expect(blockParts.map(\.name).first == "start_block=00000000/end_block=00000099/blocks_00000000_00000099.json")
        #expect(blockParts.map(\.name).last == "start_block=00000500/end_block=00000589/blocks_00000500_00000589.json")
        let blocks = try lines(out, "blocks").map(object)
        #expect(blocks.map { $0["number"] as? Int } == Array(0...589))
        #expect(blocks[170]["hash"] as? String == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee")
        let transactions = try lines(out, "transactions").map(object)
        #expect(transactions.count == blocks.reduce(0) { $0 + ($1["transaction_count"] as! Int) })
        let payment = try #require(transactions.first { $0["hash"] as? String == "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" })
        let input = try #require((payment["inputs"] as? [[String: Any]])?.first)
        #expect(input["value"] as? Int64 == 5_000_000_000 && input["type"] as? String == "pubkey")
        #expect(input["addresses"] as? [String] == ["12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"] && input["required_signatures"] as? Int == 1)
        #expect(payment["fee"] as? Int == 0 && payment["input_value"] as? Int64 == 5_000_000_000 && payment["block_number"] as? Int == 170)
        // Every input's value is the value of the output it names.
        var outputs = [String: Int64]()
        for tx in transactions {
            for o in tx["outputs"] as! [[String: Any]] { outputs["\(tx["hash"]!):\(o["index"]!)"] = o["value"] as? Int64 }
            for i in tx["inputs"] as! [[String: Any]] {
                #expect(outputs["\(i["spent_transaction_hash"]!):\(i["spent_output_index"]!)"] == i["value"] as? Int64)
            }
        }
        // Manifests: the rows and sums of their files.
        let manifest = try #require(Manifest.read(out.appendingPathComponent("_manifests/transactions/transactions_00000100_00000199.json").path))
        let inPartition = transactions.filter { (100...199).contains($0["block_number"] as! Int) }
        #expect(manifest.rows == Int64(inPartition.count) && manifest.lastBlockHash == blocks[199]["hash"] as? String)
        #expect(manifest.sums["output_value"] == Decimal(inPartition.reduce(Int64(0)) { $0 + ($1["output_value"] as! Int64) }))
        #expect(manifest.sums["coinbase_transactions"] == 100 && manifest.gzip == false)
        let size = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(manifest.file).path)[.size] as? Int
        #expect(size == manifest.bytes)

        // A second run finds every partition as the index has it and writes nothing.
        let again = try export(pool, to: out) { $0.partitionBlocks = 100 }
        #expect(again.written == 0 && again.unchanged == 12 && again.removed == 0)
        // gzip: every file again, compressed; the plain ones go.
        let gzipped = try export(pool, to: out) { $0.partitionBlocks = 100; $0.gzip = true }
        #expect(gzipped.written == 12)
        let names = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".json") && !$0.hasPrefix("_") }
        #expect(names.isEmpty, "plain files left: \(names)")
    }

    /// The cache of unspent outputs is an optimization: a tiny one (every miss asks the index
    /// and reads the blk file) and an export that starts half way give the same rows.
    @Test func smallCacheAndLaterStartGiveTheSameRows() throws {
        let (pool, folder) = try indexed([Fixtures.url("spend-chain/spend-2000.blk")])
        defer { try? FileManager.default.removeItem(at: folder) }
        let full = folder.appendingPathComponent("full"), small = folder.appendingPathComponent("small")
        let partial = folder.appendingPathComponent("partial")
        try export(pool, to: full) { $0.partitionBlocks = 500 }
        try export(pool, to: small, cacheCapacity: 20, workers: 1) { $0.partitionBlocks = 500 }
        try export(pool, to: partial) { $0.partitionBlocks = 300; $0.from = 1234; $0.to = 1789 }
        let fullTransactions = try lines(full, "transactions")
        #expect(try lines(small, "transactions") == fullTransactions)
        #expect(try lines(small, "blocks") == lines(full, "blocks"))
        let partialTransactions = try lines(partial, "transactions")
        #expect(partialTransactions == fullTransactions.filter { (1234...1789).contains(try! object($0)["block_number"] as! Int) })
        #expect(try partitions(partial, "blocks").map(\.name) == [
            "start_block=00001234/end_block=00001499/blocks_00001234_00001499.json",
            "start_block=00001500/end_block=00001789/blocks_00001500_00001789.json"])

        // Against the generator's ground truth.
        let ledger = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("spend-chain/spend-2000.ledger.json"))) as? [String: Any])
        let rows = try fullTransactions.map(object)
        #expect(rows.count == ledger["transactions"] as? Int)
        // The ledger counts coinbase inputs; the dataset does not.
        #expect(rows.reduce(0) { $0 + ($1["input_count"] as! Int) } + 2000 == ledger["inputs"] as? Int)
        #expect(rows.reduce(0) { $0 + ($1["output_count"] as! Int) } == ledger["outputs"] as? Int)
        #expect(rows.reduce(Int64(0)) { $0 + ($1["fee"] as! Int64) } == ledger["fees"] as? Int64)
        #expect(rows.allSatisfy { ($0["is_coinbase"] as! Bool) ? ($0["inputs"] as! [Any]).isEmpty : ($0["fee"] as! Int64) > 0 })
        let types = rows.flatMap { ($0["outputs"] as! [[String: Any]]).map { $0["type"] as! String } }
        #expect(Set(types) == ["pubkeyhash", "scripthash", "pubkey", "witness_v0_keyhash", "witness_v1_taproot", "witness_v0_scripthash", "multisig", "nonstandard"])
    }

    /// A heavier branch replaces the last blocks: a re-run rewrites the partitions that
    /// changed, leaves the others, and removes what is no longer the best chain.
    @Test func reorganizationRewritesTheLastPartitions() throws {
        let g = Miner.block(after: .zero, time: 1_600_000_000, [Miner.coinbase(height: 0, tag: 0, to: 1)])
        let main = Miner.chain(after: g.hash, heights: 1...125, to: 2)
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let blocks = folder.appendingPathComponent("blocks")
        try FileManager.default.createDirectory(at: blocks, withIntermediateDirectories: true)
        Miner.write([g] + main, to: blocks, file: 0)
        let (pool, _) = try indexed([blocks], into: (try ChainIndexer.open(path: folder.appendingPathComponent("index.sqlite").path), folder))
        let out = folder.appendingPathComponent("export")
        #expect(try export(pool, to: out) { $0.partitionBlocks = 50 }.written == 6)
        let before = try partitions(out, "blocks")
        #expect(before.map(\.name).last == "start_block=00000100/end_block=00000125/blocks_00000100_00000125.json")

        // A branch from height 110 that ends two blocks higher.
        let branch = Miner.chain(after: main[108].hash, heights: 110...127, to: 3, tag: 1)
        Miner.write(branch, to: blocks, file: 1)
        _ = try indexed([blocks], into: (pool, folder))
        let report = try export(pool, to: out) { $0.partitionBlocks = 50 }
        #expect(report.written == 2 && report.unchanged == 4 && report.removed == 2)
        let after = try partitions(out, "blocks")
        #expect(after.map(\.name) == before.map(\.name).dropLast() + ["start_block=00000100/end_block=00000127/blocks_00000100_00000127.json"])
        #expect(Array(after.prefix(2).map(\.lines)) == Array(before.prefix(2).map(\.lines)))
        let last = try after.last!.lines.map(object)
        #expect(last.map { $0["hash"] as? String } == main[99...108].map(\.hash.displayHex) + branch.map(\.hash.displayHex))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("_manifests/blocks/blocks_00000100_00000127.json").path))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("_manifests/blocks/blocks_00000100_00000125.json").path))
    }

    /// blk files changed after indexing: the export stops, naming the block, and what an
    /// earlier run wrote stays whole.
    @Test func changedBlockFilesStopTheExport() throws {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let blk = folder.appendingPathComponent("blk00000.dat")
        try FileManager.default.copyItem(at: Fixtures.url("blocks/mainnet-000000-000009.blk"), to: blk)
        let (pool, _) = try indexed([blk], into: (try ChainIndexer.open(path: folder.appendingPathComponent("index.sqlite").path), folder))
        let out = folder.appendingPathComponent("export")
        try export(pool, to: out)
        let written = try lines(out, "transactions")

        // A byte inside block 5's coinbase output: still a block, not the one indexed.
        let frames = Fixtures.blocks("blocks/mainnet-000000-000009.blk")
        var bytes = try [UInt8](Data(contentsOf: blk))
        bytes[frames[5].offset + 8 + frames[5].bytes.count - 20] ^= 0x40
        try Data(bytes).write(to: blk)
        // The partition is as the index has it (same last block), so a re-run reads nothing.
        #expect(try export(pool, to: out).unchanged == 2)
        // Asked to write it again (compressed), it reads the blocks and stops at block 5.
        let error = #expect(throws: ExportError.self) { try export(pool, to: out) { $0.gzip = true } }
        #expect(error?.description.contains("no longer holds block 5") == true)
        #expect(try lines(out, "transactions") == written)
        // Its manifest went when that run began, so the next writes the same file again:
        // stopped part way, the old file stays whole under its name.
        #expect(throws: ExportError.self) { try export(pool, to: out) }
        #expect(try lines(out, "transactions") == written)
        // Different partitions: the new ones that were complete go with the run, the old stay.
        #expect(throws: ExportError.self) { try export(pool, to: out) { $0.partitionBlocks = 3 } }
        #expect(try partitions(out, "transactions").map(\.name) == ["start_block=00000000/end_block=00000009/transactions_00000000_00000009.json"])
        #expect(try lines(out, "transactions") == written)
        // No manifest for a partition that is not there (the one of 0-9 went when the gzip run
        // began rewriting it, so the next run rewrites it).
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("_manifests/transactions").path).isEmpty)
        // Gone altogether.
        try Data(bytes.prefix(frames[3].offset)).write(to: blk)
        let gone = #expect(throws: ExportError.self) { try export(pool, to: folder.appendingPathComponent("other")) }
        #expect(gone?.description.contains("block 3") == true)
    }

    @Test func badOptionsAreRefused() throws {
        let (pool, folder) = try indexed([Fixtures.url("blocks/mainnet-000000-000009.blk")])
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("export")
        let cases: [(String, (inout ExportOptions) -> Void)] = [
            ("--partition-blocks must be between", { $0.partitionBlocks = 0 }),
            ("--partition-blocks must be between", { $0.partitionBlocks = .max }),
            ("--from must be a height", { $0.from = -1 }),
            ("above the best chain's tip, height 9", { $0.from = 10 }),
            ("above the best chain's tip, height 9", { $0.from = .max }),
            ("--to 2 is below --from 3", { $0.from = 3; $0.to = 2 }),
            ("no tables", { $0.tables = [] }),
        ]
        for (message, configure) in cases {
            let error = #expect(throws: ExportError.self) { try export(pool, to: out, configure) }
            #expect(error?.description.contains(message) == true, "\(error?.description ?? "no error")")
        }
        // --to past the tip stops at the tip.
        #expect(try export(pool, to: out) { $0.to = .max }.last == 9)
        // The output folder is a file.
        let file = folder.appendingPathComponent("a-file")
        FileManager.default.createFile(atPath: file.path, contents: Data())
        #expect(throws: ExportError.self) { try export(pool, to: file) }
        // An empty index.
        let empty = folder.appendingPathComponent("empty.sqlite")
        let error = #expect(throws: ExportError.self) { try export(ChainIndexer.open(path: empty.path), to: out) }
        #expect(error?.description.contains("the index has no blocks") == true)
    }

    @Test func oneExportAtATimePerFolder() throws {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lock = try FolderLock(folder.path + "/.blocksmith-export.lock")
        let (pool, _) = try indexed([Fixtures.url("blocks/mainnet-000000-000009.blk")])
        let error = #expect(throws: ExportError.self) { try export(pool, to: folder) }
        #expect(error?.description.contains("another export is writing") == true)
        lock.release()
        #expect(try export(pool, to: folder).written == 2)
    }

    @Test(arguments: [
        (Int64(0), Int64(0), Int64(10), [Partition(start: 0, end: 0)]),
        (0, 25, 10, [Partition(start: 0, end: 9), Partition(start: 10, end: 19), Partition(start: 20, end: 25)]),
        (15, 15, 10, [Partition(start: 15, end: 15)]),
        (9, 10, 10, [Partition(start: 9, end: 9), Partition(start: 10, end: 10)]),
        (3, 7, 1, (3...7).map { Partition(start: $0, end: $0) }),
        (5, 900_000, 1_000_000, [Partition(start: 5, end: 900_000)]),
    ])
    func partitionPlan(from: Int64, to: Int64, size: Int64, expected: [Partition]) {
        #expect(Partition.plan(from: from, to: to, size: size) == expected)
    }

    @Test func partitionNames() {
        let p = Partition(start: 110_000, end: 119_340)
        #expect(p.file(.transactions, gzip: true) == "transactions/start_block=00110000/end_block=00119340/transactions_00110000_00119340.json.gz")
        #expect(p.manifest(.blocks) == "_manifests/blocks/blocks_00110000_00119340.json")
        #expect(Partition(start: 123_456_789, end: 123_456_790).folder(.blocks) == "blocks/start_block=123456789/end_block=123456790")
    }
}
