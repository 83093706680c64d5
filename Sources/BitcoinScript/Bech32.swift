/// Bech32 (BIP173) and Bech32m (BIP350) segwit addresses.
public enum Bech32 {
    public enum Variant: Sendable { case bech32, bech32m
        var constant: UInt32 { self == .bech32 ? 1 : 0x2BC8_30A3 }
    }

    static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in charset.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    static func polymod(_ values: some Sequence<UInt8>, _ start: UInt32 = 1) -> UInt32 {
        let generator: [UInt32] = [0x3B6A_57B2, 0x2650_8E6D, 0x1EA1_19FA, 0x3D42_33DD, 0x2A14_62B3]
        var chk = start
        for v in values {
            let top = chk >> 25
            chk = (chk & 0x1ff_ffff) << 5 ^ UInt32(v)
            for i in 0..<5 where (top >> i) & 1 == 1 { chk ^= generator[i] }
        }
        return chk
    }

    static func expand(_ hrp: [UInt8]) -> [UInt8] { hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 } }

    /// Regroups bits (8 → 5 to encode, 5 → 8 to decode); nil for invalid padding.
    static func convert(_ data: some Sequence<UInt8>, from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var acc = 0, bits = 0
        var out = [UInt8]()
        let maxv = (1 << to) - 1
        for value in data {
            acc = (acc << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((acc >> bits) & maxv))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((acc << (to - bits)) & maxv)) }
        } else if bits >= from || (acc << (to - bits)) & maxv != 0 {
            return nil
        }
        return out
    }

    /// The address of witness `version` and `program` under `hrp` ("bc", "tb", "bcrt"):
    /// Bech32 for version 0, Bech32m for 1 and later.
    public static func encodeSegwit(hrp: String, version: Int, program: some Collection<UInt8>) -> String {
        let variant: Variant = version == 0 ? .bech32 : .bech32m
        let data = [UInt8(version)] + convert(program, from: 8, to: 5, pad: true)!
        let hrpBytes = Array(hrp.utf8)
        let chk = polymod(expand(hrpBytes) + data + [0, 0, 0, 0, 0, 0]) ^ variant.constant
        var text = hrpBytes + [UInt8(ascii: "1")]
        text += data.map { charset[Int($0)] }
        text += (0..<6).map { charset[Int((chk >> (5 * (5 - UInt32($0)))) & 31)] }
        return String(decoding: text, as: UTF8.self)
    }

    /// Decodes a segwit address (BIP173 and BIP350 rules): the human-readable part, witness
    /// version and program; nil if anything is wrong (mixed case, checksum, variant for the
    /// version, padding, program length).
    public static func decodeSegwit(_ address: String) -> (hrp: String, version: Int, program: [UInt8])? {
        let raw = Array(address.utf8)
        guard raw.count <= 90, raw.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { return nil }
        let lower = raw.contains { $0 >= 97 && $0 <= 122 }, upper = raw.contains { $0 >= 65 && $0 <= 90 }
        guard !(lower && upper) else { return nil }
        let text = raw.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        guard let separator = text.lastIndex(of: UInt8(ascii: "1")), separator >= 1, text.count - separator > 7 else { return nil }
        let hrp = Array(text[..<separator])
        var data = [UInt8]()
        for c in text[(separator + 1)...] {
            let v = values[Int(c)]
            guard v >= 0 else { return nil }
            data.append(UInt8(v))
        }
        let check = polymod(expand(hrp) + data)
        let variant: Variant
        switch check {
        case Variant.bech32.constant: variant = .bech32
        case Variant.bech32m.constant: variant = .bech32m
        default: return nil
        }
        let payload = data.dropLast(6)
        guard let version = payload.first, version <= 16,
              let program = convert(payload.dropFirst(), from: 5, to: 8, pad: false),
              (2...40).contains(program.count),
              version != 0 || program.count == 20 || program.count == 32,
              (version == 0) == (variant == .bech32)
        else { return nil }
        return (String(decoding: hrp, as: UTF8.self), Int(version), program)
    }
}
