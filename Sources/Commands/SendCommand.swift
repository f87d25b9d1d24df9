import Agent
import JSON
import Platform

/// `hubagent send`: NDJSON from a file or standard input to the relay's data socket, for scripts,
/// cron jobs and Node-RED's exec node (docs/relay.md §1).
enum SendCommand {
    static let help = """
        Usage: hubagent send [--events] [--wait SECONDS] [FILE | --data TEXT]

        Hands values to the running daemon's data relay, which checks them against
        datasources.yaml, keeps them on disk and uploads them to Insights Hub. Reads FILE, or
        standard input without one (or with "-"): one JSON object per line,

            {"dataPointId": "DP-Temperature", "value": 21.5, "timestamp": "2026-12-03T10:00:00Z"}

        where dataPointId is a data point's id or "<data source name>/<data point name>",
        timestamp (ISO 8601 with any offset, or epoch milliseconds) defaults to now and
        qualityCode to "0". With --events, one event per line:

            {"severity": "warning", "description": "door open", "timestamp": "…"}

        With --data, the lines come as an argument instead (Node-RED's exec node appends
        msg.payload to the command). Lines go in requests of at most 512 KiB; each request is
        all or nothing. When the relay cannot take data for now (starting, full, busy), it
        waits as the daemon asks, up to --wait seconds (default 30).

        The socket is data.sock in the runtime directory (default $RUNTIME_DIRECTORY, else
        \(Layout.defaultRuntimeDirectory); --runtime-dir DIR names another); the caller must be its owner or
        in data_socket_group.

        Exit status: 0 every line accepted (on disk, to be uploaded), 65 a line was refused (the
        error names it; lines before that request were accepted), 75 the relay could not take
        the data within --wait, 69 no daemon or relay is listening, 77 permission denied on
        data.sock, 64 usage, 1 other.
        """

    enum Exit {
        static let dataError: Int32 = 65
        static let unavailable: Int32 = 69
        static let temporaryFailure: Int32 = 75
        static let permissionDenied: Int32 = 77
    }

    static let requestBytes = 512 * 1024

    static func main(_ arguments: [String]) -> Int32 {
        ProcessHardening.ignoreBrokenPipe()
        let options: Options
        do {
            options = try Options(
                arguments, valued: ["runtime-dir", "state-dir", "config-dir", "wait", "data"], switches: ["events"])
        } catch {
            Output.error("hubagent send: \(error); see `hubagent help send`")
            return ExitCode.usage
        }
        let inline = options.values["data"]
        guard options.positional.count <= (inline == nil ? 1 : 0) else {
            Output.error("hubagent send: at most one FILE, or --data; see `hubagent help send`")
            return ExitCode.usage
        }
        let wait = options.values["wait"].flatMap(Double.init) ?? 30
        guard wait >= 0, wait <= 86_400 else {
            Output.error("hubagent send: --wait must be a number of seconds from 0 to 86400")
            return ExitCode.usage
        }
        let layout = options.layout(environment: ProcessEnvironment.current)
        let socket = layout.dataSocket
        if let problem = RuntimeEntryTrust.problem(with: socket) {
            Output.error("hubagent send: not sending to \(socket): \(problem)")
            return ExitCode.failure
        }
        let file = options.positional.first
        let name = inline != nil ? "--data" : file.flatMap { $0 == "-" ? nil : $0 } ?? "standard input"
        var input: LineBatches
        if let inline {
            input = LineBatches(bytes: Array(inline.utf8), maximumBytes: requestBytes)
        } else {
            do {
                input = try LineBatches(path: file, maximumBytes: requestBytes)
            } catch {
                Output.error("hubagent send: \(error)")
                return ExitCode.failure
            }
        }
        defer { input.close() }
        var sender = Sender(socket: socket, events: options.flags.contains("events"), name: name, wait: wait)
        do {
            while let batch = try input.next() {
                if let failure = sender.send(batch) { return failure }
            }
        } catch {
            Output.error("hubagent send: \(error)")
            return ExitCode.failure
        }
        Output.line(
            "accepted \(sender.accepted) \(sender.events ? "event" : "value")\(sender.accepted == 1 ? "" : "s")")
        return ExitCode.ok
    }

    /// Sends batches and keeps count; a non-nil result of `send` is the exit status to stop with.
    struct Sender {
        let socket: String
        let events: Bool
        let name: String
        let wait: Double
        var accepted = 0

        mutating func send(_ batch: LineBatches.Batch) -> Int32? {
            if events {
                // One request per event: the relay assigns each its id.
                var line = batch.firstLine
                for text in batch.bytes.split(separator: 10, omittingEmptySubsequences: false).dropLast() {
                    defer { line += 1 }
                    if text.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                    if let failure = post(Array(text), firstLine: line, target: "/v1/events") { return failure }
                }
                return nil
            }
            return post(batch.bytes, firstLine: batch.firstLine, target: "/v1/timeseries")
        }

        private mutating func post(_ body: [UInt8], firstLine: Int, target: String) -> Int32? {
            let deadline = monotonicSeconds() + wait
            while true {
                let request = LocalRequest(
                    method: "POST", target: target,
                    contentType: target == "/v1/events" ? "application/json" : "application/x-ndjson", body: body,
                    unreachableHint: "is hubagent running with relay = on? see `hubagent status`")
                let answer: LocalRequest.Answer
                switch request.perform(path: socket, timeout: 60, limit: 1 << 20) {
                case .failure(let failure):
                    Output.error("hubagent send: \(failure)")
                    if failure.permissionDenied { return Exit.permissionDenied }
                    return failure.unreachable ? Exit.unavailable : ExitCode.failure
                case .success(let received): answer = received
                }
                let json = try? JSONValue.parse(answer.body)
                switch answer.status {
                case 202:
                    accepted += target == "/v1/events" ? 1 : Int(json?["accepted"]?.numberValue ?? 0)
                    return nil
                case 400:
                    report(json, firstLine: firstLine)
                    return Exit.dataError
                case 413 where body.count > 1:
                    // The daemon's ingest_max_request is smaller than our batches: halve at a line.
                    let lines = body.split(separator: 10, omittingEmptySubsequences: false).dropLast()
                    guard lines.count > 1 else { fallthrough }
                    let half = lines.count / 2
                    let first = Array(lines[..<(lines.startIndex + half)].joined(separator: [10])) + [10]
                    let second = Array(lines[(lines.startIndex + half)...].joined(separator: [10])) + [10]
                    if let failure = post(first, firstLine: firstLine, target: target) { return failure }
                    return post(second, firstLine: firstLine + half, target: target)
                case 429, 503, 507:
                    let retryAfter = answer.headers["retry-after"].flatMap(Double.init) ?? 1
                    let message = json?["error"]?.stringValue ?? "the relay answered \(answer.status)"
                    guard monotonicSeconds() + retryAfter <= deadline else {
                        Output.error(
                            "hubagent send: \(message); gave up after \(Format.duration(wait)) at \(name) line "
                                + "\(firstLine) (lines before it were accepted)")
                        return Exit.temporaryFailure
                    }
                    ProcessControl.pause(seconds: retryAfter)
                default:
                    let message = json?["error"]?.stringValue ?? "the relay answered \(answer.status)"
                    Output.error("hubagent send: \(message) (at \(name) line \(firstLine))")
                    return answer.status == 413 ? Exit.dataError : ExitCode.failure
                }
            }
        }

        /// `name:line: field: reason` per refused record, as the relay numbered them.
        private func report(_ json: JSONValue?, firstLine: Int) {
            let errors = json?["errors"]?.arrayValue ?? []
            if errors.isEmpty {
                Output.error("hubagent send: \(name):\(firstLine): \(json?["error"]?.stringValue ?? "refused")")
            }
            for error in errors {
                let line = firstLine + Int(error["line"]?.numberValue ?? error["index"]?.numberValue ?? 0)
                let field = error["field"]?.stringValue.map { "\($0): " } ?? ""
                Output.error("hubagent send: \(name):\(line): \(field)\(error["reason"]?.stringValue ?? "refused")")
            }
            if let total = json?["total"]?.numberValue, Int(total) > errors.count {
                Output.error("hubagent send: … \(Int(total) - errors.count) more")
            }
            Output.error("hubagent send: nothing of that request was stored; fix the lines and send them again")
        }
    }

    static func monotonicSeconds() -> Double { Double(monotonicMicroseconds()) / 1e6 }
}
