public import BitcoinWire

/// The six checks of the "Bitcoin Blockchain Parser" assignment, numbered as it numbers them.
/// Within a block they run in this order and the first that fails is the block's error.
public enum AssignmentCheck: Int, Sendable, CaseIterable {
    case magic = 1
    case headerVersion = 2
    case previousHash = 3
    case timestamp = 4
    case transactionVersion = 5
    case merkleRoot = 6
}

/// The first failed check in a file: which, in which block, where, and a sentence saying why.
public struct AssignmentError: Error, Sendable, Equatable {
    public let check: AssignmentCheck
    /// Counts blocks in the file from 0.
    public let blockIndex: Int
    /// Absolute byte offset of the offending field.
    public let offset: Int
    /// What was wrong, e.g. "transaction 3 version is 2, expected 1".
    public let detail: String

    public init(_ check: AssignmentCheck, block: Int, offset: Int, _ detail: String) {
        self.check = check
        self.blockIndex = block
        self.offset = offset
        self.detail = detail
    }

    /// The assignment's verdict line: `error E block N`.
    public var verdict: String { "error \(check.rawValue) block \(blockIndex)" }

    /// One human sentence: `FILE: block N at byte O: detail`.
    public func message(file: String) -> String {
        "\(file): block \(blockIndex) at byte \(offset): \(detail)"
    }
}

/// What the per-block checks learned about one block, for the in-order linking checks.
public struct AssignmentBlock: Sendable {
    public let frame: BlockFrame
    public let header: BlockHeader
    public let hash: BlockHash
    /// Every transaction's txid, in block order, when checks 2, 5 and 6 passed.
    public let txids: [TxID]
    /// The first of checks 2, 5 and 6 that failed.
    public let failure: AssignmentError?

    public init(frame: BlockFrame, header: BlockHeader, hash: BlockHash, txids: [TxID], failure: AssignmentError?) {
        self.frame = frame
        self.header = header
        self.hash = hash
        self.txids = txids
        self.failure = failure
    }
}

/// The assignment's rules for one block that need no other block: 2 (header version),
/// 5 (transaction versions) and 6 (merkle root), over the literal pre-segwit format.
public enum AssignmentRules {
    /// Runs checks 2, 5 and 6 on the block in `frame`, reading its bytes in place.
    ///
    /// Transactions that do not parse exactly within the block's declared size make the
    /// merkle root unconfirmable (check 6), unless a transaction read before that point, or
    /// the failing one's own version field, already failed check 5.
    /// - Parameter bytes: the block's bytes (the frame's payload).
    public static func check(_ bytes: UnsafeRawBufferPointer, frame: BlockFrame) -> AssignmentBlock {
        let base = frame.payload.lowerBound
        let index = frame.index
        // The frame guarantees at least 81 bytes, so the header and a count byte are present.
        let header = try! BlockHeader(decoding: bytes)
        let hash = SHA256d.hash(UnsafeRawBufferPointer(rebasing: bytes[0..<Limits.headerSize]))
        func result(_ failure: AssignmentError?, _ txids: [TxID] = []) -> AssignmentBlock {
            AssignmentBlock(frame: frame, header: header, hash: hash, txids: txids, failure: failure)
        }
        guard header.version == 1 else {
            return result(AssignmentError(.headerVersion, block: index, offset: base,
                                          "header version is \(header.version), expected 1"))
        }
        var reader: TransactionReader
        do {
            reader = try TransactionReader(bytes, baseOffset: base, options: .legacy)
        } catch {
            return result(AssignmentError(.merkleRoot, block: index, offset: error.offset,
                                          "transaction count cannot be read, so the merkle root cannot be confirmed: \(error)"))
        }
        var txids = [TxID]()
        txids.reserveCapacity(reader.reservableCount)
        var versionFailure: AssignmentError?
        var fields = TransactionVersion()
        do {
            while reader.hasNext {
                let extent = try reader.next(visitor: &fields)
                if fields.version != 1 && versionFailure == nil {
                    versionFailure = badVersion(fields.version, transaction: reader.index - 1, block: index,
                                                offset: reader.transactionOffset)
                }
                if versionFailure == nil { txids.append(extent.txid(in: bytes)) }
            }
            try reader.finish()
        } catch {
            if versionFailure == nil, reader.hasNext, let version = reader.versionAtTransactionStart, version != 1 {
                versionFailure = badVersion(version, transaction: reader.index, block: index, offset: reader.transactionOffset)
            }
            return result(versionFailure ?? AssignmentError(
                .merkleRoot, block: index, offset: error.offset,
                "transactions do not fit the block's \(frame.payload.count) bytes, so its merkle root cannot be confirmed: \(error)"))
        }
        if let versionFailure { return result(versionFailure) }
        guard let (root, _) = Merkle.root(txids) else {
            return result(AssignmentError(.merkleRoot, block: index, offset: base + Limits.headerSize,
                                          "block has no transactions, so it has no merkle root"))
        }
        guard root == header.merkleRoot else {
            return result(AssignmentError(.merkleRoot, block: index, offset: base + 36,
                                          "merkle root is \(header.merkleRoot), but the transactions hash to \(root)"))
        }
        return result(nil, txids)
    }

    static func badVersion(_ version: UInt32, transaction: Int, block: Int, offset: Int) -> AssignmentError {
        AssignmentError(.transactionVersion, block: block, offset: offset,
                        "transaction \(transaction) version is \(version), expected 1")
    }

    /// The largest step back in time allowed from one block to the next: 2 hours.
    public static let maxTimeBackstep: Int64 = 7200
}

/// Keeps only a transaction's version from a walk.
struct TransactionVersion: TransactionVisitor {
    var version: UInt32 = 0
    mutating func version(_ version: UInt32) { self.version = version }
}

/// The checks that link each block to the one before it in the file, applied in file order:
/// 3 (previous-block hash) and 4 (timestamp), interleaved with the block's own results so
/// that the lowest-numbered failure in the earliest block wins.
public struct AssignmentLinker: Sendable {
    private var previous: (hash: BlockHash, time: UInt32)?
    public private(set) var blockCount = 0

    public init() {}

    /// Checks `block` against the previous one and returns the block's first failure, if any.
    public mutating func link(_ block: AssignmentBlock) -> AssignmentError? {
        if let failure = block.failure, failure.check == .headerVersion { return failure }
        let index = block.frame.index
        let base = block.frame.payload.lowerBound
        if let previous {
            guard block.header.previousBlockHash == previous.hash else {
                return AssignmentError(.previousHash, block: index, offset: base + 4,
                                       "previous-block hash is \(block.header.previousBlockHash), but block \(index - 1) hashes to \(previous.hash)")
            }
            guard Int64(block.header.time) >= Int64(previous.time) - AssignmentRules.maxTimeBackstep else {
                return AssignmentError(.timestamp, block: index, offset: base + 68,
                                       "timestamp \(block.header.time) is \(Int64(previous.time) - Int64(block.header.time)) s before block \(index - 1)'s \(previous.time), more than the 7200 s allowed")
            }
        }
        if let failure = block.failure { return failure }
        previous = (block.hash, block.header.time)
        blockCount += 1
        return nil
    }
}
