import Glibc

/// What is at a path, for choosing between layouts; never for trusting what is there.
public enum FileSystemEntry {
    /// True when `path` is a directory itself, not a symbolic link to one. The corresponding C
    /// function is `lstat`.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }
}
