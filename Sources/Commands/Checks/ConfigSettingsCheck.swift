import Agent

/// `config.settings`: `hubagent.conf` parses, when there is one, and the extra CA bundle
/// (`ca_file` or `--ca-file`) can be read and holds a certificate.
enum ConfigSettingsCheck: HealthCheck {
    static let id = "config.settings"

    static func run(_ context: CheckContext) -> CheckResult {
        let path = context.layout.settingsFile
        var message: String
        if ConfigurationFile.read(path, limit: 1) == nil {
            message = "no \(path) (optional): defaults"
        } else {
            switch FileSummary.check(path) {
            case .success(let summary):
                message = "\(path): \(summary)"
            case .failure(let error):
                return .fail(
                    "\(error.checkMessage); hubagent will not start (exit 78)",
                    fix: error.fix ?? "correct the file; `hubagent validate \(path)` checks it again")
            }
        }
        if let caFile = context.settings.caFile {
            let name = context.caFileOrigin
            let fix =
                "point \(name) at the PEM bundle of the CA that signed southgate's certificate (or the TLS-inspecting "
                + "proxy's)"
            switch ConfigurationFile.read(caFile, limit: Layout.Limit.caBundle) {
            case nil:
                return .fail("\(name) \(caFile) does not exist", fix: fix)
            case .failure(let error)?:
                return .fail("\(name) \(error.checkMessage)", fix: error.fix ?? fix)
            case .success(let bytes)?:
                guard String(decoding: bytes, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                    return .fail("\(name) \(caFile) holds no PEM certificate", fix: fix)
                }
                message += "; \(name) \(caFile) readable"
            }
        }
        return .ok(message)
    }
}
