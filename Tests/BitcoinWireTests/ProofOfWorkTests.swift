import Testing
import TestFixtures
@testable import BitcoinWire

@Suite struct ProofOfWorkTests {
    /// Bitcoin Core's arith_uint256 SetCompact vectors: (nBits, target hex or nil for zero, negative, overflow).
    @Test(arguments: [
        (0x0000_0000, "0", false, false), (0x0012_3456, "0", false, false), (0x0100_3456, "0", false, false),
        (0x0200_0056, "0", false, false), (0x0300_0000, "0", false, false), (0x0400_0000, "0", false, false),
        (0x0092_3456, "0", false, false), (0x0180_3456, "0", false, false), (0x0280_0056, "0", false, false),
        (0x0380_0000, "0", false, false), (0x0480_0000, "0", false, false),
        (0x0112_3456, "12", false, false), (0x0212_3456, "1234", false, false), (0x0312_3456, "123456", false, false),
        (0x0412_3456, "12345600", false, false), (0x0500_9234, "92340000", false, false),
        (0x2012_3456, "1234560000000000000000000000000000000000000000000000000000000000", false, false),
        (0x01fe_dcba, "0", true, false), (0x0492_3456, "0", true, false), (0xff12_3456, "0", false, true),
    ] as [(UInt32, String, Bool, Bool)])
    func setCompact(bits: UInt32, hex: String, negative: Bool, overflow: Bool) {
        let compact = CompactTarget(bits: bits)
        let padded = String(repeating: "0", count: 64 - hex.count) + hex
        #expect(compact.target == UInt256(hex: padded)!)
        #expect(compact.isNegative == negative)
        #expect(compact.isOverflow == overflow)
    }

    @Test func genesisTargetDifficultyAndWork() {
        let compact = CompactTarget(bits: 0x1d00ffff)
        #expect(compact.target.hex == "00000000ffff0000000000000000000000000000000000000000000000000000")
        #expect(compact.difficulty == 1.0)
        #expect(compact.work == UInt256(0x1_0001_0001))  // Core: genesis chainwork 0x100010001
        // Block 100,000: nBits 1b04864c, difficulty 14,484.162361225399
        #expect(abs(CompactTarget(bits: 0x1b04864c).difficulty! - 14484.162361225399) < 1e-9)
        #expect(CompactTarget(bits: 0x1d000000).difficulty == nil)  // zero mantissa: no difficulty, not infinity
        // regtest: 0x207fffff, work 2
        #expect(CompactTarget(bits: 0x207fffff).work == UInt256(2))
        #expect(CompactTarget(bits: 0x01fedcba).work == .zero)
    }

    @Test func arithmetic() {
        let a = UInt256(hex: "00000000ffff0000000000000000000000000000000000000000000000000000")!
        #expect((a >> 200) << 200 == a)
        #expect(a / a == UInt256(1))
        #expect(UInt256.max / UInt256(1) == .max)
        #expect(UInt256(100) / UInt256(7) == UInt256(14))
        #expect(UInt256(5) &- UInt256(7) == ~UInt256(1))
        #expect(UInt256.max &+ UInt256(1) == .zero)
        #expect(UInt256(1) << 255 > UInt256.max >> 1)
        #expect(a.bitWidth == 224)
    }

    /// Every real block meets its own target; changing the nonce almost surely breaks it.
    @Test(arguments: Fixtures.files(in: "blocks"))
    func realBlocksHaveValidProofOfWork(file: String) throws {
        for (_, bytes) in Fixtures.blocks(file) {
            let header = try BlockHeader(decoding: bytes)
            let limit = file.contains("testnet") || file.contains("mixed") ? ChainParameters.testnet3.powLimit : ChainParameters.mainnet.powLimit
            #expect(header.hasValidProofOfWork(hash: header.hash, limit: limit), "\(file)")
            let changed = BlockHeader(version: header.version, previousBlockHash: header.previousBlockHash,
                                      merkleRoot: header.merkleRoot, time: header.time, bits: header.bits, nonce: header.nonce &+ 1)
            #expect(!changed.hasValidProofOfWork(hash: changed.hash, limit: limit))
        }
    }

    @Test func targetAboveTheLimitFails() throws {
        let header = BlockHeader(version: 1, previousBlockHash: .zero, merkleRoot: .zero, time: 0, bits: 0x207fffff, nonce: 0)
        #expect(!header.hasValidProofOfWork(hash: .zero, limit: ChainParameters.mainnet.powLimit))
        #expect(header.hasValidProofOfWork(hash: .zero, limit: ChainParameters.regtest.powLimit))
    }
}
