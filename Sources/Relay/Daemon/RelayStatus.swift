import Agent
public import JSON
import Platform

/// The relay's block in `status.json`, `GET /v1/relay`, `hubagent status` and the systemd STATUS
/// line (docs/relay.md §1, docs/status.md). Counts are exact; times are epoch seconds on the
/// gateway's clock.
public struct RelayStatus: Equatable, Sendable {
    public enum State: String, Sendable {
        /// Uploading, or idle with nothing queued.
        case running
        /// No identity or no data source configuration in force yet: values are refused (503).
        case waiting
        /// The exchange refused the token twice (401) or the request (403): ingest goes on.
        case paused
        case stopping
    }

    public struct LastError: Equatable, Sendable {
        /// The HTTP status, nil for a network failure.
        public var status: Int?
        public var message: String
        public var correlationID: String?
        public var at: Double
    }

    public var state = State.waiting
    /// Why, when not running.
    public var reason: String?
    /// Records (values and events) accepted but not yet acknowledged by the exchange endpoint.
    public var queuedRecords = 0
    /// The journal's bytes on disk, dead letters included, and its bound.
    public var diskBytes: Int64 = 0
    public var maxDiskBytes: Int64 = 0
    /// Ingest time of the oldest queued record.
    public var oldestQueuedAt: Double?
    public var ingestedRecords = 0
    public var uploadedRecords = 0
    public var uploadRequests = 0
    /// Bytes per second sent to the exchange endpoint over the last upload.
    public var uploadRate: Double?
    public var lastSuccessAt: Double?
    public var lastError: LastError?
    public var nextAttemptAt: Double?
    /// Dropped records by reason (`full`, `age`, `corrupt`), counted exactly.
    public var dropped: [String: Int] = [:]
    public var deadLetters = 0

    public init() {}

    public var json: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map(JSONValue.number) ?? .null }
        // Apart from the literal below: Swift 6.0 gives up type-checking the whole in one piece.
        let lastErrorJSON: JSONValue =
            lastError.map { error in
                .object([
                    ("status", error.status.map { .number(Double($0)) } ?? .null),
                    ("message", .string(error.message)),
                    ("correlationId", error.correlationID.map(JSONValue.string) ?? .null),
                    ("at", .number(error.at)),
                ])
            } ?? .null
        return .object([
            ("state", .string(state.rawValue)),
            ("reason", reason.map(JSONValue.string) ?? .null),
            (
                "queue",
                .object([
                    ("records", .number(Double(queuedRecords))), ("diskBytes", .number(Double(diskBytes))),
                    ("maxDiskBytes", .number(Double(maxDiskBytes))), ("oldestAt", number(oldestQueuedAt)),
                ])
            ),
            ("ingestedRecords", .number(Double(ingestedRecords))),
            ("uploadedRecords", .number(Double(uploadedRecords))),
            ("uploadRequests", .number(Double(uploadRequests))),
            ("uploadRate", number(uploadRate)),
            ("lastSuccessAt", number(lastSuccessAt)),
            ("lastError", lastErrorJSON),
            ("nextAttemptAt", number(nextAttemptAt)),
            ("dropped", .object(dropped.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) })),
            ("deadLetters", .number(Double(deadLetters))),
        ])
    }

    /// One line for people (`hubagent status`, the systemd STATUS line): nil when there is nothing
    /// worth a line (running with an empty queue).
    public func summary(now: Double) -> String? {
        var parts: [String] = []
        switch state {
        case .running: if queuedRecords == 0 && dropped.isEmpty && deadLetters == 0 { return nil }
        case .waiting, .paused, .stopping: parts.append("relay \(state.rawValue)" + (reason.map { ": \($0)" } ?? ""))
        }
        if queuedRecords > 0 {
            var text = "\(queuedRecords) record\(queuedRecords == 1 ? "" : "s") queued"
            if let oldest = oldestQueuedAt { text += " (oldest \(Format.duration(max(0, now - oldest))))" }
            parts.append(text)
        }
        let drops = dropped.values.reduce(0, +)
        if drops > 0 { parts.append("\(drops) dropped") }
        if deadLetters > 0 { parts.append("\(deadLetters) dead letter\(deadLetters == 1 ? "" : "s")") }
        if let error = lastError, queuedRecords > 0 {
            parts.append("last upload error: " + (error.status.map { "\($0) " } ?? "") + error.message)
        }
        return parts.joined(separator: "; ")
    }

    /// The aligned block `hubagent relay status` prints.
    public func humanReadable(now: Double) -> String {
        func at(_ time: Double?) -> String {
            guard let time else { return "-" }
            let delta = now - time
            let relative = delta >= 0 ? Format.duration(delta) + " ago" : "in " + Format.duration(-delta)
            return "\(Format.time(time)) (\(relative))"
        }
        func bytes(_ count: Int64) -> String {
            count >= 1 << 20
                ? Format.number((Double(count) / 1_048_576 * 10).rounded() / 10) + " MiB"
                : count >= 1024 ? "\(count / 1024) KiB" : "\(count) B"
        }
        var rows: [(String, String)] = [
            ("state", state.rawValue + (reason.map { " (\($0))" } ?? "")),
            ("queued", "\(queuedRecords) record\(queuedRecords == 1 ? "" : "s")"),
            ("oldest queued", at(oldestQueuedAt)),
            ("disk", "\(bytes(diskBytes)) of \(bytes(maxDiskBytes))"),
            ("ingested", "\(ingestedRecords) since start"),
            (
                "uploaded",
                "\(uploadedRecords) in \(uploadRequests) request\(uploadRequests == 1 ? "" : "s") since start"
            ),
            ("upload rate", uploadRate.map { "\(bytes(Int64($0)))/s" } ?? "-"),
            ("last success", at(lastSuccessAt)),
        ]
        if let error = lastError {
            var text = (error.status.map { "\($0): " } ?? "") + error.message
            if let id = error.correlationID { text += " (Correlation-ID \(id))" }
            rows.append(("last error", text + ", " + at(error.at)))
        } else {
            rows.append(("last error", "none"))
        }
        if let next = nextAttemptAt { rows.append(("next attempt", at(next))) }
        let drops = dropped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        rows.append(("dropped", drops.isEmpty ? "none" : drops.joined(separator: ", ")))
        rows.append(("dead letters", deadLetters == 0 ? "none" : "\(deadLetters) (hubagent relay dead-letters)"))
        return Format.aligned(rows)
    }

    /// Parses the JSON form (for `hubagent status` reading status.json).
    public init?(json: JSONValue) {
        guard case .object = json, let state = json["state"]?.stringValue.flatMap(State.init(rawValue:)) else {
            return nil
        }
        self.state = state
        reason = json["reason"]?.stringValue
        queuedRecords = Int(json["queue"]?["records"]?.numberValue ?? 0)
        diskBytes = Int64(json["queue"]?["diskBytes"]?.numberValue ?? 0)
        maxDiskBytes = Int64(json["queue"]?["maxDiskBytes"]?.numberValue ?? 0)
        oldestQueuedAt = json["queue"]?["oldestAt"]?.numberValue
        ingestedRecords = Int(json["ingestedRecords"]?.numberValue ?? 0)
        uploadedRecords = Int(json["uploadedRecords"]?.numberValue ?? 0)
        uploadRequests = Int(json["uploadRequests"]?.numberValue ?? 0)
        uploadRate = json["uploadRate"]?.numberValue
        lastSuccessAt = json["lastSuccessAt"]?.numberValue
        if let error = json["lastError"], case .object = error {
            lastError = LastError(
                status: error["status"]?.numberValue.map { Int($0) }, message: error["message"]?.stringValue ?? "",
                correlationID: error["correlationId"]?.stringValue, at: error["at"]?.numberValue ?? 0)
        }
        nextAttemptAt = json["nextAttemptAt"]?.numberValue
        for (reason, count) in json["dropped"]?.objectValue ?? [] { dropped[reason] = Int(count.numberValue ?? 0) }
        deadLetters = Int(json["deadLetters"]?.numberValue ?? 0)
    }
}
