import Agent
import JSON
import Platform

/// `hubagent check [--json] [--online]`: diagnostics, one check per file under `Checks/`, each
/// with a stable id. It only reads: nothing is written, and no credential is printed.
enum CheckCommand {
    static let help = """
        Usage: hubagent check [--json] [--online] [options]

        Diagnoses this gateway: one line per check with its status (OK, WARN, FAIL or SKIP), a
        stable id and what was found; under anything not OK, the fix. It only reads: nothing is
        written, no credential is printed, and each network step gives up after 5 s.

        Checks, in this order:
          config.boarding     boarding.json parses (not needed once an identity is stored)
          config.datasources  datasources.yaml parses, when there is one
          config.settings     hubagent.conf parses, when there is one; the CA bundle can be read
          state.permissions   state directory 0700, its files 0600, all of one owner; which
                              hubagent holds the directory's lock, if any
          boarding.expiry     an unused boarding file's initial access token has not expired
          network.dns         the southgate host resolves
          network.tls         TCP + TLS handshake with southgate, through the proxy if one is
                              set, verified with the CA in use (a GET of oauth/token_key)
          clock.offset        this clock against southgate's: WARN above 60 s, FAIL above 300 s
          token.roundtrip     with --online only: one real token request with the stored
                              credentials (it counts against southgate's rate limits)
          systemd.unit        under systemd: hubagent.service active, its watchdog set
          relay.disk          with relay = on: the journal's file system has room for
                              relay_max_disk (it takes at most a quarter of the free space)
          relay.socket        with relay = on: data.sock exists with data_socket_group's group

        The southgate URL is the stored identity's, else the boarding file's; without either,
        the network checks are skipped.

        Options:
          --json              one JSON object: {"checks":[{"id","status","message","fix"}],
                              "fails":N,"warnings":N}; "fix" is null when there is none
          --online            also run token.roundtrip
          --config-dir DIR    as for `hubagent run`
                              (default $CONFIGURATION_DIRECTORY, else \(Layout.defaultConfigurationDirectory))
          --state-dir DIR     as for `hubagent run`
                              (default $STATE_DIRECTORY, else \(Layout.defaultStateDirectory))
          --runtime-dir DIR   as for `hubagent run`
                              (default $RUNTIME_DIRECTORY, else \(Layout.defaultRuntimeDirectory))
          --ca-file FILE      extra trusted CA bundle (PEM), as ca_file in hubagent.conf

        Run it as the user hubagent runs as, or as root.
        Exit status: the number of FAILs (0 when healthy, at most 63), 64 usage.
        """

    /// Every check, in the order they run and are shown. Ids are stable: scripts match on them.
    static var checks: [any HealthCheck.Type] {
        [
            ConfigBoardingCheck.self, ConfigDataSourcesCheck.self, ConfigSettingsCheck.self,
            StatePermissionsCheck.self, BoardingExpiryCheck.self,
            NetworkDNSCheck.self, NetworkTLSCheck.self, ClockOffsetCheck.self, TokenRoundTripCheck.self,
            SystemdUnitCheck.self, RelayDiskCheck.self, RelaySocketCheck.self,
        ]
    }

    /// The exit status counts FAILs, kept below 64 so that it is never read as a usage error.
    static let maximumExitStatus: Int32 = 63

    static func main(_ arguments: [String]) -> Int32 {
        let options: Options
        do {
            options = try Options(
                arguments, valued: ["config-dir", "state-dir", "runtime-dir", "ca-file"], switches: ["json", "online"])
            if let extra = options.positional.first {
                throw Options.UsageError(description: "unexpected argument '\(extra)'")
            }
        } catch {
            Output.error("hubagent check: \(error); see `hubagent help check`")
            return ExitCode.usage
        }
        let context = CheckContext(options: options, environment: ProcessEnvironment.current)
        let secrets = context.proxyRoute.credentials
        let results = checks.map { check in
            var result = check.run(context)
            result.id = check.id
            // Belt and braces: a proxy password must not reach the output even inside an error
            // text of libcurl's.
            for secret in secrets {
                result.message = result.message.replacing(secret, with: "<redacted>")
                result.fix = result.fix?.replacing(secret, with: "<redacted>")
            }
            return result
        }
        let fails = results.count { $0.status == .fail }
        let warnings = results.count { $0.status == .warn }
        if options.flags.contains("json") {
            Output.line(json(results, fails: fails, warnings: warnings).serialized)
        } else {
            Output.line(table(results, fails: fails, warnings: warnings))
        }
        return min(Int32(fails), maximumExitStatus)
    }

    /// `STATUS  id  message`, aligned, the fix on an indented line below, a count at the end.
    static func table(_ results: [CheckResult], fails: Int, warnings: Int) -> String {
        let idWidth = results.map(\.id.count).max() ?? 0
        func pad(_ text: String, _ width: Int) -> String {
            text + String(repeating: " ", count: max(0, width - text.count))
        }
        var lines = [String]()
        for result in results {
            lines.append(pad(result.status.rawValue, 4) + "  " + pad(result.id, idWidth) + "  " + result.message)
            if let fix = result.fix {
                lines.append(String(repeating: " ", count: 4 + 2 + idWidth + 2) + "fix: " + fix)
            }
        }
        lines.append("")
        lines.append(
            "\(fails) \(fails == 1 ? "failure" : "failures"), \(warnings) \(warnings == 1 ? "warning" : "warnings") in "
                + "\(results.count) checks"
        )
        return lines.joined(separator: "\n")
    }

    static func json(_ results: [CheckResult], fails: Int, warnings: Int) -> JSONValue {
        .object([
            (
                "checks",
                .array(
                    results.map { result in
                        .object([
                            ("id", .string(result.id)), ("status", .string(result.status.rawValue)),
                            ("message", .string(result.message)), ("fix", result.fix.map(JSONValue.string) ?? .null),
                        ])
                    })
            ),
            ("fails", .number(Double(fails))),
            ("warnings", .number(Double(warnings))),
        ])
    }
}
