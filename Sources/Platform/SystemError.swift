import Glibc

/// A failed system call: which call, on what, and the errno it returned.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public let call: String
    public let subject: String
    public let errno: Int32

    /// Without `errno`, captures the calling thread's current errno.
    public init(_ call: String, _ subject: String, errno code: Int32? = nil) {
        self.call = call
        self.subject = subject
        self.errno = code ?? Glibc.errno
    }

    public var description: String {
        "\(call) \(subject): \(Self.message(for: errno))"
    }

    /// EACCES or EPERM: the caller lacks the permission, nothing is broken.
    public var isPermissionDenied: Bool { errno == EACCES || errno == EPERM }

    /// ENOTDIR: a path component that should be a directory is not.
    public var isNotADirectory: Bool { errno == ENOTDIR }

    /// ELOOP from an open with O_NOFOLLOW: the name is a symbolic link, which was not followed.
    public var isSymbolicLinkRefused: Bool { errno == ELOOP }

    /// EFBIG: larger than the limit the caller set (`Syscall.readAll`, `StateDirectory.replace`).
    public var isTooLarge: Bool { errno == EFBIG }

    /// The errno of a name such as "ENOSPC", for the errors a storage fault can stand for.
    public static func code(named name: String) -> Int32? {
        let codes: [String: Int32] = [
            "EIO": EIO, "ENOSPC": ENOSPC, "EDQUOT": EDQUOT, "EMFILE": EMFILE, "ENFILE": ENFILE, "EACCES": EACCES,
            "EPERM": EPERM, "EROFS": EROFS, "EINTR": EINTR,
        ]
        return codes[name]
    }

    /// The corresponding C function is `strerror_r` (the XSI variant, thread-safe).
    public static func message(for errno: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let rc = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { strerror_r(errno, $0.baseAddress!, $0.count) }
        }
        guard rc == 0 else { return "errno \(errno)" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
