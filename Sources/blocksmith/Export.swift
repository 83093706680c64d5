import ArgumentParser
import ChainIndex
import DatasetExport
import Export
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the index's best chain as BigQuery's crypto_bitcoin tables (newline-delimited JSON).",
        discussion: """
            Writes blocks and transactions rows in the schema of Google BigQuery's public \
            crypto_bitcoin dataset (schemas/crypto_bitcoin/ in the repository), every input \
            with the value, type and addresses of the output it spends. Files are partitioned \
            by block range, Hive-style: DIR/transactions/start_block=00000000/end_block=00009999/\
            transactions_00000000_00009999.json. Each file is written under a hidden temporary \
            name and renamed when complete; DIR/_manifests/ holds each one's row count and sums. \
            A re-run rewrites only partitions whose blocks changed. Progress goes to standard error.
            """)

    @Option(help: "The index database (default: $BLOCKSMITH_DB, else ~/.local/share/blocksmith/index.sqlite).")
    var db: String?

    @Option(help: "The folder to write (created if missing).")
    var out: String

    @Option(help: "The first height.")
    var from: Int64 = 0

    @Option(help: "The last height (default: the tip).")
    var to: Int64?

    @Option(help: "Tables, comma-separated: blocks, transactions.")
    var tables = "blocks,transactions"

    @Option(help: "Blocks per partition.")
    var partitionBlocks: Int64 = 10_000

    @Flag(help: "Write gzip files (.json.gz).")
    var gzip = false

    @Option(help: ArgumentHelp("Unspent outputs held in memory before the older half goes (benchmark).", visibility: .hidden))
    var cacheOutputs: Int?

    func run() throws {
        var options = ExportOptions(directory: out)
        options.from = from
        options.to = to
        options.partitionBlocks = partitionBlocks
        options.gzip = gzip
        var chosen = [CryptoBitcoin.Table]()
        for name in tables.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let table = CryptoBitcoin.Table(rawValue: name) else {
                throw ToolError("--tables: no table \"\(name.prefix(40))\" (known: \(CryptoBitcoin.Table.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if !chosen.contains(table) { chosen.append(table) }
        }
        options.tables = chosen.sorted()
        let queries: IndexQueries
        do {
            queries = try IndexQueries(ChainIndexer.openExisting(path: db ?? ChainIndexer.defaultPath()))
        } catch let error as IndexError {
            throw ToolError(error.description)
        }
        let exporter = DatasetExporter(queries: queries, options: options)
        if let cacheOutputs {
            guard cacheOutputs >= 1 else { throw ToolError("--cache-outputs must be 1 or more") }
            exporter.cacheCapacity = cacheOutputs
        }
        let display = ProgressDisplay()
        exporter.progress = { p in
            display.show { elapsed in
                var line = "exporting: block \(p.height)/\(p.last), \(p.blocksDone)/\(p.blocksToDo) blocks, \(p.transactions) transactions, \(byteCount(p.bytes))"
                if p.blocksDone > 0, p.blocksToDo > p.blocksDone {
                    line += ", ETA \(Int(elapsed / Double(p.blocksDone) * Double(p.blocksToDo - p.blocksDone))) s"
                }
                return line
            }
        }
        let report: ExportReport
        do {
            report = try exporter.run()
        } catch let error as ExportError {
            display.finish()
            throw ToolError(error.description)
        } catch let error as QueryError {
            display.finish()
            throw ToolError(error.description)
        }
        display.finish()
        let removed = report.removed > 0 ? ", \(report.removed) replaced or above the tip removed" : ""
        standardError("exported heights \(report.first)…\(report.last) (\(options.tables.map(\.rawValue).joined(separator: ", "))): "
                      + "\(report.written) files written, \(report.unchanged) unchanged\(removed); "
                      + "\(report.blocks) blocks and \(report.transactions) transactions written, \(byteCount(report.bytes))")
        standardError("export: \(out)")
    }
}
