import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BitcoinWire
import BlockFile
import Export
import Validation

struct Parse: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a blk file against the assignment's six checks and write it as JSON.",
        discussion: """
            Prints one verdict line: `no errors X blocks`, or `error E block N` for the first \
            failed check (1 magic, 2 header version, 3 previous-block hash, 4 timestamp, \
            5 transaction version, 6 merkle root), with a sentence on standard error saying \
            where. With no errors, writes FILE.json.

            Exit status: 0 no errors, 1 an error was found, 2 usage or I/O problem.
            """)

    @Argument(help: "A file of blocks in Bitcoin Core's blk format (magic, size, block, repeated).")
    var file: String

    @Flag(name: .customLong("no-json"), help: "Validate only; write no JSON.")
    var noJSON = false

    @Option(name: .customLong("json"), help: ArgumentHelp("Where to write the JSON (default: FILE.json).", valueName: "path"))
    var jsonPath: String?

    @Option(help: ArgumentHelp("Worker threads (default: one per core).", visibility: .hidden))
    var workers: Int?

    func validate() throws {
        if noJSON && jsonPath != nil { throw ValidationError("--no-json and --json cannot be used together") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
    }

    func run() throws {
        let report: AssignmentReport
        do {
            let input = try MappedFile(path: file)
            let target = jsonPath ?? file + ".json"
            if !noJSON && isSameFile(file, target) {
                throw ToolError("\(target): the JSON would overwrite the input")
            }
            let json = noJSON ? nil : try OutputFile(path: target)
            report = try AssignmentExport.run(input, json: json, workers: workers ?? processorCount)
        } catch {
            throw ToolError(error)
        }
        print(report.verdict)
        if let error = report.error {
            standardError(error.message(file: file))
            throw ExitCode(1)
        }
    }
}

/// True when both paths name the same file (after following links).
func isSameFile(_ a: String, _ b: String) -> Bool {
    var x = stat(), y = stat()
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
}
