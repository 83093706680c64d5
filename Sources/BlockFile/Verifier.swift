public import BitcoinWire
public import Validation

/// One block's verdict from `Verifier`.
public struct VerifiedBlock: Sendable {
    public let frame: BlockFrame
    /// The block hash (nil when even the header could not be read).
    public let hash: BlockHash?
    public let previousHash: BlockHash?
    /// Everything the block breaks; empty when it passed.
    public let failures: [RuleFailure]
}

/// Runs `BlockRules` over every block of an input, in parallel, reporting in file order.
public enum Verifier {
    /// Verifies each block of `input` and hands the results to `report` in file order.
    /// - Returns: the framing error that ended a blk file early, if any.
    /// - Throws: what `report` throws.
    public static func run(_ input: BlockInput, workers: Int = processorCount,
                           report: (VerifiedBlock) throws -> Void) throws -> FramingError? {
        var frames = input.frames(maximumSize: Limits.maxBlockSerializedSize)
        let chunks = FrameChunks { frames.next() }
        let file = input.file
        try orderedParallelMap(workers: workers, window: 4 * workers, produce: chunks.next, transform: { frames in
            frames.map { verify(file: file, frame: $0) }
        }, consume: { blocks in
            for block in blocks { try report(block) }
            return true
        })
        return chunks.error
    }

    /// Decodes and checks one block.
    public static func verify(file: MappedFile, frame: BlockFrame) -> VerifiedBlock {
        let bytes = Array(UnsafeRawBufferPointer(rebasing: file.bytes[frame.payload]))
        let base = frame.payload.lowerBound
        guard let header = try? BlockHeader(decoding: bytes) else {
            return VerifiedBlock(frame: frame, hash: nil, previousHash: nil, failures: [
                RuleFailure("bad-header", "only \(bytes.count) bytes, too few for a header", offset: base)])
        }
        let hash = header.hash
        do {
            let (block, offsets) = try Block.decodeLocated(bytes, baseOffset: base)
            let failures = BlockRules.check(block, hash: hash, network: frame.network, baseOffset: base,
                                            transactionOffsets: offsets)
            return VerifiedBlock(frame: frame, hash: hash, previousHash: header.previousBlockHash, failures: failures)
        } catch {
            return VerifiedBlock(frame: frame, hash: hash, previousHash: header.previousBlockHash, failures: [
                RuleFailure("bad-blk-decode", "the block does not decode: \(error)", offset: error.offset)])
        }
    }
}
