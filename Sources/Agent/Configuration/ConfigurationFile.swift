import Platform

/// Reading a file the operator owns (`/etc/hubagent/*`): read-only, never written, its mode not
/// judged (it is often root's, 0644), bounded in size, errors told as `ConfigurationError`.
public enum ConfigurationFile {
    /// The bytes, nil when the file does not exist.
    public static func read(_ path: String, limit: Int) -> Result<[UInt8], ConfigurationError>? {
        do {
            return try RegularFile.read(path, limit: limit).map { .success($0) }
        } catch {
            return .failure(problem(error, path))
        }
    }

    /// nil when `path` does not exist or cannot be opened (reading it reports that), else why it
    /// is not a regular file: for files read by others (`ca_file`, which libcurl opens itself).
    public static func notRegular(_ path: String) -> ConfigurationError? {
        do {
            try RegularFile.check(path)
            return nil
        } catch {
            if case .notRegular = error { return problem(error, path) }
            return nil
        }
    }

    private static func problem(_ error: RegularFile.ReadError, _ path: String) -> ConfigurationError {
        switch error {
        case .cannotOpen(let cause):
            ConfigurationError(
                file: path, message: "cannot be read: \(SystemError.message(for: cause.errno))",
                fix: "make it readable for the user hubagent runs as")
        case .notRegular(let kind):
            ConfigurationError(
                file: path, message: "is \(kind), not a regular file",
                fix: "replace it with a regular file (rm \(path), then copy the file in place)")
        case .tooLarge(let limit):
            ConfigurationError(file: path, message: "larger than \(limit) bytes")
        case .cannotRead(let cause):
            ConfigurationError(file: path, message: "cannot be read: \(SystemError.message(for: cause.errno))")
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
