import Glibc
import Platform

/// Reading a file the operator owns (`/etc/hubagent/*`): read-only, never written, its mode not
/// judged (it is often root's, 0644), bounded in size, errors told as `ConfigurationError`.
public enum ConfigurationFile {
    /// The bytes, nil when the file does not exist.
    public static func read(_ path: String, limit: Int) -> Result<[UInt8], ConfigurationError>? {
        let fd: Int32
        switch open(path) {
        case nil: return nil
        case .failure(let error)?: return .failure(error)
        case .success(let opened)?: fd = opened
        }
        defer { close(fd) }
        do {
            return .success(try Syscall.readAll(fd, limit: limit, subject: path))
        } catch {
            let message =
                error.errno == EFBIG
                ? "larger than \(limit) bytes" : "cannot be read: \(SystemError.message(for: error.errno))"
            return .failure(ConfigurationError(file: path, message: message))
        }
    }

    /// nil when `path` does not exist or cannot be opened (reading it reports that), else why it
    /// is not a regular file: for files read by others (`ca_file`, which libcurl opens itself).
    public static func notRegular(_ path: String) -> ConfigurationError? {
        switch open(path) {
        case .success(let fd)?:
            close(fd)
            return nil
        case .failure(let error)? where error.message.hasSuffix("not a regular file"):
            return error
        default:
            return nil
        }
    }

    /// Opened for reading, checked to be a regular file; nil when it does not exist.
    private static func open(_ path: String) -> Result<Int32, ConfigurationError>? {
        let fd: Int32
        do {
            // O_NONBLOCK: opening a FIFO would wait for a writer, forever (at start before READY,
            // later on the work queue, where SIGTERM is handled too).
            fd = try Syscall.open(path, O_RDONLY | O_NONBLOCK)
        } catch  where error.errno == ENOENT {
            return nil
        } catch {
            return .failure(
                ConfigurationError(
                    file: path, message: "cannot be read: \(SystemError.message(for: error.errno))",
                    fix: "make it readable for the user hubagent runs as"))
        }
        if let kind = FileKind.notRegular(fd) {
            close(fd)
            return .failure(
                ConfigurationError(
                    file: path, message: "is \(kind), not a regular file",
                    fix: "replace it with a regular file (rm \(path), then copy the file in place)"))
        }
        return .success(fd)
    }

    /// Reads and parses; nil when the file does not exist.
    public static func load<Value>(_ path: String, limit: Int, parse: ([UInt8]) throws(ConfigurationError) -> Value)
        -> Result<Value, ConfigurationError>?
    {
        switch read(path, limit: limit) {
        case nil: return nil
        case .failure(let error)?: return .failure(error)
        case .success(let bytes)?:
            do { return .success(try parse(bytes)) } catch { return .failure(error) }
        }
    }
}
