import Foundation
import Testing
import TestFixtures
import BitcoinWire
import BlockFile
import Validation
@testable import Export

/// Runs the whole job on `bytes` and returns the verdict and the parsed JSON, if written.
func export(_ bytes: [UInt8], workers: Int = 2) throws -> (AssignmentReport, [String: Any]?) {
    let folder = Fixtures.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("out.json").path
    let report = try AssignmentExport.run(MappedFile(copying: bytes, path: "in.blk"), json: OutputFile(path: path), workers: workers)
    guard let data = FileManager.default.contents(atPath: path) else { return (report, nil) }
    return (report, try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// Checks that every key of `expected` is in `actual` with an equal value, recursively.
func expectContains(_ actual: Any?, _ expected: Any, path: String = "", skipping: Set<String> = []) {
    switch expected {
    case let object as [String: Any]:
        guard let actual = actual as? [String: Any] else { Issue.record("\(path): not an object"); return }
        for (key, value) in object where !skipping.contains(key) {
            expectContains(actual[key], value, path: "\(path).\(key)", skipping: skipping)
        }
    case let array as [Any]:
        guard let actual = actual as? [Any], actual.count == array.count else { Issue.record("\(path): array differs"); return }
        for (i, value) in array.enumerated() { expectContains(actual[i], value, path: "\(path)[\(i)]", skipping: skipping) }
    default:
        #expect("\(actual ?? "missing")" == "\(expected)", "\(path)")
    }
}

@Suite struct AssignmentJSONTests {
    @Test func genesisMatchesTheSpecSample() throws {
        let (report, json) = try export(Fixtures.bytes("blocks/mainnet-000000.blk"))
        #expect(report.verdict == "no errors 1 blocks")
        let sample = try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("assignment/genesis-sample.json")))
        expectContains(json, sample, skipping: ["timestamp_readable"])
        let block = try #require((json?["blocks"] as? [[String: Any]])?.first)
        #expect(block["timestamp_readable"] as? String == "2009-01-03 18:15:05")
        #expect(block["hash"] as? String == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
        let tx = try #require((block["transactions"] as? [[String: Any]])?.first)
        #expect(tx["txid"] as? String == "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b")
        let input = try #require((tx["txn_inputs"] as? [[String: Any]])?.first)
        #expect(input["utxo_hash"] as? String == input["txn_hash"] as? String)
    }

    /// The streamed JSON says what the owned decoder (an independent path) reads, field for field.
    @Test(arguments: ["blocks/mainnet-000000-000099.blk", "blocks/mainnet-000000-000589.blk", "blocks/mainnet-176149.blk"])
    func jsonMatchesTheDecodedBlocks(file: String) throws {
        let bytes = Fixtures.bytes(file)
        let (report, json) = try export(bytes)
        #expect(report.error == nil)
        let blocks = try #require(json?["blocks"] as? [[String: Any]])
        let decoded = Fixtures.blocks(file)
        #expect(blocks.count == decoded.count)
        #expect(json?["height"] as? Int == decoded.count)
        for (height, (offset, raw)) in decoded.enumerated() {
            let block = try Block(decoding: raw)
            let object = blocks[height]
            let expected: [String: Any] = [
                "height": height, "file_position": offset, "hash": block.hash.displayHex,
                "version": Int(block.header.version), "previous_hash": block.header.previousBlockHash.displayHex,
                "merkle_hash": block.header.merkleRoot.displayHex, "timestamp": Int(block.header.time),
                "nbits": String(format: "%08x", block.header.bits), "nonce": Int(block.header.nonce),
                "txn_count": block.transactions.count,
                "transactions": block.transactions.map { tx -> [String: Any] in [
                    "txid": tx.txid.displayHex, "version": Int(tx.version), "lock_time": Int(tx.lockTime),
                    "txn_in_count": tx.inputs.count, "txn_out_count": tx.outputs.count,
                    "txn_inputs": tx.inputs.map { input -> [String: Any] in [
                        "txn_hash": input.previousOutput.txid.displayHex, "utxo_hash": input.previousOutput.txid.displayHex,
                        "index": Int(input.previousOutput.index), "input_script_size": input.scriptSig.count,
                        "input_script_bytes": Hex.encode(input.scriptSig), "sequence": Int(input.sequence),
                    ] },
                    "txn_outputs": tx.outputs.map { output -> [String: Any] in [
                        "satoshis": Int(output.value), "output_script_size": output.scriptPubKey.count,
                        "output_script_bytes": Hex.encode(output.scriptPubKey),
                    ] },
                ] },
            ]
            expectContains(object, expected, path: "block \(height)")
            #expect(object.count == expected.count + 1)  // plus timestamp_readable
        }
    }

    @Test func nothingIsWrittenOnError() throws {
        var bytes = Fixtures.bytes("blocks/mainnet-000000-000009.blk")
        bytes[89] = 17
        let (report, json) = try export(bytes)
        #expect(report.verdict == "error 5 block 0")
        #expect(json == nil)
    }

    /// An old JSON file is replaced on success; on an error it is removed, since it no longer
    /// describes the input. Either way no temporary file is left and the target is never partial.
    @Test func anExistingFileIsReplacedOnSuccessAndRemovedOnError() throws {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("x.json").path
        let ten = Fixtures.bytes("blocks/mainnet-000000-000009.blk")
        let long = Data(repeating: UInt8(ascii: "x"), count: 10_000_000)
        _ = FileManager.default.createFile(atPath: path, contents: long)
        _ = try AssignmentExport.run(MappedFile(copying: ten, path: "in"), json: OutputFile(path: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["x.json"])
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(written.count < long.count)  // the old, longer content is cut off
        #expect(try JSONSerialization.jsonObject(with: written) is [String: Any])
        var broken = ten
        broken[2] = 0
        _ = try AssignmentExport.run(MappedFile(copying: broken, path: "in"), json: OutputFile(path: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [])
    }

    @Test func linkedTargetsAreReplacedNotWrittenThrough() throws {
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ten = Fixtures.bytes("blocks/mainnet-000000-000009.blk")
        let other = folder.appendingPathComponent("other").path
        for kind in ["hard", "symbolic"] {
            _ = FileManager.default.createFile(atPath: other, contents: Data("keep me".utf8))
            let path = folder.appendingPathComponent("\(kind).json").path
            if kind == "hard" { try FileManager.default.linkItem(atPath: other, toPath: path) }
            else { try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: other) }
            _ = try AssignmentExport.run(MappedFile(copying: ten, path: "in"), json: OutputFile(path: path))
            #expect(FileManager.default.contents(atPath: other) == Data("keep me".utf8), "\(kind) link")
            #expect(try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: path)!) is [String: Any])
        }
    }

    @Test func oneWorkerAndTwoWriteTheSameBytes() throws {
        let bytes = Fixtures.bytes("blocks/mainnet-000000-000589.blk")
        let folder = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var outputs = [Data]()
        for workers in [1, 2] {
            let path = folder.appendingPathComponent("w\(workers).json").path
            _ = try AssignmentExport.run(MappedFile(copying: bytes, path: "in"), json: OutputFile(path: path), workers: workers)
            outputs.append(try #require(FileManager.default.contents(atPath: path)))
        }
        #expect(outputs[0] == outputs[1])
    }
}

@Suite struct FormattingTests {
    @Test(arguments: [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 4_294_967_295, 5_000_000_000,
                      10_000_000_000_000_000_000, UInt64.max] as [UInt64])
    func decimal(value: UInt64) {
        var buffer = OutputBuffer(capacity: 1)
        buffer.append(decimal: value)
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == String(value))
    }

    @Test func decimalMatchesSwiftOnRandomValues() {
        var rng = SeededGenerator(seed: 3)
        var buffer = OutputBuffer(capacity: 1)
        for _ in 0..<10_000 {
            let value = UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)
            buffer.removeAll()
            buffer.append(decimal: value)
            #expect(String(decoding: buffer.bytes, as: UTF8.self) == String(value))
        }
        buffer.removeAll()
        buffer.append(decimal: Int64.min)
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == String(Int64.min))
    }

    @Test(arguments: [
        (0, "1970-01-01 00:00:00"), (1_231_006_505, "2009-01-03 18:15:05"), (951_782_400, "2000-02-29 00:00:00"),
        (1_456_790_399, "2016-02-29 23:59:59"), (1_456_790_400, "2016-03-01 00:00:00"),
        (4_102_444_800, "2100-01-01 00:00:00"), (UInt32.max, "2106-02-07 06:28:15"),
    ] as [(UInt32, String)])
    func utcTime(seconds: UInt32, text: String) {
        #expect(UTCTime.string(seconds) == text)
    }

    @Test func utcTimeMatchesFoundation() {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<5_000 {
            let seconds = UInt32.random(in: 0...UInt32.max, using: &rng)
            #expect(UTCTime.string(seconds) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
        }
    }

    @Test func hexIsLowercase() {
        var buffer = OutputBuffer(capacity: 1)
        buffer.reserve(8)
        [UInt8]([0xab, 0xcd, 0xef, 0x01]).withUnsafeBytes { buffer.unsafeAppend(hex: $0) }
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == "abcdef01")
    }
}
