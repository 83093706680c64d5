/// A reference to one output of an earlier transaction (Core `COutPoint`).
public struct OutPoint: Sendable, Hashable {
    public let txid: TxID
    public let index: UInt32

    public init(txid: TxID, index: UInt32) {
        self.txid = txid
        self.index = index
    }

    /// The null outpoint a coinbase input carries: zero txid, index 0xffffffff.
    public static let null = OutPoint(txid: .zero, index: .max)
    public var isNull: Bool { self == .null }
}

/// A Bitcoin transaction (Core `CTransaction`), with its txid computed once.
///
/// Script bytes are `ArraySlice`s of the buffer the transaction was decoded from: decoding
/// a block copies nothing per script, and a transaction keeps that buffer alive.
public struct Transaction: Sendable, Hashable, WireEncodable {
    public struct Input: Sendable, Hashable {
        public let previousOutput: OutPoint
        public let scriptSig: ArraySlice<UInt8>
        public let sequence: UInt32
        /// The BIP141 witness stack; empty for legacy inputs.
        public let witness: [ArraySlice<UInt8>]

        public init(previousOutput: OutPoint, scriptSig: ArraySlice<UInt8>, sequence: UInt32,
                    witness: [ArraySlice<UInt8>] = []) {
            self.previousOutput = previousOutput
            self.scriptSig = scriptSig
            self.sequence = sequence
            self.witness = witness
        }
    }

    public struct Output: Sendable, Hashable {
        /// Satoshis. Signed as in Core (`CAmount`); validation checks the money range.
        public let value: Int64
        public let scriptPubKey: ArraySlice<UInt8>

        public init(value: Int64, scriptPubKey: ArraySlice<UInt8>) {
            self.value = value
            self.scriptPubKey = scriptPubKey
        }
    }

    /// Unsigned since Core 28 (`uint32_t version`).
    public let version: UInt32
    public let inputs: [Input]
    public let outputs: [Output]
    public let lockTime: UInt32
    /// SHA-256d of the serialization without witness data.
    public let txid: TxID
    /// SHA-256d of the full serialization (BIP141); equal to `txid` without witness data.
    public let wtxid: Hash256

    /// Builds a transaction and computes its ids by encoding it.
    public init(version: UInt32, inputs: [Input], outputs: [Output], lockTime: UInt32) {
        let draft = Transaction(version: version, inputs: inputs, outputs: outputs, lockTime: lockTime,
                                txid: .zero, wtxid: nil)
        self.init(version: version, inputs: inputs, outputs: outputs, lockTime: lockTime,
                  txid: SHA256d.hash(draft.encoded(witness: false)),
                  wtxid: draft.hasWitness ? SHA256d.hash(draft.encoded(witness: true)) : nil)
    }

    init(version: UInt32, inputs: [Input], outputs: [Output], lockTime: UInt32, txid: TxID, wtxid: Hash256?) {
        self.version = version
        self.inputs = inputs
        self.outputs = outputs
        self.lockTime = lockTime
        self.txid = txid
        self.wtxid = wtxid ?? txid
    }

    /// True when any input has a witness stack; such a transaction is serialized with the
    /// BIP144 marker and flag.
    public var hasWitness: Bool { inputs.contains { !$0.witness.isEmpty } }

    /// A coinbase has exactly one input, and it spends the null outpoint.
    public var isCoinbase: Bool { inputs.count == 1 && inputs[0].previousOutput.isNull }

    /// Appends the serialization; with `witness`, the BIP144 form when there is witness data.
    public func encode(into out: inout [UInt8], witness: Bool = true) {
        let segwit = witness && hasWitness
        out.appendLE(version)
        if segwit { out.append(0x00); out.append(0x01) }
        out.appendCompactSize(inputs.count)
        for input in inputs {
            out.append(input.previousOutput.txid)
            out.appendLE(input.previousOutput.index)
            out.appendCompactSize(input.scriptSig.count)
            out.append(contentsOf: input.scriptSig)
            out.appendLE(input.sequence)
        }
        out.appendCompactSize(outputs.count)
        for output in outputs {
            out.appendLE(output.value)
            out.appendCompactSize(output.scriptPubKey.count)
            out.append(contentsOf: output.scriptPubKey)
        }
        if segwit {
            for input in inputs {
                out.appendCompactSize(input.witness.count)
                for item in input.witness {
                    out.appendCompactSize(item.count)
                    out.append(contentsOf: item)
                }
            }
        }
        out.appendLE(lockTime)
    }

    /// Serialized size in bytes; without `witness`, the stripped size (BIP141 "base size").
    public func size(witness: Bool = true) -> Int {
        var n = 8 + CompactSize.size(of: inputs.count) + CompactSize.size(of: outputs.count)
        for input in inputs {
            n += 40 + CompactSize.size(of: input.scriptSig.count) + input.scriptSig.count
        }
        for output in outputs {
            n += 8 + CompactSize.size(of: output.scriptPubKey.count) + output.scriptPubKey.count
        }
        if witness && hasWitness {
            n += 2
            for input in inputs {
                n += CompactSize.size(of: input.witness.count)
                for item in input.witness { n += CompactSize.size(of: item.count) + item.count }
            }
        }
        return n
    }

    /// BIP141 weight: stripped size × 3 + total size.
    public var weight: Int { size(witness: false) * 3 + size(witness: true) }

    /// BIP141 virtual size: weight / 4, rounded up.
    public var virtualSize: Int { (weight + 3) / 4 }
}
