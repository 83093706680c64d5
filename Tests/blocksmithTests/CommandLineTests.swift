import Foundation
import Testing
import TestFixtures

/// Runs the built tool (and parse.sh) as a user would and checks the whole contract:
/// one verdict line, exit status, messages, and the JSON file.
@Suite struct CommandLineTests {
    struct Run { let status: Int32; let stdout: String; let stderr: String }

    /// The `blocksmith` binary built beside this test bundle.
    static let binary: URL = {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !folder.path.hasSuffix(".xctest") && folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("blocksmith").path) {
            folder.deleteLastPathComponent()
        }
        if folder.path.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("blocksmith")
    }()

    /// The repository root (where parse.sh is).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func run(_ executable: URL, _ arguments: [String], input: Data? = nil) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try stdin.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func blocksmith(_ arguments: String...) throws -> Run { try run(binary, arguments) }

    /// A temporary copy of a fixture (or of changed bytes), so JSON lands in a scratch folder.
    static func scratch(_ bytes: [UInt8], name: String = "blk.blk") -> (folder: URL, file: String) {
        let folder = Fixtures.temporaryFolder()
        let file = folder.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        return (folder, file)
    }

    static let ten = Fixtures.bytes("blocks/mainnet-000000-000009.blk")

    @Test func validFileGivesOneLineAndJSON() throws {
        let (folder, file) = Self.scratch(Self.ten)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Self.blocksmith("parse", file)
        #expect(run.stdout == "no errors 10 blocks\n")
        #expect(run.stderr == "")
        #expect(run.status == 0)
        let json = try #require(FileManager.default.contents(atPath: file + ".json"))
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(object?["height"] as? Int == 10)
    }

    @Test func errorGivesVerdictSentenceAndStatusOne() throws {
        var bytes = Self.ten
        bytes[89] = 17
        let (folder, file) = Self.scratch(bytes)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Self.blocksmith("parse", file)
        #expect(run.stdout == "error 5 block 0\n")
        #expect(run.stderr == "\(file): block 0 at byte 89: transaction 0 version is 17, expected 1\n")
        #expect(run.status == 1)
        #expect(!FileManager.default.fileExists(atPath: file + ".json"))
    }

    @Test func missingFileIsStatusTwoWithoutVerdict() throws {
        let run = try Self.blocksmith("parse", "/nonexistent/blk00000.dat")
        #expect(run.status == 2)
        #expect(run.stdout == "")
        #expect(run.stderr == "blocksmith: /nonexistent/blk00000.dat: cannot open: No such file or directory\n")
    }

    @Test func usageProblemsAreStatusTwo() throws {
        #expect(try Self.blocksmith("parse").status == 2)
        #expect(try Self.blocksmith("parse", "a", "--no-json", "--json", "b").status == 2)
        #expect(try Self.blocksmith("frobnicate").status == 2)
        let help = try Self.blocksmith("parse", "--help")
        #expect(help.status == 0)
        #expect(help.stdout.contains("--no-json"))
    }

    @Test func noJSONAndJSONPath() throws {
        let (folder, file) = Self.scratch(Self.ten)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try Self.blocksmith("parse", file, "--no-json").stdout == "no errors 10 blocks\n")
        #expect(!FileManager.default.fileExists(atPath: file + ".json"))
        let elsewhere = folder.appendingPathComponent("elsewhere.json").path
        #expect(try Self.blocksmith("parse", file, "--json", elsewhere).status == 0)
        #expect(FileManager.default.fileExists(atPath: elsewhere))
        #expect(!FileManager.default.fileExists(atPath: file + ".json"))
        // A device is written to, never replaced.
        #expect(try Self.blocksmith("parse", file, "--json", "/dev/null").status == 0)
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        let itself = try Self.blocksmith("parse", file, "--json", file)
        #expect(itself.status == 2)
        #expect(itself.stderr == "blocksmith: \(file): the JSON would overwrite the input\n")
        #expect(FileManager.default.contents(atPath: file) == Data(Self.ten))
        let unwritable = try Self.blocksmith("parse", file, "--json", "/nonexistent/x.json")
        #expect(unwritable.status == 2 && unwritable.stdout == "")
    }

    static let hostile: [String: ([UInt8], String)] = [
        "empty file": ([], "no errors 0 blocks"),
        "text file": (Array("just some text\n".utf8), "error 1 block 0"),
        "magic only": ([0xf9, 0xbe, 0xb4, 0xd9], "error 1 block 0"),
        "cut inside block 4": (Array(ten.prefix(1000)), "error 1 block 4"),  // blocks end at 293, 516, 739, 962
        "zero padding": (ten + [UInt8](repeating: 0, count: 4096), "no errors 10 blocks"),
    ]

    @Test(arguments: hostile.keys.sorted())
    func hostileFilesGetOneVerdictLine(name: String) throws {
        let (bytes, verdict) = Self.hostile[name]!
        let (folder, file) = Self.scratch(bytes)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Self.blocksmith("parse", file)
        #expect(run.stdout == verdict + "\n")
        #expect(run.status == (verdict.hasPrefix("no errors") ? 0 : 1))
        #expect(run.stderr.split(separator: "\n").count == (verdict.hasPrefix("no errors") ? 0 : 1))
    }

    @Test func randomGarbageNeverCrashes() throws {
        var rng = SeededGenerator(seed: 99)
        for length in [3, 8, 81, 300, 5000] {
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes.replaceSubrange(0..<min(4, length), with: [0xf9, 0xbe, 0xb4, 0xd9].prefix(length))
            let (folder, file) = Self.scratch(bytes)
            defer { try? FileManager.default.removeItem(at: folder) }
            let run = try Self.blocksmith("parse", file)
            #expect(run.status == 1)
            #expect(run.stdout.hasPrefix("error ") && run.stdout.split(separator: "\n").count == 1)
        }
    }

    @Test func jsonLoadsInPython() throws {
        let (folder, file) = Self.scratch(Fixtures.bytes("blocks/mainnet-000000-000589.blk"))
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try Self.blocksmith("parse", file).status == 0)
        let python = try Self.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c",
            "import json,sys; d=json.load(open(sys.argv[1])); print(d['height'], len(d['blocks']))", file + ".json"])
        #expect(python.stdout == "590 590\n")
    }

    /// parse.sh: starts with `#!/bin/bash`, passes its arguments, exits 0 on any verdict.
    /// Uses the release binary, which `make test` builds first.
    @Test func parseScript() throws {
        let script = Self.root.appendingPathComponent("parse.sh")
        let text = try String(contentsOf: script, encoding: .utf8)
        #expect(text.hasPrefix("#!/bin/bash\n"))
        let release = Self.root.appendingPathComponent(".build/release/blocksmith").path
        try #require(FileManager.default.isExecutableFile(atPath: release), "build the release binary first (make)")
        var bytes = Self.ten
        bytes[372] = 0
        let (folder, file) = Self.scratch(bytes)
        defer { try? FileManager.default.removeItem(at: folder) }
        let failing = try Self.run(script, [file])
        #expect(failing.stdout == "error 4 block 1\n")
        #expect(failing.status == 0)
        _ = FileManager.default.createFile(atPath: file, contents: Data(Self.ten))
        let passing = try Self.run(script, [file])
        #expect(passing.stdout == "no errors 10 blocks\n" && passing.status == 0)
        #expect(FileManager.default.fileExists(atPath: file + ".json"))
        let missing = try Self.run(script, [folder.appendingPathComponent("none").path])
        #expect(missing.status == 2 && missing.stdout == "")
    }
}
