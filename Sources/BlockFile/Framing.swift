#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import BitcoinWire

/// Damage in a block's 8-byte preamble: what was wrong and where.
public struct FramingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// Not the expected (mainnet) magic.
        case badMagic(UInt32)
        /// Not any known network's magic.
        case unknownMagic(UInt32)
        case truncatedPreamble(available: Int)
        case sizeTooSmall(UInt32, minimum: Int)
        case sizeTooLarge(UInt32, limit: Int)
        case pastEndOfFile(size: UInt32, available: Int)
    }

    public let reason: Reason
    /// Index of the block whose preamble is damaged (0 for the file's first).
    public let blockIndex: Int
    /// Absolute offset of the damaged field.
    public let offset: Int

    public var description: String {
        switch reason {
        case let .badMagic(found):
            "magic number is \(BlockFileFormat.hexBytes(found)), expected \(BlockFileFormat.hexBytes(BlockFileFormat.mainnetMagic))"
        case let .unknownMagic(found):
            "magic number \(BlockFileFormat.hexBytes(found)) is not one of a known network's"
        case let .truncatedPreamble(available):
            "only \(available) byte\(available == 1 ? "" : "s") left, too few for a block's 8-byte magic and size"
        case let .sizeTooSmall(size, minimum):
            "block size \(size) is too small for a header and a transaction count (at least \(minimum))"
        case let .sizeTooLarge(size, limit):
            "block size \(size) is larger than the \(limit)-byte limit"
        case let .pastEndOfFile(size, available):
            "block size \(size) runs past the end of the file (\(available) byte\(available == 1 ? "" : "s") left)"
        }
    }
}

/// Constants of Bitcoin Core's blk*.dat format.
public enum BlockFileFormat {
    /// `count` bytes of an open blk file from `offset`, de-obfuscated with `key` when given
    /// (pread: the file may grow meanwhile, and threads may share the descriptor).
    /// - Returns: nil when the file ends first or cannot be read, or the stretch is not one a
    ///   block can fill (negative, or past `Limits.maxBlockSerializedSize`).
    public static func read(_ fd: Int32, at offset: Int, count: Int, key: [UInt8]?) -> [UInt8]? {
        guard offset >= 0, count >= 0, count <= Limits.maxBlockSerializedSize else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            guard n > 0 else { return nil }
            done += n
        }
        if let key { deobfuscate(&bytes, at: offset, key: key) }
        return bytes
    }

    /// Undoes (or applies) `xor.dat` obfuscation on `bytes` read from file offset `offset`:
    /// byte i of the file is XORed with key[i mod 8]. Eight bytes at a time.
    /// - Precondition: `key` holds 8 bytes.
    public static func deobfuscate(_ bytes: inout [UInt8], at offset: Int, key: [UInt8]) {
        precondition(key.count == 8, "an xor.dat key is 8 bytes")
        var pattern: UInt64 = 0
        for j in 0..<8 { pattern |= UInt64(key[(offset + j) & 7]) << (8 * UInt64(j)) }
        bytes.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= raw.count {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ pattern
                raw.storeBytes(of: word.littleEndian, toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < raw.count {
                raw[i] ^= key[(offset + i) & 7]
                i += 1
            }
        }
    }

    /// Mainnet magic `f9 be b4 d9`, read as a little-endian UInt32.
    public static let mainnetMagic: UInt32 = 0xD9B4_BEF9
    /// The magics of every known network (`ChainParameters.known`).
    public static let knownMagics = ChainParameters.known.map(\.magic)
    /// Magic and size.
    public static let preambleSize = 8
    /// A header and a one-byte transaction count.
    public static let minimumBlockSize = 81

    /// Reads the 8-byte preamble at `position` as hostile input: the magic must be one of
    /// `magics`, the size at least `minimumBlockSize`, at most `maximumSize` when given, and
    /// the block must fit in the `count` bytes of the file. Both the strict scanner and the
    /// resyncing blocks-folder reader frame blocks with this one function.
    /// - Parameter word: the little-endian 32-bit word at an offset (after any de-obfuscation).
    /// - Returns: the frame, or what is wrong and at which offset.
    @inline(__always)
    static func frame(at position: Int, index: Int, count: Int, magics: [UInt32], maximumSize: Int?,
                      word: (Int) -> UInt32) -> Result<BlockFrame, FramingError> {
        let left = count - position
        guard left >= preambleSize else { return .failure(FramingError(reason: .truncatedPreamble(available: left), blockIndex: index, offset: position)) }
        let magic = word(position)
        guard magics.contains(magic) else {
            return .failure(FramingError(reason: magics.count == 1 ? .badMagic(magic) : .unknownMagic(magic), blockIndex: index, offset: position))
        }
        let size = word(position + 4)
        guard size >= minimumBlockSize else { return .failure(FramingError(reason: .sizeTooSmall(size, minimum: minimumBlockSize), blockIndex: index, offset: position + 4)) }
        if let maximumSize, Int(size) > maximumSize { return .failure(FramingError(reason: .sizeTooLarge(size, limit: maximumSize), blockIndex: index, offset: position + 4)) }
        let start = position + preambleSize
        guard Int(size) <= count - start else { return .failure(FramingError(reason: .pastEndOfFile(size: size, available: count - start), blockIndex: index, offset: position + 4)) }
        return .success(BlockFrame(index: index, offset: position, magic: magic, payload: start..<(start + Int(size))))
    }

    /// The four bytes of `magic` in file order as hex ("f9beb4d9").
    public static func hexBytes(_ magic: UInt32) -> String {
        withUnsafeBytes(of: magic.littleEndian) { raw in
            raw.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }
}

/// Walks the blocks of a blk file in file order, treating every preamble as hostile.
///
/// Stops at the end of the bytes, or where everything left is zero bytes (Core preallocates
/// blk files with zeros), or at the first damaged preamble, which it returns as an error.
public struct FrameScanner {
    let bytes: UnsafeRawBufferPointer
    let magics: [UInt32]
    let maximumSize: Int?
    public private(set) var position = 0
    public private(set) var index = 0
    /// How many zero bytes ended the data, once the scan reached them.
    public private(set) var trailingZeroBytes = 0
    private var done = false

    /// - Parameters:
    ///   - bytes: the whole file; must outlive the scanner.
    ///   - magics: the magic numbers that mark a block (mainnet's by default). With one, a
    ///     wrong magic is reported as `badMagic`; with several, as `unknownMagic`.
    ///   - maximumSize: largest declared size accepted; nil accepts any size that fits in the file.
    public init(_ bytes: UnsafeRawBufferPointer, magics: [UInt32] = [BlockFileFormat.mainnetMagic],
                maximumSize: Int? = nil) {
        self.bytes = bytes
        self.magics = magics
        self.maximumSize = maximumSize
    }

    /// The next block's frame; nil at the end of the data; an error (after which the scan
    /// is over) for a damaged preamble.
    public mutating func next() -> Result<BlockFrame, FramingError>? {
        guard !done else { return nil }
        let left = bytes.count - position
        if left == 0 || (left < BlockFileFormat.preambleSize || !magics.contains(magic(at: position))) && isZero(from: position) {
            done = true
            trailingZeroBytes = left
            return nil
        }
        let bytes = self.bytes
        switch BlockFileFormat.frame(at: position, index: index, count: bytes.count, magics: magics, maximumSize: maximumSize,
                                     word: { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0, as: UInt32.self)) }) {
        case .success(let frame):
            position = frame.payload.upperBound
            index += 1
            return .success(frame)
        case .failure(let error):
            done = true
            return .failure(error)
        }
    }

    @inline(__always) private func magic(at offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    private func isZero(from offset: Int) -> Bool {
        var i = offset
        while i + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        while i < bytes.count {
            if bytes[i] != 0 { return false }
            i += 1
        }
        return true
    }
}
