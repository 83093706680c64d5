import Foundation
import Export

/// A block range exported as one file per table, laid out as bitcoin-etl lays out its
/// exports (Hive-style, so engines see `start_block` and `end_block` as columns):
/// `transactions/start_block=00000000/end_block=00009999/transactions_00000000_00009999.json`.
///
/// Ranges are aligned to multiples of the partition size and clipped to what is exported, so
/// the same block always lands in the same partition and a re-run finds its earlier files.
struct Partition: Sendable, Equatable {
    let start: Int64
    let end: Int64

    /// The partitions covering `start...end`, `size` blocks each at most.
    static func plan(from start: Int64, to end: Int64, size: Int64) -> [Partition] {
        var partitions = [Partition]()
        var first = start
        while first <= end {
            let last = min(end, (first / size + 1) * size - 1)
            partitions.append(Partition(start: first, end: last))
            first = last + 1
        }
        return partitions
    }

    static func digits(_ height: Int64) -> String {
        let text = String(height)
        return String(repeating: "0", count: max(0, 8 - text.count)) + text
    }

    /// `table/start_block=…/end_block=…`, relative to the export's folder.
    func folder(_ table: CryptoBitcoin.Table) -> String {
        "\(table.rawValue)/start_block=\(Self.digits(start))/end_block=\(Self.digits(end))"
    }

    /// The data file, relative to the export's folder.
    func file(_ table: CryptoBitcoin.Table, gzip: Bool) -> String {
        folder(table) + "/\(table.rawValue)_\(Self.digits(start))_\(Self.digits(end)).json" + (gzip ? ".gz" : "")
    }

    /// The manifest, relative to the export's folder: outside the table's folder, so a
    /// reader of `table/**` sees data files only.
    func manifest(_ table: CryptoBitcoin.Table) -> String {
        "_manifests/\(table.rawValue)/\(table.rawValue)_\(Self.digits(start))_\(Self.digits(end)).json"
    }

    func overlaps(_ other: Partition) -> Bool { start <= other.end && other.start <= end }

    /// The partitions already in `directory` for `table`, from their folder names.
    static func existing(in directory: String, table: CryptoBitcoin.Table) -> [Partition] {
        let fm = FileManager.default
        let tableFolder = directory + "/" + table.rawValue
        var found = [Partition]()
        for startName in (try? fm.contentsOfDirectory(atPath: tableFolder)) ?? [] {
            guard startName.hasPrefix("start_block="), let start = Int64(startName.dropFirst(12)) else { continue }
            for endName in (try? fm.contentsOfDirectory(atPath: tableFolder + "/" + startName)) ?? [] {
                guard endName.hasPrefix("end_block="), let end = Int64(endName.dropFirst(10)) else { continue }
                found.append(Partition(start: start, end: end))
            }
        }
        return found.sorted { $0.start < $1.start }
    }
}

/// What a partition's file holds, written beside the export (`_manifests/…`) once the file is
/// complete: the block range and the hash of its last block (which commits to every block
/// before it), the file and its size, its row count and sums an engine can check a load
/// against. A re-run skips a partition whose manifest matches the index and whose file is
/// whole.
struct Manifest: Codable, Equatable, Sendable {
    /// Changes when the rows written would differ: a re-run then rewrites every partition.
    static let currentFormat = "blocksmith crypto_bitcoin 1"

    var format: String
    var table: String
    var startBlock: Int64
    var endBlock: Int64
    var lastBlockHash: String
    var file: String
    var bytes: Int
    var gzip: Bool
    var rows: Int64
    /// Sums over the rows: `transaction_count` for blocks; `input_count`, `output_count`,
    /// `input_value`, `output_value`, `fee` (satoshis) and `coinbase_transactions` for
    /// transactions. Decimal: a sum of values can pass 2^63 satoshis.
    var sums: [String: Decimal]

    enum CodingKeys: String, CodingKey {
        case format, table, file, bytes, gzip, rows, sums
        case startBlock = "start_block", endBlock = "end_block", lastBlockHash = "last_block_hash"
    }

    static func read(_ path: String) -> Manifest? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }
}

/// Running sums for a manifest, in 128 bits (a partition's values can pass 2^63 satoshis).
struct Sums {
    var rows: Int64 = 0
    var transactionCount: Int128 = 0
    var inputCount: Int128 = 0, outputCount: Int128 = 0
    var inputValue: Int128 = 0, outputValue: Int128 = 0, fee: Int128 = 0
    var coinbase: Int128 = 0

    func manifestSums(_ table: CryptoBitcoin.Table) -> [String: Decimal] {
        func decimal(_ value: Int128) -> Decimal { Decimal(string: String(value))! }
        switch table {
        case .blocks:
            return ["transaction_count": decimal(transactionCount)]
        case .transactions:
            return ["input_count": decimal(inputCount), "output_count": decimal(outputCount), "input_value": decimal(inputValue),
                    "output_value": decimal(outputValue), "fee": decimal(fee), "coinbase_transactions": decimal(coinbase)]
        }
    }
}
