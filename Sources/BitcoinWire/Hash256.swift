/// A 32-byte hash (block hash, txid, merkle node), stored in wire (internal) byte order and
/// printed reversed, as block explorers and Bitcoin Core's RPC show it.
public struct Hash256: Sendable, Hashable, Comparable, CustomStringConvertible {
    // Four little-endian words: equality and hashing compare 4 integers, not 32 bytes.
    @usableFromInline var w0, w1, w2, w3: UInt64

    public static let zero = Hash256(w0: 0, w1: 0, w2: 0, w3: 0)

    /// Hashes the first word only: the bytes of a hash are already uniformly spread (a block
    /// hash's zeros are at the end in wire order), and the hasher is seeded per process.
    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(w0) }

    @usableFromInline init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    /// Reads 32 bytes in wire order from `bytes` at `offset`. The caller checks the bounds.
    @inline(__always)
    package init(loadingFrom bytes: UnsafeRawBufferPointer, at offset: Int) {
        w0 = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        w1 = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
        w2 = bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)
        w3 = bytes.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
    }

    /// Creates a hash from 32 bytes in wire order; nil for any other length.
    public init?(wireBytes: some Collection<UInt8>) {
        guard wireBytes.count == 32 else { return nil }
        let array = Array(wireBytes)
        self = array.withUnsafeBytes { Hash256(loadingFrom: $0, at: 0) }
    }

    /// Parses 64 hex digits in display (big-endian) order, as explorers print hashes.
    public init?(displayHex text: some StringProtocol) {
        guard text.utf8.count == 64, let bytes = Hex.decode(text) else { return nil }
        self.init(wireBytes: bytes.reversed())
    }

    /// Calls `body` with the 32 bytes in wire order.
    @inline(__always)
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: self) { try body($0) }
    }

    /// The 32 bytes in wire (internal) order.
    public var wireBytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lowercase hex in display order (the wire bytes reversed).
    public var displayHex: String { withUnsafeBytes { Hex.encodeReversed($0) } }

    public var description: String { displayHex }

    /// Compares as 256-bit little-endian numbers, the way proof of work compares a hash to a target.
    public static func < (a: Hash256, b: Hash256) -> Bool {
        let left = (a.w3.littleEndian, a.w2.littleEndian, a.w1.littleEndian, a.w0.littleEndian)
        let right = (b.w3.littleEndian, b.w2.littleEndian, b.w1.littleEndian, b.w0.littleEndian)
        return left < right
    }
}

/// A block's hash: SHA-256d of its 80-byte header.
public typealias BlockHash = Hash256
/// A transaction's id: SHA-256d of its serialization without witness data.
public typealias TxID = Hash256
