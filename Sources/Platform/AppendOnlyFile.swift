import Glibc

/// A private file that only grows at its end, written and read by position: the relay journal's
/// segments and its dead-letter file (docs/relay.md §3).
///
/// Created 0600 with O_EXCL (a permission is given at creation, never fixed up); an existing one is
/// opened without following a symbolic link and refused unless it is a regular file of ours that
/// no one else can read, like the other state files (docs/design.md §9). Not thread-safe: one
/// owner uses it from one queue.
public final class AppendOnlyFile {
    public let path: String
    public let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { Glibc.close(descriptor) }

    /// Creates `path` (which must not exist) with mode 0600. The corresponding C function is
    /// `open(O_CREAT|O_EXCL)`.
    public static func create(_ path: String) throws(SystemError) -> AppendOnlyFile {
        let fd = try Syscall.open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, StateDirectory.privateFileMode)
        return AppendOnlyFile(path: path, descriptor: fd)
    }

    /// Opens an existing file for reading (and writing when `writable`), or nil when it does not
    /// exist. The corresponding C functions are `open` and `fstat`.
    public static func open(_ path: String, writable: Bool) throws(StorageError) -> AppendOnlyFile? {
        let fd: Int32
        do {
            // O_NONBLOCK: opening a FIFO would wait for a writer, forever.
            fd = try Syscall.open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK)
        } catch  where error.errno == ENOENT {
            return nil
        } catch {
            throw .system(error)
        }
        let file = AppendOnlyFile(path: path, descriptor: fd)
        if let kind = FileKind.notRegular(fd) { throw .notRegularFile(path: path, kind: kind) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system(SystemError("fstat", path)) }
        let owner = geteuid()
        switch StateDirectory.violations(uid: info.st_uid, mode: info.st_mode & 0o777, owner: owner, isDirectory: false)
            .first
        {
        case nil:
            return file
        case .owner(let uid)?:
            let problem = "owned by uid \(uid), not by uid \(owner) that runs hubagent"
            throw .insecure(InsecurePermissions(path: path, problem: problem, fix: "chown \(owner) \(path)"))
        case .mode(let permissions)?:
            let problem = "mode \(String(permissions, radix: 8)) lets other users read it"
            throw .insecure(InsecurePermissions(path: path, problem: problem, fix: "chmod 600 \(path)"))
        }
    }

    /// The file's size in bytes. The corresponding C function is `fstat`.
    public func size() throws(SystemError) -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SystemError("fstat", path) }
        return Int64(info.st_size)
    }

    /// Writes all of `bytes` at `offset`. The corresponding C function is `pwrite`.
    public func write(_ bytes: [UInt8], at offset: Int64) throws(SystemError) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(SystemError) in try Syscall.pwriteAll(descriptor, buffer, at: offset, subject: path) }
        }.get()
    }

    /// Up to `count` bytes at `offset`, fewer only at end of file. The corresponding C function is
    /// `pread`.
    public func read(count: Int, at offset: Int64) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(SystemError) -> Int in
                try Syscall.preadFully(descriptor, buffer, at: offset, subject: path)
            }
        }.get()
        if got < count { bytes.removeLast(count - got) }
        return bytes
    }

    /// Cuts the file to `length` bytes. The corresponding C function is `ftruncate`.
    public func truncate(to length: Int64) throws(SystemError) {
        try Syscall.ftruncate(descriptor, length, subject: path)
    }

    /// Makes the written data durable (not the metadata that reading it does not need). The
    /// corresponding C function is `fdatasync`.
    public func syncData() throws(SystemError) {
        try Syscall.fdatasync(descriptor, subject: path)
    }
}

/// Room on a file system, for bounding what the daemon may write there (docs/relay.md §3).
public enum FileSystemSpace {
    /// Bytes available to an unprivileged user on the file system that holds `path`. The
    /// corresponding C function is `statvfs`.
    public static func available(at path: String) throws(SystemError) -> Int64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw SystemError("statvfs", path) }
        let (product, overflow) = Int64(info.f_bavail).multipliedReportingOverflow(by: Int64(info.f_frsize))
        return overflow ? Int64.max : product
    }
}

extension FileSystemSpace {
    /// The sizes of the regular files directly in `directory`, added up; 0 when it does not exist.
    /// The corresponding C functions are `opendir`, `readdir` and `fstatat`.
    public static func regularFileBytes(in directory: String) throws(SystemError) -> Int64 {
        guard let stream = opendir(directory) else {
            if errno == ENOENT { return 0 }
            throw SystemError("opendir", directory)
        }
        defer { closedir(stream) }
        var total: Int64 = 0
        while let entry = readdir(stream) {
            var info = stat()
            guard fstatat(dirfd(stream), &entry.pointee.d_name.0, &info, AT_SYMLINK_NOFOLLOW) == 0,
                info.st_mode & S_IFMT == S_IFREG
            else { continue }
            total += Int64(info.st_size)
        }
        return total
    }
}
