import Agent
import Platform

/// The bearer key of the loopback listener (`ingest_key_file`, docs/relay.md §1): read once at
/// start, from systemd's credential when the unit hands one over (the file is root's and the
/// producers' group's, 0640, which the sandboxed service is not in), else from the file itself.
enum IngestKey {
    /// systemd's credential name (`LoadCredential=ingest.key:…` in the unit).
    static let credential = "ingest.key"

    /// The key, or why there is none; the listener is not opened without one.
    static func read(path: String, credentialsDirectory: String?) -> Result<[UInt8], ConfigurationError> {
        var loaded: Result<[UInt8], ConfigurationError>?
        if let credentialsDirectory {
            loaded = ConfigurationFile.read(credentialsDirectory + "/" + credential, limit: 4096)
            if case .success(let bytes)? = loaded, bytes == Array(BoardingSource.absentCredential.utf8) { loaded = nil }
        }
        if loaded == nil {
            if case .some(let entry) = (try? DirectoryEntry.of(path)) ?? nil, entry.mode & 0o007 != 0 {
                return .failure(
                    ConfigurationError(
                        file: path,
                        message: "other users can read the ingest key (mode \(String(entry.mode, radix: 8)))",
                        fix: "chmod 0640 \(path) and give it the producers' group"))
            }
            loaded = ConfigurationFile.read(path, limit: 4096)
        }
        switch loaded {
        case nil:
            return .failure(
                ConfigurationError(
                    file: path, message: "there is no ingest key",
                    fix: "create one: (umask 027; head -c 32 /dev/urandom | base64 > \(path))"))
        case .failure(let error)?:
            return .failure(error)
        case .success(var bytes)?:
            while let last = bytes.last, last == 10 || last == 13 || last == 32 { bytes.removeLast() }
            guard bytes.count >= 16, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                return .failure(
                    ConfigurationError(
                        file: path, message: "the ingest key must be at least 16 visible ASCII characters",
                        fix: "create one: (umask 027; head -c 32 /dev/urandom | base64 > \(path))"))
            }
            return .success(bytes)
        }
    }
}
