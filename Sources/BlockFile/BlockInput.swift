public import BitcoinWire

/// Where blocks come from and how they are laid out: a blk file (magic, size, block,
/// repeated; the network told by each block's magic) or one raw serialized block.
public struct BlockInput: Sendable {
    public enum Layout: Sendable, Equatable {
        /// Bitcoin Core's blk format, any network's magic.
        case blk
        /// A single block with no preamble, of the given network.
        case raw(ChainParameters)
    }

    public let file: MappedFile
    public let layout: Layout

    /// Reads `file`, recognising its layout: blk when it starts with a known network's magic,
    /// otherwise one raw block of `network`.
    public init(_ file: MappedFile, network: ChainParameters = .mainnet) {
        self.file = file
        if file.bytes.count >= 4, ChainParameters.known(magic: file.bytes.loadUnaligned(as: UInt32.self).littleEndian) != nil {
            layout = .blk
        } else {
            layout = .raw(network)
        }
    }

    /// Reads hex text (whitespace ignored), as pasted from an explorer or `getblock … 0`.
    /// - Returns: nil when the text is not hex.
    public static func fromHex(_ text: some Sequence<UInt8>, name: String, network: ChainParameters = .mainnet) -> BlockInput? {
        let digits = text.filter { !($0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09) }
        guard let bytes = Hex.decode(String(decoding: digits, as: UTF8.self)) else { return nil }
        return BlockInput(MappedFile(copying: bytes, path: name), network: network)
    }

    /// The frames of the input, in order; for a raw block, one frame covering all of it.
    public func frames(maximumSize: Int? = nil) -> FrameSequence { FrameSequence(input: self, maximumSize: maximumSize) }

    /// Frames produced one at a time (a blk file is scanned lazily).
    public struct FrameSequence {
        let input: BlockInput
        var scanner: FrameScanner
        var rawDone = false

        init(input: BlockInput, maximumSize: Int?) {
            self.input = input
            scanner = FrameScanner(input.file.bytes, magics: BlockFileFormat.knownMagics, maximumSize: maximumSize)
        }

        /// The next frame, nil at the end, or the damaged preamble that ended the scan.
        public mutating func next() -> Result<BlockFrame, FramingError>? {
            switch input.layout {
            case .blk:
                return scanner.next()
            case .raw(let network):
                guard !rawDone, !input.file.bytes.isEmpty else { return nil }
                rawDone = true
                return .success(BlockFrame(index: 0, offset: 0, magic: network.magic, payload: 0..<input.file.bytes.count))
            }
        }

    }
}

/// Groups frames into chunks of about `chunkBytes` input bytes, the unit of parallel work,
/// and keeps the framing error that ended the input, if any.
///
/// Not thread-safe: the ordered pipeline calls `next()` from one thread at a time.
public final class FrameChunks {
    private let source: () -> Result<BlockFrame, FramingError>?
    public private(set) var error: FramingError?
    public static let chunkBytes = 1 << 19

    /// - Parameter source: the next frame, nil at the end (a `FrameScanner` or `FrameSequence`).
    public init(_ source: @escaping () -> Result<BlockFrame, FramingError>?) { self.source = source }

    /// The next chunk of frames, nil when none are left.
    public func next() -> [BlockFrame]? {
        var chunk = [BlockFrame]()
        var bytes = 0
        while bytes < FrameChunks.chunkBytes, let next = source() {
            switch next {
            case .success(let frame):
                chunk.append(frame)
                bytes += frame.payload.count
            case .failure(let error):
                self.error = error
            }
        }
        return chunk.isEmpty ? nil : chunk
    }
}
