import Glibc
import Platform

/// Reads `boarding.json` from the configuration directory. The file belongs to the operator
/// (often root, 0644): it is read, never written, and its mode is not judged.
public struct BoardingSource: Sendable {
    public static let fileName = "boarding.json"
    /// A boarding file is about 2 KiB; anything far larger is not one.
    static let maximumSize = 64 * 1024

    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var path: String { directory + "/" + Self.fileName }

    /// nil when there is no boarding file.
    public func read() -> Result<BoardingConfiguration, ConfigurationError>? {
        let fd: Int32
        do {
            fd = try Syscall.open(path, O_RDONLY)
        } catch where error.errno == ENOENT {
            return nil
        } catch {
            return .failure(ConfigurationError(file: path, message: "cannot be read: \(SystemError.message(for: error.errno))",
                                               fix: "make it readable for the user hubagent runs as"))
        }
        defer { close(fd) }
        let bytes: [UInt8]
        do {
            bytes = try Syscall.readAll(fd, limit: Self.maximumSize, subject: path)
        } catch {
            return .failure(ConfigurationError(file: path, message: error.errno == EFBIG ? "larger than \(Self.maximumSize) bytes: not a boarding file" : "cannot be read: \(SystemError.message(for: error.errno))"))
        }
        if bytes.isEmpty {
            return .failure(ConfigurationError(file: path, message: "the file is empty", fix: "copy the boarding configuration downloaded from Asset Manager into it"))
        }
        do {
            return .success(try BoardingConfiguration.parse(bytes, file: path))
        } catch {
            return .failure(error)
        }
    }
}
