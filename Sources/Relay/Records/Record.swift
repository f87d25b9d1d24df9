public import JSON

// The relay's records as they are kept in the journal and sent to the exchange endpoint
// (docs/relay.md §1, §3, §4). A record is one timeseries value or one event; sequence numbers
// count records, so a 202's `first…last` and the upload cursor speak the same unit.

/// A timeseries value, typed by its data point's type at ingest (docs/relay.md §2). The exchange
/// form is always a string (docs/protocol.md §14); the journal keeps the compact typed form.
public enum RecordValue: Equatable, Sendable {
    /// INT and LONG.
    case integer(Int64)
    /// DOUBLE: always finite.
    case double(Double)
    case boolean(Bool)
    /// STRING, BIG_STRING and TIMESTAMP (already in the exchange's 24-character form).
    case text(String)
}

public struct TimeseriesValue: Equatable, Sendable {
    public var dataPointID: String
    public var value: RecordValue
    /// An OPC UA status code (docs/protocol.md §14), 0 = good.
    public var qualityCode: UInt32

    public init(dataPointID: String, value: RecordValue, qualityCode: UInt32 = 0) {
        self.dataPointID = dataPointID
        self.value = value
        self.qualityCode = qualityCode
    }
}

/// All values of one timestamp under one configuration: the exchange's unit of overwrite, never
/// split across requests (docs/relay.md §4).
public struct TimeseriesEntry: Equatable, Sendable {
    public var configurationID: String
    /// Milliseconds since the epoch, UTC.
    public var timestamp: Int64
    public var values: [TimeseriesValue]

    public init(configurationID: String, timestamp: Int64, values: [TimeseriesValue]) {
        self.configurationID = configurationID
        self.timestamp = timestamp
        self.values = values
    }
}

/// An event as ingested: its id is assigned by hubagent and stored, so a resend carries the same id.
public struct EventRecord: Equatable, Sendable {
    public enum Severity: Int, Sendable, CaseIterable {
        case error = 20
        case warning = 30
        case info = 40
    }

    /// A UUID in its lowercase 36-character form.
    public var id: String
    public var timestamp: Int64
    public var severity: Severity
    public var type: String?
    public var description: String?
    public var correlationID: String?
    /// A JSON object (possibly empty).
    public var details: JSONValue

    public init(
        id: String,
        timestamp: Int64,
        severity: Severity,
        type: String? = nil,
        description: String? = nil,
        correlationID: String? = nil,
        details: JSONValue = .object([])
    ) {
        self.id = id
        self.timestamp = timestamp
        self.severity = severity
        self.type = type
        self.description = description
        self.correlationID = correlationID
        self.details = details
    }
}

/// What one accepted ingest request adds to the journal: one frame.
public enum JournalContent: Equatable, Sendable {
    /// Entries in request order; records are their values, counted in order.
    case timeseries([TimeseriesEntry])
    /// One record.
    case event(EventRecord)

    public var recordCount: Int {
        switch self {
        case .timeseries(let entries): entries.reduce(0) { $0 + $1.values.count }
        case .event: 1
        }
    }
}
