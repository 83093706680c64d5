import Testing
import BitcoinWire
import Validation
import LearningChain

/// Core's `pow_tests.cpp` on mainnet parameters, and the compact encoding (`arith_uint256_tests`).
@Suite struct DifficultyTests {
    // (last retarget time, last block time, last bits, expected bits): Core's four vectors.
    static let retargets: [(first: Int64, last: Int64, bits: UInt32, expected: UInt32)] = [
        (1_261_130_161, 1_262_152_739, 0x1d00_ffff, 0x1d00_d86a),  // get_next_work: blocks 30240–32255
        (1_231_006_505, 1_233_061_996, 0x1d00_ffff, 0x1d00_ffff),  // get_next_work_pow_limit: capped at the limit
        (1_279_008_237, 1_279_297_671, 0x1c05_a3f4, 0x1c01_68fd),  // get_next_work_lower_limit_actual: ¼ clamp
        (1_263_163_443, 1_269_211_443, 0x1c38_7f6f, 0x1d00_e1fd),  // get_next_work_upper_limit_actual: 4× clamp
    ]

    @Test(arguments: 0..<retargets.count)
    func coreRetargetVectors(_ i: Int) {
        let v = Self.retargets[i]
        #expect(Difficulty.nextBits(lastBits: v.bits, lastTime: v.last, firstTime: v.first, network: .mainnet) == v.expected)
    }

    @Test func retargetsOnlyAtIntervalsWithCoresWindow() {
        // The window of the block at height 2016 starts at height 0: 2015 blocks back from its parent.
        var asked = [Int64]()
        let bits = Difficulty.nextBits(parentHeight: 2015, parentBits: 0x1d00_ffff, parentTime: 1_233_061_996, newBlockTime: 0,
                                       network: .mainnet) { h in asked.append(h); return (1_231_006_505, 0x1d00_ffff) }
        #expect(bits == 0x1d00_ffff)
        #expect(asked == [0])
        // Between retargets the parent's bits carry over, and no ancestor is read.
        let same = Difficulty.nextBits(parentHeight: 2016, parentBits: 0x1c05_a3f4, parentTime: 0, newBlockTime: 0,
                                       network: .mainnet) { _ in Issue.record("no ancestor needed"); return (0, 0) }
        #expect(same == 0x1c05_a3f4)
        // The learning chain: windows of 20, the first block 19 below the parent.
        asked = []
        _ = Difficulty.nextBits(parentHeight: 39, parentBits: 0x1f0f_ffff, parentTime: 1000, newBlockTime: 0, network: .learning) { h in
            asked.append(h); return (900, 0x1f0f_ffff)
        }
        #expect(asked == [20])
    }

    @Test func regtestNeverRetargets() {
        #expect(Difficulty.nextBits(lastBits: 0x207f_ffff, lastTime: 10, firstTime: 0, network: .regtest) == 0x207f_ffff)
    }

    @Test func testnetMinimumDifficultyRule() {
        let limit = ChainParameters.testnet3.powLimit.compact
        #expect(limit == 0x1d00_ffff)
        // More than 20 minutes after the parent: the limit.
        let late = Difficulty.nextBits(parentHeight: 100, parentBits: 0x1c00_ffff, parentTime: 1000, newBlockTime: 1000 + 1201,
                                       network: .testnet3) { _ in (0, 0x1c00_ffff) }
        #expect(late == limit)
        // Otherwise the last bits that were not the exception.
        let walked = Difficulty.nextBits(parentHeight: 100, parentBits: limit, parentTime: 1000, newBlockTime: 1001,
                                         network: .testnet3) { h in (0, h == 98 ? 0x1c00_ffff : limit) }
        #expect(walked == 0x1c00_ffff)
    }

    // Core arith_uint256_tests: SetCompact then GetCompact.
    @Test(arguments: [(UInt32(0x0112_3456), UInt32(0x0112_0000)), (0x0200_8000, 0x0200_8000), (0x0212_3456, 0x0212_3400),
                      (0x0312_3456, 0x0312_3456), (0x0412_3456, 0x0412_3456), (0x0500_9234, 0x0500_9234),
                      (0x2012_3456, 0x2012_3456), (0x1d00_ffff, 0x1d00_ffff), (0x1b04_04cb, 0x1b04_04cb)])
    func compactRoundTrip(bits: UInt32, expected: UInt32) {
        #expect(CompactTarget(bits: bits).target.compact == expected)
    }

    @Test func leadingZerosTargets() {
        #expect(BlockBuilder.bits(leadingZeros: 5) == 0x1e0f_ffff)
        #expect(CompactTarget(bits: 0x1e0f_ffff).target.hex.hasPrefix("00000fffff000"))
        #expect(BlockBuilder.bits(leadingZeros: 3) == ChainParameters.learning.powLimit.compact)
        // Core's retarget product stays inside 256 bits at the learning chain's limit.
        #expect(!ChainParameters.learning.powLimit.multipliedReportingOverflow(by: UInt64(4 * ChainParameters.learning.targetTimespan)).overflow)
        #expect(UInt256.max.multipliedReportingOverflow(by: 2).overflow)
    }

    @Test func medianTimePast() {
        #expect(Difficulty.medianTimePast([5, 1, 3]) == 3)
        #expect(Difficulty.medianTimePast([1, 2]) == 2)  // Core takes the upper middle
        // Only the last eleven count.
        #expect(Difficulty.medianTimePast([Int64](1...11).reversed() + [1000, 1000, 1000]) == 6)
        #expect(Difficulty.medianTimePast([]) == 0)
    }

    @Test func subsidyAndBIP34() {
        let learning = ChainParameters.learning
        #expect(learning.subsidy(atHeight: 0) == 50 * Limits.coin)
        #expect(learning.subsidy(atHeight: 209_999) == 50 * Limits.coin)
        #expect(learning.subsidy(atHeight: 210_000) == 25 * Limits.coin)
        #expect(learning.subsidy(atHeight: 64 * 210_000) == 0)
        #expect(learning.maxFutureBlockTime == 60)
        #expect(ChainParameters.mainnet.maxFutureBlockTime == 7200)
        let cases: [(Int64, [UInt8])] = [(0, [0x00]), (1, [0x51]), (16, [0x60]), (17, [0x01, 17]), (127, [0x01, 0x7f]),
                                         (128, [0x02, 0x80, 0x00]), (255, [0x02, 0xff, 0x00]), (256, [0x02, 0x00, 0x01]),
                                         (227_931, [0x03, 0x5b, 0x7a, 0x03]), (8_388_608, [0x04, 0, 0, 0x80, 0])]
        for (height, prefix) in cases {
            #expect(Block.bip34Prefix(height: height) == prefix, "height \(height)")
            #expect(Block.bip34Height(version: 2, coinbaseScript: prefix + [0xaa]) == height)
        }
    }
}
