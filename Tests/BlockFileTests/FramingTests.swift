import Testing
import TestFixtures
import BitcoinWire
@testable import BlockFile

@Suite struct FramingTests {
    /// Every frame of `bytes`, and how the scan ended.
    func scan(_ bytes: [UInt8]) -> (frames: [BlockFrame], error: FramingError?, zeros: Int) {
        let file = MappedFile(copying: bytes, path: "test.blk")
        var scanner = FrameScanner(file.bytes)
        var frames = [BlockFrame]()
        var error: FramingError?
        while let next = scanner.next() {
            switch next {
            case .success(let frame): frames.append(frame)
            case .failure(let e): error = e
            }
        }
        return (frames, error, scanner.trailingZeroBytes)
    }

    static let ten = Fixtures.bytes("blocks/mainnet-000000-000009.blk")

    @Test func tenBlocks() {
        let result = scan(Self.ten)
        #expect(result.frames.count == 10)
        #expect(result.error == nil)
        #expect(result.frames.map(\.offset) == [0] + (0..<9).map { 293 + $0 * 223 })
        #expect(result.frames[0].payload == 8..<293)
        #expect(result.frames.allSatisfy { $0.magic == BlockFileFormat.mainnetMagic })
    }

    @Test(arguments: [0, 1, 7, 8, 100, 4096])
    func trailingZerosEndTheData(count: Int) {
        let result = scan(Self.ten + [UInt8](repeating: 0, count: count))
        #expect(result.frames.count == 10)
        #expect(result.error == nil)
        #expect(result.zeros == count)
    }

    @Test func emptyAndAllZeroFilesHaveNoBlocks() {
        #expect(scan([]).frames.isEmpty && scan([]).error == nil)
        #expect(scan([0, 0, 0]).error == nil)
        #expect(scan([UInt8](repeating: 0, count: 1000)).frames.isEmpty)
    }

    @Test func zerosThenSomethingIsBadMagic() {
        let result = scan(Self.ten + [0, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(result.frames.count == 10)
        #expect(result.error?.blockIndex == 10)
        #expect(result.error?.offset == 2300)
        #expect(result.error?.reason == .badMagic(0))
    }

    @Test func magicOnlyIsATruncatedPreamble() {
        let result = scan([0xf9, 0xbe, 0xb4, 0xd9])
        #expect(result.error == FramingError(reason: .truncatedPreamble(available: 4), blockIndex: 0, offset: 0))
    }

    @Test func truncationAtEveryOffset() {
        let starts = Set(scan(Self.ten).frames.map(\.offset) + [Self.ten.count])
        for length in 0...Self.ten.count {
            let result = scan(Array(Self.ten.prefix(length)))
            let complete = starts.filter { $0 <= length }.count - 1
            #expect(result.frames.count == complete, "length \(length)")
            if starts.contains(length) {
                #expect(result.error == nil, "length \(length)")
            } else {
                #expect(result.error?.blockIndex == complete, "length \(length)")
            }
        }
    }

    @Test func sizeTooSmallAndPastTheEnd() {
        var bytes = Self.ten
        bytes[4] = 80; bytes[5] = 0
        #expect(scan(bytes).error?.reason == .sizeTooSmall(80, minimum: 81))
        bytes[4] = 81  // the smallest size framing accepts: block 1 then "starts" inside block 0
        #expect(scan(bytes).frames.map(\.payload) == [8..<89])
        #expect(scan(bytes).error == FramingError(reason: .badMagic(1), blockIndex: 1, offset: 89))
        bytes = Self.ten
        bytes[7] = 0x10
        #expect(scan(bytes).error?.reason == .pastEndOfFile(size: 0x1000_011d, available: 2292))
        #expect(scan(bytes).error?.offset == 4)
    }

    @Test func maximumSizeIsEnforcedWhenAsked() {
        let file = MappedFile(copying: Self.ten, path: "x")
        var scanner = FrameScanner(file.bytes, maximumSize: 200)
        guard case .failure(let error)? = scanner.next() else { Issue.record("expected an error"); return }
        #expect(error.reason == .sizeTooLarge(285, limit: 200))
    }

    @Test func otherNetworksAreBadMagicByDefault() {
        let result = scan(Fixtures.bytes("blocks/testnet3-000000.blk"))
        #expect(result.error?.reason == .badMagic(0x0709_110b))
        #expect(result.error?.description == "magic number is 0b110907, expected f9beb4d9")
    }

    @Test func mappedFileReadsTheFileAndReportsErrors() throws {
        let file = try MappedFile(path: Fixtures.path("blocks/mainnet-000000.blk"))
        #expect(file.bytes.count == 293)
        #expect(throws: FileError.self) { try MappedFile(path: "/nonexistent/blk.dat") }
        #expect(throws: FileError.self) { try MappedFile(path: "/tmp") }
    }
}
