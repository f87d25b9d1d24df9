/// Reads `boarding.json` from the configuration directory. The file belongs to the operator
/// (often root, 0644): it is read, never written, and its mode is not judged.
public struct BoardingSource: Sendable {
    public static let fileName = Layout.FileName.boarding
    public static let maximumSize = Layout.Limit.boarding

    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var path: String { directory + "/" + Self.fileName }

    /// nil when there is no boarding file.
    public func read() -> Result<BoardingConfiguration, ConfigurationError>? {
        ConfigurationFile.load(path, limit: Self.maximumSize) { (bytes) throws(ConfigurationError) in
            if bytes.isEmpty {
                throw ConfigurationError(
                    file: path, message: "the file is empty",
                    fix: "copy the boarding configuration downloaded from Asset Manager into it")
            }
            return try BoardingConfiguration.parse(bytes, file: path)
        }
    }
}
