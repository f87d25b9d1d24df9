import Glibc

/// Reading a file that someone else maintains (the operator's configuration, a CA bundle): only a
/// regular file is read, never waited on, and never more than a limit.
public enum RegularFile {
    public enum ReadError: Error, Equatable, Sendable {
        /// It cannot be opened (permissions, a broken path).
        case cannotOpen(SystemError)
        /// It is a FIFO, a directory, a device …: never read (a FIFO would block until written to).
        case notRegular(kind: String)
        /// It is larger than the reader's limit.
        case tooLarge(limit: Int)
        case cannotRead(SystemError)
    }

    /// The bytes of `path`; nil when it does not exist. The corresponding C functions are `open`
    /// (O_NONBLOCK: opening a FIFO would wait for a writer, forever), `fstat` and `read`.
    public static func read(_ path: String, limit: Int) throws(ReadError) -> [UInt8]? {
        guard let fd = try open(path) else { return nil }
        defer { close(fd) }
        do {
            return try Syscall.readAll(fd, limit: limit, subject: path)
        } catch {
            throw error.isTooLarge ? .tooLarge(limit: limit) : .cannotRead(error)
        }
    }

    /// Only checks that `path`, if it exists, is a regular file that can be opened: for files that
    /// others open themselves (libcurl reads `ca_file`).
    public static func check(_ path: String) throws(ReadError) {
        if let fd = try open(path) { close(fd) }
    }

    private static func open(_ path: String) throws(ReadError) -> Int32? {
        let fd: Int32
        do {
            fd = try Syscall.open(path, O_RDONLY | O_NONBLOCK)
        } catch  where error.errno == ENOENT {
            return nil
        } catch {
            throw .cannotOpen(error)
        }
        if let kind = FileKind.notRegular(fd) {
            close(fd)
            throw .notRegular(kind: kind)
        }
        return fd
    }
}
