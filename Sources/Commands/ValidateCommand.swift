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
                .filter { ConfigurationFile.read($0, limit: 1) != nil || FileSummary.kind(of: $0) == .boarding }
        }
        var invalid = 0
        for path in files {
            switch FileSummary.check(path) {
            case .success(let summary): Output.line("\(path): OK: \(summary)")
            case .failure(let error):
                invalid += 1
                Output.line(error.description)
            }
        }
        return invalid == 0 ? ExitCode.ok : ExitCode.failure
    }
}
