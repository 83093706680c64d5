import BitcoinWire
public import Validation

/// The outcome of validating a whole file against the assignment.
public struct AssignmentReport: Sendable, Equatable {
    /// Blocks that passed every check (all of them when `error` is nil).
    public let blockCount: Int
    /// The first failure, in file order.
    public let error: AssignmentError?
    /// Zero bytes that ended the data (Core's preallocated space).
    public let trailingZeroBytes: Int

    /// The assignment's one verdict line: `no errors X blocks` or `error E block N`.
    public var verdict: String { error?.verdict ?? "no errors \(blockCount) blocks" }
}

/// Validates a blk file against the assignment, using every core: blocks are decoded,
/// hashed and checked (and optionally rendered) in parallel chunks, then linked and handed
/// on strictly in file order, so the first error in the file is the one reported and output
/// streams out with bounded memory.
public enum AssignmentValidator {
    /// Validates `file`.
    ///
    /// - Parameters:
    ///   - makeOutput: creates each chunk's output buffer.
    ///   - render: writes a block that passed its own checks, given its bytes, into its
    ///     chunk's buffer (runs on worker threads).
    ///   - emit: receives each chunk's buffer in file order once all its blocks are linked
    ///     and valid; nothing after the first error is emitted.
    /// - Returns: the verdict; the caller keeps output only when `error` is nil.
    /// - Throws: only what `emit` throws.
    public static func run<Output: Sendable>(
        _ file: MappedFile,
        workers: Int = processorCount,
        makeOutput: @escaping @Sendable () -> Output,
        render: @escaping @Sendable (AssignmentBlock, UnsafeRawBufferPointer, inout Output) -> Void,
        emit: (Output) throws -> Void
    ) throws -> AssignmentReport {
        // Blocks are framed as the workers ask for them, a chunk at a time, so only the
        // chunks in flight are ever held.
        var scanner = FrameScanner(file.bytes)
        let chunks = FrameChunks { scanner.next() }
        var linker = AssignmentLinker()
        var firstError: AssignmentError?
        try orderedParallelMap(workers: workers, window: 4 * workers, produce: chunks.next, transform: { frames in
            var output = makeOutput()
            var blocks = [AssignmentBlock]()
            blocks.reserveCapacity(frames.count)
            for frame in frames {
                let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[frame.payload])
                let checked = AssignmentRules.check(bytes, frame: frame)
                if checked.failure == nil { render(checked, bytes, &output) }
                blocks.append(AssignmentBlock(frame: frame, header: checked.header, hash: checked.hash,
                                              txids: [], failure: checked.failure))
                if checked.failure != nil { break }
            }
            return (blocks, output)
        }, consume: { result in
            for block in result.0 {
                if let error = linker.link(block) {
                    firstError = error
                    return false
                }
            }
            try emit(result.1)
            return true
        })
        if firstError == nil, let framingError = chunks.error {
            firstError = AssignmentError(.magic, block: framingError.blockIndex, offset: framingError.offset,
                                         framingError.description)
        }
        return AssignmentReport(blockCount: linker.blockCount, error: firstError,
                                trailingZeroBytes: scanner.trailingZeroBytes)
    }

    /// Validates `file` without producing any output.
    public static func run(_ file: MappedFile, workers: Int = processorCount) throws -> AssignmentReport {
        try run(file, workers: workers, makeOutput: { () }, render: { _, _, _ in }, emit: { _ in })
    }
}
