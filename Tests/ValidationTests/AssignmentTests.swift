import Testing
import TestFixtures
import BlockFile
import BitcoinWire
@testable import Validation

/// Validates in-memory bytes as the `parse` command would.
func validate(_ bytes: [UInt8], workers: Int = 1) -> AssignmentReport {
    try! AssignmentValidator.run(MappedFile(copying: bytes, path: "test.blk"), workers: workers)
}

let ten = Fixtures.bytes("blocks/mainnet-000000-000009.blk")
let hundred = Fixtures.bytes("blocks/mainnet-000000-000099.blk")

func changed(_ bytes: [UInt8], _ position: Int, _ value: UInt8) -> [UInt8] {
    var copy = bytes
    copy[position] = value
    return copy
}

@Suite struct SpecExampleTests {
    /// The assignment's own examples: `change_byte.py POS VALUE` on the first 10 blocks.
    @Test(arguments: [
        (2, 0, "error 1 block 0"), (10, 7, "error 2 block 0"), (14, 3, "error 3 block 1"),
        (310, 23, "error 3 block 1"), (372, 0, "error 4 block 1"), (89, 17, "error 5 block 0"),
        (46, 3, "error 6 block 0"),
    ])
    func specExample(position: Int, value: UInt8, verdict: String) {
        #expect(validate(changed(ten, position, value)).verdict == verdict)
        #expect(validate(changed(ten, position, value), workers: 2).verdict == verdict)
    }

    @Test func unmodifiedFiles() {
        #expect(validate(ten).verdict == "no errors 10 blocks")
        #expect(validate(hundred).verdict == "no errors 100 blocks")
        #expect(validate(hundred, workers: 2).verdict == "no errors 100 blocks")
        #expect(validate(Fixtures.bytes("blocks/mainnet-000000-000589.blk"), workers: 2).verdict == "no errors 590 blocks")
    }

    @Test func messagesSayWhatAndWhere() {
        let report = validate(changed(ten, 89, 17))
        #expect(report.error?.message(file: "blk.blk") == "blk.blk: block 0 at byte 89: transaction 0 version is 17, expected 1")
        let magic = validate(changed(ten, 2, 0))
        #expect(magic.error?.message(file: "f") == "f: block 0 at byte 0: magic number is f9be00d9, expected f9beb4d9")
        let time = validate(changed(ten, 372, 0))
        #expect(time.error?.offset == 369)
        #expect(time.error?.detail.contains("more than the 7200 s allowed") == true)
    }
}

/// Every single-byte change of the 10-block file, classified by which field the byte is in
/// (an expectation derived here from the layout, not from the library), and compared with
/// the reference validator.
@Suite struct SingleByteChangeTests {
    struct Layout {
        let start: Int, size: Int, time: Int64
    }
    static let layout: [Layout] = {
        var blocks = [Layout]()
        var pos = 0
        while pos < ten.count {
            let size = Int(ReferenceValidator.le32(ten, pos + 4))
            blocks.append(Layout(start: pos, size: size, time: Int64(ReferenceValidator.le32(ten, pos + 8 + 68))))
            pos += 8 + size
        }
        return blocks
    }()

    /// The little-endian UInt32 at `start` in the 10-block file once byte `position` becomes `value`.
    static func field(at start: Int, after position: Int, becomes value: UInt8) -> UInt32 {
        ReferenceValidator.le32(changed(ten, position, value), start)
    }

    /// The verdict the assignment implies for changing byte `position` to `value`.
    static func expectation(_ position: Int, _ value: UInt8) -> String {
        let k = layout.lastIndex { $0.start <= position }!
        let block = layout[k]
        let offset = position - block.start
        let last = layout.count - 1
        let nextBlockHashCheck = k < last ? "error 3 block \(k + 1)" : "no errors 10 blocks"
        switch offset {
        case 0..<4:
            return "error 1 block \(k)"
        case 4..<8:
            let size = Int(field(at: block.start + 4, after: position, becomes: value))
            if size < 81 || block.start + 8 + size > ten.count { return "error 1 block \(k)" }
            return "error 6 block \(k)"  // the transaction no longer fills the block exactly
        case 8..<12:
            return "error 2 block \(k)"
        case 12..<44:
            return k == 0 ? "error 3 block 1" : "error 3 block \(k)"
        case 44..<76:
            return "error 6 block \(k)"
        case 76..<80:
            let time = Int64(field(at: block.start + 76, after: position, becomes: value))
            if k > 0 && time < layout[k - 1].time - 7200 { return "error 4 block \(k)" }
            return nextBlockHashCheck
        case 80..<88:
            return nextBlockHashCheck  // nBits and nonce only change the block's hash
        case 88:
            // The transaction count: a wider compactSize reads the version's bytes as count,
            // moving the transaction's start. Every block here holds one coinbase, so:
            switch value {
            case 0xfd: return "error 5 block \(k)"  // count 1; "version" 00 00 01 00
            case 0xff: return "error 5 block \(k)"  // count 2^32+1; "version" 0
            default: return "error 6 block \(k)"    // 0, 2...0xfc, 0xfe: bytes left over or missing
            }
        case 89..<93:
            return "error 5 block \(k)"
        default:
            return "error 6 block \(k)"  // any other transaction byte changes the txid
        }
    }

    @Test(arguments: 0..<2300)
    func everyByte(position: Int) {
        let original = ten[position]
        for value in Set([original ^ 0xff, original ^ 0x01, original ^ 0x80, 0, 0xff, 0xfd, 0xfe]) where value != original {
            let bytes = changed(ten, position, value)
            let verdict = validate(bytes).verdict
            #expect(verdict == Self.expectation(position, value), "byte \(position) -> \(value)")
            #expect(verdict == ReferenceValidator.verdict(bytes), "byte \(position) -> \(value)")
        }
    }
}

/// Damage the six errors do not name still gets one verdict, equal to the reference's.
@Suite struct HostileInputTests {
    @Test func emptyFileHasNoBlocks() {
        #expect(validate([]).verdict == "no errors 0 blocks")
    }

    @Test func textFileIsBadMagic() {
        let report = validate(Array("hello, this is not a block file\n".utf8))
        #expect(report.verdict == "error 1 block 0")
        #expect(report.error?.detail == "magic number is 68656c6c, expected f9beb4d9")
    }

    @Test func magicOnly() {
        #expect(validate([0xf9, 0xbe, 0xb4, 0xd9]).verdict == "error 1 block 0")
    }

    @Test func truncationAtEveryOffset() {
        for length in 0...ten.count {
            let bytes = Array(ten.prefix(length))
            #expect(validate(bytes).verdict == ReferenceValidator.verdict(bytes), "length \(length)")
        }
        #expect(validate(Array(ten.prefix(293))).verdict == "no errors 1 blocks")
        #expect(validate(Array(ten.prefix(294))).verdict == "error 1 block 1")
        #expect(validate(Array(ten.prefix(2299))).verdict == "error 1 block 9")
    }

    @Test func trailingZerosAreNotAnError() {
        #expect(validate(ten + [UInt8](repeating: 0, count: 5000)).verdict == "no errors 10 blocks")
        #expect(validate(ten + [0, 0, 0]).verdict == "no errors 10 blocks")
        #expect(validate(ten + [0, 0, 0, 1]).verdict == "error 1 block 10")
    }

    @Test func transactionCountOfTwoToTheSixtyFour() {
        // Block 0's count byte becomes 0xff ff..ff: the eight bytes are inserted and the size fixed.
        var bytes = Array(ten[0..<293])
        bytes.replaceSubrange(88..<89, with: [0xff] + [UInt8](repeating: 0xff, count: 8))
        bytes[4] = UInt8((285 + 8) & 0xff); bytes[5] = UInt8((285 + 8) >> 8)
        let report = validate(bytes)
        #expect(report.verdict == "error 6 block 0")
        #expect(report.verdict == ReferenceValidator.verdict(bytes))
    }

    @Test func scriptLengthPastTheEnd() {
        var bytes = Array(ten[0..<293])
        bytes[8 + 80 + 1 + 4 + 1 + 36] = 0xfe  // input script length: 0xfe + next 4 bytes
        let report = validate(bytes)
        #expect(report.verdict == "error 6 block 0")
        #expect(report.error?.detail.contains("input script") == true)
    }

    @Test func blockWithZeroTransactions() {
        var bytes = Array(ten[0..<89])  // header and count byte only
        bytes[4] = 81; bytes[5] = 0; bytes[6] = 0; bytes[7] = 0
        bytes[88] = 0
        #expect(validate(bytes).verdict == "error 6 block 0")
    }

    @Test func randomBytesAndRandomMutations() {
        var rng = SeededGenerator(seed: 7)
        for length in [1, 7, 8, 9, 100, 1000] {
            for _ in 0..<50 {
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                #expect(validate(bytes).verdict == ReferenceValidator.verdict(bytes))
                bytes.replaceSubrange(0..<min(4, length), with: [0xf9, 0xbe, 0xb4, 0xd9].prefix(length))
                #expect(validate(bytes).verdict == ReferenceValidator.verdict(bytes))
            }
        }
        for round in 0..<300 {
            var bytes = hundred
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            #expect(validate(bytes, workers: 2).verdict == ReferenceValidator.verdict(bytes), "round \(round)")
        }
    }

    @Test func reorderedAndSplicedBlocks() {
        let blocks = Fixtures.blocks("blocks/mainnet-000000-000009.blk").map { ten[$0.offset..<($0.offset + 8 + $0.bytes.count)] }
        // Swapping blocks 3 and 4 breaks the link into block 3's position.
        var swapped = blocks
        swapped.swapAt(3, 4)
        #expect(validate(Array(swapped.joined())).verdict == "error 3 block 3")
        // A file that starts at block 1 is fine: the first block's links are not checked.
        #expect(validate(Array(blocks.dropFirst().joined())).verdict == "no errors 9 blocks")
        // A block repeated: its previous hash does not match itself.
        #expect(validate(Array((blocks + [blocks[9]]).joined())).verdict == "error 3 block 10")
    }

    @Test func otherFixturesAgreeWithTheReference() {
        for file in Fixtures.files(in: "blocks") {
            let bytes = Fixtures.bytes(file)
            #expect(validate(bytes, workers: 2).verdict == ReferenceValidator.verdict(bytes), "\(file)")
        }
        // Header versions above 1 are error 2 in the first block.
        #expect(validate(Fixtures.bytes("blocks/mainnet-332208-v2.blk")).verdict == "error 2 block 0")
        #expect(validate(Fixtures.bytes("blocks/testnet3-000000.blk")).verdict == "error 1 block 0")
        #expect(validate(Fixtures.bytes("blocks/mainnet-000001-000255.blk")).verdict == "no errors 255 blocks")
    }

    /// Several checks fail in one block: the lowest-numbered one is reported.
    @Test func lowestCheckWinsWithinABlock() {
        let block1 = 293  // magic of block 1
        let version = block1 + 8, previous = block1 + 12, time = block1 + 8 + 68
        let txVersion = block1 + 8 + 81, merkle = block1 + 8 + 36
        let cases: [([(Int, UInt8)], String)] = [
            ([(version, 2), (previous, 0), (time + 3, 0), (txVersion, 2), (merkle, 0)], "error 2 block 1"),
            ([(previous, 0), (time + 3, 0), (txVersion, 2), (merkle, 0)], "error 3 block 1"),
            ([(time + 3, 0), (txVersion, 2), (merkle, 0)], "error 4 block 1"),
            ([(txVersion, 2), (merkle, 0)], "error 5 block 1"),
            ([(merkle, 0), (block1 + 8 + 200, 0)], "error 6 block 1"),
            ([(block1, 0), (version, 2)], "error 1 block 1"),
        ]
        for (changes, verdict) in cases {
            var bytes = ten
            for (position, value) in changes { bytes[position] = value }
            #expect(validate(bytes).verdict == verdict)
            #expect(ReferenceValidator.verdict(bytes) == verdict)
        }
    }

    /// A transaction that does not fit still fails check 5 if its own version field was
    /// read and is not 1; otherwise the block fails check 6.
    @Test func truncatedTransactionWithReadableVersion() {
        var block = Fixtures.blocks("blocks/mainnet-000170.blk")[0].bytes  // two transactions
        let secondTx = 81 + 134  // header, count byte, the 134-byte coinbase
        #expect(block[secondTx] == 1)
        block.removeLast(10)
        func file(_ block: [UInt8]) -> [UInt8] {
            let size = UInt32(block.count)
            return [0xf9, 0xbe, 0xb4, 0xd9] + withUnsafeBytes(of: size.littleEndian, Array.init) + block
        }
        #expect(validate(file(block)).verdict == "error 6 block 0")
        block[secondTx] = 2
        let report = validate(file(block))
        #expect(report.verdict == "error 5 block 0")
        #expect(report.error?.detail == "transaction 1 version is 2, expected 1")
        #expect(report.error?.offset == 8 + secondTx)
        #expect(ReferenceValidator.verdict(file(block)) == "error 5 block 0")
    }

    @Test func timestampExactlyTwoHoursEarlierIsFine() {
        // Block 1 timestamp := block 0's - 7200 (allowed), then - 7201 (error 4). Block 2 then
        // fails its link (block 1's hash changed), which is check 3 in block 2.
        let t0 = Int64(ReferenceValidator.le32(ten, 8 + 68))
        for (delta, verdict) in [(7200, "error 3 block 2"), (7201, "error 4 block 1")] {
            var bytes = ten
            let t = UInt32(t0 - Int64(delta))
            for i in 0..<4 { bytes[293 + 8 + 68 + i] = UInt8(truncatingIfNeeded: t >> (8 * UInt32(i))) }
            #expect(validate(bytes).verdict == verdict)
        }
    }
}
