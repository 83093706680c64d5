import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct Blocksmith: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocksmith",
        abstract: "A toolkit for Bitcoin block data.",
        subcommands: [Parse.self, Show.self, Verify.self, Index.self, Query.self, Serve.self, ChainCommand.self, ExportCommand.self])

    /// Exit status for usage and I/O problems (ArgumentParser's default is 64).
    static let usageExitCode: Int32 = 2

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            terminate(code.rawValue)
        } catch let error as ToolError {
            standardError("blocksmith: \(error.message)")
            terminate(usageExitCode)
        } catch {
            let status = exitCode(for: error)
            if status == .success {
                print(fullMessage(for: error))
                terminate(0)
            }
            standardError(fullMessage(for: error))
            terminate(usageExitCode)
        }
    }
}

/// A problem that stops a command before it can give a verdict (missing file, I/O error).
struct ToolError: Error {
    let message: String
    init(_ message: String) { self.message = message }
    init(_ error: any Error) { message = (error as? ToolError)?.message ?? "\(error)" }
}

/// Writes one line to standard error.
func standardError(_ line: String) {
    var line = line + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Flushes standard output and ends the process with `status`.
func terminate(_ status: Int32) -> Never {
    fflush(nil)
    exit(status)
}
