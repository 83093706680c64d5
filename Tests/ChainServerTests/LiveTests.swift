import Foundation
import Testing
import ChainIndex
import ChainServer
import BlockFile
import TestFixtures

/// The server reads while an indexer writes the same file.
@Suite(.serialized) struct LiveTests {
    /// A folder holding blocks 0-99, then 0-589 (the indexer reads only what is new).
    static func growingIndex() throws -> (db: String, folder: URL, indexer: ChainIndexer) {
        let folder = Fixtures.temporaryFolder()
        try FileManager.default.copyItem(atPath: Fixtures.path("blocks/mainnet-000000-000099.blk"), toPath: folder.appendingPathComponent("blk00000.dat").path)
        let db = folder.appendingPathComponent("index.sqlite").path
        let indexer = try ChainIndexer(database: ChainIndexer.open(path: db))
        _ = try indexer.index(BlocksFolder(paths: [folder.path]))
        return (db, folder, indexer)
    }

    @Test func newBlocksShowWithoutRestart() async throws {
        let (db, folder, indexer) = try Self.growingIndex()
        let server = try await RunningServer(db: db)
        #expect(try await server.get("/api/blocks/tip/height").text == "99")
        #expect(try await server.get("/api/block-height/170").status == 404)
        try FileManager.default.copyItem(atPath: Fixtures.path("blocks/mainnet-000000-000589.blk"), toPath: folder.appendingPathComponent("blk00001.dat").path)
        _ = try indexer.index(BlocksFolder(paths: [folder.path]))
        #expect(try await server.get("/api/blocks/tip/height").text == "589")
        #expect(try await server.get("/api/block-height/170").text == RESTTests.block170)
        #expect(try await server.get("/api/tx/\(RESTTests.pizza)").status == 200)
    }

    /// One session is one read transaction: what is committed meanwhile shows in the next.
    @Test func aSessionSeesOneTip() async throws {
        let (db, folder, indexer) = try Self.growingIndex()
        let sessions = try IndexSessions(path: db)
        try FileManager.default.copyItem(atPath: Fixtures.path("blocks/mainnet-000000-000589.blk"), toPath: folder.appendingPathComponent("blk00001.dat").path)
        let (before, during) = try await sessions.withSession { session in
            let before = try session.read { try $0.tip()?.height }
            _ = try indexer.index(BlocksFolder(paths: [folder.path]))
            return (before, try session.read { try $0.tip()?.height })
        }
        #expect(before == 99 && during == 99)
        #expect(try await sessions.withSession { session in try session.read { try $0.tip()?.height } } == 589)
    }

    @Test func aMissingIndexIsAClearError() throws {
        #expect(throws: SessionError.self) { try IndexSessions(path: "/nonexistent/index.sqlite") }
    }
}
