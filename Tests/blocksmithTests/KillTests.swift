import Foundation
import GRDB
import Testing
import TestFixtures
import ChainIndex

/// `kill -9` at any moment, then a re-run: the database is the one an uninterrupted run makes.
@Suite struct KillTests {
    static func rows(_ path: String) throws -> [String] { try Schema.rows(DatabaseQueue(path: path)) }

    /// With the bulk load's caches, and with caches of 200 entries (the 2,000-block chain's
    /// UTXO set is 1,288 outputs: most lookups go to SQLite, and the caches are trimmed at
    /// many commits).
    @Test(arguments: [[], ["--cache-entries", "200"]])
    func killedAtAnyMomentResumesToTheSameDatabase(options: [String]) throws {
        let folder = Fixtures.blocksFolder(Fixtures.framedBlocks("spend-chain/spend-2000.blk"), files: 2, shuffle: 20,
                                           xor: [1, 2, 3, 4, 5, 6, 7, 8], padding: 64)
        let work = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder); try? FileManager.default.removeItem(at: work) }
        let whole = work.appendingPathComponent("whole.sqlite").path
        #expect(try CommandLineTests.run(CommandLineTests.binary, ["index", folder.path, "--db", whole, "--batch", "50"] + options).status == 0)
        let expected = try Self.rows(whole)
        for delay in [0.05, 0.2, 0.4, 0.8] {
            let db = work.appendingPathComponent("killed-\(delay)-\(options.count).sqlite").path
            let process = Process()
            process.executableURL = CommandLineTests.binary
            process.arguments = ["index", folder.path, "--db", db, "--batch", "50"] + options
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(try CommandLineTests.run(CommandLineTests.binary, ["index", folder.path, "--db", db, "--batch", "50"] + options).status == 0)
            #expect(try Self.rows(db) == expected, "killed after \(delay) s")
            #expect(try DatabaseQueue(path: db).read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
        }
    }
}
