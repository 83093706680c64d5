import Foundation
import Testing
import TestFixtures

/// `blocksmith show` and `blocksmith verify`, end to end.
@Suite struct ShowVerifyTests {
    static func blocksmith(_ arguments: String..., input: Data? = nil) throws -> CommandLineTests.Run {
        try CommandLineTests.run(CommandLineTests.binary, arguments, input: input)
    }

    /// Each line of `show --format json` is one block object.
    static func json(_ run: CommandLineTests.Run) throws -> [[String: Any]] {
        try run.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    @Test func verifyPassesEveryFixture() throws {
        for file in Fixtures.files(in: "blocks") + Fixtures.files(in: "raw-blocks") {
            let run = try Self.blocksmith("verify", Fixtures.path(file), "--network", file.contains("testnet") ? "testnet3" : "mainnet")
            #expect(run.status == 0, "\(file): \(run.stdout)")
        }
    }

    @Test func verifyNamesFileBlockOffsetAndRule() throws {
        var bytes = Fixtures.bytes("blocks/mainnet-000000-000009.blk")
        bytes[293 + 8 + 40] ^= 1  // block 1's merkle root
        let (folder, file) = CommandLineTests.scratch(bytes)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Self.blocksmith("verify", file)
        #expect(run.status == 1)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(file): block 1 at byte 337: bad-txnmrklroot: merkle root is ") })
        #expect(lines.contains { $0.hasPrefix("\(file): block 1 at byte 377: high-hash: ") })
        #expect(lines.last == "10 blocks verified: 9 passed, 1 failed")
    }

    @Test func unlinkedBlocksAreNotedNotFailed() throws {
        let run = try Self.blocksmith("verify", Fixtures.path("blocks/mainnet-unlinked-3-blocks.blk"))
        #expect(run.status == 0)
        #expect(run.stdout.components(separatedBy: "does not follow block").count == 3)
        #expect(run.stdout.hasSuffix("3 blocks verified: 3 passed, 0 failed\n"))
    }

    @Test func verifyReportsDamagedFraming() throws {
        let (folder, file) = CommandLineTests.scratch(Array(Fixtures.bytes("blocks/mainnet-000000-000009.blk").prefix(600)))
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Self.blocksmith("verify", file)
        #expect(run.status == 1)
        #expect(run.stdout.contains("\(file): block 2 at byte 520: bad-framing: block size 215 runs past the end of the file"))
    }

    @Test func showGenesisAsText() throws {
        let run = try Self.blocksmith("show", Fixtures.path("blocks/mainnet-000000.blk"))
        #expect(run.status == 0)
        for expected in ["000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks",
                         "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "50.00000000 BTC (5000000000 sat)", "1d00ffff", "difficulty      1.0",
                         "height          0", "OP_CHECKSIG", "magic f9beb4d9"] {
            #expect(run.stdout.contains(expected), "\(expected)")
        }
        #expect(!run.stdout.contains("\u{1B}["))  // piped: no colors
        #expect(try Self.blocksmith("show", Fixtures.path("blocks/mainnet-000000.blk"), "--color").stdout.contains("\u{1B}["))
    }

    @Test func showJSONOfTheFirstPayment() throws {
        let run = try Self.blocksmith("show", Fixtures.path("blocks/mainnet-000000-000589.blk"), "--format", "json",
                                      "--tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
        let blocks = try Self.json(run)
        #expect(blocks.count == 1)
        let block = blocks[0]
        #expect(block["height"] as? Int == 170)
        #expect(block["hash"] as? String == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee")
        let txs = try #require(block["transactions"] as? [[String: Any]])
        #expect(txs.count == 1)
        #expect(txs[0]["fee"] as? Int == 0)  // 50 BTC in (block 9's coinbase), 10 + 40 out
        let inputs = try #require(txs[0]["inputs"] as? [[String: Any]])
        #expect(inputs[0]["value"] as? Int == 5_000_000_000)
        #expect((inputs[0]["script_sig_asm"] as? String)?.hasSuffix("[ALL]") == true)
        let outputs = try #require(txs[0]["outputs"] as? [[String: Any]])
        #expect(outputs.map { $0["address"] as? String } == ["1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"])
        #expect(outputs.allSatisfy { $0["type"] as? String == "pubkey" && $0["address_derived"] as? Bool == true })
    }

    @Test func showSelectsBlocks() throws {
        let file = Fixtures.path("blocks/mainnet-000000-000009.blk")
        #expect(try Self.json(Self.blocksmith("show", file, "--format", "json")).count == 10)
        let third = try Self.json(Self.blocksmith("show", file, "--format", "json", "--block", "2"))
        #expect(third.map { $0["index"] as? Int } == [2])
        let hash = third[0]["hash"] as! String
        #expect(try Self.json(Self.blocksmith("show", file, "--format", "json", "--hash", hash)).map { $0["index"] as? Int } == [2])
        let missing = try Self.blocksmith("show", file, "--block", "10")
        #expect(missing.status == 2 && missing.stderr.contains("no such block"))
        #expect(try Self.blocksmith("show", file, "--hash", "xyz").status == 2)
    }

    @Test func networksPerBlockAndRawInput() throws {
        let mixed = try Self.json(Self.blocksmith("show", Fixtures.path("blocks/mixed-networks.blk"), "--format", "json"))
        #expect(Set(mixed.map { $0["network"] as! String }) == ["mainnet", "testnet3"])
        for block in mixed {
            let addresses = (block["transactions"] as! [[String: Any]]).flatMap { ($0["outputs"] as! [[String: Any]]).compactMap { $0["address"] as? String } }
            let testnet = block["network"] as? String == "testnet3"
            #expect(addresses.allSatisfy { testnet ? ["m", "n", "2", "t"].contains($0.prefix(1)) : ["1", "3", "b"].contains($0.prefix(1)) })
        }
        let raw = try Self.json(Self.blocksmith("show", Fixtures.path("raw-blocks/testnet3-700000.bin"), "--network", "testnet3", "--format", "json"))
        #expect(raw[0]["network"] as? String == "testnet3" && raw[0]["height"] as? Int == 700000)
        #expect(try Self.blocksmith("show", Fixtures.path("raw-blocks/testnet3-700000.bin"), "--network", "moon").status == 2)
    }

    @Test func hexOnStandardInput() throws {
        let raw = Fixtures.bytes("raw-blocks/mainnet-169482.bin")
        let hex = raw.map { String(format: "%02x", $0) }.joined()
        let run = try Self.blocksmith("show", "-", "--format", "json", input: Data((hex + "\n").utf8))
        let blocks = try Self.json(run)
        #expect(blocks.count == 1)
        #expect(blocks[0]["size"] as? Int == raw.count)
        #expect(try Self.blocksmith("verify", "-", input: Data(hex.utf8)).status == 0)
        #expect(try Self.blocksmith("show", "-", input: Data("abc".utf8)).status == 2)
    }

    @Test func showStopsAtDamageAfterShowingWhatCameBefore() throws {
        let (folder, file) = CommandLineTests.scratch(Array(Fixtures.bytes("blocks/mainnet-000000-000009.blk").prefix(1000)))
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Self.blocksmith("show", file, "--format", "json")
        #expect(run.status == 1)
        #expect(try Self.json(run).count == 4)
        #expect(run.stderr == "blocksmith: \(file): block 4 at byte 966: block size 215 runs past the end of the file (30 bytes left); the 4 blocks before it are shown\n")
        var bytes = Fixtures.bytes("blocks/mainnet-000000-000009.blk")
        bytes[293 + 8 + 80] = 0xff  // block 1's transaction count: 2^64-ish
        let (folder2, file2) = CommandLineTests.scratch(bytes)
        defer { try? FileManager.default.removeItem(at: folder2) }
        let decode = try Self.blocksmith("show", file2, "--format", "json")
        #expect(decode.status == 1)
        #expect(try Self.json(decode).count == 1)
        #expect(decode.stderr.hasPrefix("blocksmith: \(file2): block 1 at byte "))
    }

    @Test func showJSONMatchesEveryFixtureBlock() throws {
        for file in Fixtures.files(in: "blocks") {
            let run = try Self.blocksmith("show", Fixtures.path(file), "--format", "json")
            #expect(run.status == 0, "\(file)")
            let blocks = try Self.json(run)
            #expect(blocks.count == Fixtures.blocks(file).count, "\(file)")
            for block in blocks {
                let txs = block["transactions"] as! [[String: Any]]
                #expect(txs.count == block["tx_count"] as? Int)
                #expect(block["proof_of_work_valid"] as? Bool == true && block["merkle_root_valid"] as? Bool == true, "\(file)")
                for tx in txs { for output in tx["outputs"] as! [[String: Any]] { #expect(output["type"] is String) } }
            }
        }
    }
}
