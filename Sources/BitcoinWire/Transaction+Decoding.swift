/// How transactions are read.
public struct DecodingOptions: Sendable, Hashable {
    /// Read BIP144 segwit serialization (marker 0x00, flag 0x01, witness stacks). Without it a
    /// zero input count is just that, as in the pre-segwit format the assignment specifies.
    public var allowWitness: Bool
    /// Accept compactSize values written in more bytes than needed. Core rejects them; the
    /// assignment's format reads them as plain numbers.
    public var allowNonCanonicalCompactSize: Bool

    public init(allowWitness: Bool = true, allowNonCanonicalCompactSize: Bool = false) {
        self.allowWitness = allowWitness
        self.allowNonCanonicalCompactSize = allowNonCanonicalCompactSize
    }

    /// Bitcoin Core's network rules.
    public static let standard = DecodingOptions()
    /// The university assignment's literal pre-segwit format.
    public static let legacy = DecodingOptions(allowWitness: false, allowNonCanonicalCompactSize: true)
}

/// Builds the owned `Transaction` from a walk; scripts become slices of `storage`.
struct TransactionBuilder: TransactionVisitor {
    let storage: [UInt8]
    var version: UInt32 = 0
    var inputs: [Transaction.Input] = []
    var outputs: [Transaction.Output] = []
    var witnesses: [[ArraySlice<UInt8>]] = []
    var lockTime: UInt32 = 0

    mutating func version(_ version: UInt32) { self.version = version }
    mutating func inputCount(_ count: Int) { inputs.reserveCapacity(count) }
    mutating func input(_ previousOutput: OutPoint, scriptSig: Range<Int>, sequence: UInt32) {
        inputs.append(.init(previousOutput: previousOutput, scriptSig: storage[scriptSig], sequence: sequence))
    }
    mutating func outputCount(_ count: Int) { outputs.reserveCapacity(count) }
    mutating func output(value: Int64, scriptPubKey: Range<Int>) {
        outputs.append(.init(value: value, scriptPubKey: storage[scriptPubKey]))
    }
    mutating func witnessItem(input index: Int, _ item: Range<Int>) {
        if witnesses.isEmpty { witnesses = Array(repeating: [], count: inputs.count) }
        witnesses[index].append(storage[item])
    }
    mutating func lockTime(_ lockTime: UInt32) { self.lockTime = lockTime }
}

extension Transaction {
    /// Decodes one transaction at the cursor, whose buffer is `storage`'s bytes; scripts are
    /// sliced from `storage`.
    /// - Throws: `DecodeError` with the absolute offset of the field that does not fit.
    package init(from c: inout ByteCursor, storage: [UInt8], witness allowWitness: Bool) throws(DecodeError) {
        var builder = TransactionBuilder(storage: storage)
        let extent = try Transaction.walk(&c, witness: allowWitness, visitor: &builder)
        var inputs = builder.inputs
        if !builder.witnesses.isEmpty {
            inputs = zip(inputs, builder.witnesses).map { input, stack in
                Input(previousOutput: input.previousOutput, scriptSig: input.scriptSig,
                      sequence: input.sequence, witness: stack)
            }
        }
        self.init(version: builder.version, inputs: inputs, outputs: builder.outputs, lockTime: builder.lockTime,
                  txid: extent.txid(in: c.bytes), wtxid: extent.hasWitness ? extent.wtxid(in: c.bytes) : nil)
    }

    /// Decodes exactly one transaction from `bytes`.
    /// - Throws: `DecodeError`, including `trailingBytes` if bytes are left over.
    public init(decoding bytes: [UInt8], options: DecodingOptions = .standard) throws(DecodeError) {
        let result: Result<Transaction, DecodeError> = bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                var c = ByteCursor(raw, allowsNonCanonical: options.allowNonCanonicalCompactSize)
                let tx = try Transaction(from: &c, storage: bytes, witness: options.allowWitness)
                guard c.isAtEnd else { throw c.fail(.trailingBytes(count: c.remaining)) }
                return tx
            }
        }
        self = try result.get()
    }
}
