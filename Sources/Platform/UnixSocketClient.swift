import Glibc

/// The client side of a local stream socket: one request written, the answer read to the end.
/// For `hubagent token`, which asks the daemon's token socket.
public enum UnixSocketClient {
    /// Which step failed, with the system error: the caller tells a refused permission (EACCES)
    /// from a daemon that is not there (ENOENT, ECONNREFUSED).
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case connect(SystemError)
        case send(SystemError)
        case receive(SystemError)

        public var error: SystemError {
            switch self {
            case .connect(let error), .send(let error), .receive(let error): error
            }
        }

        public var description: String { error.description }
    }

    /// Connects to `path`, writes `request`, reads until the peer closes (at most `limit` bytes,
    /// each read waiting at most `timeout` seconds). The corresponding C functions are `socket`,
    /// `connect`, `send` and `read`.
    public static func exchange(path: String, request: [UInt8], timeout: Int, limit: Int) throws(Failure) -> [UInt8] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connect(SystemError("socket", path)) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .connect(SystemError("connect", path, errno: ENAMETOOLONG))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { throw .connect(SystemError("connect", path)) }
        var deadline = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &deadline, socklen_t(MemoryLayout<timeval>.size))
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else {
            throw .send(SystemError("send", path))
        }
        do {
            return try Syscall.readAll(fd, limit: limit, subject: path)
        } catch {
            throw .receive(error)
        }
    }
}
