import Glibc
import Platform

/// Reading a file the operator owns (`/etc/hubagent/*`): read-only, never written, its mode not
/// judged (it is often root's, 0644), bounded in size, errors told as `ConfigurationError`.
public enum ConfigurationFile {
    /// The bytes, nil when the file does not exist.
    public static func read(_ path: String, limit: Int) -> Result<[UInt8], ConfigurationError>? {
        let fd: Int32
        do {
            fd = try Syscall.open(path, O_RDONLY)
        } catch  where error.errno == ENOENT {
            return nil
        } catch {
            return .failure(
                ConfigurationError(
                    file: path, message: "cannot be read: \(SystemError.message(for: error.errno))",
                    fix: "make it readable for the user hubagent runs as"))
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
