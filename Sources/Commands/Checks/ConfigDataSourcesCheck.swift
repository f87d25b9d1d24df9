import Agent

/// `config.datasources`: `datasources.yaml` parses, when there is one (it is optional).
enum ConfigDataSourcesCheck: HealthCheck {
    static let id = "config.datasources"

    static func run(_ context: CheckContext) -> CheckResult {
        let path = context.layout.dataSourcesFile
        guard ConfigurationFile.read(path, limit: 1) != nil else {
            return .ok("no \(path) (optional): no data source configuration to upload")
        }
        switch FileSummary.check(path) {
        case .success(let summary):
            return .ok("\(path): \(summary)")
        case .failure(let error):
            return .fail(
                "\(error.checkMessage); the configuration in Insights Hub is left as it is",
                fix: error.fix ?? "correct the file; `hubagent validate \(path)` checks it again")
        }
    }
}
