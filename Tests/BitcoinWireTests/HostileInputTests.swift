import Testing
import TestFixtures
@testable import BitcoinWire

/// Malformed bytes throw a `DecodeError` that points inside the input; nothing traps,
/// hangs, or allocates by an untrusted count.
@Suite struct HostileInputTests {
    static let coinbase = try! Block(decoding: Fixtures.blocks("blocks/mainnet-000170.blk")[0].bytes)
        .transactions[1].encoded()

    @Test(arguments: 0..<coinbase.count)
    func everyTruncationThrows(prefix: Int) {
        let bytes = Array(Self.coinbase.prefix(prefix))
        let error = #expect(throws: DecodeError.self) { try Transaction(decoding: bytes) }
        #expect((error?.offset ?? .max) <= prefix)
    }

    @Test func everyBlockTruncationThrows() {
        let block = Fixtures.blocks("blocks/mainnet-000546.blk")[0].bytes
        for prefix in 0..<block.count {
            let error = #expect(throws: DecodeError.self) { try Block(decoding: Array(block.prefix(prefix))) }
            #expect((error?.offset ?? .max) <= prefix)
        }
    }

    @Test func hugeCountsThrowWithoutAllocating() throws {
        // version, input count 2^64-1, nothing else
        var bytes: [UInt8] = [1, 0, 0, 0, 0xff] + [UInt8](repeating: 0xff, count: 8)
        var error = #expect(throws: DecodeError.self) { try Transaction(decoding: bytes) }
        #expect(error?.reason == .countTooLarge(field: .inputCount, count: .max, limit: 0))
        #expect(error?.offset == 4)
        // a block whose transaction count is 2^64-1
        bytes = [UInt8](repeating: 0, count: 80) + [0xff] + [UInt8](repeating: 0xff, count: 8) + [1, 0, 0, 0]
        error = #expect(throws: DecodeError.self) { try Block(decoding: bytes) }
        #expect(error?.offset == 93)  // the first transaction's input count is missing
    }

    @Test func scriptLengthPastTheEndThrows() throws {
        var bytes = Self.coinbase
        // input 0's script length byte sits after version(4), count(1), outpoint(36)
        bytes[41] = 0xfd; bytes.insert(contentsOf: [0xff, 0xff], at: 42)
        let error = #expect(throws: DecodeError.self) { try Transaction(decoding: bytes) }
        guard case .truncated(field: .scriptSig, needed: 0xffff, _)? = error?.reason else {
            Issue.record("unexpected \(String(describing: error))"); return
        }
    }

    @Test func nonCanonicalCompactSizeIsRejectedUnlessAllowed() throws {
        // version 1, input count 0xfd 0x00 0x00 (non-canonical zero), output count 0, lock time
        let bytes: [UInt8] = [1, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0, 0, 0]
        let error = #expect(throws: DecodeError.self) {
            try Transaction(decoding: bytes, options: .init(allowWitness: false))
        }
        #expect(error?.reason == .nonCanonicalCompactSize(field: .inputCount))
        let lenient = try Transaction(decoding: bytes, options: .legacy)
        #expect(lenient.inputs.isEmpty && lenient.outputs.isEmpty)
        #expect(lenient.encoded() != bytes)  // re-encodes canonically
    }

    @Test func segwitFlagsFollowCore() throws {
        // marker then flag 0x02: unknown optional data
        let unknown: [UInt8] = [2, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0, 0, 0]
        let error = #expect(throws: DecodeError.self) { try Transaction(decoding: unknown) }
        #expect(error?.reason == .unknownSegwitFlag(2))
        // marker, flag 1, one input with an empty witness: superfluous witness
        var superfluous: [UInt8] = [2, 0, 0, 0, 0x00, 0x01, 1] + [UInt8](repeating: 0, count: 36) + [0, 0xff, 0xff, 0xff, 0xff]
        superfluous += [0, 0] + [0, 0, 0, 0]
        let error2 = #expect(throws: DecodeError.self) { try Transaction(decoding: superfluous) }
        #expect(error2?.reason == .superfluousWitness)
    }

    /// Found by the fuzzer: no inputs, then a zero "flag" is Core's empty output list, a legacy
    /// transaction whose txid covers every byte.
    @Test(arguments: ["04000000000000000000", "ff0b00000000000000fe"])
    func noInputsAndZeroFlagIsLegacy(hex: String) throws {
        let bytes = try #require(Hex.decode(hex))
        let tx = try Transaction(decoding: bytes)
        #expect(tx.inputs.isEmpty && tx.outputs.isEmpty && !tx.hasWitness)
        #expect(tx.encoded() == bytes)
        #expect(tx.txid == SHA256d.hash(bytes))
        #expect(tx.wtxid == tx.txid)
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededGenerator(seed: 42)
        for length in [0, 1, 10, 80, 81, 200, 1000, 5000] {
            for _ in 0..<200 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                _ = try? Block(decoding: bytes)
                _ = try? Transaction(decoding: bytes)
                _ = try? Block(decoding: bytes, options: .legacy)
            }
        }
    }
}
