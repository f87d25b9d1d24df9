import Glibc

/// Why the state directory's lock could not be taken.
public enum StateLockError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another process holds it: its pid as written into the lock file (nil when not written yet).
    case held(directory: String, pid: Int32?)
    case system(SystemError)

    public var description: String {
        switch self {
        case .held(let directory, let pid):
            let holder = pid.map { "hubagent pid \($0)" } ?? "another hubagent (its pid not yet written)"
            return "\(directory) is in use by \(holder), which holds \(directory)/\(StateLock.fileName); "
                + "stop it first, or give this daemon a state directory of its own (--state-dir)"
        case .system(let error):
            return error.description
        }
    }
}

/// The exclusive lock on a state directory, held for a daemon's lifetime (docs/design.md §9): a
/// second daemon on the same directory would rotate against the first and drop its identity.
///
/// `flock(LOCK_EX|LOCK_NB)` on `.lock` (0600, O_CLOEXEC) in the directory, the holder's pid written
/// into it. flock rather than fcntl locks: a classic POSIX lock is dropped when the process closes
/// any descriptor of the file (reading it for `hubagent check` would do), and an OFD lock does
/// not say its holder's pid (F_OFD_GETLK reports -1), so the pid is written either way. flock
/// belongs to the open file description like an OFD lock, not inherited across exec (O_CLOEXEC),
/// and the kernel drops it when the process dies, however it dies: never a stale lock.
public final class StateLock: Sendable {
    /// The lock file's name: hidden, not a generation, not a temp file (StateStore ignores it).
    public static let fileName = ".lock"

    public let path: String
    private let descriptor: Int32

    /// Takes the lock on `directory` (an open directory descriptor; `path` names it in messages),
    /// creating the lock file 0600 if needed, and writes this process's pid into it.
    /// The corresponding C functions are `openat`, `flock`, `ftruncate` and `pwrite`.
    public init(directory: Int32, path: String) throws(StateLockError) {
        self.path = path + "/" + Self.fileName
        let fd: Int32
        do {
            fd = try Syscall.openat(
                directory, Self.fileName, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600, subject: self.path)
        } catch {
            throw .system(error)
        }
        // `hubagent check` takes a shared lock for a moment (`holder`): tried for 100 ms before
        // concluding that a daemon holds it, so that a check never makes a start fail.
        var attempt = 0
        while true {
            do {
                try Syscall.flock(fd, LOCK_EX | LOCK_NB, subject: self.path)
                break
            } catch  where error.errno == EWOULDBLOCK && attempt < 10 {
                attempt += 1
                usleep(10_000)
            } catch  where error.errno == EWOULDBLOCK {
                let holder = Self.pid(in: fd)
                Glibc.close(fd)
                throw .held(directory: path, pid: holder)
            } catch {
                Glibc.close(fd)
                throw .system(error)
            }
        }
        let text = Array("\(getpid())\n".utf8)
        let written = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard ftruncate(fd, off_t(text.count)) == 0, written == text.count else {
            let error = SystemError("write", self.path)
            Glibc.close(fd)
            throw .system(error)
        }
        descriptor = fd
    }

    /// Closing the descriptor releases the lock.
    deinit { Glibc.close(descriptor) }

    /// Who holds the lock on the state directory at `path`, without taking it: nil when nobody
    /// does (or there is no lock file); `.some(nil)` when it is held but the pid is not written.
    /// Takes a shared lock for a moment to find out. The corresponding C functions are `open`
    /// and `flock`.
    public static func holder(ofDirectory path: String) throws(SystemError) -> Int32?? {
        let file = path + "/" + fileName
        let fd: Int32
        do {
            fd = try Syscall.open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        } catch  where error.errno == ENOENT {
            return nil
        }
        defer { Glibc.close(fd) }
        do {
            try Syscall.flock(fd, LOCK_SH | LOCK_NB, subject: file)
            return nil
        } catch  where error.errno == EWOULDBLOCK {
            return .some(pid(in: fd))
        }
    }

    /// The pid written in the lock file, if it reads as one.
    private static func pid(in fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let digits = buffer[0..<count].prefix { $0 >= 0x30 && $0 <= 0x39 }
        return Int32(String(decoding: digits, as: UTF8.self))
    }
}
