/// An unsigned 256-bit integer (Core `arith_uint256`) for targets and chain work: four
/// 64-bit limbs, least significant first. Arithmetic works on the limbs in place, without
/// allocating.
public struct UInt256: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var l0, l1, l2, l3: UInt64

    public static let zero = UInt256(0)
    public static let max = UInt256(l0: .max, l1: .max, l2: .max, l3: .max)

    public init(_ value: UInt64) { (l0, l1, l2, l3) = (value, 0, 0, 0) }
    public init(l0: UInt64, l1: UInt64, l2: UInt64, l3: UInt64) { (self.l0, self.l1, self.l2, self.l3) = (l0, l1, l2, l3) }

    /// A hash read as a little-endian 256-bit number, as proof of work compares it.
    public init(_ hash: Hash256) {
        (l0, l1, l2, l3) = (hash.w0.littleEndian, hash.w1.littleEndian, hash.w2.littleEndian, hash.w3.littleEndian)
    }

    /// Parses 64 hex digits, most significant first.
    public init?(hex: String) {
        guard hex.utf8.count == 64, let hash = Hash256(displayHex: hex) else { return nil }
        self.init(hash)
    }

    @inline(__always) subscript(i: Int) -> UInt64 {
        get { i == 0 ? l0 : i == 1 ? l1 : i == 2 ? l2 : l3 }
        set { switch i { case 0: l0 = newValue; case 1: l1 = newValue; case 2: l2 = newValue; default: l3 = newValue } }
    }

    public var isZero: Bool { l0 | l1 | l2 | l3 == 0 }

    public static func < (a: UInt256, b: UInt256) -> Bool { (a.l3, a.l2, a.l1, a.l0) < (b.l3, b.l2, b.l1, b.l0) }

    public static prefix func ~ (a: UInt256) -> UInt256 { UInt256(l0: ~a.l0, l1: ~a.l1, l2: ~a.l2, l3: ~a.l3) }

    /// Wrapping addition.
    public static func &+ (a: UInt256, b: UInt256) -> UInt256 {
        var out = UInt256.zero
        var carry: UInt64 = 0
        for i in 0..<4 {
            let (s1, o1) = a[i].addingReportingOverflow(b[i])
            let (s2, o2) = s1.addingReportingOverflow(carry)
            out[i] = s2
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        return out
    }

    /// Wrapping subtraction.
    public static func &- (a: UInt256, b: UInt256) -> UInt256 {
        var out = UInt256.zero
        var borrow: UInt64 = 0
        for i in 0..<4 {
            let (d1, o1) = a[i].subtractingReportingOverflow(b[i])
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            out[i] = d2
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        return out
    }

    public static func << (a: UInt256, n: Int) -> UInt256 {
        guard n < 256 else { return .zero }
        var out = UInt256.zero
        let (words, bits) = (n / 64, n % 64)
        for i in stride(from: 3, through: words, by: -1) {
            out[i] = a[i - words] << bits
            if bits > 0 && i - words - 1 >= 0 { out[i] |= a[i - words - 1] >> (64 - bits) }
        }
        return out
    }

    public static func >> (a: UInt256, n: Int) -> UInt256 {
        guard n < 256 else { return .zero }
        var out = UInt256.zero
        let (words, bits) = (n / 64, n % 64)
        for i in 0..<(4 - words) {
            out[i] = a[i + words] >> bits
            if bits > 0 && i + words + 1 < 4 { out[i] |= a[i + words + 1] << (64 - bits) }
        }
        return out
    }

    /// The number of significant bits.
    public var bitWidth: Int {
        for i in stride(from: 3, through: 0, by: -1) where self[i] != 0 { return 64 * i + 64 - self[i].leadingZeroBitCount }
        return 0
    }

    /// Integer division (shift and subtract, one step per bit of the quotient). Division by
    /// zero gives zero.
    public static func / (a: UInt256, b: UInt256) -> UInt256 {
        guard !b.isZero, b <= a else { return .zero }
        var remainder = a
        var quotient = UInt256.zero
        var shift = a.bitWidth - b.bitWidth
        var divisor = b << shift
        while shift >= 0 {
            if remainder >= divisor {
                remainder = remainder &- divisor
                quotient[shift / 64] |= 1 << UInt64(shift % 64)
            }
            divisor = divisor >> 1
            shift -= 1
        }
        return quotient
    }

    /// Multiplication by a 64-bit number; `overflow` is true when the product needs more than
    /// 256 bits (the result then holds its low 256 bits, as Core's `arith_uint256 *=` does).
    public func multipliedReportingOverflow(by factor: UInt64) -> (partialValue: UInt256, overflow: Bool) {
        var out = UInt256.zero
        var carry: UInt64 = 0
        for i in 0..<4 {
            let (high, low) = self[i].multipliedFullWidth(by: factor)
            let (sum, over) = low.addingReportingOverflow(carry)
            out[i] = sum
            carry = high &+ (over ? 1 : 0)
        }
        return (out, carry != 0)
    }

    /// The compact form ("nBits") of this number as a target (Core `arith_uint256::GetCompact`):
    /// three bytes of mantissa and a size byte, rounding down.
    public var compact: UInt32 {
        var size = (bitWidth + 7) / 8
        var mantissa: UInt32
        if size <= 3 {
            mantissa = UInt32(truncatingIfNeeded: l0 << UInt64(8 * (3 - size)))
        } else {
            mantissa = UInt32(truncatingIfNeeded: (self >> (8 * (size - 3))).l0)
        }
        // 0x00800000 is the sign bit: move the mantissa down a byte rather than set it.
        if mantissa & 0x0080_0000 != 0 {
            mantissa >>= 8
            size += 1
        }
        return mantissa | UInt32(size) << 24
    }

    /// 64 lowercase hex digits, most significant first (as Core prints targets and chain work).
    public var hex: String {
        [l3, l2, l1, l0].map { word in
            let digits = String(word, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    public var description: String { hex }
}

/// A proof-of-work target in compact form ("nBits", Core `arith_uint256::SetCompact`):
/// a one-byte exponent (size in bytes) and a 23-bit mantissa with a sign bit.
public struct CompactTarget: Sendable, Hashable {
    public let bits: UInt32
    /// The full 256-bit target (zero when negative or overflowing).
    public let target: UInt256
    /// The sign bit was set on a non-zero mantissa.
    public let isNegative: Bool
    /// The value does not fit in 256 bits.
    public let isOverflow: Bool

    public init(bits: UInt32) {
        self.bits = bits
        let size = Int(bits >> 24)
        var word = bits & 0x007f_ffff
        // As in Core, sign and overflow are judged on the mantissa after a small size shifts it.
        if size <= 3 { word >>= 8 * (3 - UInt32(size)) }
        isNegative = word != 0 && bits & 0x0080_0000 != 0
        isOverflow = word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32))
        if isOverflow || isNegative {
            target = .zero
        } else if size <= 3 {
            target = UInt256(UInt64(word))
        } else {
            target = UInt256(UInt64(word)) << (8 * (size - 3))
        }
    }

    /// Usable as a target: not negative, not overflowing, not zero.
    public var isValid: Bool { !isNegative && !isOverflow && !target.isZero }

    /// Expected number of hashes to find a block at this target (Core `GetBlockProof`):
    /// 2^256 / (target + 1), zero for an invalid target.
    public var work: UInt256 {
        guard isValid else { return .zero }
        return (~target / (target &+ UInt256(1))) &+ UInt256(1)
    }

    /// Difficulty relative to the genesis target 0x1d00ffff (Core `GetDifficulty`); nil when
    /// the mantissa is zero (Core would divide by zero).
    public var difficulty: Double? {
        guard bits & 0x00ff_ffff != 0 else { return nil }
        var shift = Int((bits >> 24) & 0xff)
        var difficulty = Double(0x0000_ffff) / Double(bits & 0x00ff_ffff)
        while shift < 29 { difficulty *= 256; shift += 1 }
        while shift > 29 { difficulty /= 256; shift -= 1 }
        return difficulty
    }
}

extension BlockHeader {
    /// The header's nBits, decoded.
    public var target: CompactTarget { CompactTarget(bits: bits) }

    /// Core `CheckProofOfWork`: a valid target no easier than `limit`, and `hash` at or below it.
    public func hasValidProofOfWork(hash: BlockHash, limit: UInt256) -> Bool {
        let target = self.target
        guard target.isValid, target.target <= limit else { return false }
        return UInt256(hash) <= target.target
    }
}
