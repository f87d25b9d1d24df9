import JSON
import Relay

/// The exchange request body (docs/protocol.md §14, docs/relay.md §4) for batches drawn from the
/// fuzz input: timeseries entries with any ids and values, events with any texts and details.
/// A strict multipart reader written here takes the body apart. Checks: the framing is exactly
/// MCL's (boundaries, headers, CRLF, the closing boundary last); no part holds a CR or an LF (so
/// none holds a delimiter); every meta and payload part is JSON; the items come in the order of their first unit,
/// one per configuration and one per event; each timeseries payload holds the merged values (the
/// later of two for one data point and timestamp), timestamps ascending; each event payload the
/// event; and the body is never larger than the batch's estimate.
func fuzzExchange(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = Input(bytes: Array(UnsafeBufferPointer(start: data, count: size))[...])
    var random = SplitMix(state: input.integer(UInt64.self))
    let batch = input.batch()
    guard !batch.units.isEmpty else { return 0 }
    var boundaries: [String] = []
    let (contentType, body) = ExchangeEncoder.encode(batch) {
        let boundary = ExchangeEncoder.randomBoundary { count in (0..<count).map { _ in random.byte() } }
        boundaries.append(boundary)
        return boundary
    }
    check(batch, contentType: contentType, body: body, boundaries: boundaries)
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

/// Boundaries as the encoder gets them in production: not chosen by whoever wrote the data.
struct SplitMix {
    var state: UInt64

    mutating func byte() -> UInt8 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }
}

struct Input {
    var bytes: ArraySlice<UInt8>

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T {
        var value: T = 0
        for index in 0..<(T.bitWidth / 8) { value |= T(truncatingIfNeeded: byte()) << (8 * index) }
        return value
    }

    /// Short texts from a few known ones (so that units share keys) or the input's bytes.
    mutating func text(_ known: [String]) -> String {
        let choice = Int(byte())
        if choice < 192 { return known[choice % known.count] }
        let count = Int(byte() % 40)
        defer { bytes = bytes.dropFirst(count) }
        return String(decoding: bytes.prefix(count), as: UTF8.self)
    }

    /// Years 0000 to 9999, mostly a few timestamps so that keys repeat.
    mutating func timestamp() -> Int64 {
        let choice = byte()
        if choice < 200 { return 1_796_294_700_000 + Int64(choice % 4) * 1000 }
        let span = Timestamps.latest - Timestamps.earliest + 1
        return Timestamps.earliest + (integer(Int64.self) % span + span) % span
    }

    mutating func value() -> RecordValue {
        switch byte() % 6 {
        case 0: return .integer(integer(Int64.self))
        case 1: return .double(Double(bitPattern: integer(UInt64.self)))
        case 2: return .double(Double(Int16(truncatingIfNeeded: integer(UInt16.self))) / 8)
        case 3: return .boolean(byte() & 1 == 1)
        case 4: return .text(Timestamps.exchangeForm(timestamp()))
        default: return .text(text(["", "OK", "--", "\r\n--", "\"\\\u{0}\u{7F}\u{2028}é😀"]))
        }
    }

    mutating func batch() -> Batch {
        var units: [BatchUnit] = []
        var sequence: UInt64 = 1
        for _ in 0..<Int(byte() % 12) {
            if byte() % 4 == 0 {
                var event = EventRecord(
                    id: text(["0f8fad5b-d9cb-469f-a165-70867728950e"]), timestamp: timestamp(),
                    severity: EventRecord.Severity.allCases[Int(byte()) % 3])
                let flags = byte()
                if flags & 1 != 0 { event.type = text(["ThresholdExceeded"]) }
                if flags & 2 != 0 { event.description = text(["Temperature above 80 °C"]) }
                if flags & 4 != 0 { event.correlationID = text(["c-42"]) }
                if flags & 8 != 0 {
                    let count = Int(byte() % 64)
                    if let details = try? JSONValue.parse(Array(bytes.prefix(count))), details.objectValue != nil {
                        event.details = details
                    }
                    bytes = bytes.dropFirst(count)
                }
                units.append(BatchUnit(sequence: sequence, event: event))
                sequence += 1
            } else {
                var entry = TimeseriesEntry(
                    configurationID: text(["cfg-1", "cfg-2"]), timestamp: timestamp(), values: [])
                for _ in 0...Int(byte() % 5) {
                    let quality = byte() & 1 == 0 ? 0 : integer(UInt32.self)
                    entry.values.append(
                        TimeseriesValue(
                            dataPointID: text(["dp-a", "dp-b", "dp-c"]), value: value(), qualityCode: quality))
                }
                units.append(BatchUnit(firstSequence: sequence, entry: entry))
                sequence += UInt64(entry.values.count)
            }
        }
        return Batch(units: units)
    }
}

// MARK: - A strict multipart reader

let crlf: [UInt8] = [13, 10]

struct Malformed: Error, CustomStringConvertible {
    var description: String
}

struct Part {
    var contentType: String
    var content: ArraySlice<UInt8>
}

/// `--B CRLF part (CRLF --B CRLF part)* CRLF --B--` and nothing after; each part one
/// `Content-Type` header line, an empty line and the content. Nil, with the reason, otherwise.
func parts(_ body: ArraySlice<UInt8>, boundary: String) -> Result<[Part], Malformed> {
    let open = Array("--\(boundary)".utf8)
    let delimiter = crlf + open
    guard body.starts(with: open + crlf) else {
        return .failure(Malformed(description: "does not open with --\(boundary)"))
    }
    var position = body.startIndex + open.count + 2
    var found: [Part] = []
    while true {
        guard let end = find(delimiter, in: body[position...]) else {
            return .failure(Malformed(description: "part \(found.count) does not end"))
        }
        let part = body[position..<end.lowerBound]
        let header = Array("Content-Type: ".utf8)
        guard part.starts(with: header), let headEnd = find(crlf + crlf, in: part) else {
            return .failure(Malformed(description: "part \(found.count) has no Content-Type line and empty line"))
        }
        let contentType = String(decoding: part[(part.startIndex + header.count)..<headEnd.lowerBound], as: UTF8.self)
        guard !contentType.utf8.contains(13), !contentType.utf8.contains(10) else {
            return .failure(Malformed(description: "part \(found.count) has more than one header"))
        }
        found.append(Part(contentType: contentType, content: part[headEnd.upperBound...]))
        position = end.upperBound
        let rest = body[position...]
        if rest.elementsEqual(Array("--".utf8)) { return .success(found) }
        guard rest.starts(with: crlf) else {
            return .failure(Malformed(description: "junk after the boundary of part \(found.count)"))
        }
        position += 2
    }
}

/// A plain search: the standard library's `firstRange(of:)` allocates at every step.
func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Range<Int>? {
    guard let head = needle.first, haystack.count >= needle.count else { return nil }
    var start = haystack.startIndex
    while start <= haystack.endIndex - needle.count {
        if haystack[start] == head, haystack[start..<start + needle.count].elementsEqual(needle) {
            return start..<start + needle.count
        }
        start += 1
    }
    return nil
}

func isBoundary(_ text: String) -> Bool {
    text.utf8.count == ExchangeEncoder.boundaryLength
        && text.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
}

func json(_ bytes: ArraySlice<UInt8>, _ what: String) -> JSONValue {
    do {
        return try JSONValue.parse(Array(bytes))
    } catch {
        fatalError("invariant violated: \(what) is not JSON (\(error)): \(String(decoding: bytes, as: UTF8.self))")
    }
}

// MARK: - What the body must say

enum Expected {
    case timeseries(configurationID: String, entries: [(timestamp: Int64, values: [TimeseriesValue])])
    case event(EventRecord)
}

/// The items the encoder must write: first-appearance order, one per configuration, entries by
/// timestamp, the later value of a data point replacing the earlier in its place.
func expectedItems(_ batch: Batch) -> [Expected] {
    var order: [Expected] = []
    var configurations: [String: Int] = [:]
    var merged: [String: [Int64: [TimeseriesValue]]] = [:]
    for unit in batch.units {
        switch unit.content {
        case .event(let event): order.append(.event(event))
        case .timeseries(let entry):
            if configurations[entry.configurationID] == nil {
                configurations[entry.configurationID] = order.count
                order.append(.timeseries(configurationID: entry.configurationID, entries: []))
            }
            var values = merged[entry.configurationID, default: [:]][entry.timestamp, default: []]
            for value in entry.values {
                if let index = values.firstIndex(where: { $0.dataPointID == value.dataPointID }) {
                    values[index] = value
                } else {
                    values.append(value)
                }
            }
            merged[entry.configurationID, default: [:]][entry.timestamp] = values
        }
    }
    return order.map { item in
        guard case .timeseries(let id, _) = item else { return item }
        let entries = (merged[id] ?? [:]).sorted { $0.key < $1.key }.map { (timestamp: $0.key, values: $0.value) }
        return .timeseries(configurationID: id, entries: entries)
    }
}

func text(of value: RecordValue) -> String {
    switch value {
    case .integer(let number): String(number)
    case .double(let number): number.description
    case .boolean(let flag): flag ? "true" : "false"
    case .text(let text): text
    }
}

func check(_ batch: Batch, contentType: String, body: [UInt8], boundaries: [String]) {
    require(boundaries.allSatisfy(isBoundary), "boundaries \(boundaries)")
    require(Set(boundaries).count == boundaries.count, "a boundary drawn twice: \(boundaries)")
    let main = boundaries[0]
    require(contentType == "multipart/mixed;boundary=\(main);charset=utf-8", "Content-Type \(contentType)")
    require(body.count <= batch.estimatedBytes, "body of \(body.count) bytes, estimated \(batch.estimatedBytes)")
    let shown = String(decoding: body.prefix(2000), as: UTF8.self).debugDescription
    let items: [Part]
    switch parts(body[...], boundary: main) {
    case .success(let found): items = found
    case .failure(let why): return require(false, "body: \(why): \(shown)")
    }
    let expected = expectedItems(batch)
    require(items.count == expected.count, "\(items.count) items, \(expected.count) expected: \(shown)")
    require(boundaries.count == items.count + 1, "\(boundaries.count) boundaries drawn for \(items.count) items")
    for (index, (item, want)) in zip(items, expected).enumerated() {
        let sub = boundaries[index + 1]
        require(item.contentType == "multipart/related;boundary=\(sub)", "item \(index): \(item.contentType)")
        let inner: [Part]
        switch parts(item.content, boundary: sub) {
        case .success(let found): inner = found
        case .failure(let why): return require(false, "item \(index): \(why): \(shown)")
        }
        require(inner.count == 2, "item \(index) has \(inner.count) parts")
        require(inner[0].contentType == "application/vnd.siemens.mindsphere.meta+json", "meta \(inner[0].contentType)")
        require(inner[1].contentType == "application/json", "payload \(inner[1].contentType)")
        // A part never holds a CR or LF, so a delimiter (CRLF--boundary) cannot occur inside one,
        // whatever the boundary. The bare boundary text can (the fuzzer copies compared bytes into
        // its inputs); a producer cannot, as the boundary is drawn after its data is stored.
        for part in inner {
            require(!part.content.contains(13) && !part.content.contains(10), "CR or LF in a part: \(shown)")
        }
        let meta = json(inner[0].content, "meta of item \(index)")
        let payload = json(inner[1].content, "payload of item \(index)")
        require(meta["type"]?.stringValue == "item" && meta["version"]?.stringValue == "1.0", "meta \(meta.serialized)")
        switch want {
        case .event(let event):
            require(meta["payload"]?["type"]?.stringValue == "businessEvent", "meta \(meta.serialized)")
            checkEvent(payload, event)
        case .timeseries(let configurationID, let entries):
            require(
                meta["payload"]?["type"]?.stringValue == "standardTimeSeries"
                    && meta["payload"]?["details"]?["configurationId"]?.stringValue == configurationID,
                "meta \(meta.serialized) for \(configurationID.debugDescription)")
            checkTimeseries(payload, entries)
        }
    }
}

func checkEvent(_ payload: JSONValue, _ event: EventRecord) {
    guard let array = payload.arrayValue, array.count == 1 else {
        return require(false, "event payload \(payload.serialized)")
    }
    let sent = array[0]
    require(sent["id"]?.stringValue == event.id, "id \(String(describing: sent["id"]))")
    require(sent["severity"]?.int64Value == Int64(event.severity.rawValue), "severity")
    require(sent["description"]?.stringValue == event.description, "description")
    require(sent["correlationId"]?.stringValue == event.correlationID, "correlationId")
    require(sent["type"]?.stringValue == (event.type ?? "MindSphereStandardEvent"), "type")
    require(sent["details"] == event.details, "details \(String(describing: sent["details"]?.serialized))")
    require(
        sent["timestamp"]?.stringValue.flatMap(Timestamps.parseExchangeForm) == event.timestamp,
        "timestamp \(String(describing: sent["timestamp"])) for \(event.timestamp)")
}

func checkTimeseries(_ payload: JSONValue, _ entries: [(timestamp: Int64, values: [TimeseriesValue])]) {
    guard let array = payload.arrayValue, array.count == entries.count else {
        return require(false, "timeseries payload \(payload.serialized), \(entries.count) entries expected")
    }
    for (sent, entry) in zip(array, entries) {
        let stamp = sent["timestamp"]?.stringValue ?? ""
        require(
            stamp.utf8.count == 24 && Timestamps.parseExchangeForm(stamp) == entry.timestamp,
            "timestamp \(stamp) for \(entry.timestamp)")
        guard let values = sent["values"]?.arrayValue, values.count == entry.values.count else {
            return require(false, "values \(sent.serialized) for \(entry.values)")
        }
        for (value, want) in zip(values, entry.values) {
            require(value["dataPointId"]?.stringValue == want.dataPointID, "dataPointId \(value.serialized)")
            require(value["value"]?.stringValue == text(of: want.value), "value \(value.serialized) for \(want.value)")
            require(value["qualityCode"]?.stringValue == String(want.qualityCode), "qualityCode \(value.serialized)")
        }
    }
}
