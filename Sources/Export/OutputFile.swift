#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import BlockFile

/// Writes a file atomically: into a hidden temporary file beside it, renamed to the target by
/// `commit()`; `discard()` (or dropping it uncommitted) removes the temporary file, so an
/// interrupted or failed run never leaves a half-written file under the target's name.
///
/// An existing target is moved aside and written over in place (fresh page-cache pages cost
/// the kernel more than the writing itself), so after `discard()` it is gone rather than
/// stale: the target is always either complete or absent.
///
/// A target that exists and is not a regular file (`/dev/stdout`, `/dev/null`, a pipe) is
/// written directly: renaming over it would replace the device.
public final class OutputFile {
    public let path: String
    /// The temporary file renamed into place by `commit()`; nil when writing directly.
    let temporaryPath: String?
    var fd: Int32
    var finished = false
    /// Whether an existing target stays, whole, until `commit()` replaces it in one rename.
    let keepsTarget: Bool

    /// Creates the temporary file (or opens a non-regular target).
    /// - Parameter keepingTarget: leave an existing target in place until `commit()` (a
    ///   reader never finds the name missing, and a run cut off leaves the old file), at the
    ///   cost of fresh pages for the new one; by default the old file is moved aside and its
    ///   pages written over.
    /// - Throws: `FileError` when it cannot be created (no such folder, no permission).
    public init(path: String, keepingTarget: Bool = false) throws(FileError) {
        self.path = path
        keepsTarget = keepingTarget
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            temporaryPath = nil
            fd = open(path, O_WRONLY | O_CLOEXEC)
        } else {
            // Hidden (a leading dot), so readers of a folder of files (Spark, Hive) skip it.
            let slash = path.lastIndex(of: "/")
            let folder = slash.map { String(path[...$0]) } ?? ""
            let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
            let temporary = folder + "." + name + ".tmp-\(getpid())"
            temporaryPath = temporary
            // Reuse an old file's pages: writing over them is much cheaper than having the
            // kernel allocate fresh ones. The old file is moved aside first, so the target
            // is always either complete or absent.
            // Only a plain file with one name: writing over a hard link or through a symbolic
            // link would change another file.
            var old = stat()
            let plain = lstat(path, &old) == 0 && (old.st_mode & S_IFMT) == S_IFREG && old.st_nlink == 1
            let reuse = !keepingTarget && plain && rename(path, temporary) == 0
            fd = open(temporary, O_WRONLY | O_CREAT | O_CLOEXEC | (reuse ? 0 : O_TRUNC), 0o644)
        }
        guard fd >= 0 else { throw FileError(path: path, operation: "create", errno: errno) }
    }

    /// Appends `bytes`.
    /// - Throws: `FileError` on a write error (disk full, I/O error).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }

    public func write(_ buffer: OutputBuffer) throws(FileError) { try write(buffer.bytes) }

    public func write(_ string: String) throws(FileError) {
        var string = string
        let result: Result<Void, FileError> = string.withUTF8 { utf8 in
            Result { () throws(FileError) in try write(UnsafeRawBufferPointer(utf8)) }
        }
        try result.get()
    }

    /// Closes the file and renames it to `path`.
    public func commit() throws(FileError) {
        finished = true
        let length = lseek(fd, 0, SEEK_CUR)
        if temporaryPath != nil && length >= 0 { _ = ftruncate(fd, length) }
        guard close(fd) == 0 else {
            let code = errno
            if let temporaryPath { unlink(temporaryPath) }
            throw FileError(path: path, operation: "write", errno: code)
        }
        guard let temporaryPath else { return }
        // Remove the old file first: renaming over an existing file makes ext4 (auto_da_alloc)
        // write the new one out to disk at once, which costs more than making it. A kept
        // target is replaced by the rename itself, so its name never goes missing.
        if !keepsTarget { unlink(path) }
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw FileError(path: path, operation: "rename into place", errno: code)
        }
    }

    /// Closes and removes the temporary file; the target is left as it was.
    public func discard() {
        guard !finished else { return }
        finished = true
        close(fd)
        if let temporaryPath { unlink(temporaryPath) }
    }

    deinit { discard() }
}

@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    Musl.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}
