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
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let zeros = bytes.prefix { $0 == 0 }.count
        // log(256) / log(58) < 1.37: the digits fit in 138% of the input.
        var digits = [UInt8](repeating: 0, count: (bytes.count - zeros) * 138 / 100 + 1)
        var length = 0
        for byte in bytes.dropFirst(zeros) {
            var carry = Int(byte)
            var i = 0
            while carry != 0 || i < length {
                carry += 256 * Int(digits[i])
                digits[i] = UInt8(carry % 58)
                carry /= 58
                i += 1
            }
            length = i
        }
        var text = [UInt8](repeating: alphabet[0], count: zeros)
        text.reserveCapacity(zeros + length)
        for i in stride(from: length - 1, through: 0, by: -1) { text.append(alphabet[Int(digits[i])]) }
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
        let checksum = SHA256d.hash(payload).wireBytes.prefix(4)
        return encode(payload + checksum)
    }

    /// The payload of Base58Check `text`; nil for a bad character or checksum.
    public static func decodeCheck(_ text: some StringProtocol) -> [UInt8]? {
        guard let bytes = decode(text), bytes.count >= 4 else { return nil }
        let payload = Array(bytes.dropLast(4))
        guard SHA256d.hash(payload).wireBytes.prefix(4).elementsEqual(bytes.suffix(4)) else { return nil }
        return payload
    }
}
