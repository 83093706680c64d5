import Foundation
import GRDB
import BitcoinWire
import BlockFile
import Validation

extension ChainIndexer {
    // MARK: reading the files

    func scan(_ folder: BlocksFolder, report: inout IndexReport) throws -> Int {
        state.filesTotal = folder.files.count
        state.bytesTotal = folder.files.reduce(0) { total, path in
            var info = stat()
            return total + (stat(path, &info) == 0 ? Int(info.st_size) : 0)
        }
        var scannedBefore = 0
        var read = 0
        for (f, path) in folder.files.enumerated() {
            let name = String(path.split(separator: "/").last ?? Substring(path))
            let start = try database.read { db in try Int.fetchOne(db, sql: "SELECT data_end FROM files WHERE name = ?", arguments: [name]) } ?? 0
            let file = try MappedFile(path: path, populate: false)
            state.files = f + 1
            var reader = BlockFileReader(file: file, key: folder.xorKey, start: start)
            var released = 0
            // Only header rows wait here (the decoded block is dropped as soon as it is checked).
            var pending = [(frame: BlockFrame, header: BlockHeader, size: Int, weight: Int, txCount: Int, failure: RuleFailure?)]()
            // How far the blocks handed to `consume` reach: the reader itself runs ahead (the
            // pipeline's window), and a resumed run must start after the last block recorded.
            var consumed = start
            func flush(atEnd: Bool = false) throws {
                let end = atEnd ? reader.dataEnd ?? reader.position : consumed
                try database.write { db in
                    if let first = pending.first, try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'network'") == nil {
                        try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('network', ?)", arguments: [first.frame.network.name])
                    }
                    let insert = try RowStatement(db, Self.insertHeader)
                    for row in pending {
                        let h = row.header
                        try insert.run {
                            $0.hash(h.hash); $0.hash(h.previousBlockHash); $0.int(Int64(h.version)); $0.hash(h.merkleRoot); $0.int(Int64(h.time))
                            $0.int(Int64(h.bits)); $0.int(Int64(h.nonce)); $0.int(row.size); $0.int(row.weight); $0.int(row.txCount)
                            $0.text(name); $0.int(row.frame.offset); $0.text(row.failure?.rule); $0.text(row.failure?.detail)
                        }
                    }
                    try db.execute(sql: """
                        INSERT INTO files (name, data_end, path) VALUES (?, ?, ?)
                        ON CONFLICT(name) DO UPDATE SET data_end = excluded.data_end, path = excluded.path
                        """, arguments: [name, end, absolutePath(path)])
                    try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('xor_key', ?)",
                                   arguments: [folder.xorKey.map { Hex.encode($0) } ?? ""])
                }
                read += pending.count
                state.blocks = read
                state.bytes = scannedBefore + reader.position
                pending.removeAll()
                progress(state)
            }
            // Blocks are decoded and checked on two threads, handed back in file order.
            try orderedParallelMap(
                workers: 2, window: 64,
                produce: {
                    // The reader copies each block out; what it has passed can leave memory.
                    if reader.position - released >= 32 << 20 {
                        file.release(released..<reader.position)
                        released = reader.position
                    }
                    return reader.next()
                },
                transform: { event -> (event: BlockFileReader.Event, checked: Checked?) in
                    guard case .block(let frame, let bytes) = event else { return (event, nil) }
                    return (event, Self.check(frame, bytes, file: name))
                },
                consume: { item in
                    switch item.event {
                    case .block(let frame, _): consumed = frame.payload.upperBound
                    case .skipped(let offset, let count): consumed = offset + count
                    }
                    switch (item.event, item.checked) {
                    case (.skipped(let offset, let count), _):
                        warn("\(name): skipped \(count) byte\(count == 1 ? "" : "s") that are not a block at offset \(offset)")
                    case (.block, .leftOut(let why)?):
                        warn(why)
                    case (.block(let frame, let bytes), .block(let header, let strippedSize, let txCount, let failure)?):
                        if let failure {
                            let invalid = InvalidBlock(hash: header.hash, file: name, offset: frame.offset, rule: failure.rule, detail: failure.detail)
                            report.invalid.append(invalid)
                            warn(invalid.description)
                        }
                        pending.append((frame, header, bytes.count, strippedSize * 3 + bytes.count, txCount, failure))
                        if pending.count >= min(batchSize, 50_000) {
                            try measure("  of which: write header rows") { try flush() }
                            try committedBatch()
                        }
                    case (.block, nil):
                        break
                    }
                    state.bytes = scannedBefore + reader.position
                    return true
                })
            try measure("  of which: write header rows") { try flush(atEnd: true) }
            scannedBefore += file.bytes.count
        }
        return read
    }

    /// What checking a block read from a file found.
    enum Checked: Sendable {
        /// Indexed: its header, stripped size, transaction count and the first rule it breaks.
        case block(BlockHeader, strippedSize: Int, txCount: Int, failure: RuleFailure?)
        /// Left out, with the warning saying why.
        case leftOut(String)
    }

    /// A block must decode and meet the target its own nBits sets to be indexed at all. (Test
    /// chains mined at regtest difficulty under another network's magic are common, so the
    /// network's easiest-target limit is `verify`'s business, not the index's.) It is then
    /// checked against Core's context-free block rules.
    static func check(_ frame: BlockFrame, _ bytes: [UInt8], file: String) -> Checked {
        do {
            let header = try BlockHeader(decoding: bytes)
            guard header.hasValidProofOfWork(hash: header.hash, limit: .max) else {
                return .leftOut("\(file): block at offset \(frame.offset) (\(header.hash)) fails its proof of work; left out")
            }
            let (block, offsets) = try Block.decodeLocated(bytes, baseOffset: frame.payload.lowerBound)
            let failures = BlockRules.check(block, hash: block.hash, network: frame.network, powLimit: .max,
                                            baseOffset: frame.payload.lowerBound, transactionOffsets: offsets)
            return .block(block.header, strippedSize: block.strippedSize, txCount: block.transactions.count, failure: failures.first)
        } catch {
            return .leftOut("\(file): block at offset \(frame.offset) does not decode (\(error)); left out")
        }
    }

    /// Records a block read from a file. A block already known keeps its row, unless that
    /// row's copy was mutated (its body is not the one its header commits to) and this copy
    /// is not: then this copy replaces it.
    static let insertHeader = """
        INSERT INTO blocks (hash, previous_hash, version, merkle_root, time, bits, nonce, size, weight, tx_count, file, offset,
                            invalid_reason, invalid_detail)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(hash) DO UPDATE SET size = excluded.size, weight = excluded.weight, tx_count = excluded.tx_count,
          file = excluded.file, offset = excluded.offset, invalid_reason = NULL, invalid_detail = NULL
        WHERE blocks.invalid_reason IN (\(mutationList)) AND excluded.invalid_reason IS NULL
        """

    /// `BlockRules.mutationRules` as an SQL list (constants of ours, not input).
    static let mutationList = BlockRules.mutationRules.sorted().map { "'\($0)'" }.joined(separator: ", ")
}
