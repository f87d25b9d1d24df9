import JSON
import Platform

/// `POST /v1/events` (docs/relay.md §1): `{"severity", "type"?, "timestamp"?, "description"?,
/// "correlationId"?, "details"?}` to the event the journal stores. hubagent assigns the id here,
/// once, so every resend carries the same one.
public enum EventIngest {
    /// docs/protocol.md §14: `description` shorter than 256 characters (UTF-16 code units, as for
    /// data source texts).
    public static let maximumDescriptionLength = 255

    /// - severity: `"error"`, `"warning"`, `"info"` (any letter case) or 20, 30, 40 (the exchange's
    ///   `businessEvent` 2.0 values, docs/protocol.md §14).
    /// - timestamp: as for timeseries (ISO 8601 with an offset, or epoch milliseconds), default
    ///   `now`, at most `maxFuture` ahead of southgate's clock.
    /// - details: an object, default `{}`.
    /// Errors are `.records` with index 0 and the member at fault.
    public static func parse(
        body: [UInt8], now: Int64, serverClockOffset: Int64? = nil,
        maxFuture: Int64 = TimeseriesIngest.defaultMaximumFuture, makeID: () -> String
    ) -> Result<EventRecord, IngestRejection> {
        let start = body.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        guard body[start...].contains(where: { !TimeseriesIngest.isWhitespace($0) }) else { return .failure(.empty) }
        guard RawJSON.isValidUTF8(body) else { return .failure(.notUTF8) }
        let root: JSONValue
        do {
            root = try JSONValue.parse(body)
        } catch {
            return .failure(.notJSON(line: error.line, column: error.column, message: error.message))
        }
        guard let members = root.objectValue else {
            return .failure(.wrongShape("the body must be one event object {\"severity\",…}"))
        }
        var errors = RecordErrors()
        func fail(_ field: String, _ reason: String) { errors.add(0, nil, field, reason) }
        func show(_ value: JSONValue) -> String { DisplayText.sanitized(value.serialized, limit: 40) }
        func text(_ field: String) -> String? {
            guard let value = root[field], value != .null else { return nil }
            guard let text = value.stringValue else {
                fail(field, "\(field) must be a string, not \(show(value))")
                return nil
            }
            return text
        }

        let allowed = ["severity", "type", "timestamp", "description", "correlationId", "details"]
        var names = Set<String>()
        for (key, _) in members where !names.insert(key).inserted {
            // JSON leaves it open which of two equal names counts, so neither is guessed.
            fail(
                DisplayText.sanitized(key, limit: 64),
                "\(DisplayText.sanitized(key, limit: 40)) appears twice; keep one")
        }
        for (key, _) in members where !allowed.contains(key) {
            fail(
                DisplayText.sanitized(key, limit: 64),
                key == "id"
                    ? "hubagent assigns the event id; leave id out"
                    : "unknown member \"\(DisplayText.sanitized(key, limit: 40))\"; the members are "
                        + allowed.joined(separator: ", "))
        }

        var severity: EventRecord.Severity?
        switch root["severity"] {
        case .none, .some(.null):
            fail("severity", "severity is missing; send \"error\", \"warning\" or \"info\" (or 20, 30, 40)")
        case .some(.string(let name)):
            switch name.lowercased() {
            case "error": severity = .error
            case "warning": severity = .warning
            case "info": severity = .info
            default:
                fail("severity", "\(show(.string(name))) is not a severity; send \"error\", \"warning\" or \"info\"")
            }
        case .some(let value):
            if let number = value.int64Value, let known = EventRecord.Severity(rawValue: Int(number)) {
                severity = known
            } else {
                fail("severity", "\(show(value)) is not a severity; send 20 (error), 30 (warning) or 40 (info)")
            }
        }

        var timestamp: Int64? = now
        switch root["timestamp"] {
        case .none, .some(.null): break
        case .some(.string(let iso)):
            do {
                timestamp = try Timestamps.parseISO8601(iso)
            } catch {
                fail("timestamp", "\(show(.string(iso))): \(error.reason)")
                timestamp = nil
            }
        case .some(let value):
            // JSONValue keeps numbers as Double: epoch milliseconds are exact far beyond year 9999.
            if let number = value.int64Value, let checked = try? Timestamps.checkEpochMilliseconds(number) {
                timestamp = checked
            } else {
                fail("timestamp", "\(show(value)) is not a timestamp; send ISO 8601 or epoch milliseconds")
                timestamp = nil
            }
        }
        if let checked = timestamp {
            if checked > now.addingSaturating(serverClockOffset ?? 0).addingSaturating(maxFuture) {
                fail(
                    "timestamp",
                    "\(Timestamps.exchangeForm(checked)) is more than max_future ahead of Insights Hub's clock; "
                        + "check the producer's clock and time zone")
            }
        }

        let type = text("type")
        let description = text("description")
        if let description, description.utf16.count > maximumDescriptionLength {
            fail(
                "description",
                "description has \(description.utf16.count) characters; at most \(maximumDescriptionLength) are allowed"
            )
        }
        let correlationID = text("correlationId")
        var details = JSONValue.object([])
        if let value = root["details"], value != .null {
            if value.objectValue != nil {
                details = value
            } else {
                fail("details", "details must be an object, not \(show(value))")
            }
        }
        guard errors.isEmpty, let severity, let timestamp else { return .failure(errors.rejection) }
        return .success(
            EventRecord(
                id: makeID(), timestamp: timestamp, severity: severity, type: type, description: description,
                correlationID: correlationID, details: details))
    }
}
