public import BitcoinWire

/// A growable byte buffer for building output fast: callers reserve room once for a group
/// of writes, then each write is a store through a pointer with no further checks.
///
/// A struct over a class: the class owns the memory and is handed from the thread that
/// fills it to the one that writes it out, never shared by two at once.
public struct OutputBuffer: Sendable {
    final class Storage: @unchecked Sendable {  // one owner at a time (see above); no lock needed
        var base: UnsafeMutablePointer<UInt8>
        var capacity: Int
        init(capacity: Int) {
            self.capacity = max(capacity, 64)
            base = .allocate(capacity: self.capacity)
        }
        deinit { base.deallocate() }
    }

    let storage: Storage
    /// Bytes written so far.
    public private(set) var count = 0

    public init(capacity: Int = 1 << 16) {
        storage = Storage(capacity: capacity)
    }

    /// Makes room for at least `extra` more bytes.
    @inline(__always)
    public mutating func reserve(_ extra: Int) {
        if count + extra > storage.capacity { grow(count + extra) }
    }

    @inline(never)
    mutating func grow(_ needed: Int) {
        let capacity = max(needed, storage.capacity * 2)
        let base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        base.update(from: storage.base, count: count)
        storage.base.deallocate()
        storage.base = base
        storage.capacity = capacity
    }

    /// The bytes written so far; valid until the next write.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.base, count: count) }

    public mutating func removeAll() { count = 0 }

    // MARK: writes that need `reserve` first

    /// Appends a literal. Needs `literal.utf8CodeUnitCount` reserved bytes.
    @inline(__always)
    public mutating func unsafeAppend(_ literal: StaticString) {
        (storage.base + count).update(from: literal.utf8Start, count: literal.utf8CodeUnitCount)
        count += literal.utf8CodeUnitCount
    }

    @inline(__always)
    public mutating func unsafeAppend(byte: UInt8) {
        storage.base[count] = byte
        count += 1
    }

    /// Appends `value` in decimal. Needs 20 reserved bytes.
    @inline(__always)
    public mutating func unsafeAppend(decimal value: UInt64) {
        if value < 10 {
            storage.base[count] = UInt8(truncatingIfNeeded: value) &+ 48
            count += 1
            return
        }
        var digits = 1
        var probe = value
        while probe >= 100 { probe /= 100; digits += 2 }
        if probe >= 10 { digits += 1 }
        var v = value
        var end = storage.base + count + digits
        Self.pairs.withUnsafeBufferPointer { pairs in
            while v >= 100 {
                let pair = Int(v % 100)
                v /= 100
                end -= 2
                UnsafeMutableRawPointer(end).storeBytes(of: pairs[pair], as: UInt16.self)
            }
            if v >= 10 {
                end -= 2
                UnsafeMutableRawPointer(end).storeBytes(of: pairs[Int(v)], as: UInt16.self)
            } else {
                end -= 1
                end.pointee = UInt8(truncatingIfNeeded: v) &+ 48
            }
        }
        count += digits
    }

    /// Appends `bytes` as lowercase hex. Needs `2 * bytes.count` reserved bytes.
    @inline(__always)
    public mutating func unsafeAppend(hex bytes: UnsafeRawBufferPointer) {
        Hex.write(bytes, to: storage.base + count)
        count += 2 * bytes.count
    }

    /// Appends a hash as 64 hex digits in display order. Needs 64 reserved bytes.
    @inline(__always)
    public mutating func unsafeAppend(displayHex hash: Hash256) {
        let out = storage.base + count
        hash.withUnsafeBytes { Hex.writeReversed($0, to: out) }
        count += 64
    }

    // MARK: checked writes

    public mutating func append(_ literal: StaticString) {
        reserve(literal.utf8CodeUnitCount)
        unsafeAppend(literal)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count)
        if let source = bytes.baseAddress {
            UnsafeMutableRawPointer(storage.base + count).copyMemory(from: source, byteCount: bytes.count)
        }
        count += bytes.count
    }

    public mutating func append(_ string: String) {
        var string = string
        string.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public mutating func append(decimal value: UInt64) {
        reserve(20)
        unsafeAppend(decimal: value)
    }

    public mutating func append(decimal value: Int64) {
        reserve(21)
        if value < 0 { unsafeAppend(byte: UInt8(ascii: "-")) }
        unsafeAppend(decimal: value.magnitude)
    }

    /// Two decimal digits per entry, as one little-endian UInt16.
    static let pairs: [UInt16] = (0..<100).map { UInt16(48 + $0 / 10) | UInt16(48 + $0 % 10) << 8 }
}
