/// Merkle roots as Bitcoin computes them (Core `ComputeMerkleRoot`).
public enum Merkle {
    /// The merkle root of `hashes` (txids for the block's root, wtxids for the witness root):
    /// pairs concatenated and SHA-256d'd level by level, an odd level's last hash paired with
    /// itself. All hashes in internal byte order.
    ///
    /// - Returns: the root, or nil for no hashes; `mutated` is true when some level pairs two
    ///   equal hashes, the CVE-2012-2459 malleability Core rejects blocks for.
    /// - Complexity: n − 1 hashes of 64 bytes, in place.
    public static func root(_ hashes: [Hash256]) -> (root: Hash256, mutated: Bool)? {
        guard !hashes.isEmpty else { return nil }
        var level = hashes
        var count = level.count
        level.append(.zero)  // one spare slot: an odd level copies its last hash into it
        var mutated = false
        level.withUnsafeMutableBufferPointer { level in
            while count > 1 {
                for i in stride(from: 0, to: count - 1, by: 2) where level[i] == level[i + 1] {
                    mutated = true
                }
                if count & 1 == 1 {
                    level[count] = level[count - 1]
                }
                let pairs = (count + 1) / 2
                for i in 0..<pairs {
                    level[i] = SHA256d.hash(level[2 * i], level[2 * i + 1])
                }
                count = pairs
            }
        }
        return (level[0], mutated)
    }
}
