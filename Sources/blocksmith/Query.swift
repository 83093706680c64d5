import ArgumentParser
import ChainIndex
import Export
import Foundation

/// Options every query shares; given before the query's name (`query --db F stats`) or
/// after it (`query stats --db F`).
struct QueryOptions: ParsableArguments {
    @Option(help: "The index database (default: $BLOCKSMITH_DB, else ~/.local/share/blocksmith/index.sqlite).")
    var db: String?

    @Flag(help: "JSON output (amounts in satoshis).")
    var json = false

    /// These options, with what the parent command was given filling the gaps.
    func merged(_ parent: QueryOptions) -> QueryOptions {
        var merged = self
        merged.db = db ?? parent.db
        merged.json = json || parent.json
        return merged
    }

    func open() throws -> IndexQueries {
        do {
            return try IndexQueries(ChainIndexer.openExisting(path: db ?? ChainIndexer.defaultPath()))
        } catch let error as IndexError {
            throw ToolError(error.description)
        }
    }

    /// Prints `value` as JSON, or as the text `human` gives.
    func output<T: Encodable>(_ value: T, _ human: () -> String) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(value), as: UTF8.self))
        } else {
            print(human(), terminator: "")
        }
    }
}

/// Runs a query, turning its errors into a clear message and exit status 2.
func answer(_ body: () throws -> Void) throws {
    do { try body() } catch let error as QueryError { throw ToolError(error.description) }
}

/// A query subcommand: its own options, merged with those given to `query` itself.
protocol QueryCommand: ParsableCommand {
    var options: QueryOptions { get }
    var parent: Query { get }
}

extension QueryCommand {
    var settings: QueryOptions { options.merged(parent.options) }
}

func btcText(_ sats: Int64) -> String { btc(sats) + " BTC" }

/// Left-aligned columns.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { $1 + String(repeating: " ", count: widths[$0] - $1.count) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n") + "\n"
}

struct Query: ParsableCommand {
    @OptionGroup var options: QueryOptions

    static let configuration = CommandConfiguration(
        abstract: "Ask the index: blocks, transactions, addresses, balances, and what went from A to B.",
        subcommands: [BlockQuery.self, TxQuery.self, TipQuery.self, AddressQuery.self, HistoryQuery.self, BalanceQuery.self,
                      UTXOQuery.self, BetweenQuery.self, RichestQuery.self, StatsQuery.self, LatencyQuery.self])

    static func describe(_ b: BlockInfo) -> String {
        table(["field", "value"], [["hash", b.hash], ["height", b.height.map(String.init) ?? "unknown"], ["in best chain", "\(b.inBestChain)"],
                                   ["previous", b.previousHash], ["time", "\(b.time)"], ["bits", b.bits], ["chain work", b.chainWork ?? "-"],
                                   ["size", "\(b.size)"], ["weight", "\(b.weight)"], ["transactions", "\(b.txCount)"],
                                   ["file", "\(b.file) at \(b.offset)"],
                                   ["status", b.status + (b.invalidReason.map { ": \($0)" + (b.invalidDetail.map { " (\($0))" } ?? "") } ?? "")]])
    }

    struct BlockQuery: QueryCommand {
        static let configuration = CommandConfiguration(commandName: "block", abstract: "A block by hash or best-chain height.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        @Argument(help: "Block hash or height.") var block: String
        func run() throws {
            try answer {
                let info: BlockInfo = try settings.open().read { try $0.block(block) }
                try settings.output(info) { Query.describe(info) }
            }
        }
    }

    struct TipQuery: QueryCommand {
        static let configuration = CommandConfiguration(commandName: "tip", abstract: "The best chain's tip.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        func run() throws {
            guard let info: BlockInfo = try settings.open().read({ try $0.tip() }) else { throw ToolError("the index has no blocks") }
            try settings.output(info) { Query.describe(info) }
        }
    }

    struct TxQuery: QueryCommand {
        static let configuration = CommandConfiguration(commandName: "tx", abstract: "A transaction, with every input's address and value, and its fee.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        @Argument(help: "Transaction id.") var txid: String
        func run() throws {
            try answer {
                let tx: TransactionInfo = try settings.open().read { try $0.transaction(txid) }
                try settings.output(tx) {
                    "txid \(tx.txid)\nblock \(tx.blockHash) at height \(tx.height), position \(tx.position)\n"
                        + "fee \(tx.isCoinbase ? "none (coinbase)" : tx.fee.map(btcText) ?? "unknown"); size \(tx.size), weight \(tx.weight)\n\n"
                        + table(["input", "spends", "address", "value"], tx.inputs.enumerated().map { i, input in
                            ["\(i)", "\(input.txid):\(input.vout)", input.address ?? "-", input.value.map(btcText) ?? "unknown"]
                        }) + "\n"
                        + table(["output", "address", "type", "value", "spent by"], tx.outputs.map {
                            ["\($0.n)", $0.address ?? "-", $0.type, btcText($0.value), $0.spentBy ?? "unspent"]
                        })
                }
            }
        }
    }

    static func summary(_ s: AddressSummary) -> String {
        table(["field", "value"], [["address", s.address], ["balance", btcText(s.balance)], ["received", btcText(s.received)],
                                   ["sent", btcText(s.sent)], ["transactions", "\(s.txCount)"],
                                   ["first seen", s.firstSeenHeight.map { "height \($0)" } ?? "never"],
                                   ["last seen", s.lastSeenHeight.map { "height \($0)" } ?? "never"]])
    }

    struct AddressQuery: QueryCommand {
        static let configuration = CommandConfiguration(commandName: "address", abstract: "An address's summary.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        @Argument(help: "The address.") var address: String
        func run() throws { try answer { let s: AddressSummary = try settings.open().read { try $0.address(address) }; try settings.output(s) { Query.summary(s) } } }
    }

    struct HistoryQuery: QueryCommand {
        static let configuration = CommandConfiguration(commandName: "history", abstract: "An address's transactions, newest first.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        @Argument(help: "The address.") var address: String
        @Option(help: "Transactions per page.") var limit = 50
        @Option(help: "Continue after this cursor (next_cursor of the previous page).") var after: String?
        func run() throws {
            try answer {
                let page: HistoryPage = try settings.open().read { try $0.history(address, limit: limit, after: after) }
                try settings.output(page) {
                    table(["height", "txid", "change"], page.items.map { ["\($0.height)", $0.txid, btcText($0.delta)] })
                        + (page.nextCursor.map { "more: --after \($0)\n" } ?? "")
                }
            }
        }
    }

    struct BalanceQuery: QueryCommand {
        static let configuration = CommandConfiguration(commandName: "balance", abstract: "An address's balance, now or at a height.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        @Argument(help: "The address.") var address: String
        @Option(help: "The balance after this block height.") var atHeight: Int64?
        func run() throws {
            try answer {
                let b: Balance = try settings.open().read { try $0.balance(address, atHeight: atHeight) }
                try settings.output(b) { "\(b.address) at height \(b.height): \(btcText(b.balance))\n" }
            }
        }
    }

    struct UTXOQuery: QueryCommand {
        static let configuration = CommandConfiguration(commandName: "utxos", abstract: "An address's unspent outputs.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        @Argument(help: "The address.") var address: String
        func run() throws {
            try answer {
                let items: [UTXO] = try settings.open().read { try $0.utxos(address) }
                try settings.output(["items": items]) {
                    table(["height", "output", "value"], items.map { ["\($0.height)", "\($0.txid):\($0.vout)", btcText($0.value)] })
                }
            }
        }
    }

    struct BetweenQuery: QueryCommand {
        static let configuration = CommandConfiguration(
            commandName: "between",
            abstract: "Transactions in which A is among the input addresses and B among the output addresses.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        @Argument(help: "The sending address.") var a: String
        @Argument(help: "The receiving address.") var b: String
        @Flag(help: "Also the transactions from B to A.") var bothWays = false
        @Option(help: "At most this many (default: all).") var limit: Int?
        @Option(help: "Continue after this cursor (next_cursor of the previous page).") var after: String?
        func run() throws {
            try answer {
                let page: BetweenPage = try settings.open().read { try $0.between(a, b, bothWays: bothWays, limit: limit, after: after) }
                try settings.output(page) {
                    table(["height", "txid", "from", "to", "amount"], page.items.map { ["\($0.height)", $0.txid, $0.from, $0.to, btcText($0.amount)] })
                        + (page.nextCursor.map { "more: --after \($0)\n" } ?? "")
                }
            }
        }
    }

    struct RichestQuery: QueryCommand {
        static let configuration = CommandConfiguration(commandName: "richest", abstract: "The addresses with the highest balances.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        @Option(help: "How many.") var limit = 10
        func run() throws {
            try answer {
                let items: [AddressSummary] = try settings.open().read { try $0.richest(limit: limit) }
                try settings.output(["items": items]) {
                    table(["address", "balance", "transactions"], items.map { [$0.address, btcText($0.balance), "\($0.txCount)"] })
                }
            }
        }
    }

    struct StatsQuery: QueryCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Chain totals.")
        @OptionGroup var options: QueryOptions
        @ParentCommand var parent: Query
        func run() throws {
            let s: Stats = try settings.open().read { try $0.stats() }
            try settings.output(s) {
                var rows: [[String]] = [["network", s.network], ["blocks (best chain)", "\(s.blocks)"], ["stale blocks", "\(s.staleBlocks)"]]
                rows.append(["tip height", s.tipHeight.map { String($0) } ?? "-"])
                rows += [["transactions", "\(s.transactions)"], ["outputs", "\(s.outputs)"], ["unspent outputs", "\(s.utxoCount)"]]
                rows += [["value in unspent outputs", btcText(s.utxoValue)], ["addresses", "\(s.addresses)"]]
                let byType: [[String]] = s.outputsByType.sorted { $0.key < $1.key }.map { ["outputs: \($0.key)", "\($0.value)"] }
                return table(["field", "value"], rows + byType)
            }
        }
    }
}

struct LatencyQuery: QueryCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency", abstract: "Time address, history and between queries over random addresses (benchmark).",
        shouldDisplay: false)
    @OptionGroup var options: QueryOptions
    @ParentCommand var parent: Query
    @Option(help: "How many addresses (and address pairs).") var count = 2000
    func run() throws {
        let report = try settings.open().latencies(count: count)
        try settings.output(report) {
            table(["query", "count", "p50 ms", "p99 ms", "max ms"], [("address", report.address), ("history", report.history), ("between", report.between)].map {
                [$0.0, "\($0.1.count)", String(format: "%.3f", $0.1.p50Ms), String(format: "%.3f", $0.1.p99Ms), String(format: "%.3f", $0.1.maxMs)]
            })
        }
    }
}
