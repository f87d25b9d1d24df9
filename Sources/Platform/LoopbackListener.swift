import Glibc

/// A TCP listening socket on a loopback address only (docs/relay.md §1: `ingest_listen` never
/// binds beyond loopback), for programs that cannot reach a Unix socket (Node-RED's http request
/// node).
public enum LoopbackListener {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not 127.0.0.0/8 or ::1.
        case notLoopback(String)
        case system(SystemError)

        public var description: String {
            switch self {
            case .notLoopback(let host): "\(host) is not a loopback address; ingest_listen binds only to loopback"
            case .system(let error): error.description
            }
        }
    }

    /// The listener for a server (UnixStreamServer serves it like a Unix socket, without peer
    /// credentials).
    public static func listening(host: String, port: UInt16) throws(Failure) -> ListeningSocket {
        let fd = try bind(host: host, port: port)
        let name = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return ListeningSocket(descriptor: fd, path: name, isInherited: false, isTCP: true)
    }

    /// A non-blocking, close-on-exec descriptor listening on `host:port`. The corresponding C
    /// functions are `socket`, `setsockopt`, `bind` and `listen`.
    public static func bind(host: String, port: UInt16) throws(Failure) -> Int32 {
        let subject = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if host.contains(":") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1, host == "::1" else {
                throw .notLoopback(host)
            }
            return try listen(family: AF_INET6, subject: subject) { fd in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                    }
                }
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1, UInt32(bigEndian: address.sin_addr.s_addr) >> 24 == 127
        else {
            throw .notLoopback(host)
        }
        return try listen(family: AF_INET, subject: subject) { fd in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    private static func listen(family: Int32, subject: String, bind: (Int32) -> Int32) throws(Failure) -> Int32 {
        let fd = socket(
            family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .system(SystemError("socket", subject)) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd) == 0, Glibc.listen(fd, 128) == 0 else {
            let error = SystemError("bind", subject)
            close(fd)
            throw .system(error)
        }
        return fd
    }
}
