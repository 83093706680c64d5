import Foundation
import GRDB
import TestFixtures
import BitcoinWire
import BitcoinScript
import BlockFile
@testable import ChainIndex

/// Indexes a folder (or files) into `db`.
@discardableResult
func index(_ paths: [URL], into db: any DatabaseWriter, batch: Int = 100, abortAfter: Int? = nil, coinCapacity: Int? = nil,
           warnings: ((String) -> Void)? = nil) throws -> IndexReport {
    let indexer = try ChainIndexer(database: db)
    indexer.batchSize = batch
    if let coinCapacity { indexer.coinCapacity = coinCapacity }
    indexer.abortAfterBatches = abortAfter
    if let warnings { indexer.warn = warnings }
    return try indexer.index(BlocksFolder(paths: paths.map(\.path)))
}

/// A temporary on-disk index (a GRDB DatabasePool, as the command uses).
func temporaryPool() throws -> (DatabasePool, URL) {
    let folder = Fixtures.temporaryFolder()
    return (try ChainIndexer.open(path: folder.appendingPathComponent("index.sqlite").path), folder)
}

/// Every row of every table, in key order.
func dump(_ db: any DatabaseReader) throws -> [String] { try Schema.rows(db) }

/// JSON with sorted keys, for comparing answers.
func json(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
