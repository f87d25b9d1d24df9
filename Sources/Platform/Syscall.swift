import Glibc
import Synchronization

/// The one place hubagent's file-system system calls go through.
///
/// Each wrapper retries `EINTR`; in a build with test hooks it consults the fault injector first,
/// so tests can make any call fail at any position (docs/design.md §9; the same idea as
/// `strace -e inject=`). The release binary has no injector at all.
public enum Syscall {
    public enum Name: String, Sendable, CaseIterable {
        case open, write, fsync, rename, unlink, close, read, mkdir, flock, accept
    }

    #if HUBAGENT_TEST_HOOKS
        /// Returns an errno to fail the call with, or nil to let it run. Tests only.
        public typealias FaultInjector = @Sendable (Name) -> Int32?
        /// The same, also given the path the call is about, so a fault can aim at one directory.
        public typealias PathFaultInjector = @Sendable (Name, String) -> Int32?

        private static let injector = Mutex<PathFaultInjector?>(nil)

        public static func setFaultInjector(_ newValue: FaultInjector?) {
            guard let newValue else { return setPathFaultInjector(nil) }
            setPathFaultInjector { name, _ in newValue(name) }
        }

        public static func setPathFaultInjector(_ newValue: PathFaultInjector?) {
            injector.withLock { $0 = newValue }
        }
    #endif

    @inline(__always)
    private static func injected(_ name: Name, _ subject: String) -> Int32? {
        #if HUBAGENT_TEST_HOOKS
            injector.withLock { $0 }?(name, subject)
        #else
            nil
        #endif
    }

    /// Runs `body` until it does not fail with EINTR; returns its result or throws `SystemError`.
    private static func retrying<T: BinaryInteger>(_ name: Name, _ call: String, _ subject: String, _ body: () -> T)
        throws(SystemError) -> T
    {
        if let code = injected(name, subject) { throw SystemError(call, subject, errno: code) }
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code != EINTR { throw SystemError(call, subject, errno: code) }
        }
    }

    /// The corresponding C function is `open`.
    public static func open(_ path: String, _ flags: Int32, _ mode: UInt32 = 0) throws(SystemError) -> Int32 {
        try retrying(.open, "open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// The corresponding C function is `openat`.
    public static func openat(_ directory: Int32, _ name: String, _ flags: Int32, _ mode: UInt32 = 0, subject: String)
        throws(SystemError) -> Int32
    {
        try retrying(.open, "openat", subject) { Glibc.openat(directory, name, flags | O_CLOEXEC, mode) }
    }

    /// Writes all of `bytes`, looping on short writes. The corresponding C function is `write`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, subject: String) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = try retrying(.write, "write", subject) {
                Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            }
            offset += written
        }
    }

    /// Reads to end of file, refusing more than `limit` bytes. The corresponding C function is `read`.
    public static func readAll(_ fd: Int32, limit: Int, subject: String) throws(SystemError) -> [UInt8] {
        var result = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16384)
        let capacity = chunk.count
        while true {
            let count = try chunk.withUnsafeMutableBytes { buffer in
                Result { () throws(SystemError) -> Int in
                    try retrying(.read, "read", subject) { Glibc.read(fd, buffer.baseAddress, capacity) }
                }
            }.get()
            if count == 0 { return result }
            result.append(contentsOf: chunk[0..<count])
            if result.count > limit { throw SystemError("read", subject, errno: EFBIG) }
        }
    }

    /// Never retried after a failure (docs/design.md §9, "fsyncgate"): the caller redoes the whole
    /// replace. The corresponding C function is `fsync`.
    public static func fsync(_ fd: Int32, subject: String) throws(SystemError) {
        if let code = injected(.fsync, subject) { throw SystemError("fsync", subject, errno: code) }
        while Glibc.fsync(fd) != 0 {
            let code = errno
            if code != EINTR { throw SystemError("fsync", subject, errno: code) }
        }
    }

    /// The corresponding C function is `renameat`.
    public static func renameat(_ directory: Int32, _ from: String, _ to: String, subject: String) throws(SystemError) {
        _ = try retrying(.rename, "renameat", subject) { Glibc.renameat(directory, from, directory, to) }
    }

    /// The corresponding C function is `unlinkat`.
    public static func unlinkat(_ directory: Int32, _ name: String, subject: String) throws(SystemError) {
        _ = try retrying(.unlink, "unlinkat", subject) { Glibc.unlinkat(directory, name, 0) }
    }

    /// The corresponding C function is `mkdir`.
    public static func mkdir(_ path: String, _ mode: UInt32) throws(SystemError) {
        _ = try retrying(.mkdir, "mkdir", path) { Glibc.mkdir(path, mode) }
    }

    /// The corresponding C function is `flock`.
    public static func flock(_ fd: Int32, _ operation: Int32, subject: String) throws(SystemError) {
        // The function, not the struct of the same name (which `Glibc.flock(…)` would build).
        let lock: (Int32, Int32) -> Int32 = Glibc.flock(_:_:)
        _ = try retrying(.flock, "flock", subject) { lock(fd, operation) }
    }

    /// A connection from listening socket `listener` (`subject` is its path), or nil when none is
    /// pending (EAGAIN). ECONNABORTED (the client left before it was taken) is retried like EINTR.
    /// The corresponding C function is `accept`.
    public static func accept(_ listener: Int32, subject: String) throws(SystemError) -> Int32? {
        if let code = injected(.accept, subject) { throw SystemError("accept", subject, errno: code) }
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 { return fd }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            if code != EINTR && code != ECONNABORTED { throw SystemError("accept", subject, errno: code) }
        }
    }

    /// Close errors are reported but the descriptor is gone either way (never retried on Linux).
    /// The corresponding C function is `close`.
    public static func close(_ fd: Int32, subject: String) throws(SystemError) {
        if let code = injected(.close, subject) {
            Glibc.close(fd)
            throw SystemError("close", subject, errno: code)
        }
        if Glibc.close(fd) != 0 && errno != EINTR { throw SystemError("close", subject) }
    }
}

// Positional I/O for append-only files (the relay journal, docs/relay.md §3). They reuse the
// injector's names of their plain counterparts, so a `write` fault also reaches `pwrite`, a
// `fsync` fault also reaches `fdatasync` (as the daemon's storage fault hook already spells it).
extension Syscall {
    /// Writes all of `bytes` at `offset`, looping on short writes. The corresponding C function is
    /// `pwrite`.
    public static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, subject: String)
        throws(SystemError)
    {
        var done = 0
        while done < bytes.count {
            let written = try retrying(.write, "pwrite", subject) {
                Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            }
            if written == 0 { throw SystemError("pwrite", subject, errno: EIO) }
            done += written
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`, fewer only at end of file. The corresponding C
    /// function is `pread`.
    public static func preadFully(
        _ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int64, subject: String
    )
        throws(SystemError) -> Int
    {
        var done = 0
        while done < buffer.count {
            let count = try retrying(.read, "pread", subject) {
                Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            if count == 0 { break }
            done += count
        }
        return done
    }

    /// Like `fsync`, never retried after a failure: the pages that failed may be dropped from the
    /// cache, so a second call could succeed without them (docs/design.md §9). The corresponding C
    /// function is `fdatasync`.
    public static func fdatasync(_ fd: Int32, subject: String) throws(SystemError) {
        if let code = injected(.fsync, subject) { throw SystemError("fdatasync", subject, errno: code) }
        while Glibc.fdatasync(fd) != 0 {
            let code = errno
            if code != EINTR { throw SystemError("fdatasync", subject, errno: code) }
        }
    }

    /// Counted as a `write` by the injector. The corresponding C function is `ftruncate`.
    public static func ftruncate(_ fd: Int32, _ length: Int64, subject: String) throws(SystemError) {
        _ = try retrying(.write, "ftruncate", subject) { Glibc.ftruncate(fd, off_t(length)) }
    }
}
