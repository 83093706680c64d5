/// Receives a transaction's fields in wire order as `Transaction.walk` reads them. Script and
/// witness ranges index the cursor's bytes: nothing is copied or allocated by the walk.
/// Every method has an empty default, so a visitor implements only what it needs.
public protocol TransactionVisitor {
    mutating func version(_ version: UInt32)
    /// The input count; called twice for BIP144 serialization (0 for the marker, then the real count).
    mutating func inputCount(_ count: Int)
    mutating func input(_ previousOutput: OutPoint, scriptSig: Range<Int>, sequence: UInt32)
    mutating func outputCount(_ count: Int)
    mutating func output(value: Int64, scriptPubKey: Range<Int>)
    /// The stack of input `index`, as item ranges.
    mutating func witnessItem(input index: Int, _ item: Range<Int>)
    mutating func lockTime(_ lockTime: UInt32)
}

extension TransactionVisitor {
    public mutating func version(_ version: UInt32) {}
    public mutating func inputCount(_ count: Int) {}
    public mutating func input(_ previousOutput: OutPoint, scriptSig: Range<Int>, sequence: UInt32) {}
    public mutating func outputCount(_ count: Int) {}
    public mutating func output(value: Int64, scriptPubKey: Range<Int>) {}
    public mutating func witnessItem(input index: Int, _ item: Range<Int>) {}
    public mutating func lockTime(_ lockTime: UInt32) {}
}

/// A visitor that wants nothing: walking with it only finds a transaction's extent.
public struct SkipFields: TransactionVisitor {
    public init() {}
}

/// Where a walked transaction lies in its bytes, and what its txid covers.
public struct TransactionExtent: Sendable, Hashable {
    /// The whole serialization.
    public let bytes: Range<Int>
    /// Inputs and outputs: the part between version and lock time that the txid covers.
    /// For a legacy transaction it directly follows the version.
    public let body: Range<Int>
    /// Whether the BIP144 marker, flag and witness stacks are present.
    public var hasWitness: Bool { body.lowerBound != bytes.lowerBound + 4 }

    /// SHA-256d of the serialization without witness data.
    public func txid(in buffer: UnsafeRawBufferPointer) -> TxID {
        guard hasWitness else { return SHA256d.hash(UnsafeRawBufferPointer(rebasing: buffer[bytes])) }
        return SHA256d.hash(UnsafeRawBufferPointer(rebasing: buffer[bytes.lowerBound..<(bytes.lowerBound + 4)]),
                            UnsafeRawBufferPointer(rebasing: buffer[body]),
                            UnsafeRawBufferPointer(rebasing: buffer[(bytes.upperBound - 4)..<bytes.upperBound]))
    }

    /// SHA-256d of the full serialization (BIP141 wtxid).
    public func wtxid(in buffer: UnsafeRawBufferPointer) -> Hash256 {
        SHA256d.hash(UnsafeRawBufferPointer(rebasing: buffer[bytes]))
    }
}

extension Transaction {
    /// Reads one transaction at the cursor, reporting each field to `visitor`, following
    /// Core's `UnserializeTransaction` (BIP144 when `witness` is true).
    ///
    /// Every count is checked against the bytes left before the visitor hears of it, so a
    /// visitor may reserve space for it.
    /// - Returns: where the transaction lies in the cursor's bytes.
    /// - Throws: `DecodeError` with the absolute offset of the first field that does not fit.
    package static func walk(_ c: inout ByteCursor, witness allowWitness: Bool,
                             visitor: inout some TransactionVisitor) throws(DecodeError) -> TransactionExtent {
        let start = c.position
        visitor.version(try c.read(UInt32.self, .version))
        var inputCount = try readInputs(&c, &visitor)
        var flags: UInt8 = 0
        let bodyStart: Int
        if inputCount == 0 && allowWitness {
            // An empty input list here is BIP144's marker; the flag follows. A zero flag is
            // instead an empty output list: a legacy transaction with no inputs or outputs.
            flags = try c.read(UInt8.self, .segwitMarker)
            if flags != 0 {
                bodyStart = c.position
                inputCount = try readInputs(&c, &visitor)
                try readOutputs(&c, &visitor)
            } else {
                bodyStart = start + 4
                visitor.outputCount(0)
            }
        } else {
            bodyStart = start + 4
            try readOutputs(&c, &visitor)
        }
        let bodyEnd = c.position
        if flags & 1 != 0 {
            flags ^= 1
            var anyWitness = false
            for index in 0..<inputCount {
                let count = try c.compactSize(limit: c.remaining, .witnessItemCount)
                anyWitness = anyWitness || count > 0
                for _ in 0..<count {
                    let length = try c.compactSize(limit: Int.max, .witnessItemLength)
                    visitor.witnessItem(input: index, try c.skip(length, .witnessItem))
                }
            }
            guard anyWitness else { throw c.fail(.superfluousWitness, at: start + 4) }
        }
        if flags != 0 { throw c.fail(.unknownSegwitFlag(flags), at: start + 5) }
        visitor.lockTime(try c.read(UInt32.self, .lockTime))
        return TransactionExtent(bytes: start..<c.position, body: bodyStart..<bodyEnd)
    }

    @inline(__always)
    static func readInputs(_ c: inout ByteCursor, _ visitor: inout some TransactionVisitor) throws(DecodeError) -> Int {
        let count = try c.compactSize(limit: c.remaining / Limits.minInputSize, .inputCount)
        visitor.inputCount(count)
        for _ in 0..<count {
            let txid = try c.readHash(.previousOutput)
            let index = try c.read(UInt32.self, .previousOutput)
            let length = try c.compactSize(limit: Int.max, .scriptSigLength)
            let script = try c.skip(length, .scriptSig)
            let sequence = try c.read(UInt32.self, .sequence)
            visitor.input(OutPoint(txid: txid, index: index), scriptSig: script, sequence: sequence)
        }
        return count
    }

    @inline(__always)
    static func readOutputs(_ c: inout ByteCursor, _ visitor: inout some TransactionVisitor) throws(DecodeError) {
        let count = try c.compactSize(limit: c.remaining / Limits.minOutputSize, .outputCount)
        visitor.outputCount(count)
        for _ in 0..<count {
            let value = Int64(bitPattern: try c.read(UInt64.self, .value))
            let length = try c.compactSize(limit: Int.max, .scriptPubKeyLength)
            visitor.output(value: value, scriptPubKey: try c.skip(length, .scriptPubKey))
        }
    }
}
