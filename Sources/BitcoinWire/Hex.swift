/// Lowercase hexadecimal encoding and decoding, table-driven.
public enum Hex {
    @usableFromInline static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes` in order.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            write(bytes, to: out.baseAddress!)
            return bytes.count * 2
        }
    }

    /// Lowercase hex of `bytes` in order.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let array = Array(bytes)
        return array.withUnsafeBytes { encode($0) }
    }

    /// Lowercase hex of `bytes` from last to first (display order for hashes).
    public static func encodeReversed(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            writeReversed(bytes, to: out.baseAddress!)
            return bytes.count * 2
        }
    }

    /// Writes `2 * bytes.count` hex digits at `out`.
    @inline(__always)
    public static func write(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) {
        pairs.withUnsafeBufferPointer { table in
            let raw = UnsafeMutableRawPointer(out)
            for i in 0..<bytes.count {
                raw.storeBytes(of: table[Int(bytes[i])], toByteOffset: 2 * i, as: UInt16.self)
            }
        }
    }

    /// Writes `2 * bytes.count` hex digits of the bytes in reverse order at `out`.
    @inline(__always)
    package static func writeReversed(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) {
        pairs.withUnsafeBufferPointer { table in
            let raw = UnsafeMutableRawPointer(out)
            let last = bytes.count - 1
            for i in 0..<bytes.count {
                raw.storeBytes(of: table[Int(bytes[last - i])], toByteOffset: 2 * i, as: UInt16.self)
            }
        }
    }

    /// Each byte's two hex digits as one little-endian UInt16, so one store writes both.
    package static let pairs: [UInt16] = (0..<256).map { byte in
        UInt16(digits[byte >> 4]) | UInt16(digits[byte & 15]) << 8
    }

    /// A 32-bit value as 8 lowercase hex digits, most significant first ("1d00ffff").
    public static func encode(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Decodes hex text (either case, even length); nil if anything else is in it.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    @inline(__always) public static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
