import Glibc

/// The listening Unix stream socket of one local server (`token.sock`, later `data.sock`): the one
/// systemd passed under its name (socket activation: the socket unit made the file with the
/// unit's `SocketMode=` and `SocketGroup=`, which a sandboxed service could not set), else one
/// bound here (a daemon run by hand). docs/design.md §8. Also the relay's loopback TCP listener
/// (`ingest_listen`, LoopbackListener), which has no file and no peer credentials.
public struct ListeningSocket: Sendable {
    public let descriptor: Int32
    /// The socket file, or `host:port` for a TCP listener.
    public let path: String
    /// Made by systemd: its file belongs to the socket unit, and stays when the daemon stops.
    public let isInherited: Bool
    /// A loopback TCP listener: no file to remove, no SO_PEERCRED for its clients.
    public var isTCP = false

    /// The socket systemd passed with `FileDescriptorName=name`, else `path` bound with `mode` and,
    /// when given, `group`.
    public static func take(named name: String, orBind path: String, mode: UInt32, group: UInt32?)
        throws(SystemError) -> ListeningSocket
    {
        if let inherited = inherited(named: name) { return inherited }
        return try bind(path, mode: mode, group: group)
    }

    /// The descriptor systemd passed under `name` ($LISTEN_FDS, $LISTEN_FDNAMES, $LISTEN_PID for
    /// this process), if it is a listening Unix stream socket. Made non-blocking: the server
    /// accepts until EAGAIN.
    public static func inherited(named name: String) -> ListeningSocket? {
        guard let fd = ServiceManager.passedSockets().first(where: { $0.name == name })?.descriptor,
            ServiceManager.isListeningUnixStream(fd)
        else { return nil }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return ListeningSocket(descriptor: fd, path: boundPath(fd) ?? name, isInherited: true)
    }

    /// Binds `path` (replacing a stale socket file) and listens. The mode is set at creation by the
    /// umask of the bind, the group through the directory's descriptor without following a
    /// symbolic link (fchownat, AT_SYMLINK_NOFOLLOW), and only then does the socket listen: nothing
    /// is ever changed by path, so no link planted there can redirect a chmod or chown, and no
    /// client connects before the socket is as it should be. The umask is process-wide: bind
    /// before other threads create files.
    public static func bind(_ path: String, mode: UInt32, group: UInt32?) throws(SystemError) -> ListeningSocket {
        let slash = path.lastIndex(of: "/")
        let directoryPath = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path), !name.isEmpty else {
            throw SystemError("bind", path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let directory = open(directoryPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw SystemError("open", directoryPath) }
        defer { close(directory) }
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path) }
        func fail(_ call: String) -> SystemError {
            let error = SystemError(call, path)
            close(fd)
            return error
        }
        // A socket file left by a previous run; never a directory or anything else.
        var existing = stat()
        if fstatat(directory, name, &existing, AT_SYMLINK_NOFOLLOW) == 0, existing.st_mode & S_IFMT == S_IFSOCK {
            _ = unlinkat(directory, name, 0)
        }
        let previousMask = umask(~mode & 0o777)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        umask(previousMask)
        guard bound == 0 else { throw fail("bind") }
        if let group, fchownat(directory, name, UInt32.max, group, AT_SYMLINK_NOFOLLOW) != 0 {
            let error = fail("chown")
            _ = unlinkat(directory, name, 0)
            throw error
        }
        guard listen(fd, 128) == 0 else { throw fail("listen") }
        return ListeningSocket(descriptor: fd, path: path, isInherited: false)
    }

    /// Removes the socket file, unless systemd made it: on the way out, so that clients are told
    /// at once that nothing listens. The corresponding C function is `unlink`.
    public func removeFile() {
        if !isInherited && !isTCP { unlink(path) }
    }

    /// The path an inherited socket is bound to, for messages. The corresponding C function is
    /// `getsockname`.
    private static func boundPath(_ fd: Int32) -> String? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        let text = withUnsafeBytes(of: address.sun_path) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? nil : text
    }
}
