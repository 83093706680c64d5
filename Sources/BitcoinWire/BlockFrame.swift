/// One block's place in a blk file (a value: reading files is BlockFile's business): the 8-byte preamble (magic, size) and the block after it.
public struct BlockFrame: Sendable, Hashable {
    /// 0 for the first block in the file.
    public let index: Int
    /// Offset of the magic bytes in the file.
    public let offset: Int
    /// The network magic, as read little-endian.
    public let magic: UInt32
    /// The block's bytes in the file (after the preamble).
    public let payload: Range<Int>

    public init(index: Int, offset: Int, magic: UInt32, payload: Range<Int>) {
        self.index = index
        self.offset = offset
        self.magic = magic
        self.payload = payload
    }
}

extension BlockFrame {
    /// The network the frame's magic names (mainnet for an unknown one).
    public var network: ChainParameters { ChainParameters.known(magic: magic) ?? .mainnet }
}
