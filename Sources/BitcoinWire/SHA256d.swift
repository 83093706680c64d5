import Crypto

/// Bitcoin's double SHA-256 (Core `Hash`/`CHash256`) over raw memory, via swift-crypto
/// (BoringSSL, with the CPU's SHA instructions where it has them).
public enum SHA256d {
    /// SHA-256(SHA-256(bytes)).
    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Hash256 {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return second(hasher)
    }

    /// SHA-256d of the concatenation of several byte ranges, without copying them together
    /// (a segwit transaction's txid skips its marker, flag and witnesses).
    public static func hash(_ parts: UnsafeRawBufferPointer...) -> Hash256 {
        var hasher = SHA256()
        for part in parts { hasher.update(bufferPointer: part) }
        return second(hasher)
    }

    /// SHA-256d of the 64 bytes `left || right`: one merkle tree node.
    @inline(__always)
    public static func hash(_ left: Hash256, _ right: Hash256) -> Hash256 {
        var pair = (left, right)
        return Swift.withUnsafeBytes(of: &pair) { hash($0) }
    }

    /// SHA-256d of a byte array.
    public static func hash(_ bytes: [UInt8]) -> Hash256 {
        bytes.withUnsafeBytes { hash($0) }
    }

    @inline(__always)
    static func second(_ first: SHA256) -> Hash256 {
        first.finalize().withUnsafeBytes { digest in
            var hasher = SHA256()
            hasher.update(bufferPointer: digest)
            return hasher.finalize().withUnsafeBytes { Hash256(loadingFrom: $0, at: 0) }
        }
    }
}
