import ArgumentParser
import BlockFile
import ChainIndex
import Foundation

struct Index: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Index a Bitcoin Core blocks folder (or blk files) into a queryable database.",
        discussion: """
            Reads blk*.dat in file-number order (rev*.dat and index/ are ignored), undoes \
            xor.dat, skips garbage with a warning, links blocks by previous hash into the chain \
            with the most work, and records blocks, transactions, inputs, outputs, the UTXO set \
            and per-address summaries. Re-running indexes only what is new; a heavier branch \
            in new files reorganizes the index. Progress goes to standard error.
            """)

    @Argument(help: "A blocks/ folder, or blk files.")
    var paths: [String]

    @Option(help: "The database, created if missing (default: $BLOCKSMITH_DB, else ~/.local/share/blocksmith/index.sqlite).")
    var db: String?

    @Option(help: ArgumentHelp("Blocks per committed batch, at most.", visibility: .hidden))
    var batch: Int?

    @Option(help: ArgumentHelp("Stop after this many committed batches (crash-safety tests).", visibility: .hidden))
    var abortAfterBatches: Int?

    @Flag(help: ArgumentHelp("Print where the time went (benchmark).", visibility: .hidden))
    var timings = false

    func run() throws {
        let folder: BlocksFolder
        do { folder = try BlocksFolder(paths: paths) } catch { throw ToolError(error) }
        let path = db ?? ChainIndexer.defaultPath()
        let folderOfDatabase = (path as NSString).deletingLastPathComponent
        if !folderOfDatabase.isEmpty { try? FileManager.default.createDirectory(atPath: folderOfDatabase, withIntermediateDirectories: true) }
        let indexer = try ChainIndexer(database: ChainIndexer.open(path: path))
        if let batch { indexer.batchSize = batch }
        indexer.abortAfterBatches = abortAfterBatches
        let display = ProgressDisplay()
        indexer.progress = { display.show($0) }
        indexer.warn = { display.clear(); standardError("warning: \($0)") }
        let report: ChainIndex.IndexReport
        do {
            report = try indexer.index(folder)
        } catch is IndexAbort {
            display.clear()
            standardError("blocksmith: stopped after \(abortAfterBatches ?? 0) batches, as asked")
            throw ExitCode(3)
        }
        display.finish()
        let tip = report.tipHash.map { "tip \($0) at height \(report.tipHeight.map(String.init) ?? "?")" } ?? "no blocks"
        let invalid = report.invalid.isEmpty ? "" : ", \(report.invalid.count) invalid"
        standardError("indexed: \(report.blocksRead) new blocks read, \(report.connected) connected, \(report.disconnected) disconnected, "
                      + "\(report.orphans) orphans\(invalid); \(tip)")
        standardError("index: \(path)")
        if timings {
            for step in indexer.timings.steps { standardError("time: " + step.name.padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "%7.2f s", step.seconds)) }
        }
    }
}

/// Progress on standard error: redrawn in place on a terminal, a plain line every few seconds otherwise.
final class ProgressDisplay: @unchecked Sendable {  // used from one thread only (the indexing or exporting one)
    let terminal = isatty(2) == 1
    let start = Date()
    var last = Date.distantPast
    var drawn = false

    func show(_ p: ChainIndex.IndexProgress) {
        show { elapsed in
            let rate = elapsed > 0 ? Double(p.transactions) / elapsed : 0
            var line = "\(p.phase): file \(p.files)/\(p.filesTotal), \(byteCount(p.bytes))/\(byteCount(p.bytesTotal)), "
                + "blocks \(p.blocks)\(p.blocksTotal > 0 ? "/\(p.blocksTotal)" : ""), \(Int(rate)) tx/s"
            if p.phase == "connecting", p.blocks > 0, p.blocksTotal > p.blocks {
                line += ", ETA \(Int(elapsed / Double(p.blocks) * Double(p.blocksTotal - p.blocks))) s"
            }
            return line
        }
    }

    /// Shows the line `line` makes of the seconds since the start, unless one was shown
    /// moments ago.
    func show(_ line: (_ elapsed: Double) -> String) {
        let now = Date()
        guard now.timeIntervalSince(last) >= (terminal ? 0.2 : 5) else { return }
        last = now
        let line = line(now.timeIntervalSince(start))
        if terminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            drawn = true
        } else {
            standardError(line)
        }
    }

    func clear() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); drawn = false }
    }

    func finish() { clear() }
}

/// A size for people: "812 B", "14.2 kB", "125.4 MB", "1.3 GB".
func byteCount(_ bytes: Int) -> String {
    switch bytes {
    case ..<1000: "\(bytes) B"
    case ..<1_000_000: String(format: "%.1f kB", Double(bytes) / 1e3)
    case ..<1_000_000_000: String(format: "%.1f MB", Double(bytes) / 1e6)
    default: String(format: "%.2f GB", Double(bytes) / 1e9)
    }
}
