import Agent
import JSON
import Relay

/// `POST /v1/timeseries` bodies in both forms (docs/relay.md §1, §2). Checks that an accepted body
/// holds only values that fit their data points, timestamps inside the bounds, one value per data
/// point per timestamp and one record per value object; that the bulk form calls a body JSON exactly
/// when JSONValue does; and that a refusal lists at most the documented number of errors.
func fuzzIngest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    // The clock's offset varies with the input, so the max_future bound is crossed both ways.
    let offsets: [Int64?] = [nil, -3_600_000, 86_400_000]
    let offset = offsets[size % offsets.count]
    for format in [TimeseriesIngest.Format.json, .ndjson] {
        let result = TimeseriesIngest.parse(
            body: body, format: format, catalog: catalog, now: now, serverClockOffset: offset)
        switch result {
        case .success(let entries): checkAccepted(entries, body, format, offset)
        case .failure(let rejection): checkRejected(rejection, body)
        }
        if format == .json { checkAgreement(result, body) }
    }
    return 0
}

let now: Int64 = 1_796_294_700_000  // 2026-12-03T10:45:00.000Z

/// Every type, ids of derived length, a name with '/', and the ambiguous pair `a/b` + `c`, `a` + `b/c`.
let configuration = DataSourceConfiguration(
    configurationID: "cfg-1",
    dataSources: [
        DataSource(
            name: "Press",
            dataPoints: [
                DataPoint(id: "dp-temp", name: "Temperature", type: .double, unit: "°C"),
                DataPoint(id: "dp-count", name: "Count", type: .int, unit: ""),
                DataPoint(id: "dp-total", name: "Total", type: .long, unit: ""),
                DataPoint(id: "dp-run", name: "Running", type: .boolean, unit: ""),
                DataPoint(id: "dp-label", name: "Label", type: .string, unit: ""),
                DataPoint(id: "dp-log", name: "Log", type: .bigString, unit: ""),
                DataPoint(id: "dp-stamp", name: "Stamp", type: .timestamp, unit: ""),
                DataPoint(id: "dp-é", name: "Température", type: .double, unit: ""),
            ]),
        DataSource(
            name: "Line",
            dataPoints: (0..<3).map {
                DataPoint(id: "dp-" + String(repeating: String($0), count: 32), name: "P\($0)", type: .double, unit: "")
            }),
        DataSource(name: "a/b", dataPoints: [DataPoint(id: "x1", name: "c", type: .int, unit: "")]),
        DataSource(name: "a", dataPoints: [DataPoint(id: "x2", name: "b/c", type: .int, unit: "")]),
    ])
let catalog = DataPointCatalog(configuration)

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

func show(_ body: [UInt8]) -> String { String(decoding: body.prefix(300), as: UTF8.self).debugDescription }

func checkAccepted(_ entries: [TimeseriesEntry], _ body: [UInt8], _ format: TimeseriesIngest.Format, _ offset: Int64?) {
    require(!entries.isEmpty, "success without entries: \(show(body))")
    let latest = now + (offset ?? 0) + TimeseriesIngest.defaultMaximumFuture
    var timestamps = Set<Int64>()
    var records = 0
    for entry in entries {
        require(entry.configurationID == catalog.configurationID, "entry of \(entry.configurationID)")
        require(!entry.values.isEmpty, "an entry without values at \(entry.timestamp): \(show(body))")
        require(timestamps.insert(entry.timestamp).inserted, "two entries at \(entry.timestamp): \(show(body))")
        require(
            entry.timestamp >= Timestamps.earliest && entry.timestamp <= min(latest, Timestamps.latest),
            "timestamp \(entry.timestamp) outside the bounds: \(show(body))")
        var points = Set<String>()
        for value in entry.values {
            guard let point = catalog.point(id: value.dataPointID) else {
                return require(false, "value for unknown id \(value.dataPointID): \(show(body))")
            }
            require(points.insert(point.id).inserted, "two values for \(point.id) at \(entry.timestamp): \(show(body))")
            if let misfit = ValueRules.misfit(value.value, for: point.type) {
                require(false, "\(value.value) for \(point.type): \(misfit): \(show(body))")
            }
        }
        records += entry.values.count
    }
    // One record per value object: nothing dropped, nothing invented.
    switch format {
    case .json:
        guard let root = try? JSONValue.parse(body), let array = root.arrayValue else {
            return require(false, "bulk body accepted that JSONValue does not read as an array: \(show(body))")
        }
        let objects = array.reduce(0) { $0 + ($1["values"]?.arrayValue?.count ?? 0) }
        require(objects == records, "\(objects) value objects, \(records) records: \(show(body))")
    case .ndjson:
        let text = body.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(body.dropFirst(3)) : body
        let lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).filter {
            $0.contains { !whitespace.contains($0) }
        }
        require(lines.count == records, "\(lines.count) lines, \(records) records: \(show(body))")
        for line in lines {
            require((try? JSONValue.parse(Array(line)))?.objectValue != nil, "line not an object: \(show(Array(line)))")
        }
    }
}

let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]

func checkRejected(_ rejection: IngestRejection, _ body: [UInt8]) {
    switch rejection {
    case .records(let errors, let total):
        require(!errors.isEmpty && errors.count <= IngestRejection.maximumReported, "\(errors.count) errors listed")
        require(total >= errors.count, "total \(total) below the \(errors.count) listed")
        for error in errors {
            require(!error.reason.isEmpty, "an error without a reason: \(show(body))")
            require(error.index >= 0 && (error.valueIndex ?? 0) >= 0, "negative index \(error.location)")
        }
        // The answer must itself be JSON (it is the 400's body).
        require((try? JSONValue.parse(rejection.responseJSON.serialized)) != nil, "400 body is not JSON")
    case .notJSON(let line, let column, _):
        require(line >= 1 && column >= 1, "not JSON at \(line):\(column)")
    case .empty, .notUTF8, .wrongShape: break
    }
}

/// The request reader and JSONValue share a grammar: the bulk form is "not JSON" exactly when
/// JSONValue refuses the body (a number beyond Double is JSONValue's refusal alone).
func checkAgreement(_ result: Result<[TimeseriesEntry], IngestRejection>, _ body: [UInt8]) {
    let isUTF8 = String(validating: body, as: UTF8.self) != nil
    if case .failure(.notUTF8) = result {
        return require(!isUTF8, "valid UTF-8 refused as not UTF-8: \(show(body))")
    }
    guard isUTF8 else { return require(false, "invalid UTF-8 not refused: \(show(body))") }
    if case .failure(.empty) = result, !body.contains(where: { $0 > 0x20 && $0 != 0xEF && $0 != 0xBB && $0 != 0xBF }) {
        return
    }
    var notJSON = false
    if case .failure(.notJSON) = result { notJSON = true }
    do {
        _ = try JSONValue.parse(body)
        require(!notJSON, "rejected as not JSON, but JSONValue reads it: \(show(body))")
    } catch {
        require(
            notJSON || error.message.contains("out of range"),
            "JSONValue refuses (\(error)), the reader does not (\(result)): \(show(body))")
    }
}
