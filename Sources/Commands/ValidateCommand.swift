import Agent
import Platform

/// `hubagent validate [FILE…]`: checks the operator's files without touching the daemon.
enum ValidateCommand {
    static let help = """
        Usage: hubagent validate [--config-dir DIR] [FILE…]

        Checks boarding, data source and settings files and prints, for each, either a summary
        or every problem as `file:line:column: message`. Without FILE, checks boarding.json,
        datasources.yaml and hubagent.conf in the configuration directory (default
        $CONFIGURATION_DIRECTORY, else \(Layout.defaultConfigurationDirectory)).

        The kind of a file is told by its name: *.yaml / *.yml data sources, *.conf settings,
        anything else a boarding file.

        Exit status: 0 all valid, 1 a file is invalid, 64 usage.
        """

    enum Kind { case boarding, dataSources, settings }

    static func kind(of path: String) -> Kind {
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") { return .dataSources }
        if path.hasSuffix(".conf") { return .settings }
        return .boarding
    }

    static func main(_ arguments: [String]) -> Int32 {
        let options: Options
        do {
            options = try Options(arguments, valued: ["config-dir"], switches: [])
        } catch {
            Output.error("hubagent validate: \(error); see `hubagent help validate`")
            return ExitCode.usage
        }
        var files = options.positional
        if files.isEmpty {
            let layout = options.layout(environment: ProcessEnvironment.current)
            files = [layout.boardingFile, layout.dataSourcesFile, layout.settingsFile]
                .filter { ConfigurationFile.read($0, limit: 1) != nil || kind(of: $0) == .boarding }
        }
        var invalid = 0
        for path in files {
            switch check(path) {
            case .success(let summary): Output.line("\(path): OK: \(summary)")
            case .failure(let error):
                invalid += 1
                Output.line(error.description)
            }
        }
        return invalid == 0 ? ExitCode.ok : ExitCode.failure
    }

    static func check(_ path: String) -> Result<String, ConfigurationError> {
        let missing = ConfigurationError(file: path, message: "no such file")
        switch kind(of: path) {
        case .boarding:
            let result = ConfigurationFile.load(path, limit: Layout.Limit.boarding) { (bytes) throws(ConfigurationError) in
                try BoardingConfiguration.parse(bytes, file: path)
            }
            return (result ?? .failure(missing)).map { boarding in
                var text = "boarding file for \(boarding.clientID) (\(boarding.profile.rawValue)), tenant \(boarding.tenant), \(boarding.baseURL)"
                if let expiry = boarding.expiresAt {
                    text += expiry > SystemWallClock().now() ? "; the initial access token expires at \(Format.time(expiry))"
                                                            : "; EXPIRED at \(Format.time(expiry)): download a new boarding file"
                }
                return text
            }
        case .dataSources:
            let result = ConfigurationFile.load(path, limit: Layout.Limit.dataSources) { (bytes) throws(ConfigurationError) in
                try DataSourceConfiguration.parse(bytes, file: path)
            }
            return (result ?? .failure(missing)).map { configuration in
                let summary = configuration.summary
                let types = summary.types.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
                return "data source configuration \(configuration.configurationID): \(summary.sources) data sources, \(summary.points) data points (\(types))"
            }
        case .settings:
            switch Settings.read(path) {
            case .success(nil): return .failure(missing)
            case .success(let settings?):
                var text = "settings: log_level \(settings.logLevel.name), rotation_fraction \(Format.number(settings.rotationFraction)), request_timeout \(Format.number(settings.requestTimeout)) s"
                if let caFile = settings.caFile { text += ", ca_file \(caFile)" }
                if settings.proxy != nil { text += ", proxy set" }
                return .success(text)
            case .failure(let error): return .failure(error)
            }
        }
    }
}
