import JSON
import Relay

/// The journal's compact record form (docs/relay.md §3). Two checks per input: the bytes
/// themselves decoded (never a trap, and what decodes encodes to a canonical form that decodes to
/// the same content and is no longer, events' details aside), and content built from the bytes
/// encoded then decoded (the same content back).
func fuzzCodec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkDecode(bytes)
    var input = Input(bytes: bytes[...])
    checkRoundTrip(input.content())
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

func checkDecode(_ bytes: [UInt8]) {
    guard let content = try? RecordCodec.decode(bytes) else { return }
    // A value takes at least two bytes; an event is one record.
    require(content.recordCount <= max(1, bytes.count / 2), "\(content.recordCount) records from \(bytes.count) bytes")
    let canonical = RecordCodec.encode(content)
    if case .timeseries = content {
        require(canonical.count <= bytes.count, "re-encoding grows \(bytes) to \(canonical)")
    }
    do {
        let again = try RecordCodec.decode(canonical)
        require(sameContent(again, content), "\(bytes) decodes to \(content), re-encoded to \(again)")
        require(RecordCodec.encode(again) == canonical, "the canonical form of \(bytes) is not stable")
    } catch {
        require(false, "\(bytes) decodes to \(content), whose encoding \(canonical) does not decode: \(error)")
    }
}

func checkRoundTrip(_ content: JournalContent) {
    let encoded = RecordCodec.encode(content)
    do {
        let decoded = try RecordCodec.decode(encoded)
        require(sameContent(decoded, content), "\(content) comes back as \(decoded)")
    } catch {
        require(false, "\(content) encodes to \(encoded), which does not decode: \(error)")
    }
}

/// Equality with doubles compared by bit pattern (a stored NaN is the same NaN).
func sameContent(_ a: JournalContent, _ b: JournalContent) -> Bool {
    switch (a, b) {
    case (.event(let x), .event(let y)): return x == y
    case (.timeseries(let x), .timeseries(let y)):
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) {
            guard p.configurationID == q.configurationID, p.timestamp == q.timestamp, p.values.count == q.values.count
            else { return false }
            for (v, w) in zip(p.values, q.values) {
                guard v.dataPointID == w.dataPointID, v.qualityCode == w.qualityCode else { return false }
                switch (v.value, w.value) {
                case (.double(let m), .double(let n)): if m.bitPattern != n.bitPattern { return false }
                default: if v.value != w.value { return false }
                }
            }
        }
        return true
    default: return false
    }
}

/// Content drawn from the fuzz input; reads past the end give zeroes.
struct Input {
    var bytes: ArraySlice<UInt8>

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T {
        var value: T = 0
        for index in 0..<(T.bitWidth / 8) { value |= T(truncatingIfNeeded: byte()) << (8 * index) }
        return value
    }

    mutating func text() -> String {
        let choice = byte()
        switch choice % 8 {
        case 0: return ""
        case 1: return "cfg-1"
        case 2: return "dp-temp"
        case 3: return Timestamps.exchangeForm(timestamp())
        default:
            let count = Int(byte() % 48)
            let taken = bytes.prefix(count)
            bytes = bytes.dropFirst(count)
            return String(decoding: taken, as: UTF8.self)
        }
    }

    /// Anything from year 0000 to 9999, often near the epoch.
    mutating func timestamp() -> Int64 {
        let raw = integer(Int64.self)
        let span = Timestamps.latest - Timestamps.earliest + 1
        return byte() & 1 == 0 ? raw % 4_000_000_000_000 : Timestamps.earliest + (raw % span + span) % span
    }

    mutating func value() -> RecordValue {
        switch byte() % 7 {
        case 0: return .integer(integer(Int64.self))
        case 1: return .double(Double(bitPattern: integer(UInt64.self)))
        case 2: return .boolean(byte() & 1 == 1)
        case 3: return .text(Timestamps.exchangeForm(timestamp()))
        case 4:
            // Nearly the exchange's form: one byte changed.
            var form = Array(Timestamps.exchangeForm(timestamp()).utf8)
            form[Int(byte()) % form.count] = byte()
            return .text(String(decoding: form, as: UTF8.self))
        default: return .text(text())
        }
    }

    mutating func content() -> JournalContent {
        if byte() & 1 == 0 {
            var entries: [TimeseriesEntry] = []
            for _ in 0..<Int(byte() % 6) {
                var entry = TimeseriesEntry(configurationID: text(), timestamp: integer(Int64.self), values: [])
                for _ in 0..<Int(byte() % 6) {
                    let quality = byte() & 1 == 0 ? 0 : integer(UInt32.self)
                    entry.values.append(TimeseriesValue(dataPointID: text(), value: value(), qualityCode: quality))
                }
                entries.append(entry)
            }
            return .timeseries(entries)
        }
        let severity = EventRecord.Severity.allCases[Int(byte()) % 3]
        let flags = byte()
        var event = EventRecord(id: text(), timestamp: integer(Int64.self), severity: severity)
        if flags & 1 != 0 { event.type = text() }
        if flags & 2 != 0 { event.description = text() }
        if flags & 4 != 0 { event.correlationID = text() }
        if flags & 8 != 0, let details = try? JSONValue.parse(Array(bytes)), details.objectValue != nil {
            event.details = details
        }
        return .event(event)
    }
}
