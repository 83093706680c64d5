#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import BitcoinWire

/// Bitcoin Core's `blocks/` folder: `blk*.dat` in file-number order, and `xor.dat`.
public struct BlocksFolder: Sendable {
    /// The blk files, in file-number order.
    public let files: [String]
    /// The obfuscation key from `xor.dat`; nil when absent or all zero.
    public let xorKey: [UInt8]?

    /// Reads a folder, or takes individual blk files (with an `xor.dat` beside the first).
    /// - Throws: `FileError` for an unreadable folder or an `xor.dat` that is not 8 bytes.
    public init(paths: [String]) throws(FileError) {
        var files = [String]()
        var keyFolder: String?
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else { throw FileError(path: path, operation: "open", errno: errno) }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                guard let dir = opendir(path) else { throw FileError(path: path, operation: "list", errno: errno) }
                var names = [String]()
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                    if name.hasPrefix("blk") && name.hasSuffix(".dat") { names.append(name) }
                }
                closedir(dir)
                files += names.sorted { BlocksFolder.number($0) < BlocksFolder.number($1) }.map { path + "/" + $0 }
                keyFolder = keyFolder ?? path
            } else {
                files.append(path)
                if keyFolder == nil, let slash = path.lastIndex(of: "/") { keyFolder = String(path[..<slash]) } else if keyFolder == nil { keyFolder = "." }
            }
        }
        self.files = files
        xorKey = try BlocksFolder.readKey(folder: keyFolder ?? ".")
    }

    static func number(_ name: String) -> Int { Int(name.dropFirst(3).dropLast(4)) ?? Int.max }

    static func readKey(folder: String) throws(FileError) -> [UInt8]? {
        let path = folder + "/xor.dat"
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let file = try MappedFile(path: path)
        guard file.bytes.count == 8 else {
            throw FileError(path: path, operation: "use", errno: EINVAL, detail: "xor.dat must hold exactly 8 bytes, it holds \(file.bytes.count)")
        }
        let key = Array(file.bytes)
        return key.allSatisfy { $0 == 0 } ? nil : key
    }
}

/// Reads the blocks of one blk file as Bitcoin Core's `LoadExternalBlockFile` does: undoes the
/// XOR obfuscation by absolute offset, skips garbage to the next magic (reporting it), takes
/// raw zero bytes as the end of the data, and frames blocks as `FrameScanner` does
/// (`BlockFileFormat.frame`), with sizes from 81 to 4,000,000 bytes.
public struct BlockFileReader {
    public enum Event: Sendable {
        /// A block: its frame (offsets in the file) and its bytes, de-obfuscated.
        case block(BlockFrame, [UInt8])
        /// Bytes that are not a block were skipped.
        case skipped(offset: Int, count: Int)
    }

    public let file: MappedFile
    let key: [UInt8]?
    let magics: [UInt32]
    public private(set) var position: Int
    var index = 0
    /// Where the data ended (the start of the zero padding, or the end of the file).
    public private(set) var dataEnd: Int?

    /// - Parameter start: where to begin (a previous run's data end).
    /// Everything from here on is raw zero bytes.
    let paddingStart: Int

    public init(file: MappedFile, key: [UInt8]?, start: Int = 0, magics: [UInt32] = BlockFileFormat.knownMagics) {
        self.file = file
        self.key = key
        self.magics = magics
        position = start
        var end = file.bytes.count
        while end >= 8 && file.bytes.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self) == 0 { end -= 8 }
        while end > 0 && file.bytes[end - 1] == 0 { end -= 1 }
        paddingStart = end
    }

    @inline(__always) func rawZero(from i: Int) -> Bool { i >= paddingStart }

    /// The frame of a block whose preamble is at `p`, if a plausible one is there.
    func frame(at p: Int) -> BlockFrame? { Self.frame(in: file, key: key, at: p, index: index, magics: magics) }

    static func frame(in file: MappedFile, key: [UInt8]?, at p: Int, index: Int, magics: [UInt32]) -> BlockFrame? {
        let bytes = file.bytes
        func word(_ i: Int) -> UInt32 {
            var w = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            if let key { w ^= UInt32(key[i & 7]) | UInt32(key[(i + 1) & 7]) << 8 | UInt32(key[(i + 2) & 7]) << 16 | UInt32(key[(i + 3) & 7]) << 24 }
            return w
        }
        guard case .success(let frame) = BlockFileFormat.frame(at: p, index: index, count: bytes.count, magics: magics,
                                                               maximumSize: Limits.maxBlockSerializedSize, word: word) else { return nil }
        return frame
    }

    /// The block whose preamble is at `offset` (a position an earlier scan recorded),
    /// de-obfuscated; nil when no block is there.
    public static func block(in file: MappedFile, key: [UInt8]?, at offset: Int) -> [UInt8]? {
        guard offset >= 0, let frame = frame(in: file, key: key, at: offset, index: 0, magics: BlockFileFormat.knownMagics) else { return nil }
        return payload(of: frame, in: file, key: key)
    }

    /// The block bytes of `frame`, de-obfuscated (byte i of the file XORed with key[i mod 8]).
    static func payload(of frame: BlockFrame, in file: MappedFile, key: [UInt8]?) -> [UInt8] {
        var bytes = Array(UnsafeRawBufferPointer(rebasing: file.bytes[frame.payload]))
        if let key { BlockFileFormat.deobfuscate(&bytes, at: frame.payload.lowerBound, key: key) }
        return bytes
    }

    /// The next block or skipped stretch; nil at the end of the data.
    public mutating func next() -> Event? {
        let count = file.bytes.count
        guard dataEnd == nil else { return nil }
        if position >= count || rawZero(from: position) {
            dataEnd = position
            return nil
        }
        if let frame = frame(at: position) {
            index += 1
            position = frame.payload.upperBound
            return .block(frame, Self.payload(of: frame, in: file, key: key))
        }
        // Garbage: skip to the next magic that starts a plausible block, or to the padding.
        let from = position
        var p = position + 1
        while p < paddingStart && frame(at: p) == nil { p += 1 }
        position = p
        return .skipped(offset: from, count: p - from)
    }
}
