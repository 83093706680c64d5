/// A bounds-checked reader over borrowed bytes. Every read checks what is left first, so
/// no length or count read from the bytes can make it step outside them.
///
/// The cursor must not outlive the `withUnsafeBytes` closure that lent it its buffer.
package struct ByteCursor {
    package let bytes: UnsafeRawBufferPointer
    /// Absolute offset of `bytes[0]` in the file or buffer, used in errors.
    package let base: Int
    package var position: Int = 0
    /// Accept non-minimal compactSize encodings (the assignment's parser reads them as values).
    package var allowsNonCanonical: Bool

    package init(_ bytes: UnsafeRawBufferPointer, base: Int = 0, allowsNonCanonical: Bool = false) {
        self.bytes = bytes
        self.base = base
        self.allowsNonCanonical = allowsNonCanonical
    }

    @inline(__always) package var remaining: Int { bytes.count - position }
    @inline(__always) package var absolutePosition: Int { base + position }
    @inline(__always) package var isAtEnd: Bool { position == bytes.count }

    @inline(__always)
    package func fail(_ reason: DecodeError.Reason, at position: Int? = nil) -> DecodeError {
        DecodeError(reason, at: base + (position ?? self.position))
    }

    @inline(__always)
    package mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: DecodeError.Field) throws(DecodeError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw fail(.truncated(field: field, needed: size, available: remaining))
        }
        defer { position += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    @inline(__always)
    package mutating func readHash(_ field: DecodeError.Field) throws(DecodeError) -> Hash256 {
        guard remaining >= 32 else {
            throw fail(.truncated(field: field, needed: 32, available: remaining))
        }
        defer { position += 32 }
        return Hash256(loadingFrom: bytes, at: position)
    }

    /// Skips `count` bytes and returns their range relative to `bytes` (zero-copy).
    @inline(__always)
    package mutating func skip(_ count: Int, _ field: DecodeError.Field) throws(DecodeError) -> Range<Int> {
        guard count <= remaining else {
            throw fail(.truncated(field: field, needed: count, available: remaining))
        }
        defer { position += count }
        return position..<(position + count)
    }

    /// Reads a compactSize (Core `ReadCompactSize`): one byte below 0xfd, else 0xfd/0xfe/0xff
    /// followed by a little-endian UInt16/UInt32/UInt64.
    ///
    /// - Parameter limit: the largest count the caller can accept; larger values throw
    ///   `countTooLarge` before anything is allocated for them.
    /// - Throws: `truncated`, `nonCanonicalCompactSize` (unless `allowsNonCanonical`), `countTooLarge`.
    @inline(__always)
    package mutating func compactSize(limit: Int, _ field: DecodeError.Field) throws(DecodeError) -> Int {
        let start = position
        let value = try compactSize(field)
        guard value <= UInt64(limit) else {
            throw fail(.countTooLarge(field: field, count: value, limit: limit), at: start)
        }
        return Int(value)
    }

    /// Reads a compactSize of any value; see `compactSize(limit:_:)`.
    @inline(__always)
    package mutating func compactSize(_ field: DecodeError.Field) throws(DecodeError) -> UInt64 {
        let start = position
        let first = try read(UInt8.self, field)
        let value: UInt64
        switch first {
        case 0..<0xfd:
            return UInt64(first)
        case 0xfd:
            value = UInt64(try read(UInt16.self, field))
            if value < 0xfd && !allowsNonCanonical { throw fail(.nonCanonicalCompactSize(field: field), at: start) }
        case 0xfe:
            value = UInt64(try read(UInt32.self, field))
            if value <= 0xffff && !allowsNonCanonical { throw fail(.nonCanonicalCompactSize(field: field), at: start) }
        default:
            value = try read(UInt64.self, field)
            if value <= 0xffff_ffff && !allowsNonCanonical { throw fail(.nonCanonicalCompactSize(field: field), at: start) }
        }
        return value
    }
}
