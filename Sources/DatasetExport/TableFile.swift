import CompressNIO
import Dispatch
import Foundation
import NIOCore
import Export
import BlockFile

/// One partition's file of one table, written through memory buffers: plain, or gzip (zlib
/// through CompressNIO) when asked. Full buffers go to a writing thread of the file's own,
/// which compresses and writes them while the caller fills the next (at most two wait, so
/// memory stays bounded). Written under a hidden temporary name and renamed into place by
/// `commit` (`OutputFile`): a file under its real name is always complete.
final class TableFile: @unchecked Sendable {  // `spare` and `failure` only under `lock`; the rest on the caller's thread or `queue`
    let file: OutputFile
    private var staging: OutputBuffer
    private let compressor: ZlibCompressor?
    private var window: ByteBuffer
    /// Rows written; bytes written to disk (known once `commit` returns).
    var rows: Int64 = 0
    private(set) var bytesOut = 0

    private let queue = DispatchQueue(label: "blocksmith.export.file")
    private let slots = DispatchSemaphore(value: 2)
    private let lock = NSLock()
    private var spare = [OutputBuffer]()
    private var failure: (any Error)?

    static let flushAt = 1 << 20

    init(path: String, gzip: Bool) throws {
        // The partition's previous file stays until this one is complete.
        file = try OutputFile(path: path, keepingTarget: true)
        // Level 1 writes about three times faster than zlib's default for 10-15 % more bytes.
        compressor = gzip ? try ZlibCompressor(algorithm: .gzip, configuration: ZlibConfiguration(compressionLevel: .fastestCompression)) : nil
        window = ByteBufferAllocator().buffer(capacity: gzip ? 1 << 18 : 0)
        staging = OutputBuffer(capacity: Self.flushAt + (1 << 16))
    }

    /// Stages bytes for the file (`body` appends them).
    func withStaging(_ body: (inout OutputBuffer) -> Void) {
        body(&staging)
    }

    /// Hands the staged bytes to the writing thread once there is a buffer's worth.
    func flushIfFull() throws {
        if staging.count >= Self.flushAt { try handOff(finish: false) }
    }

    private func handOff(finish: Bool) throws {
        try rethrowFailure()
        let full = staging
        slots.wait()
        lock.lock()
        staging = spare.popLast() ?? OutputBuffer(capacity: Self.flushAt + (1 << 16))
        lock.unlock()
        staging.removeAll()
        queue.async { [self] in
            do {
                try write(full, finish: finish)
            } catch {
                lock.lock()
                if failure == nil { failure = error }
                lock.unlock()
            }
            lock.lock()
            spare.append(full)
            lock.unlock()
            slots.signal()
        }
    }

    private func rethrowFailure() throws {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
    }

    /// On `queue`: compresses (when asked) and writes one buffer.
    private func write(_ buffer: OutputBuffer, finish: Bool) throws {
        if let compressor {
            var input = ByteBuffer(bytes: buffer.bytes)
            try input.compressStream(with: compressor, window: &window, flush: finish ? .finish : .no) { compressed in
                try compressed.withUnsafeReadableBytes { try file.write($0) }
                bytesOut += compressed.readableBytes
            }
        } else {
            try file.write(buffer)
            bytesOut += buffer.count
        }
    }

    /// Writes what is staged, waits for the writing thread and renames the file into place.
    func commit() throws {
        try handOff(finish: true)
        queue.sync {}
        try rethrowFailure()
        try file.commit()
    }

    /// Waits for the writing thread and removes the temporary file.
    func discard() {
        queue.sync {}
        file.discard()
    }
}
