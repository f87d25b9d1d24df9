import Agent
import JSON
import Platform
import Relay

/// `hubagent status [--json]`: what the daemon reports in `status.json`, or, when it is not
/// running, what its state directory holds.
enum StatusCommand {
    static let help = """
        Usage: hubagent status [--json] [--runtime-dir DIR] [--state-dir DIR]

        Shows the agent's state: agent id, tenant, profile, southgate URL, when the secret
        expires and the next rotation is due, how long the access token is valid, the clock
        offset to southgate, the data source configuration last uploaded, and the last error.
        Never a credential. With --json, the same as one JSON object (fields in docs/status.md,
        plus "running").

        It reads status.json, which the running daemon keeps up to date in its runtime directory
        (default $RUNTIME_DIRECTORY, else \(Layout.defaultRuntimeDirectory)); when the daemon is not running, it reads
        the state directory instead (default $STATE_DIRECTORY, else \(Layout.defaultStateDirectory)).

        Exit status: 0 shown, 1 neither the daemon's status nor its state could be read, 64 usage.
        """

    static func main(_ arguments: [String]) -> Int32 {
        ProcessHardening.ignoreBrokenPipe()  // stdout into `head`, or a daemon gone mid-answer: an error, not death
        let options: Options
        do {
            options = try Options(arguments, valued: ["runtime-dir", "state-dir", "config-dir"], switches: ["json"])
        } catch {
            Output.error("hubagent status: \(error); see `hubagent help status`")
            return ExitCode.usage
        }
        let layout = options.layout(environment: ProcessEnvironment.current)
        let now = SystemWallClock().now()
        var report: StatusReport
        var running = false
        let untrusted = RuntimeEntryTrust.problem(with: layout.statusFile)
        if let untrusted {
            Output.error("hubagent status: ignoring \(layout.statusFile): \(untrusted); showing the stored state")
        }
        if untrusted == nil, let live = StatusReport.read(layout.statusFile) {
            report = live
            running = live.pid.map(ProcessControl.exists) ?? false
        } else {
            do {
                let directory = try StateDirectory(path: layout.stateDirectory, create: false)
                let loaded = try StateStore(directory: directory).load()
                var lifecycle = Lifecycle()
                _ = lifecycle.step(.started(loaded.state), now: now)
                report = StatusReport(lifecycle: lifecycle, now: now, pid: nil)
                if loaded.state.identity == nil { report.summary = "no identity stored yet" }
            } catch {
                Output.error(
                    "hubagent status: no status from a running daemon in \(layout.runtimeDirectory), and the state "
                        + "cannot be read: \(error)"
                )
                return ExitCode.failure
            }
        }
        if options.flags.contains("json") {
            guard case .object(var members) = report.json else { return ExitCode.failure }
            members.insert(("running", .bool(running)), at: 0)
            Output.line(JSONValue.object(members).serialized)
        } else {
            // The relay in one line; `hubagent relay status` has the rest.
            let relay = report.relay.flatMap(RelayStatus.init(json:)).map {
                [(label: "relay", value: $0.summary(now: now) ?? "running, nothing queued")]
            }
            Output.line(report.humanReadable(now: now, running: running, more: relay ?? []))
        }
        return ExitCode.ok
    }
}
