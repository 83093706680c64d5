import BitcoinWire
public import BlockFile

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
    /// Input bytes per unit of parallel work.
    static let chunkBytes = 1 << 19

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
        var scanner = FrameScanner(file.bytes)
        var frames = [BlockFrame]()
        var framingError: FramingError?
        while let next = scanner.next() {
            switch next {
            case .success(let frame): frames.append(frame)
            case .failure(let error): framingError = error
            }
        }
        let chunks = chunk(frames)
        let allFrames = frames
        var linker = AssignmentLinker()
        var firstError: AssignmentError?
        try orderedParallelMap(count: chunks.count, workers: workers, window: 4 * workers, transform: { i in
            var output = makeOutput()
            var blocks = [AssignmentBlock]()
            for frame in allFrames[chunks[i]] {
                let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[frame.payload])
                let checked = AssignmentRules.check(bytes, frame: frame)
                if checked.failure == nil { render(checked, bytes, &output) }
                blocks.append(AssignmentBlock(frame: frame, header: checked.header, hash: checked.hash,
                                              txids: [], failure: checked.failure))
                if checked.failure != nil { break }
            }
            return (blocks, output)
        }, consume: { _, result in
            for block in result.0 {
                if let error = linker.link(block) {
                    firstError = error
                    return false
                }
            }
            try emit(result.1)
            return true
        })
        if firstError == nil, let framingError {
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

    /// Groups consecutive frames into chunks of about `chunkBytes` input bytes.
    static func chunk(_ frames: [BlockFrame]) -> [Range<Int>] {
        var chunks = [Range<Int>]()
        var start = 0
        var bytes = 0
        for (i, frame) in frames.enumerated() {
            bytes += frame.payload.count
            if bytes >= chunkBytes {
                chunks.append(start..<(i + 1))
                start = i + 1
                bytes = 0
            }
        }
        if start < frames.count { chunks.append(start..<frames.count) }
        return chunks
    }
}
