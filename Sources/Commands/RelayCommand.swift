import Agent
import JSON
import Platform
import Relay

/// `hubagent relay [status|dead-letters]`: the data relay as the operator sees it (docs/relay.md §1).
enum RelayCommand {
    static let help = """
        Usage: hubagent relay [status] [--json] [--runtime-dir DIR]
               hubagent relay dead-letters [--limit N] [--state-dir DIR]

        status (the default): what the relay holds and does: records queued and the age of the
        oldest, disk use against relay_max_disk, the last successful upload, the last error
        with its Correlation-ID (to look up in Insights Hub), records dropped by reason and dead
        letters. Asked live over data.sock when this user may, else read from the daemon's
        status.json (fields in docs/status.md).

        dead-letters: the records Insights Hub refused for good (400) or that no longer fit the
        data source configuration, newest last, one JSON object per line with the reason and
        Correlation-ID. They are kept in dead-letters.ndjson in the relay's directory under the
        state directory (default $STATE_DIRECTORY, else \(Layout.defaultStateDirectory)); reading it needs the
        daemon's user or root.

        Exit status: 0 shown, 1 nothing to show (daemon not running, relay off), 64 usage.
        """

    static func main(_ arguments: [String]) -> Int32 {
        ProcessHardening.ignoreBrokenPipe()
        let options: Options
        do {
            options = try Options(
                arguments, valued: ["runtime-dir", "state-dir", "config-dir", "limit"], switches: ["json"])
        } catch {
            Output.error("hubagent relay: \(error); see `hubagent help relay`")
            return ExitCode.usage
        }
        let layout = options.layout(environment: ProcessEnvironment.current)
        switch options.positional.first ?? "status" {
        case "status" where options.positional.count <= 1:
            return status(layout: layout, json: options.flags.contains("json"))
        case "dead-letters" where options.positional.count == 1:
            guard let limit = Int(options.values["limit"] ?? "100"), limit > 0 else {
                Output.error("hubagent relay: --limit must be a positive number")
                return ExitCode.usage
            }
            return deadLetters(layout: layout, limit: limit)
        default:
            Output.error("hubagent relay: expected status or dead-letters; see `hubagent help relay`")
            return ExitCode.usage
        }
    }

    /// Live from `GET /v1/relay` on data.sock when this user may use it, else from status.json
    /// (rewritten at most once a second).
    private static func status(layout: Layout, json: Bool) -> Int32 {
        var block: JSONValue?
        if RuntimeEntryTrust.problem(with: layout.dataSocket) == nil,
            case .success(let answer) = LocalRequest(target: "/v1/relay").perform(
                path: layout.dataSocket, timeout: 10, limit: 1 << 20),
            answer.status == 200
        {
            block = try? JSONValue.parse(answer.body)
        }
        if block == nil {
            let path = layout.statusFile
            if let untrusted = RuntimeEntryTrust.problem(with: path) {
                Output.error("hubagent relay: ignoring \(path): \(untrusted)")
                return ExitCode.failure
            }
            guard let report = StatusReport.read(path), report.pid.map(ProcessControl.exists) == true else {
                Output.error("hubagent relay: hubagent is not running (no live \(path)); see `hubagent status`")
                return ExitCode.failure
            }
            block = report.relay
        }
        guard let block, let relay = RelayStatus(json: block) else {
            Output.error("hubagent relay: the relay is off; set relay = on in hubagent.conf and restart hubagent")
            return ExitCode.failure
        }
        if json {
            Output.line(block.serialized)
        } else {
            Output.line(relay.humanReadable(now: SystemWallClock().now()))
        }
        return ExitCode.ok
    }

    private static func deadLetters(layout: Layout, limit: Int) -> Int32 {
        let path = layout.relayDirectory + "/" + DeadLetters.fileName
        let bytes: [UInt8]
        do {
            guard let read = try RegularFile.read(path, limit: 32 << 20) else {
                Output.line("no dead letters")
                return ExitCode.ok
            }
            bytes = read
        } catch {
            Output.error("hubagent relay: \(path): \(error)")
            return ExitCode.failure
        }
        let lines = bytes.split(separator: 10)
        for line in lines.suffix(limit) {
            // A terminal shows these: no record's text may move the cursor or forge a line.
            Output.line(DisplayText.sanitized(String(decoding: line, as: UTF8.self), limit: 4096))
        }
        if lines.count > limit { Output.error("(\(lines.count - limit) older dead letters not shown; --limit N)") }
        return ExitCode.ok
    }
}
