/// Reads `boarding.json`: the operator's file in the configuration directory, or under the unit
/// the copy systemd hands over as a credential (docs/design.md §3). The initial access token in it
/// is a bearer secret, so the operator's file is root's alone (0600); systemd reads it for the
/// service (`LoadCredential=`), which could not. Read, never written.
public struct BoardingSource: Sendable {
    public static let fileName = Layout.FileName.boarding
    public static let maximumSize = Layout.Limit.boarding
    /// What the unit's `SetCredential=` puts in the credential when there is no boarding file:
    /// systemd refuses to start a service whose `LoadCredential=` file is missing, unless a
    /// `SetCredential=` of the same name stands in for it, and an empty value is not allowed.
    public static let absentCredential = "absent"

    public let directory: String
    /// `$CREDENTIALS_DIRECTORY`, when systemd started the daemon with credentials.
    public let credentialsDirectory: String?

    public init(directory: String, credentialsDirectory: String? = nil) {
        self.directory = directory
        self.credentialsDirectory = credentialsDirectory
    }

    /// The operator's file: what messages name, what the operator edits.
    public var path: String { directory + "/" + Self.fileName }

    /// systemd's copy of the file, when the unit hands one over.
    public var credentialPath: String? {
        credentialsDirectory.map { $0 + "/" + Layout.FileName.boardingCredential }
    }

    /// nil when there is no boarding file. The credential is read when systemd provides it; a
    /// daemon run by hand (no credential) reads the file itself.
    public func read() -> Result<BoardingConfiguration, ConfigurationError>? {
        var bytes: Result<[UInt8], ConfigurationError>?
        if let credentialPath {
            bytes = ConfigurationFile.read(credentialPath, limit: Self.maximumSize)
            if case .success(let content)? = bytes, content == Array(Self.absentCredential.utf8) { return nil }
        }
        if bytes == nil { bytes = ConfigurationFile.read(path, limit: Self.maximumSize) }
        switch bytes {
        case nil: return nil
        case .failure(let error)?: return .failure(error)
        case .success(let content)?:
            do throws(ConfigurationError) {
                if content.isEmpty {
                    throw ConfigurationError(
                        file: path, message: "the file is empty",
                        fix: "copy the boarding configuration downloaded from Asset Manager into it")
                }
                return .success(try BoardingConfiguration.parse(content, file: path))
            } catch {
                return .failure(error)
            }
        }
    }
}
