/// A block: header and transactions (Core `CBlock`).
public struct Block: Sendable, Hashable, WireEncodable {
    public let header: BlockHeader
    public let transactions: [Transaction]

    public init(header: BlockHeader, transactions: [Transaction]) {
        self.header = header
        self.transactions = transactions
    }

    /// The block hash: SHA-256d of the header.
    public var hash: BlockHash { header.hash }

    /// Appends the serialization; with `witness`, segwit transactions in BIP144 form.
    public func encode(into out: inout [UInt8], witness: Bool = true) {
        header.encode(into: &out)
        out.appendCompactSize(transactions.count)
        for tx in transactions { tx.encode(into: &out, witness: witness) }
    }

    /// Serialized size; without `witness`, the stripped size.
    public func size(witness: Bool = true) -> Int {
        transactions.reduce(Limits.headerSize + CompactSize.size(of: transactions.count)) {
            $0 + $1.size(witness: witness)
        }
    }

    /// BIP141 weight: stripped size × 3 + total size.
    public var weight: Int { size(witness: false) * 3 + size(witness: true) }

    /// Decodes a whole block from `bytes` (header, count, transactions, nothing left over).
    /// - Parameter baseOffset: absolute offset of `bytes[0]` in its file, used in errors.
    /// - Throws: `DecodeError` naming the field and offset that failed.
    public init(decoding bytes: [UInt8], baseOffset: Int = 0, options: DecodingOptions = .standard) throws(DecodeError) {
        self = try Block.decodeLocated(bytes, baseOffset: baseOffset, options: options).block
    }

    /// Decodes a whole block and says where each transaction starts in `bytes`.
    /// - Throws: `DecodeError` naming the field and offset that failed.
    public static func decodeLocated(_ bytes: [UInt8], baseOffset: Int = 0, options: DecodingOptions = .standard)
        throws(DecodeError) -> (block: Block, transactionOffsets: [Int]) {
        let result: Result<(Block, [Int]), DecodeError> = bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                var reader = try TransactionReader(raw, baseOffset: baseOffset, options: options)
                var transactions = [Transaction]()
                var offsets = [Int]()
                transactions.reserveCapacity(reader.reservableCount)
                offsets.reserveCapacity(reader.reservableCount)
                while reader.hasNext {
                    offsets.append(reader.cursor.position)
                    transactions.append(try reader.nextTransaction(storage: bytes))
                }
                try reader.finish()
                return (Block(header: reader.header, transactions: transactions), offsets)
            }
        }
        return try result.get()
    }
}

/// Reads a block's header, then its transactions one at a time straight from borrowed bytes,
/// so a caller can act on each (or on what was read before a failure) without decoding the
/// rest, and without copying or allocating anything itself.
///
/// Must not outlive the buffer it reads.
public struct TransactionReader {
    public let header: BlockHeader
    /// The declared transaction count, as read: it may promise more than the bytes hold, which
    /// reading finds out when they run out.
    public let count: UInt64
    /// How many transactions have been read.
    public private(set) var index = 0
    /// Where the transaction being read (or last read) starts in the block's bytes.
    public private(set) var transactionStart: Int
    var cursor: ByteCursor
    let allowWitness: Bool

    /// Reads the header and the transaction count.
    /// - Parameters:
    ///   - bytes: one block's bytes.
    ///   - baseOffset: absolute offset of `bytes[0]`, used in errors.
    /// - Throws: `DecodeError` if the header or the count does not fit.
    public init(_ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0, options: DecodingOptions = .standard) throws(DecodeError) {
        cursor = ByteCursor(bytes, base: baseOffset, allowsNonCanonical: options.allowNonCanonicalCompactSize)
        allowWitness = options.allowWitness
        header = try BlockHeader(from: &cursor)
        count = try cursor.compactSize(.transactionCount)
        transactionStart = cursor.position
    }

    /// True while declared transactions remain to be read.
    public var hasNext: Bool { UInt64(index) < count }

    /// Walks the next transaction, reporting its fields to `visitor`.
    /// - Returns: its extent in the block's bytes.
    /// - Throws: `DecodeError` for a transaction that does not fit in the block's bytes.
    public mutating func next(visitor: inout some TransactionVisitor) throws(DecodeError) -> TransactionExtent {
        transactionStart = cursor.position
        let extent = try Transaction.walk(&cursor, witness: allowWitness, visitor: &visitor)
        index += 1
        return extent
    }

    /// Decodes the next transaction; `storage` must be the array whose bytes this reader reads.
    public mutating func nextTransaction(storage: [UInt8]) throws(DecodeError) -> Transaction {
        transactionStart = cursor.position
        let tx = try Transaction(from: &cursor, storage: storage, witness: allowWitness)
        index += 1
        return tx
    }

    /// The version field of the transaction at `transactionStart`, if its four bytes are in
    /// the block (useful after reading failed part way through a transaction).
    public var versionAtTransactionStart: UInt32? {
        guard transactionStart + 4 <= cursor.bytes.count else { return nil }
        return UInt32(littleEndian: cursor.bytes.loadUnaligned(fromByteOffset: transactionStart, as: UInt32.self))
    }

    /// Checks that the transactions ended exactly at the end of the block's bytes.
    /// - Throws: `DecodeError.trailingBytes` when bytes are left over.
    public func finish() throws(DecodeError) {
        guard cursor.isAtEnd else { throw cursor.fail(.trailingBytes(count: cursor.remaining)) }
    }

    /// The declared count, capped by how many transactions the remaining bytes could hold:
    /// safe to reserve space for.
    public var reservableCount: Int {
        Int(min(count, UInt64(cursor.remaining / Limits.minTransactionSize)))
    }

    /// Absolute offset of the current transaction's first byte.
    public var transactionOffset: Int { cursor.base + transactionStart }
}
