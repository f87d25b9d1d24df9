import Glibc

extension SystemError {
    /// ENOSPC or EDQUOT: the file system (or the user's quota) has no room; later it may.
    public var isOutOfSpace: Bool { errno == ENOSPC || errno == EDQUOT }

    /// ENOENT: the name does not exist (any more).
    public var isNotFound: Bool { errno == ENOENT }
}
