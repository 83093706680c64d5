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

    @Option(help: ArgumentHelp(
        "Memory for the caches, in MiB, as Bitcoin Core's -dbcache: unspent outputs, address ids and SQLite's pages (default \(IndexMemory.defaultMiB)).",
        valueName: "MiB"))
    var dbcache: Int?

    @Option(help: ArgumentHelp("Unspent outputs, address ids and waiting rows the caches hold, at most, instead of what --dbcache allows (tests).",
                               visibility: .hidden))
    var cacheEntries: Int?

    @Option(help: ArgumentHelp("Blocks per committed batch, at most.", visibility: .hidden))
    var batch: Int?

    @Option(help: ArgumentHelp("Stop after this many committed batches (crash-safety tests).", visibility: .hidden))
    var abortAfterBatches: Int?

    @Flag(help: ArgumentHelp("Print where the time went (benchmark).", visibility: .hidden))
    var timings = false

    func validate() throws {
        if let dbcache, !(1...1_048_576).contains(dbcache) {
            throw ValidationError("--dbcache \(dbcache) is outside 1...1048576 (MiB)")
        }
    }

    func run() throws {
        let folder: BlocksFolder
        do { folder = try BlocksFolder(paths: paths) } catch { throw ToolError(error) }
        let path = db ?? ChainIndexer.defaultPath()
        let folderOfDatabase = (path as NSString).deletingLastPathComponent
        if !folderOfDatabase.isEmpty { try? FileManager.default.createDirectory(atPath: folderOfDatabase, withIntermediateDirectories: true) }
        let indexer = try ChainIndexer(database: ChainIndexer.open(path: path))
        if let batch { indexer.batchSize = batch }
        if let dbcache { indexer.memory = IndexMemory(mebibytes: dbcache) }
        if let cacheEntries { indexer.coinCapacity = max(1, cacheEntries) }
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
            for step in indexer.timings.steps {
                let name = step.name.count < 48 ? step.name.padding(toLength: 48, withPad: " ", startingAt: 0) : step.name + " "
                standardError("time: " + name + String(format: "%7.2f s", step.seconds))
            }
        }
    }
}

/// Progress on standard error: redrawn in place on a terminal, a plain line every few seconds otherwise.
final class ProgressDisplay: @unchecked Sendable {  // used from one thread only (the indexing or exporting one)
    let terminal = isatty(2) == 1
    let start = Date()
    var last = Date.distantPast
    var drawn = false

    /// The recent rates of reading and of connecting (bytes of blocks) and of transactions.
    var readRate = RecentRate(), connectRate = RecentRate(), transactionRate = RecentRate()

    func show(_ p: ChainIndex.IndexProgress) {
        show { elapsed in
            transactionRate.add(p.transactions, at: elapsed)
            let tx = transactionRate.perSecond.map { ", \(Int($0)) tx/s" } ?? ""
            switch p.phase {
            case "reading":
                readRate.add(p.bytes, at: elapsed)
                return "reading: file \(p.files)/\(p.filesTotal), \(byteCount(p.bytes))/\(byteCount(p.bytesTotal)), blocks \(p.blocks)"
                    + eta(readRate.secondsLeft(until: p.bytesTotal))
            case "connecting":
                connectRate.add(p.connectedBytes, at: elapsed)
                return "connecting: \(byteCount(p.connectedBytes))/\(byteCount(p.connectBytesTotal)) of blocks, block \(p.blocks)/\(p.blocksTotal)\(tx)"
                    + eta(connectRate.secondsLeft(until: p.connectBytesTotal))
            default:
                return "\(p.phase): blocks \(p.blocks)\(p.blocksTotal > 0 ? "/\(p.blocksTotal)" : "")"
            }
        }
    }

    func eta(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "" }
        let s = Int(seconds.rounded())
        return switch s {
        case ..<60: ", ETA \(s) s"
        case ..<3600: ", ETA \(s / 60) min \(s % 60) s"
        default: ", ETA \(s / 3600) h \(String(format: "%02d", s / 60 % 60)) min"
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

/// The rate of something counted over the last minute, and the time left at that rate to
/// reach a total: blocks get heavier and lookups slower along a chain, so the rate of the
/// whole run so far would promise too early an end.
struct RecentRate {
    private var samples = [(time: Double, amount: Double)]()
    let window: Double

    init(window: Double = 60) { self.window = window }

    mutating func add(_ amount: Int, at time: Double) {
        samples.append((time, Double(amount)))
        // Keep the samples of the last window, and always one from before it.
        while samples.count > 2, samples[1].time <= time - window { samples.removeFirst() }
    }

    /// Per second over the samples kept (nil until they span a second).
    var perSecond: Double? {
        guard let first = samples.first, let last = samples.last, last.time - first.time >= 1 else { return nil }
        return max(0, (last.amount - first.amount) / (last.time - first.time))
    }

    /// Seconds until `total` at the recent rate; nil while there is no rate.
    func secondsLeft(until total: Int) -> Double? {
        guard let rate = perSecond, rate > 0, let last = samples.last else { return nil }
        return max(0, Double(total) - last.amount) / rate
    }
}
