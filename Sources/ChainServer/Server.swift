import Foundation
public import Hummingbird
import NIOCore
import Logging
import BitcoinWire
import Export
public import ChainIndex

/// What `blocksmith serve` is told.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1", port = 3000
    /// The origin allowed by CORS headers; none are sent without it.
    public var corsOrigin: String?
    /// Each request's time limit.
    public var timeLimit: Duration = .seconds(10)
    /// The largest request body accepted (GraphQL POSTs).
    public var maximumBody = 64 << 10
    public init() {}
}

/// The query service: esplora's REST API under `/api`, GraphQL at `/graphql`, the explorer
/// at `/`, all answered from `IndexSessions` (each request one read transaction).
public struct ChainServer: Sendable {
    public let sessions: IndexSessions
    public let options: ServerOptions
    let graphQL: GraphQLService

    public init(sessions: IndexSessions, options: ServerOptions) throws {
        self.sessions = sessions
        self.options = options
        graphQL = try GraphQLService(network: sessions.network)
    }

    /// The router with every route and the error and CORS middleware.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(options: .autoGenerateHeadEndpoints)
        if let origin = options.corsOrigin {
            router.add(middleware: CORSMiddleware(allowOrigin: .custom(origin), allowHeaders: [.accept, .contentType, .origin],
                                                  allowMethods: [.get, .post, .head, .options]))
        }
        router.add(middleware: ErrorMiddleware())
        router.get("/health") { _, _ in Self.text("ok") }
        addREST(to: router)
        graphQL.add(to: router, server: self)
        Explorer.add(to: router)
        return router
    }

    /// Serves until SIGINT or SIGTERM; `onListening` gets the address actually bound.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        try await Self.serve(router(), host: options.host, port: options.port, name: "blocksmith", logLabel: "blocksmith.serve",
                             onListening: onListening)
    }

    /// Runs `router` on HOST:PORT until SIGINT or SIGTERM (`blocksmith serve` and `blocksmith
    /// chain serve`), logging only warnings; `onListening` gets the address actually bound.
    static func serve(_ router: Router<BasicRequestContext>, host: String, port: Int, name: String, logLabel: String,
                      onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: name),
            onServerRunning: { channel in
                onListening(channel.localAddress?.ipAddress ?? "?", channel.localAddress?.port ?? 0)
            },
            logger: {
                var logger = Logger(label: logLabel)
                logger.logLevel = .warning
                return logger
            }())
        try await app.runService()
    }

    // MARK: answering

    /// Runs `body` in one read session and writes its value as JSON.
    func json<T: Encodable & Sendable>(_ body: @escaping @Sendable (IndexSession) throws -> T) async throws -> Response {
        let value = try await sessions.withSession(timeLimit: options.timeLimit) { session in try body(session) }
        return Self.json(value)
    }

    /// Runs `body` in one read session and writes its value as JSON, by hand (`JSONWritable`).
    func json<T: JSONWritable & Sendable>(_ body: @escaping @Sendable (IndexSession) throws -> T) async throws -> Response {
        let value = try await sessions.withSession(timeLimit: options.timeLimit) { session in try body(session) }
        var out = OutputBuffer(capacity: 4096)
        value.write(to: &out)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out.bytes)))
    }

    /// Runs `body` in one read session and writes its text.
    func text(_ body: @escaping @Sendable (IndexSession) throws -> String) async throws -> Response {
        Self.text(try await sessions.withSession(timeLimit: options.timeLimit) { session in try body(session) })
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"the answer could not be encoded"}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ value: String, type: String = "text/plain; charset=utf-8") -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: value)))
    }
}

/// `{"error": "…"}` with the right status for every failure: 400 for malformed input, 404
/// for what does not exist, 413 for a body too large, 503 for a busy server, a time limit
/// or missing block files. Nothing a client sends becomes a 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let (status, message) = Self.describe(error)
            return ChainServer.json(["error": message], status: status)
        }
    }

    static func describe(_ error: any Error) -> (HTTPResponse.Status, String) {
        switch error {
        case let error as QueryError:
            return (error.isNotFound ? .notFound : error.isUnavailable ? .serviceUnavailable : .badRequest, error.description)
        case let error as SessionError:
            return (.serviceUnavailable, error.description)
        case let error as RequestError:
            return (error.status, error.message)
        case is NIOTooManyBytesError:
            return (.contentTooLarge, "the request body is over the limit")
        case let error as HTTPError:
            switch error.status {
            case .notFound: return (.notFound, "no such page or endpoint")
            case .contentTooLarge: return (.contentTooLarge, "the request body is over the limit")
            default: return (error.status, error.body ?? error.status.reasonPhrase)
            }
        default:
            return (.internalServerError, "internal error: \(error)")
        }
    }
}

/// A request the server refuses, with its status.
struct RequestError: Error {
    let status: HTTPResponse.Status, message: String
    static func badRequest(_ message: String) -> RequestError { RequestError(status: .badRequest, message: message) }
}
