public import BitcoinWire
public import BlockFile

/// Which part of an input `show` prints.
public struct ShowSelection: Sendable {
    /// Only the block at this index in the file.
    public var block: Int?
    /// Only the block with this hash.
    public var hash: BlockHash?
    /// Only this transaction (with its block's header).
    public var txid: TxID?

    public init(block: Int? = nil, hash: BlockHash? = nil, txid: TxID? = nil) {
        self.block = block
        self.hash = hash
        self.txid = txid
    }
}

/// Renders the selected blocks of an input on every core, handing the output on in file order.
public enum ShowJob {
    /// - Parameters:
    ///   - context: from `InputContext.read` (heights, spent values).
    ///   - render: writes one block (or only its transaction at the given index) into the buffer.
    ///   - emit: receives each chunk's output in file order.
    /// - Returns: how many blocks (or transactions, with a txid selection) were shown.
    public static func run(_ input: BlockInput, context: InputContext, selection: ShowSelection,
                           workers: Int = processorCount,
                           render: @escaping @Sendable (BlockDetails, Int?, inout OutputBuffer) -> Void,
                           emit: (OutputBuffer) throws -> Void) throws -> Int {
        var frames = input.frames()
        let chunks = FrameChunks { frames.next() }
        let file = input.file
        let wanted: Int? = selection.block ?? selection.hash.flatMap { context.hashes.firstIndex(of: $0) }
        if selection.hash != nil && wanted == nil { return 0 }
        var shown = 0
        try orderedParallelMap(workers: workers, window: 4 * workers, produce: chunks.next, transform: { frames in
            var out = OutputBuffer(capacity: 1 << 16)
            var count = 0
            for frame in frames where (wanted == nil || wanted == frame.index) && frame.index < context.hashes.count {
                // InputContext.read decoded every block already, so this cannot fail.
                guard let details = try? BlockDetails(file: file, frame: frame, context: context) else { continue }
                if let txid = selection.txid {
                    guard let index = details.block.transactions.firstIndex(where: { $0.txid == txid }) else { continue }
                    render(details, index, &out)
                } else {
                    render(details, nil, &out)
                }
                count += 1
            }
            return (out, count)
        }, consume: { result in
            shown += result.1
            try emit(result.0)
            return true
        })
        return shown
    }
}
