/// Little-endian and compactSize appenders used by every `encode(into:)`.
extension Array where Element == UInt8 {
    @inline(__always)
    package mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inline(__always)
    package mutating func append(_ hash: Hash256) {
        hash.withUnsafeBytes { append(contentsOf: $0) }
    }

    /// Appends `value` as a canonical (shortest) compactSize.
    package mutating func appendCompactSize(_ value: Int) {
        let v = UInt64(value)
        switch v {
        case 0..<0xfd: append(UInt8(v))
        case 0xfd...0xffff: append(0xfd); appendLE(UInt16(v))
        case 0x10000...0xffff_ffff: append(0xfe); appendLE(UInt32(v))
        default: append(0xff); appendLE(v)
        }
    }
}

/// compactSize helpers (Core `GetSizeOfCompactSize`).
public enum CompactSize {
    /// Bytes the canonical compactSize encoding of `value` takes: 1, 3, 5 or 9.
    public static func size(of value: Int) -> Int {
        switch UInt64(value) {
        case 0..<0xfd: 1
        case 0xfd...0xffff: 3
        case 0x10000...0xffff_ffff: 5
        default: 9
        }
    }
}

/// A value with a wire serialization that may include segwit data.
public protocol WireEncodable {
    /// Appends the serialization; with `witness`, in BIP144 form when there is witness data.
    func encode(into out: inout [UInt8], witness: Bool)
    /// Serialized size; without `witness`, the stripped size (BIP141 "base size").
    func size(witness: Bool) -> Int
}

extension WireEncodable {
    /// The serialization, by default with witness data when there is any.
    public func encoded(witness: Bool = true) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(size(witness: witness))
        encode(into: &out, witness: witness)
        return out
    }
}
