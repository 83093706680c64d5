/// The 80-byte block header (Core `CBlockHeader`).
public struct BlockHeader: Sendable, Hashable {
    /// Signed, as in Core (`int32_t nVersion`); version-bits headers use the top bits.
    public let version: Int32
    public let previousBlockHash: BlockHash
    public let merkleRoot: Hash256
    /// Seconds since 1970-01-01 UTC.
    public let time: UInt32
    /// The proof-of-work target in compact form ("nBits").
    public let bits: UInt32
    public let nonce: UInt32

    public init(version: Int32, previousBlockHash: BlockHash, merkleRoot: Hash256,
                time: UInt32, bits: UInt32, nonce: UInt32) {
        self.version = version
        self.previousBlockHash = previousBlockHash
        self.merkleRoot = merkleRoot
        self.time = time
        self.bits = bits
        self.nonce = nonce
    }

    package init(from c: inout ByteCursor) throws(DecodeError) {
        guard c.remaining >= Limits.headerSize else {
            throw c.fail(.truncated(field: .header, needed: Limits.headerSize, available: c.remaining))
        }
        version = Int32(bitPattern: try c.read(UInt32.self, .header))
        previousBlockHash = try c.readHash(.header)
        merkleRoot = try c.readHash(.header)
        time = try c.read(UInt32.self, .header)
        bits = try c.read(UInt32.self, .header)
        nonce = try c.read(UInt32.self, .header)
    }

    /// Decodes a header from the first 80 bytes of `bytes` (more may follow).
    /// - Throws: `DecodeError` `truncated` when fewer than 80 bytes are given.
    public init(decoding bytes: UnsafeRawBufferPointer, baseOffset: Int = 0) throws(DecodeError) {
        var c = ByteCursor(bytes, base: baseOffset)
        try self.init(from: &c)
    }

    /// Decodes a header from the first 80 bytes of `bytes` (more may follow).
    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        let result: Result<BlockHeader, DecodeError> = bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in try BlockHeader(decoding: raw) }
        }
        self = try result.get()
    }

    /// Appends the 80-byte serialization.
    public func encode(into out: inout [UInt8]) {
        out.appendLE(UInt32(bitPattern: version))
        out.append(previousBlockHash)
        out.append(merkleRoot)
        out.appendLE(time)
        out.appendLE(bits)
        out.appendLE(nonce)
    }

    /// The 80-byte serialization.
    public var encoded: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Limits.headerSize)
        encode(into: &out)
        return out
    }

    /// The block hash: SHA-256d of the 80-byte header.
    public var hash: BlockHash { SHA256d.hash(encoded) }
}
