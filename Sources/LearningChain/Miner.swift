import CSHA256Compress
import Crypto
import Foundation
import Dispatch
import Synchronization
public import BitcoinWire

/// Proof-of-work search over one header template: only the nonce changes.
///
/// A header is 80 bytes, so SHA-256 reads it as two 64-byte blocks. The first block (version,
/// previous hash, most of the merkle root) is the same for every nonce: it is compressed once
/// per template (the midstate). Each nonce then costs two compressions: the second block of
/// the header, and the one block of the second SHA-256 over the 32-byte digest. That is the
/// same work as hashing one 64-byte message, which is what `openssl speed -evp sha256 -bytes
/// 64` measures. The compressions are BoringSSL's (through swift-crypto), which use the CPU's
/// SHA instructions where it has them.
public struct NonceSearch: Sendable {
    /// The state after the header's first 64 bytes.
    let midstate: [UInt32]
    /// Header bytes 64..<76: the merkle root's last 4 bytes, time, nBits.
    let tail: [UInt8]
    public let target: UInt256

    static let initialState: [UInt32] = [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
                                         0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19]

    /// Prepares the search for `header` (its nonce is ignored) against its own nBits target.
    public init(header: BlockHeader) {
        let bytes = header.encoded
        var state = Self.initialState
        bytes.withUnsafeBufferPointer { CCryptoBoringSSL_SHA256_TransformBlocks(&state, $0.baseAddress!, 1) }
        midstate = state
        tail = Array(bytes[64..<76])
        target = header.target.target
    }

    /// Tries nonces `range` in order.
    /// - Parameter shouldStop: asked every 16,384 nonces; the search ends when it says so.
    /// - Returns: the first nonce whose header hash is at or below the target (nil if none,
    ///   or if stopped), and how many nonces were tried.
    public func search(_ range: Range<UInt64>, shouldStop: () -> Bool) -> (nonce: UInt32?, tried: UInt64) {
        let targetTop = UInt32(truncatingIfNeeded: target.l3 >> 32)
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 8) { state in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { blocks in
                let base = blocks.baseAddress!
                let second = base + 64
                // Block one: header bytes 64..<80, the 0x80 terminator, zeros, the length (640 bits).
                // Block two: the first digest, the terminator, zeros, the length (256 bits).
                blocks.initialize(repeating: 0)
                for i in 0..<12 { base[i] = tail[i] }
                base[16] = 0x80
                base[62] = 0x02; base[63] = 0x80
                second[32] = 0x80
                second[62] = 0x01
                let words = state.baseAddress!
                var nonce = range.lowerBound
                while nonce < range.upperBound {
                    if nonce & 0x3fff == 0 && shouldStop() { return (nil, nonce - range.lowerBound) }
                    let n = UInt32(truncatingIfNeeded: nonce)
                    base[12] = UInt8(truncatingIfNeeded: n); base[13] = UInt8(truncatingIfNeeded: n >> 8)
                    base[14] = UInt8(truncatingIfNeeded: n >> 16); base[15] = UInt8(truncatingIfNeeded: n >> 24)
                    for i in 0..<8 { words[i] = midstate[i] }
                    CCryptoBoringSSL_SHA256_TransformBlocks(words, base, 1)
                    UnsafeMutableRawPointer(second).withMemoryRebound(to: UInt32.self, capacity: 8) { digest in
                        for i in 0..<8 { digest[i] = words[i].bigEndian }
                    }
                    for i in 0..<8 { words[i] = Self.initialState[i] }
                    CCryptoBoringSSL_SHA256_TransformBlocks(words, second, 1)
                    // The hash read as a number: its most significant 32 bits are the last word's bytes, reversed.
                    if words[7].byteSwapped <= targetTop {
                        var digest = [UInt8](repeating: 0, count: 32)
                        for i in 0..<8 {
                            let w = words[i]
                            digest[4 * i] = UInt8(w >> 24); digest[4 * i + 1] = UInt8(truncatingIfNeeded: w >> 16)
                            digest[4 * i + 2] = UInt8(truncatingIfNeeded: w >> 8); digest[4 * i + 3] = UInt8(truncatingIfNeeded: w)
                        }
                        if UInt256(Hash256(wireBytes: digest)!) <= target { return (n, nonce - range.lowerBound + 1) }
                    }
                    nonce += 1
                }
                return (nil, range.count == 0 ? 0 : UInt64(range.count))
            }
        }
    }
}

extension NonceSearch {
    /// The same search written with swift-crypto's `SHA256` alone (a copy of the hasher after
    /// the first 64 bytes, the last 16 bytes, finalise, a second SHA-256): the benchmark's
    /// measure of what hand-driving the compression function gains.
    /// - Returns: how many nonces were tried before `shouldStop` said so.
    public static func libraryHasherRate(header: BlockHeader, shouldStop: () -> Bool) -> UInt64 {
        let bytes = header.encoded
        var first = SHA256()
        bytes[0..<64].withUnsafeBytes { first.update(bufferPointer: $0) }
        var tail = Array(bytes[64..<80])
        var tried: UInt64 = 0
        while tried & 0x3fff != 0 || !shouldStop() {
            let n = UInt32(truncatingIfNeeded: tried)
            tail[12] = UInt8(truncatingIfNeeded: n); tail[13] = UInt8(truncatingIfNeeded: n >> 8)
            tail[14] = UInt8(truncatingIfNeeded: n >> 16); tail[15] = UInt8(truncatingIfNeeded: n >> 24)
            var h = first
            tail.withUnsafeBytes { h.update(bufferPointer: $0) }
            _ = SHA256.hash(data: Data(h.finalize()))  // opaque calls into BoringSSL: not optimised away
            tried += 1
        }
        return tried
    }
}

/// Mining on several cores: the nonce space split into one slice per thread.
public enum Miner {
    /// Searches all 2^32 nonces of `header` on `threads` threads.
    /// - Parameter shouldStop: asked by every thread every 16,384 nonces (a new tip arrived, the
    ///   node is stopping); returning true ends the search at once.
    /// - Returns: a nonce that solves the header (nil when every nonce fails or the search
    ///   stopped), and how many nonces were tried in all.
    public static func solve(_ header: BlockHeader, threads: Int, shouldStop: @Sendable () -> Bool = { false }) -> (nonce: UInt32?, tried: UInt64) {
        solve(NonceSearch(header: header), in: 0..<(1 << 32), threads: threads, shouldStop: shouldStop)
    }

    /// Searches `range` of `search` on `threads` threads (the benchmark gives a range).
    public static func solve(_ search: NonceSearch, in range: Range<UInt64>, threads: Int,
                             shouldStop: @Sendable () -> Bool = { false }) -> (nonce: UInt32?, tried: UInt64) {
        let threads = max(1, threads)
        let found = Atomic<Bool>(false)
        let result = Mutex<(nonce: UInt32?, tried: UInt64)>((nil, 0))
        let slice = (UInt64(range.count) + UInt64(threads) - 1) / UInt64(threads)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let low = range.lowerBound + UInt64(t) * slice
            let high = min(range.upperBound, low + slice)
            guard low < high else { return }
            let (nonce, tried) = search.search(low..<high) { found.load(ordering: .relaxed) || shouldStop() }
            if nonce != nil { found.store(true, ordering: .relaxed) }
            result.withLock { r in
                r.tried += tried
                if r.nonce == nil { r.nonce = nonce }
            }
        }
        return result.withLock { $0 }
    }
}
