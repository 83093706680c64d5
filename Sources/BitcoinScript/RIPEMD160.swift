/// RIPEMD-160 (Dobbertin, Bosselaers, Preneel 1996), for HASH160 = RIPEMD-160(SHA-256(x)).
/// swift-crypto does not offer it; this follows the published specification and is checked
/// against its test vectors.
public enum RIPEMD160 {
    /// The 20-byte digest of `message`.
    public static func hash(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        var block = [UInt32](repeating: 0, count: 16)
        func compressBlocks(_ bytes: UnsafeRawBufferPointer) {
            for b in 0..<(bytes.count / 64) {
                for i in 0..<16 { block[i] = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: b * 64 + 4 * i, as: UInt32.self)) }
                compress(&h, block)
            }
        }
        let full = message.count / 64
        compressBlocks(UnsafeRawBufferPointer(rebasing: message[0..<(full * 64)]))
        // Padding: 0x80, zeros, then the length in bits as a little-endian UInt64.
        var tail = Array(message[(full * 64)...])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        withUnsafeBytes(of: (UInt64(message.count) &* 8).littleEndian) { tail.append(contentsOf: $0) }
        tail.withUnsafeBytes { compressBlocks($0) }
        var out = [UInt8]()
        out.reserveCapacity(20)
        for word in [h.0, h.1, h.2, h.3, h.4] { withUnsafeBytes(of: word.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    public static func hash(_ message: [UInt8]) -> [UInt8] { message.withUnsafeBytes { hash($0) } }

    static let r: [Int] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8,
        3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12, 1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2,
        4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13,
    ]
    static let rr: [Int] = [
        5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12, 6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2,
        15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13, 8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14,
        12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11,
    ]
    static let s: [UInt32] = [
        11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8, 7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12,
        11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5, 11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12,
        9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6,
    ]
    static let ss: [UInt32] = [
        8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6, 9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11,
        9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5, 15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8,
        8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11,
    ]
    static let k: [UInt32] = [0x0000_0000, 0x5A82_7999, 0x6ED9_EBA1, 0x8F1B_BCDC, 0xA953_FD4E]
    static let kk: [UInt32] = [0x50A2_8BE6, 0x5C4D_D124, 0x6D70_3EF3, 0x7A6D_76E9, 0x0000_0000]

    @inline(__always) static func f(_ j: Int, _ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 {
        switch j / 16 {
        case 0: x ^ y ^ z
        case 1: (x & y) | (~x & z)
        case 2: (x | ~y) ^ z
        case 3: (x & z) | (y & ~z)
        default: x ^ (y | ~z)
        }
    }

    @inline(__always) static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    static func compress(_ h: inout (UInt32, UInt32, UInt32, UInt32, UInt32), _ x: [UInt32]) {
        var (a, b, c, d, e) = h
        var (a2, b2, c2, d2, e2) = h
        for j in 0..<80 {
            var t = rotl(a &+ f(j, b, c, d) &+ x[r[j]] &+ k[j / 16], s[j]) &+ e
            (a, e, d, c, b) = (e, d, rotl(c, 10), b, t)
            t = rotl(a2 &+ f(79 - j, b2, c2, d2) &+ x[rr[j]] &+ kk[j / 16], ss[j]) &+ e2
            (a2, e2, d2, c2, b2) = (e2, d2, rotl(c2, 10), b2, t)
        }
        let t = h.1 &+ c &+ d2
        h.1 = h.2 &+ d &+ e2
        h.2 = h.3 &+ e &+ a2
        h.3 = h.4 &+ a &+ b2
        h.4 = h.0 &+ b &+ c2
        h.0 = t
    }
}
