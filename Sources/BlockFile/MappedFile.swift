#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file's bytes, mapped read-only into memory (zero-copy: pages come in as they are read),
/// or held in memory for input that is not a file (standard input, tests).
///
/// `@unchecked Sendable`: the bytes are read-only and never change after `init`; they are
/// released only in `deinit`, when no one can hold them any more.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The whole file. Valid for the lifetime of this object.
    public let bytes: UnsafeRawBufferPointer
    private let isMapped: Bool

    /// Holds a copy of `bytes` under the name `path` (used in messages).
    public init(copying bytes: [UInt8], path: String) {
        self.path = path
        isMapped = false
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { copy.copyMemory(from: $0) }
        self.bytes = UnsafeRawBufferPointer(copy)
    }

    /// Opens and maps `path`.
    /// - Parameter populate: read the whole file in at once (fast for a file read whole; its
    ///   size then counts in resident memory). Without it, pages come in as they are read and
    ///   `release` lets them go.
    /// - Throws: `FileError` if it cannot be opened, is not a regular file, or cannot be mapped.
    public init(path: String, populate: Bool = true) throws(FileError) {
        self.path = path
        isMapped = true
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, operation: "stat", errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FileError(path: path, operation: "read", errno: EISDIR, detail: "not a regular file") }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        #if os(Linux)
        let flags = populate ? MAP_PRIVATE | MAP_POPULATE : MAP_PRIVATE
        #else
        let flags = MAP_PRIVATE
        #endif
        guard let base = mmap(nil, size, PROT_READ, flags, fd, 0), base != MAP_FAILED else {
            throw FileError(path: path, operation: "map", errno: errno)
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Drops the pages of `range` from this process's memory; reading them again brings them
    /// back from the file. Keeps resident memory bounded while a large file is read piece by
    /// piece (safe at any time: the mapping is read-only).
    public func release(_ range: Range<Int>) {
        guard isMapped, let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = max(0, range.lowerBound) / page * page
        let end = min(bytes.count, range.upperBound)
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    deinit {
        if isMapped {
            if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        } else {
            UnsafeMutableRawBufferPointer(mutating: bytes).deallocate()
        }
    }
}

/// An operating-system error on a file, with the path and what was being done.
public struct FileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let operation: String
    public let errno: Int32
    public var detail: String? = nil

    public init(path: String, operation: String, errno: Int32, detail: String? = nil) {
        self.path = path
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        "\(path): cannot \(operation): \(detail ?? String(cString: strerror(errno)))"
    }
}
