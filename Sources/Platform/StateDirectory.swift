import Glibc

/// Why a state file or directory may not be used; `fix` is the exact command for the operator.
public struct InsecurePermissions: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let problem: String
    public let fix: String

    public var description: String { "\(path): \(problem); fix: \(fix)" }
}

public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    case system(SystemError)
    case insecure(InsecurePermissions)
    /// A name that should be a regular file is something else (a FIFO, a directory, a device):
    /// never read, since reading a FIFO would block until someone writes to it.
    case notRegularFile(path: String, kind: String)

    public var description: String {
        switch self {
        case .system(let error): return error.description
        case .insecure(let problem): return problem.description
        case .notRegularFile(let path, let kind):
            return "\(path) is \(kind), not a regular file; fix: remove it (rm -r \(path))"
        }
    }
}

/// The daemon's private directory (0700) and its files (0600), written with the durable-replace
/// recipe of docs/design.md §9.
///
/// Like sshd with its host keys, it refuses files that others can read or that belong to another
/// user, instead of silently "fixing" them: a wrong mode is a sign that something else is wrong.
public final class StateDirectory: Sendable {
    public let path: String
    private let fd: Int32
    /// False for the runtime directory, whose files (status) hold no secret: other users may read it.
    private let isPrivate: Bool

    /// Opens (creating with 0700, or 0755 when not private, if missing) and checks the directory.
    public init(path: String, create: Bool = true, isPrivate: Bool = true) throws(StorageError) {
        self.path = path
        self.isPrivate = isPrivate
        if create {
            do { try Syscall.mkdir(path, isPrivate ? 0o700 : 0o755) } catch  where error.errno == EEXIST {} catch {
                throw .system(error)
            }
        }
        do {
            fd = try Syscall.open(path, O_RDONLY | O_DIRECTORY)
        } catch {
            throw .system(error)
        }
        do {
            try Self.checkOwnership(fd: fd, path: path, isDirectory: true, isPrivate: isPrivate)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { Glibc.close(fd) }

    /// Takes the directory's exclusive lock (`StateLock`), held until the returned value is
    /// released or the process ends.
    public func lock() throws(StateLockError) -> StateLock {
        try StateLock(directory: fd, path: path)
    }

    public func pathOf(_ name: String) -> String { path + "/" + name }

    /// Atomically and durably replaces `name` with `bytes`:
    /// O_EXCL 0600 temp file → write all → fsync → renameat → fsync(directory).
    /// A failed fsync is not retried; the temp file is removed and the error surfaces, so the caller
    /// redoes the whole replace (docs/design.md §9).
    /// `limit`, when given, is what the reader of this file accepts: more is refused (EFBIG) before
    /// anything is written.
    public func replace(_ name: String, with bytes: [UInt8], mode: UInt32 = 0o600, limit: Int? = nil)
        throws(SystemError)
    {
        if let limit, bytes.count > limit { throw SystemError("write", pathOf(name), errno: EFBIG) }
        let temporary = ".\(name).tmp.\(getpid())"
        let subject = pathOf(temporary)
        let file = try Syscall.openat(fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode, subject: subject)
        do {
            try bytes.withUnsafeBytes { buffer in
                Result { () throws(SystemError) in try Syscall.writeAll(file, buffer, subject: subject) }
            }.get()
            try Syscall.fsync(file, subject: subject)
        } catch {
            Glibc.close(file)
            _ = Glibc.unlinkat(fd, temporary, 0)
            throw error
        }
        do {
            // The descriptor is gone even when close reports an error: never close it twice.
            try Syscall.close(file, subject: subject)
        } catch {
            _ = Glibc.unlinkat(fd, temporary, 0)
            throw error
        }
        do {
            try Syscall.renameat(fd, temporary, name, subject: pathOf(name))
        } catch {
            _ = Glibc.unlinkat(fd, temporary, 0)
            throw error
        }
        try Syscall.fsync(fd, subject: path)
    }

    /// The file's bytes, or nil when it does not exist. Refuses insecure files.
    public func read(_ name: String, limit: Int = 1 << 20) throws(StorageError) -> [UInt8]? {
        let subject = pathOf(name)
        let file: Int32
        do {
            // O_NONBLOCK: opening a FIFO for reading would wait for a writer, forever.
            file = try Syscall.openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, subject: subject)
        } catch  where error.errno == ENOENT {
            return nil
        } catch {
            throw .system(error)
        }
        defer { Glibc.close(file) }
        if let kind = FileKind.notRegular(file) { throw .notRegularFile(path: subject, kind: kind) }
        try Self.checkOwnership(fd: file, path: subject, isDirectory: false, isPrivate: isPrivate)
        do {
            return try Syscall.readAll(file, limit: limit, subject: subject)
        } catch {
            throw .system(error)
        }
    }

    public func remove(_ name: String) throws(SystemError) {
        do {
            try Syscall.unlinkat(fd, name, subject: pathOf(name))
        } catch  where error.errno == ENOENT {
            return
        }
        try Syscall.fsync(fd, subject: path)
    }

    /// Names in the directory, without `.` and `..`.
    public func names() -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let directory = fdopendir(copy) else { return [] }
        defer { closedir(directory) }
        rewinddir(directory)
        var result = [String]()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { result.append(name) }
        }
        return result.sorted()
    }

    /// Removes temp files a crash left behind (`.name.tmp.<pid>`); returns their names.
    @discardableResult
    public func removeStaleTemporaryFiles() -> [String] {
        let stale = names().filter { $0.hasPrefix(".") && $0.contains(".tmp.") }
        for name in stale { _ = Glibc.unlinkat(fd, name, 0) }
        return stale
    }

    private static func checkOwnership(
        fd: Int32, path: String, isDirectory: Bool,
        isPrivate: Bool
    ) throws(StorageError) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system(SystemError("fstat", path)) }
        let owner = geteuid()
        let found = violations(
            uid: info.st_uid, mode: info.st_mode & 0o777, owner: owner, isDirectory: isDirectory,
            isPrivate: isPrivate)
        // A shared directory (the runtime directory) must still be the daemon's alone to write:
        // otherwise anyone could put a token.sock or a status.json of theirs beside ours.
        let mode = info.st_mode & 0o777
        if !isPrivate, isDirectory, mode & 0o022 != 0 {
            let problem = "mode \(String(mode, radix: 8)) lets other users put files in it"
            throw .insecure(InsecurePermissions(path: path, problem: problem, fix: "chmod go-w \(path)"))
        }
        // A second name for a secret file, anywhere on the file system, is a copy that outlives
        // every rotation and removal, and whoever made it can read it or write it in place.
        if isPrivate, !isDirectory, info.st_nlink > 1 {
            let problem = "has \(info.st_nlink) names (hard links); another name keeps the credentials it holds"
            let fix =
                "find the other names (find / -xdev -samefile \(path)) and remove them, or replace this one by a copy "
                + "(cp -p \(path) \(path).copy && mv \(path).copy \(path))"
            throw .insecure(InsecurePermissions(path: path, problem: problem, fix: fix))
        }
        switch found.first {
        case nil:
            return
        case .owner(let uid)?:
            let fix = "chown \(owner) \(path)   (or run hubagent as the user that owns it)"
            let problem = "owned by uid \(uid), not by uid \(owner) that runs hubagent"
            throw .insecure(InsecurePermissions(path: path, problem: problem, fix: fix))
        case .mode(let permissions)?:
            let wanted = String(isDirectory ? privateDirectoryMode : privateFileMode, radix: 8)
            let problem = Violation.modeProblem(permissions, isDirectory: isDirectory)
            throw .insecure(InsecurePermissions(path: path, problem: problem, fix: "chmod \(wanted) \(path)"))
        }
    }

    /// The modes the daemon creates and accepts in a private directory.
    public static let privateDirectoryMode: UInt32 = 0o700
    public static let privateFileMode: UInt32 = 0o600

    /// A broken rule of the state directory (docs/design.md §9).
    public enum Violation: Equatable, Sendable {
        /// Owned by this uid, not by the user that runs hubagent.
        case owner(UInt32)
        /// These permission bits give group or others access.
        case mode(UInt32)

        /// "mode 644 lets other users read a credential" (the wording of an owner problem depends
        /// on who asks).
        public static func modeProblem(_ permissions: UInt32, isDirectory: Bool) -> String {
            let what = isDirectory ? "the credentials in it" : "a credential"
            return "mode \(String(permissions, radix: 8)) lets other users read \(what)"
        }
    }

    /// The rules, all of them at once, for a directory or file with `uid` and permission bits
    /// `mode`: owned by `owner`, and in a private directory no access for group or others. The
    /// daemon refuses on the first (`init`, `read`); `hubagent check` reports them all.
    public static func violations(
        uid: UInt32, mode: UInt32, owner: UInt32, isDirectory: Bool,
        isPrivate: Bool = true
    ) -> [Violation] {
        var found = [Violation]()
        if uid != owner { found.append(.owner(uid)) }
        if isPrivate && mode & 0o077 != 0 { found.append(.mode(mode & 0o777)) }
        return found
    }
}

/// One entry of a directory as `lstat` sees it: for checking a state directory without opening
/// (or following) anything in it.
public struct DirectoryEntry: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case file, directory, symbolicLink, other }

    public var name: String
    public var kind: Kind
    public var uid: UInt32
    public var gid: UInt32
    /// The permission bits.
    public var mode: UInt32

    init(name: String, _ info: stat) {
        self.name = name
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        uid = info.st_uid
        gid = info.st_gid
        mode = info.st_mode & 0o777
    }

    /// `path` itself, following a final symbolic link as `stat` does; nil when it does not exist.
    /// The corresponding C function is `stat`.
    public static func of(_ path: String) throws(SystemError) -> DirectoryEntry? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw SystemError("stat", path)
        }
        return DirectoryEntry(name: path, info)
    }

    /// The entries of directory `path`, without `.` and `..`, sorted by name; links are not
    /// followed. The corresponding C functions are `opendir`, `readdir` and `fstatat`.
    public static func list(_ path: String) throws(SystemError) -> [DirectoryEntry] {
        guard let directory = opendir(path) else { throw SystemError("opendir", path) }
        defer { closedir(directory) }
        var entries = [DirectoryEntry]()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var info = stat()
            // Gone since readdir: not an entry any more.
            guard fstatat(dirfd(directory), name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            entries.append(DirectoryEntry(name: name, info))
        }
        return entries.sorted { $0.name < $1.name }
    }
}

/// What an open descriptor is, for refusing anything but a regular file before reading it.
public enum FileKind {
    /// nil for a regular file, else what it is ("a FIFO", "a directory", …). The corresponding C
    /// function is `fstat`.
    public static func notRegular(_ fd: Int32) -> String? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }  // the read that follows reports the error
        switch info.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFDIR: return "a directory"
        case S_IFSOCK: return "a socket"
        case S_IFCHR, S_IFBLK: return "a device"
        default: return "a file of another type"
        }
    }
}
