import Glibc

/// Whether a client (`hubagent token`, `hubagent status`) may trust what it finds in the runtime
/// directory, before it reads a token or a status from it: nobody but the directory's owner can
/// have put an entry there (the directory is not writable by group or others), and the entry
/// belongs to that owner (or root) and is not a symbolic link. Otherwise any local user could
/// plant a `token.sock` that hands out their token, or a `status.json` that lies.
public enum RuntimeEntryTrust {
    /// Why `path` cannot be trusted, or nil when it can (or does not exist: the caller says so).
    /// The corresponding C function is `lstat`.
    public static func problem(with path: String) -> String? {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        var parent = stat()
        guard lstat(directory.isEmpty ? "/" : directory, &parent) == 0 else { return nil }
        let parentMode = parent.st_mode & 0o777
        if parent.st_mode & S_IFMT != S_IFDIR {
            return "\(directory) is not a directory; \(path) cannot be trusted"
        }
        if parentMode & 0o022 != 0 {
            return "\(directory) is writable by other users (mode \(String(parentMode, radix: 8))), so anyone could "
                + "have put \(path) there; fix: chmod go-w \(directory) (systemd's RuntimeDirectory= creates it so)"
        }
        var entry = stat()
        guard lstat(path, &entry) == 0 else { return nil }
        if entry.st_mode & S_IFMT == S_IFLNK {
            return "\(path) is a symbolic link, which hubagent never makes; remove it"
        }
        if entry.st_uid != parent.st_uid && entry.st_uid != 0 {
            return "\(path) belongs to uid \(entry.st_uid), not to uid \(parent.st_uid) who owns \(directory) "
                + "and runs hubagent; remove it"
        }
        return nil
    }
}
