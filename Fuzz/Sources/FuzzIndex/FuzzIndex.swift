import BitcoinWire
import BlockFile
import CFuzzer
import ChainIndex
import Foundation
import GRDB

@_cdecl("FuzzIndex_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { blocksmith_fuzz_main(argc, argv) }

let folder = NSTemporaryDirectory() + "blocksmith-fuzz-index-\(getpid())"

/// libFuzzer entry point: the input is a blocks folder's data (seeds: real and generated
/// chains, crafted blocks), indexed in two steps into an in-memory database: its first half
/// as blk00000.dat, then the rest as blk00001.dat. After each step: no balance is negative,
/// balances add up to the unspent outputs they own, and the tip is the most-work block not
/// known invalid in the chain's tree.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    try? FileManager.default.removeItem(atPath: folder)
    try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    // Split at a block boundary near the middle when there is one.
    var cut = count / 2
    if let magic = (cut..<max(cut, count - 4)).first(where: { (bytes[$0] == 0xf9 && bytes[$0 + 1] == 0xbe) || (bytes[$0] == 0xfa && bytes[$0 + 1] == 0xbf) }) {
        cut = magic
    }
    let db = try! DatabaseQueue()
    let indexer = try! ChainIndexer(database: db)
    indexer.batchSize = 7
    for (n, part) in [bytes[..<cut], bytes[cut...]].enumerated() {
        FileManager.default.createFile(atPath: folder + "/blk0000\(n).dat", contents: Data(part))
        do {
            _ = try indexer.index(BlocksFolder(paths: [folder]))
        } catch {
            preconditionFailure("indexing threw: \(error)")
        }
        try! db.read { db in
            let negative = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM addresses WHERE balance < 0")!
            precondition(negative == 0, "a negative balance")
            let balances = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(balance), 0) FROM addresses")!
            let owned = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(value), 0) FROM outputs WHERE spent_by_tx IS NULL AND address_id IS NOT NULL")!
            precondition(balances == owned, "balances \(balances) but unspent outputs \(owned)")
            let tipWork = try Data.fetchOne(db, sql: "SELECT work FROM blocks WHERE in_best_chain = 1 ORDER BY height DESC LIMIT 1")
            let bestWork = try Data.fetchOne(db, sql: "SELECT MAX(work) FROM blocks WHERE invalid_reason IS NULL AND height IS NOT NULL")
            precondition(tipWork == bestWork, "the tip is not the most-work valid block")
            let gaps = try Int64.fetchOne(db, sql: "SELECT COUNT(*) - COALESCE(MAX(height) - MIN(height) + 1, 0) FROM blocks WHERE in_best_chain = 1")!
            precondition(gaps == 0, "the best chain has gaps or repeats")
        }
    }
    return 0
}
