import Agent
import Platform

/// Hand-written option parsing: `--name value` and `--name=value`, flags without values.
struct Options {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var positional: [String] = []

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    /// The directories from `--config-dir`, `--state-dir` and `--runtime-dir`, else systemd's
    /// variables in `environment`, else the defaults (`Layout`).
    func layout(environment: [String: String]) -> Layout {
        Layout(
            configurationDirectory: values["config-dir"], stateDirectory: values["state-dir"],
            runtimeDirectory: values["runtime-dir"], environment: environment)
    }

    /// hubagent.conf at `path` (optional: the defaults without it), with `--log-level` and
    /// `--ca-file` on top, as `run` and `check` read it.
    func settings(at path: String) -> Result<Settings, ConfigurationError> {
        var settings = Settings()
        switch Settings.read(path) {
        case .success(let read?): settings = read
        case .success(nil): break
        case .failure(let error): return .failure(error)
        }
        if let name = values["log-level"], let level = LogLevel(name: name) { settings.logLevel = level }
        if let caFile = values["ca-file"] { settings.caFile = caFile }
        // libcurl opens the CA bundle itself, blocking: a FIFO there would hang the daemon's
        // southgate calls. Refused here, at start and on reload.
        if let caFile = settings.caFile, var problem = ConfigurationFile.notRegular(caFile) {
            problem.fix = "set \(values["ca-file"] != nil ? "--ca-file" : "ca_file in \(path)") to a PEM file"
            return .failure(problem)
        }
        return .success(settings)
    }

    /// `valued` options take an argument; `switches` do not.
    init(_ arguments: [String], valued: Set<String>, switches: Set<String>) throws(UsageError) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                positional.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if switches.contains(name), inlineValue == nil {
                flags.insert(name)
            } else if valued.contains(name) {
                if let inlineValue {
                    values[name] = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError(description: "option --\(name) needs a value")
                    }
                    values[name] = arguments[index]
                    index += 1
                }
            } else {
                throw UsageError(description: "unknown option --\(name)")
            }
        }
    }
}
