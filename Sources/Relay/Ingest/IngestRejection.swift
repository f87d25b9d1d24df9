public import JSON

/// One record that fails validation (docs/relay.md §1: `400 {"errors":[{"index","field","reason"}]}`).
///
/// Indexes count from 0. In NDJSON `index` is the line's index in the body (blank lines count, so
/// it is the line number − 1). In the bulk form `index` is the entry's index in the top-level array
/// and `valueIndex` the value's index in that entry's `values`; `location` writes them as `3` for
/// the entry (its timestamp, its shape) and `3.values[1]` for a value.
public struct RecordError: Equatable, Sendable {
    public var index: Int
    public var valueIndex: Int?
    /// The member at fault (`dataPointId`, `value`, `timestamp`, `qualityCode`, `values`, …), or ""
    /// when the record as a whole is (not an object, not JSON).
    public var field: String
    /// What is wrong and what to send instead; producer text in it is sanitized and shortened.
    public var reason: String

    public init(index: Int, valueIndex: Int? = nil, field: String, reason: String) {
        self.index = index
        self.valueIndex = valueIndex
        self.field = field
        self.reason = reason
    }

    public var location: String {
        if let valueIndex { "\(index).values[\(valueIndex)]" } else { "\(index)" }
    }

    /// `{"index","field","reason"}`; `index` a number for a line or entry, text for a bulk value.
    public var json: JSONValue {
        let index: JSONValue = valueIndex == nil ? .number(Double(self.index)) : .string(location)
        return .object([("index", index), ("field", .string(field)), ("reason", .string(reason))])
    }
}

/// Why an ingest request stores nothing (requests are all or nothing, docs/relay.md §1).
public enum IngestRejection: Error, Equatable, Sendable {
    /// No content: an empty body, only whitespace, or an empty array.
    case empty
    case notUTF8
    /// The bulk form or an event is not JSON; 1-based line and byte column.
    case notJSON(line: Int, column: Int, message: String)
    /// JSON, but not the shape the endpoint takes; the text says which.
    case wrongShape(String)
    /// Records that fail validation: at most `maximumReported`, in body order, and how many there are.
    case records([RecordError], total: Int)

    /// Enough for a producer to find its mistakes; the rest are counted.
    public static let maximumReported = 100

    public var reason: String {
        switch self {
        case .empty: "the body holds no records"
        case .notUTF8: "the body is not valid UTF-8"
        case .notJSON(let line, let column, let message): "the body is not JSON: \(line):\(column): \(message)"
        case .wrongShape(let what): what
        case .records(let errors, let total):
            "\(total) record\(total == 1 ? "" : "s") failed validation"
                + (errors.count < total ? " (the first \(errors.count) are listed)" : "")
        }
    }

    /// The 400 answer's body: `{"errors":[…]}` plus `total` and, for a body-level fault, `reason`
    /// (docs/relay.md §1).
    public var responseJSON: JSONValue {
        switch self {
        case .records(let errors, let total):
            return .object([("errors", .array(errors.map(\.json))), ("total", .number(Double(total)))])
        default:
            let error = JSONValue.object([("index", .null), ("field", .string("")), ("reason", .string(reason))])
            return .object([("errors", .array([error])), ("total", .number(1))])
        }
    }
}

/// Collects record errors up to the cap, counting the rest.
struct RecordErrors {
    private(set) var list: [RecordError] = []
    private(set) var total = 0

    var isEmpty: Bool { total == 0 }

    mutating func add(_ index: Int, _ valueIndex: Int?, _ field: String, _ reason: String) {
        total += 1
        if list.count < IngestRejection.maximumReported {
            list.append(RecordError(index: index, valueIndex: valueIndex, field: field, reason: reason))
        }
    }

    var rejection: IngestRejection { .records(list, total: total) }
}
