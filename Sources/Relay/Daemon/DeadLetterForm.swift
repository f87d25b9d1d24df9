import JSON

/// How a refused record is written to the dead-letter file: in the ingest form a producer would
/// send again (docs/relay.md §1), so that a fixed record can be fed back with `hubagent send`.
enum DeadLetterForm {
    static func json(_ value: TimeseriesValue, configurationID: String, at timestamp: Int64) -> JSONValue {
        .object([
            ("configurationId", .string(configurationID)),
            ("dataPointId", .string(value.dataPointID)),
            ("value", json(value.value)),
            ("timestamp", .string(Timestamps.exchangeForm(timestamp))),
            ("qualityCode", .string(String(value.qualityCode))),
        ])
    }

    static func json(_ event: EventRecord) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(event.id)), ("timestamp", .string(Timestamps.exchangeForm(event.timestamp))),
            ("severity", .number(Double(event.severity.rawValue))),
        ]
        if let type = event.type { members.append(("type", .string(type))) }
        if let description = event.description { members.append(("description", .string(description))) }
        if let correlationID = event.correlationID { members.append(("correlationId", .string(correlationID))) }
        members.append(("details", event.details))
        return .object(members)
    }

    private static func json(_ value: RecordValue) -> JSONValue {
        switch value {
        case .integer(let number): .string(String(number))
        case .double(let number): .number(number)
        case .boolean(let flag): .bool(flag)
        case .text(let text): .string(text)
        }
    }
}
