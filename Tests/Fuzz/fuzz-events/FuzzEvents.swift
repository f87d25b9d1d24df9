import JSON
import Relay

/// `POST /v1/events` bodies (docs/relay.md §1). Checks that an accepted event has a known
/// severity, a description under 256 UTF-16 code units, a timestamp inside the bounds and details
/// that are an object; that it is what JSONValue reads in the body; and that the journal's codec and
/// the exchange form carry it unchanged.
func fuzzEvents(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    let offsets: [Int64?] = [nil, -3_600_000, 86_400_000]
    let offset = offsets[size % offsets.count]
    let result = EventIngest.parse(
        body: body, now: now, serverClockOffset: offset, makeID: { "0f8fad5b-d9cb-469f-a165-70867728950e" })
    switch result {
    case .success(let event): checkAccepted(event, body, offset)
    case .failure(.records(let errors, let total)):
        require(!errors.isEmpty && errors.count <= IngestRejection.maximumReported, "\(errors.count) errors listed")
        require(total >= errors.count, "total \(total) below the \(errors.count) listed")
        require(errors.allSatisfy { $0.index == 0 && !$0.reason.isEmpty }, "errors \(errors)")
    case .failure(.notJSON(let line, let column, _)):
        require(line >= 1 && column >= 1, "not JSON at \(line):\(column)")
        require((try? JSONValue.parse(body)) == nil, "JSONValue reads a body refused as not JSON: \(show(body))")
    case .failure: break
    }
    return 0
}

let now: Int64 = 1_796_294_700_000  // 2026-12-03T10:45:00.000Z

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

func show(_ body: [UInt8]) -> String { String(decoding: body.prefix(300), as: UTF8.self).debugDescription }

func checkAccepted(_ event: EventRecord, _ body: [UInt8], _ offset: Int64?) {
    require(
        [20, 30, 40].contains(event.severity.rawValue), "severity \(event.severity.rawValue): \(show(body))")
    if let description = event.description {
        require(
            description.utf16.count <= EventIngest.maximumDescriptionLength,
            "description of \(description.utf16.count) code units: \(show(body))")
    }
    let latest = now + (offset ?? 0) + TimeseriesIngest.defaultMaximumFuture
    require(
        event.timestamp >= Timestamps.earliest && event.timestamp <= min(latest, Timestamps.latest),
        "timestamp \(event.timestamp) outside the bounds: \(show(body))")
    require(event.details.objectValue != nil, "details not an object: \(show(body))")

    // What the producer sent, member by member.
    guard let root = try? JSONValue.parse(body) else { return require(false, "accepted, not JSON: \(show(body))") }
    require(root.objectValue != nil, "accepted a body that is not an object: \(show(body))")
    func same(_ name: String, _ value: String?) {
        let sent = root[name].flatMap { $0 == .null ? nil : $0.stringValue }
        require(sent == value, "\(name) \(String(describing: value)) where \(String(describing: sent)) was sent")
    }
    same("type", event.type)
    same("description", event.description)
    same("correlationId", event.correlationID)
    if let details = root["details"], details != .null {
        require(details == event.details, "details \(event.details.serialized) where \(details.serialized) was sent")
    }

    // The journal keeps it as it is.
    let stored = RecordCodec.encode(.event(event))
    do {
        let decoded = try RecordCodec.decode(stored)
        require(decoded == .event(event), "event \(event) comes back from the journal as \(decoded)")
    } catch {
        require(false, "an accepted event does not decode from its own journal form (\(error)): \(show(body))")
    }

    // And the exchange reads the same back: one businessEvent item, its payload JSON.
    let batch = Batch(units: [BatchUnit(sequence: 1, event: event)])
    let (_, encoded) = ExchangeEncoder.encode(batch) { "B0123456789abcdefghi" }
    require(encoded.count <= batch.estimatedBytes, "body of \(encoded.count) bytes over \(batch.estimatedBytes)")
    let text = String(decoding: encoded, as: UTF8.self)
    guard let start = text.firstRange(of: "application/json\r\n\r\n")?.upperBound,
        let end = text[start...].firstRange(of: "\r\n--B0123456789abcdefghi--")?.lowerBound,
        let payload = try? JSONValue.parse(String(text[start..<end])),
        let sent = payload.arrayValue?.first
    else {
        return require(false, "the event's exchange payload is not JSON: \(text.debugDescription)")
    }
    require(sent["id"]?.stringValue == event.id, "id")
    require(sent["severity"]?.int64Value == Int64(event.severity.rawValue), "severity")
    require(
        sent["description"]?.stringValue == event.description, "description \(String(describing: sent["description"]))")
    require(sent["correlationId"]?.stringValue == event.correlationID, "correlationId")
    require(sent["type"]?.stringValue == (event.type ?? "MindSphereStandardEvent"), "type")
    require(sent["details"] == event.details, "details \(String(describing: sent["details"]?.serialized))")
    require(
        sent["timestamp"]?.stringValue.flatMap(Timestamps.parseExchangeForm) == event.timestamp,
        "timestamp \(String(describing: sent["timestamp"])) for \(event.timestamp)")
}
