import Foundation
import Testing
import TestFixtures
import BitcoinWire

/// Crafted blocks through every command, as a user would run them: nothing crashes, every
/// JSON line parses, and the index keeps to the valid chain.
@Suite struct CraftedBlockCommandTests {
    static func blocksmith(_ arguments: [String]) throws -> CommandLineTests.Run {
        try CommandLineTests.run(CommandLineTests.binary, arguments)
    }

    /// Every line of `text` is a JSON object.
    static func jsonLines(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any]
        }
    }

    /// A header whose nBits has a zero mantissa (its target is zero, its difficulty undefined).
    static let zeroMantissa: Block = {
        let b = CraftedBlocks.next
        let h = b.header
        return Block(header: BlockHeader(version: h.version, previousBlockHash: h.previousBlockHash, merkleRoot: h.merkleRoot,
                                         time: h.time, bits: 0x1d00_0000, nonce: h.nonce), transactions: b.transactions)
    }()

    @Test(arguments: CraftedBlocks.cases.map(\.name) + ["nBits with a zero mantissa"])
    func everyCommandSurvives(name: String) throws {
        let crafted = CraftedBlocks.cases.first { $0.name == name }
        let bad = crafted?.block ?? Self.zeroMantissa
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        Miner.write(CraftedBlocks.base + [bad] + (crafted.map { [$0.child] } ?? []) + [CraftedBlocks.next], to: folder, file: 0)
        let blk = folder.appendingPathComponent("blk00000.dat").path
        let db = folder.appendingPathComponent("i.sqlite").path

        let show = try Self.blocksmith(["show", blk, "--format", "json"])
        #expect(show.status == 0, "\(name): \(show.stderr)")
        #expect(Self.jsonLines(show.stdout), "\(name)")
        #expect(show.stdout.split(separator: "\n").count == CraftedBlocks.base.count + (crafted == nil ? 2 : 3))
        #expect(try Self.blocksmith(["show", blk, "--block", "\(CraftedBlocks.base.count)"]).status == 0)
        // verify checks each block on its own: it finds what needs no UTXO set.
        let verify = try Self.blocksmith(["verify", blk])
        let selfEvident = ["bad-txns-vout-toolarge", "bad-txns-inputs-duplicate", "bad-txns-duplicate", "bad-cb-missing", "bad-txnmrklroot"]
        if let crafted, !selfEvident.contains(crafted.rule) {
            #expect(verify.status == 0, "\(name): \(verify.stdout)")
        } else {
            #expect(verify.status == 1 && verify.stdout.contains(crafted?.rule ?? "bad-diffbits"), "\(name): \(verify.stdout)")
        }
        #expect(try Self.blocksmith(["parse", blk, "--no-json"]).status != 2)

        let index = try Self.blocksmith(["index", blk, "--db", db])
        #expect(index.status == 0, "\(name): \(index.stderr)")
        let tip = try JSONSerialization.jsonObject(with: Data(try Self.blocksmith(["query", "tip", "--db", db, "--json"]).stdout.utf8)) as! [String: Any]
        #expect(tip["hash"] as? String == CraftedBlocks.next.hash.displayHex, "\(name)")
        if let crafted {
            #expect(index.stderr.contains("is invalid: \(crafted.rule)"), "\(name): \(index.stderr)")
            let block = try Self.blocksmith(["query", "--db", db, "block", crafted.block.hash.displayHex, "--json"])
            let info = try JSONSerialization.jsonObject(with: Data(block.stdout.utf8)) as! [String: Any]
            #expect(info["status"] as? String == "invalid" && info["invalid_reason"] as? String == crafted.rule, "\(name)")
        } else {
            #expect(index.stderr.contains("fails its proof of work"))
        }
        let stats = try Self.blocksmith(["query", "stats", "--db", db, "--json"])
        #expect(stats.status == 0 && Self.jsonLines(stats.stdout))
    }

    @Test func databaseOptionBeforeOrAfterTheQueryAndLimits() throws {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = folder.appendingPathComponent("i.sqlite").path
        #expect(try Self.blocksmith(["index", Fixtures.path("blocks/mainnet-000000-000009.blk"), "--db", db]).status == 0)
        let before = try Self.blocksmith(["query", "--db", db, "stats", "--json"])
        let after = try Self.blocksmith(["query", "stats", "--db", db, "--json"])
        let flagFirst = try Self.blocksmith(["query", "--json", "--db", db, "stats"])
        #expect(before.status == 0 && before.stdout == after.stdout && before.stdout == flagFirst.stdout)
        #expect(before.stdout.contains("\"blocks\":10"))
        let address = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
        for limit in ["0", "-1", "10001"] {
            let run = try Self.blocksmith(["query", "history", address, "--limit=\(limit)", "--db", db])
            #expect(run.status == 2 && run.stderr.contains("limit \(limit) is outside 1...10000"), "\(limit): \(run.stderr)")
        }
        let cursor = try Self.blocksmith(["query", "history", address, "--after", "12:x", "--db", db])
        #expect(cursor.status == 2 && cursor.stderr.contains("not a cursor"))
        let height = try Self.blocksmith(["query", "block", "99999999999999999999999", "--db", db])
        #expect(height.status == 2 && height.stderr.contains("neither a block hash"))
        let missing = try Self.blocksmith(["query", "block", "123", "--db", db])
        #expect(missing.status == 2 && missing.stderr.contains("no block 123 in the index"))
    }

    /// `blocksmith index DIR` then `blocksmith query stats`, with no flags: the default index.
    @Test func defaultDatabaseLocation() throws {
        let home = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: home) }
        func run(_ arguments: [String]) throws -> CommandLineTests.Run {
            let process = Process()
            process.executableURL = CommandLineTests.binary
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            environment["HOME"] = home.path
            environment["BLOCKSMITH_DB"] = nil
            environment["XDG_DATA_HOME"] = nil
            process.environment = environment
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return CommandLineTests.Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                                        stderr: String(decoding: stderr, as: UTF8.self))
        }
        let indexed = try run(["index", Fixtures.path("blocks/mainnet-000000-000009.blk")])
        #expect(indexed.status == 0 && indexed.stderr.contains(home.path + "/.local/share/blocksmith/index.sqlite"))
        #expect(indexed.stderr.contains("kB"))  // a single small file's progress in real sizes, not 0/0 MB
        let stats = try run(["query", "stats"])
        #expect(stats.status == 0 && stats.stdout.contains("blocks (best chain)       10"), "\(stats.stdout)")
    }
}
