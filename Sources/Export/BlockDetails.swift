public import BitcoinWire
public import BlockFile
import BitcoinScript

/// What `show` learns from reading a whole input in order: each block's height and the value
/// of every input whose spent output is earlier in the same input.
public struct InputContext: Sendable {
    /// Per block in file order: its height, when known.
    public let heights: [Int64?]
    /// Per block: the value of each input's spent output, flattened in transaction order;
    /// `unknownValue` where the output is not in the input.
    public let spentValues: [[Int64]]
    /// Per block: its hash.
    public let hashes: [BlockHash]
    /// What stopped the reading early (a block that does not decode, a damaged preamble);
    /// the blocks before it are all here.
    public let damage: InputDamage?

    public static let unknownValue = Int64.min

    /// Reads `input` once (decoding in parallel, linking in order), up to the first block
    /// that does not decode or damaged preamble.
    public static func read(_ input: BlockInput, workers: Int = processorCount) -> InputContext {
        var frames = input.frames()
        let chunks = FrameChunks { frames.next() }
        struct Summary: Sendable {
            let hash: BlockHash, previous: BlockHash, bip34: Int64?, network: ChainParameters
            /// Per transaction, in order: the outpoints it spends (none for a coinbase) and its
            /// output values.
            let transactions: [(txid: TxID, spends: [OutPoint], values: [Int64])]
        }
        let file = input.file
        var heights = [Int64?](), spent = [[Int64]](), hashes = [BlockHash]()
        var unspent = [OutPoint: Int64]()
        var failure: BlockError?
        try! orderedParallelMap(workers: workers, window: 4 * workers, produce: chunks.next, transform: { frames in
            frames.map { frame -> Result<Summary, BlockError> in
                do throws(DecodeError) {
                    let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[frame.payload])
                    var reader = try TransactionReader(bytes, baseOffset: frame.payload.lowerBound)
                    var spends = SpendsAndValues()
                    var firstScriptSig: Range<Int>?
                    var transactions = [(txid: TxID, spends: [OutPoint], values: [Int64])]()
                    transactions.reserveCapacity(reader.reservableCount)
                    while reader.hasNext {
                        spends = SpendsAndValues()
                        let extent = try reader.next(visitor: &spends)
                        let coinbase = spends.spends.count == 1 && spends.spends[0].isNull
                        if transactions.isEmpty && coinbase { firstScriptSig = spends.firstScriptSig }
                        transactions.append((extent.txid(in: bytes), coinbase ? [] : spends.spends, spends.values))
                    }
                    try reader.finish()
                    let header = reader.header
                    let bip34 = firstScriptSig.flatMap { Block.bip34Height(version: header.version, coinbaseScript: bytes[$0]) }
                    return .success(Summary(hash: SHA256d.hash(UnsafeRawBufferPointer(rebasing: bytes[0..<Limits.headerSize])),
                                            previous: header.previousBlockHash, bip34: bip34, network: frame.network,
                                            transactions: transactions))
                } catch {
                    return .failure(BlockError(blockIndex: frame.index, error: error))
                }
            }
        }, consume: { summaries in
            for result in summaries {
                let summary: Summary
                switch result {
                case .success(let s): summary = s
                case .failure(let error): failure = error; return false
                }
                let previousHeight = heights.last ?? nil
                let follows = hashes.last == summary.previous
                heights.append(summary.bip34 ?? (summary.hash == summary.network.genesisHash ? 0
                    : follows ? previousHeight.map { $0 + 1 } : nil))
                hashes.append(summary.hash)
                var values = [Int64]()
                for (txid, spends, outputs) in summary.transactions {
                    if spends.isEmpty { values.append(unknownValue) }  // the coinbase input
                    for spend in spends { values.append(unspent.removeValue(forKey: spend) ?? unknownValue) }
                    for (n, value) in outputs.enumerated() { unspent[OutPoint(txid: txid, index: UInt32(n))] = value }
                }
                spent.append(values)
            }
            return true
        })
        let damage = failure.map { InputDamage(blockIndex: $0.blockIndex, offset: $0.error.offset, detail: "\($0.error)") }
            ?? chunks.error.map { InputDamage(blockIndex: $0.blockIndex, offset: $0.offset, detail: "\($0)") }
        return InputContext(heights: heights, spentValues: spent, hashes: hashes, damage: damage)
    }
}

/// Collects the outpoints a transaction spends and its output values from a walk.
struct SpendsAndValues: TransactionVisitor {
    var spends = [OutPoint]()
    var values = [Int64]()
    mutating func inputCount(_ count: Int) { spends.reserveCapacity(count) }
    var firstScriptSig: Range<Int>?
    mutating func input(_ previousOutput: OutPoint, scriptSig: Range<Int>, sequence: UInt32) {
        if spends.isEmpty { firstScriptSig = scriptSig }
        spends.append(previousOutput)
    }
    mutating func outputCount(_ count: Int) { values.reserveCapacity(count) }
    mutating func output(value: Int64, scriptPubKey: Range<Int>) { values.append(value) }
}

/// Where and why an input stopped being readable.
public struct InputDamage: Sendable, CustomStringConvertible {
    public let blockIndex: Int
    public let offset: Int
    public let detail: String
    public var description: String { "block \(blockIndex) at byte \(offset): \(detail)" }
}

/// A block that could not be decoded, and why.
public struct BlockError: Error, Sendable, CustomStringConvertible {
    public let blockIndex: Int
    public let error: DecodeError
    public var description: String { "block \(blockIndex) at byte \(error.offset): \(error)" }
}

/// Everything `show` says about one block: the decoded block and the values computed from it.
public struct BlockDetails {
    public let frame: BlockFrame
    public let block: Block
    public let hash: BlockHash
    public let height: Int64?
    public let network: ChainParameters
    public let transactionOffsets: [Int]
    /// Per transaction, per input: the spent output's value, when it is in the same input.
    public let inputValues: [[Int64?]]

    /// Decodes the block of `frame` and attaches what `context` knows about it.
    public init(file: MappedFile, frame: BlockFrame, context: InputContext) throws(DecodeError) {
        let bytes = Array(UnsafeRawBufferPointer(rebasing: file.bytes[frame.payload]))
        let (block, offsets) = try Block.decodeLocated(bytes, baseOffset: frame.payload.lowerBound)
        self.frame = frame
        self.block = block
        hash = block.hash
        height = frame.index < context.heights.count ? context.heights[frame.index] : nil
        network = frame.network
        transactionOffsets = offsets.map { $0 + frame.payload.lowerBound }
        var values = frame.index < context.spentValues.count ? context.spentValues[frame.index][...] : []
        inputValues = block.transactions.map { tx in
            tx.inputs.map { _ in
                guard let value = values.popFirst(), value != InputContext.unknownValue else { return nil }
                return value
            }
        }
    }

    /// A transaction's fee: inputs minus outputs, when every spent output is known (never for a coinbase).
    public func fee(_ index: Int) -> Int64? {
        let tx = block.transactions[index]
        guard !tx.isCoinbase else { return nil }
        var total: Int64 = 0
        for value in inputValues[index] {
            guard let value else { return nil }
            total += value
        }
        return total - tx.outputs.reduce(0) { $0 + $1.value }
    }
}

/// Satoshis as BTC with 8 decimals: 5000000000 → "50.00000000".
public func btc(_ sats: Int64) -> String {
    let sign = sats < 0 ? "-" : ""
    let magnitude = sats.magnitude
    let fraction = String(magnitude % 100_000_000)
    return sign + String(magnitude / 100_000_000) + "." + String(repeating: "0", count: 8 - fraction.count) + fraction
}
