extension Block {
    /// The block's height from its coinbase script (BIP34), for blocks of version 2 or more
    /// whose coinbase script starts with a number: OP_0, OP_1…OP_16, or a push of up to 8 bytes.
    public var bip34Height: Int64? {
        guard let coinbase = transactions.first, coinbase.isCoinbase else { return nil }
        return Block.bip34Height(version: header.version, coinbaseScript: coinbase.inputs[0].scriptSig)
    }

    /// The BIP34 height a coinbase script of a block of `version` starts with, if any.
    public static func bip34Height(version: Int32, coinbaseScript script: some Collection<UInt8>) -> Int64? {
        guard version >= 2, let first = script.first else { return nil }
        switch first {
        case 0x00: return 0
        case 0x51...0x60: return Int64(first - 0x50)
        case 0x01...0x08:
            let length = Int(first)
            guard script.count > length else { return nil }
            let data = script.dropFirst().prefix(length)
            guard data.reversed().first! & 0x80 == 0 else { return nil }  // heights are not negative
            return data.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        default:
            return nil
        }
    }

    /// The BIP141 witness commitment: the last coinbase output whose script starts
    /// `OP_RETURN 0x24 aa21a9ed`, and the 32 bytes after that.
    public var witnessCommitment: Hash256? {
        guard let coinbase = transactions.first else { return nil }
        for output in coinbase.outputs.reversed() {
            let s = output.scriptPubKey
            if s.count >= 38 && s.prefix(6).elementsEqual([0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed]) {
                return Hash256(wireBytes: s.dropFirst(6).prefix(32))
            }
        }
        return nil
    }

    /// The coinbase's witness reserved value (BIP141): its input's single 32-byte witness
    /// item; nil when the witness is not exactly that.
    public var witnessReservedValue: [UInt8]? {
        guard let stack = transactions.first?.inputs.first?.witness, stack.count == 1, stack[0].count == 32 else { return nil }
        return Array(stack[0])
    }

    /// Whether the witness commitment holds: SHA-256d(witness root || reserved value) is the
    /// committed hash. Nil for a block without a commitment; false when the reserved value is
    /// malformed or the hash differs.
    public var witnessCommitmentIsValid: Bool? {
        guard let commitment = witnessCommitment else { return nil }
        guard let reserved = witnessReservedValue, let root = witnessMerkleRoot else { return false }
        return SHA256d.hash(root.wireBytes + reserved) == commitment
    }

    /// The witness merkle root: the merkle root of the wtxids, with the coinbase's as zero.
    public var witnessMerkleRoot: Hash256? {
        guard !transactions.isEmpty else { return nil }
        return Merkle.root([.zero] + transactions.dropFirst().map(\.wtxid))?.root
    }

    /// Stripped size (without witness data).
    public var strippedSize: Int { size(witness: false) }
    /// Virtual size: weight / 4, rounded up.
    public var virtualSize: Int { (weight + 3) / 4 }
}

extension Block {
    /// The bytes a coinbase script must start with at `height` under BIP34 (Core's
    /// `CScript() << nHeight`): OP_0 for 0, OP_1…OP_16 for 1–16, else a minimal push of the
    /// height as a script number (little-endian, with a zero byte where the sign bit would be set).
    public static func bip34Prefix(height: Int64) -> [UInt8] {
        precondition(height >= 0, "heights are not negative")
        if height == 0 { return [0x00] }
        if height <= 16 { return [0x50 + UInt8(height)] }
        var number = [UInt8]()
        var rest = height
        while rest > 0 {
            number.append(UInt8(rest & 0xff))
            rest >>= 8
        }
        if number.last! & 0x80 != 0 { number.append(0) }
        return [UInt8(number.count)] + number
    }
}
