import ArgumentParser
import BlockFile
import ChainIndex
import ChainServer
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the index: esplora's REST API, OCAP-style GraphQL and a web explorer.",
        discussion: """
            REST under /api (esplora's paths and fields, plus /api/between, /api/richest, \
            /api/stats and /api/address/ADDR/balance), GraphQL at /graphql and the explorer at /. \
            The server only reads the database: blocks another `blocksmith index` adds show in \
            the next answer. With --follow it indexes a blocks folder itself as it grows. \
            The first line on standard output is `listening on http://HOST:PORT`; SIGINT or \
            SIGTERM stops it.
            """)

    @Option(help: "The index (default: $BLOCKSMITH_DB, else ~/.local/share/blocksmith/index.sqlite).")
    var db: String?

    @Option(help: "HOST:PORT to listen on; port 0 takes a free port. Only this machine can connect unless you name another address.")
    var bind = "127.0.0.1:3000"

    @Option(help: "Send CORS headers allowing this origin (e.g. https://example.org or *).")
    var cors: String?

    @Option(help: "Index this blocks folder as Bitcoin Core writes to it (checked every second).")
    var follow: String?

    @Option(help: ArgumentHelp("Each request's time limit, in seconds.", visibility: .hidden))
    var timeLimit = 10.0

    func run() async throws {
        var options = ServerOptions()
        (options.host, options.port) = try Self.address(bind)
        options.corsOrigin = cors
        options.timeLimit = .milliseconds(Int(timeLimit * 1000))
        let path = db ?? ChainIndexer.defaultPath()
        if let follow {
            let folderOfDatabase = (path as NSString).deletingLastPathComponent
            if !folderOfDatabase.isEmpty { try? FileManager.default.createDirectory(atPath: folderOfDatabase, withIntermediateDirectories: true) }
            let indexer = try ChainIndexer(database: ChainIndexer.open(path: path))
            Follower(indexer: indexer, folder: follow).start()
        }
        let sessions: IndexSessions
        do { sessions = try IndexSessions(path: path) } catch let error as SessionError { throw ToolError(error.description) }
        let server = try ChainServer(sessions: sessions, options: options)
        try await server.run { host, port in _ = Self.announceListening(host: host, port: port) }
    }

    /// Writes the first line, `listening on http://HOST:PORT` (IPv6 in brackets).
    /// - Returns: the host as written.
    static func announceListening(host: String, port: Int) -> String {
        let shown = host.contains(":") ? "[\(host)]" : host
        FileHandle.standardOutput.write(Data("listening on http://\(shown):\(port)\n".utf8))
        return shown
    }

    /// `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback).
    static func address(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ToolError("--bind '\(text)' is not HOST:PORT (a port from 0 to 65535)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}

/// Indexes a blocks folder again every second on its own thread (new files and blocks,
/// reorgs); warnings and failures go to standard error and the next round tries again.
final class Follower: @unchecked Sendable {  // the indexer is used from the follower's thread only
    let indexer: ChainIndexer, folder: String

    init(indexer: ChainIndexer, folder: String) {
        self.indexer = indexer
        self.folder = folder
    }

    var lastError = ""

    func start() {
        indexer.warn = { standardError("follow: warning: \($0)") }
        Thread.detachNewThread { [self] in
            for _ in 0..<Int.max {
                round()
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// One pass over the folder: whatever is new since the last.
    func round() {
        do {
            let report = try indexer.index(try BlocksFolder(paths: [folder]))
            if report.connected > 0 || report.disconnected > 0 {
                standardError("follow: \(report.connected) blocks connected, \(report.disconnected) disconnected; "
                              + "tip at height \(report.tipHeight.map { String($0) } ?? "?")")
            }
            lastError = ""
        } catch {
            let message = "\(error)"
            if message != lastError { standardError("follow: \(message)") }
            lastError = message
        }
    }
}
