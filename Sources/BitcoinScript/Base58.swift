import BitcoinWire

/// Base58 and Base58Check (Core `EncodeBase58Check`), for P2PKH and P2SH addresses.
public enum Base58 {
    static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
    static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    /// Base58 of `bytes`: each leading zero byte becomes a "1".
    ///
    /// The number is kept in limbs of 58^5 (which fit a UInt32), so each input byte costs one
    /// multiply-add per limb rather than per digit.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let zeros = bytes.prefix { $0 == 0 }.count
        let base: UInt64 = 656_356_768  // 58^5
        var limbs = [UInt32]()
        limbs.reserveCapacity(bytes.count / 3 + 1)
        for byte in bytes.dropFirst(zeros) {
            var carry = UInt64(byte)
            for i in limbs.indices {
                carry += UInt64(limbs[i]) << 8
                limbs[i] = UInt32(carry % base)
                carry /= base
            }
            while carry > 0 {
                limbs.append(UInt32(carry % base))
                carry /= base
            }
        }
        var text = [UInt8](repeating: alphabet[0], count: zeros)
        text.reserveCapacity(zeros + limbs.count * 5)
        var digits = [UInt8]()
        digits.reserveCapacity(limbs.count * 5)
        for (i, limb) in limbs.enumerated() {
            var value = limb
            // Every limb but the most significant holds exactly five digits.
            let count = i == limbs.count - 1 ? 0 : 5
            var written = 0
            while value > 0 || written < count {
                digits.append(alphabet[Int(value % 58)])
                value /= 58
                written += 1
            }
        }
        text.append(contentsOf: digits.reversed())
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes of Base58 `text`; nil for a character outside the alphabet.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        let ones = chars.prefix { $0 == alphabet[0] }.count
        var bytes = [UInt8](repeating: 0, count: (chars.count - ones) * 733 / 1000 + 1)
        var length = 0
        for c in chars.dropFirst(ones) {
            var carry = Int(values[Int(c)])
            guard carry >= 0 else { return nil }
            var i = 0
            while carry != 0 || i < length {
                carry += 58 * Int(bytes[i])
                bytes[i] = UInt8(carry & 0xff)
                carry >>= 8
                i += 1
            }
            length = i
        }
        return [UInt8](repeating: 0, count: ones) + bytes[0..<length].reversed()
    }

    /// Base58Check: `payload` followed by the first 4 bytes of its SHA-256d.
    public static func encodeCheck(_ payload: [UInt8]) -> String {
        var bytes = payload
        bytes.reserveCapacity(payload.count + 4)
        SHA256d.hash(payload).withUnsafeBytes { bytes.append(contentsOf: $0.prefix(4)) }
        return encode(bytes)
    }

    /// The payload of Base58Check `text`; nil for a bad character or checksum.
    public static func decodeCheck(_ text: some StringProtocol) -> [UInt8]? {
        guard let bytes = decode(text), bytes.count >= 4 else { return nil }
        let payload = Array(bytes.dropLast(4))
        guard SHA256d.hash(payload).wireBytes.prefix(4).elementsEqual(bytes.suffix(4)) else { return nil }
        return payload
    }
}
