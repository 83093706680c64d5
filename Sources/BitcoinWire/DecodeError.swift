/// Malformed bytes: what was wrong and the absolute byte offset where it was found.
///
/// Wire decoding throws only this type (`throws(DecodeError)`), so the hot path never boxes
/// an existential. Consensus failures are a different thing (see the Validation module).
public struct DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// Fewer bytes were left than the field needs.
        case truncated(field: Field, needed: Int, available: Int)
        /// A compactSize used more bytes than its value needs (Core: "non-canonical ReadCompactSize()").
        case nonCanonicalCompactSize(field: Field)
        /// A count larger than the bytes left could possibly hold, or than a consensus limit.
        case countTooLarge(field: Field, count: UInt64, limit: Int)
        /// A segwit flag byte other than 0x01 after the 0x00 marker (BIP144).
        case unknownSegwitFlag(UInt8)
        /// A segwit-serialized transaction whose witnesses are all empty (BIP144 forbids it).
        case superfluousWitness
        /// The bytes were decoded but some were left over.
        case trailingBytes(count: Int)
    }

    /// Which wire field a reason refers to, for messages people can act on.
    public enum Field: String, Sendable {
        case header = "block header"
        case transactionCount = "transaction count"
        case version = "transaction version"
        case segwitMarker = "segwit marker"
        case inputCount = "input count"
        case previousOutput = "previous output"
        case scriptSigLength = "input script length"
        case scriptSig = "input script"
        case sequence = "input sequence"
        case outputCount = "output count"
        case value = "output value"
        case scriptPubKeyLength = "output script length"
        case scriptPubKey = "output script"
        case witnessItemCount = "witness item count"
        case witnessItemLength = "witness item length"
        case witnessItem = "witness item"
        case lockTime = "lock time"
    }

    public var reason: Reason
    /// Absolute offset in the file or buffer where the bad field starts.
    public var offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        switch reason {
        case let .truncated(field, needed, available):
            "\(field.rawValue) needs \(needed) byte\(needed == 1 ? "" : "s") but only \(available) \(available == 1 ? "is" : "are") left"
        case let .nonCanonicalCompactSize(field):
            "\(field.rawValue) is a non-canonical compactSize"
        case let .countTooLarge(field, count, limit):
            "\(field.rawValue) \(count) is larger than the \(limit) the remaining bytes can hold"
        case let .unknownSegwitFlag(flag):
            "segwit flag is 0x\(String(flag, radix: 16)), expected 0x01"
        case .superfluousWitness:
            "segwit serialization with no witness data"
        case let .trailingBytes(count):
            "\(count) byte\(count == 1 ? "" : "s") left over after the last transaction"
        }
    }
}
