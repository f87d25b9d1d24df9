import Agent
import Platform

/// What `validate` and the config.* checks say about one of the operator's files: a one-line
/// summary of a valid file, or its first problem as `file:line:column`.
enum FileSummary {
    enum Kind { case boarding, dataSources, settings }

    /// Told by the name: *.yaml / *.yml data sources, *.conf settings, anything else a boarding file.
    static func kind(of path: String) -> Kind {
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") { return .dataSources }
        if path.hasSuffix(".conf") { return .settings }
        return .boarding
    }

    static func check(_ path: String) -> Result<String, ConfigurationError> {
        let missing = ConfigurationError(file: path, message: "no such file")
        switch kind(of: path) {
        case .boarding:
            let result = ConfigurationFile.load(path, limit: Layout.Limit.boarding) {
                (bytes) throws(ConfigurationError) in
                try BoardingConfiguration.parse(bytes, file: path)
            }
            return (result ?? .failure(missing)).map { boarding in
                var text =
                    "boarding file for \(boarding.clientID) (\(boarding.profile.rawValue)), tenant \(boarding.tenant), "
                    + "\(boarding.baseURL)"
                if let expiry = boarding.expiresAt {
                    text +=
                        expiry > SystemWallClock().now()
                        ? "; the initial access token expires at \(Format.time(expiry))"
                        : "; EXPIRED at \(Format.time(expiry)): download a new boarding file"
                }
                return text
            }
        case .dataSources:
            let result = ConfigurationFile.load(path, limit: Layout.Limit.dataSources) {
                (bytes) throws(ConfigurationError) in
                try DataSourceConfiguration.parse(bytes, file: path)
            }
            return (result ?? .failure(missing)).map { configuration in
                let summary = configuration.summary
                let types = summary.types.sorted { $0.key.rawValue < $1.key.rawValue }.map {
                    "\($0.key.rawValue) \($0.value)"
                }.joined(separator: ", ")
                return
                    "data source configuration \(configuration.configurationID): \(summary.sources) data sources, "
                    + "\(summary.points) data points (\(types))"
            }
        case .settings:
            switch Settings.read(path) {
            case .success(nil): return .failure(missing)
            case .success(let settings?):
                var text =
                    "settings: log_level \(settings.logLevel.name), rotation_fraction "
                    + "\(Format.number(settings.rotationFraction)), request_timeout "
                    + "\(Format.number(settings.requestTimeout)) s"
                if let caFile = settings.caFile { text += ", ca_file \(caFile)" }
                if settings.proxy != nil { text += ", proxy set" }
                return .success(text)
            case .failure(let error): return .failure(error)
            }
        }
    }
}
