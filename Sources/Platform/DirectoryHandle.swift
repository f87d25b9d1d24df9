import Glibc

/// An open directory, reachable by path through `/proc/self/fd` while it is open: lets a process
/// that switches its effective ids (root acting as the service user) keep a directory whose
/// parents the new ids cannot traverse.
public final class DirectoryHandle: Sendable {
    public let descriptor: Int32

    /// The corresponding C function is `open(O_DIRECTORY)`.
    public init(path: String) throws(SystemError) {
        descriptor = try Syscall.open(path, O_RDONLY | O_DIRECTORY)
    }

    deinit { close(descriptor) }

    /// `/proc/self/fd/N`: the directory, as long as this handle lives.
    public var procPath: String { "/proc/self/fd/\(descriptor)" }
}
