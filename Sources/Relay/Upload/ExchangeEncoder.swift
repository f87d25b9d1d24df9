public import Crypto
import JSON

/// The body of one exchange request in MCL's framing (docs/protocol.md §14): CRLF line ends,
/// 20-character random boundaries, a `multipart/related` per item with its meta part and its
/// payload part, and the closing boundary without a final CRLF.
///
/// Items, in the order of their first unit in the batch (docs/relay.md §4):
/// - one `standardTimeSeries` 1.0 item per configurationId, its payload ordered by timestamp with
///   all values of one timestamp in one entry. Units of the same key are merged; when a data point
///   appears twice at one timestamp the later record's value is sent, in the place where the data
///   point first appeared. Every field is a string: a timestamp in exactly 24 characters, an
///   integer in decimal, a double in Swift's shortest round-trip form (`2.5`, `3.0`, `1e-05`,
///   `1e+16`: a JSON number, which the service parses; never `nan` or `inf`, ingest takes finite
///   values only), a boolean as `true`/`false`, text as is, a quality code in decimal.
/// - one `businessEvent` item per event, version 2.0 (severity 20/30/40), its meta without details
///   as MCL writes it, its payload an array with the one event. The event's own `type` is sent
///   when the producer gave one, else `MindSphereStandardEvent`; its `version` is `1.0`.
///
/// The boundary generator is called for the main boundary first, then once per item.
public enum ExchangeEncoder {
    /// Boundaries are 20 characters of `[0-9A-Za-z]` (docs/protocol.md §14); the size estimate
    /// counts on it.
    public static let boundaryLength = 20

    public static func encode(_ batch: Batch, boundary: () -> String) -> (contentType: String, body: [UInt8]) {
        let main = boundary()
        var body: [UInt8] = []
        body.reserveCapacity(batch.estimatedBytes)
        for item in items(of: batch) {
            switch item {
            case .timeseries(let configurationID, let entries):
                let sub = boundary()
                appendItemHead(meta: timeseriesMeta(configurationID: configurationID), main: main, sub: sub, to: &body)
                appendTimeseriesPayload(entries, to: &body)
                appendItemTail(sub: sub, to: &body)
            case .event(let event):
                appendItem(meta: eventMeta, payload: eventPayload(event), main: main, sub: boundary(), to: &body)
            }
        }
        body += Array("--\(main)--".utf8)
        return ("multipart/mixed;boundary=\(main);charset=utf-8", body)
    }

    /// A boundary of `boundaryLength` characters `[0-9A-Za-z]`, drawn without bias from
    /// `randomBytes(n)`, which returns n random bytes.
    public static func randomBoundary(_ randomBytes: (Int) -> [UInt8]) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".unicodeScalars)
        var out = String.UnicodeScalarView()
        while out.count < boundaryLength {
            // 248 = 4 · 62: bytes at or above it would favour the first characters.
            for byte in randomBytes(boundaryLength) where byte < 248 && out.count < boundaryLength {
                out.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return String(out)
    }

    /// A fresh Correlation-ID: 32 lowercase hex digits from 16 random bytes (docs/protocol.md §14).
    public static func correlationID(_ randomBytes: (Int) -> [UInt8]) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var out = String.UnicodeScalarView()
        for byte in randomBytes(16).prefix(16) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(out)
    }

    /// `randomBoundary` from OpenSSL's CSPRNG.
    public static func secureBoundary() throws(CryptoError) -> String {
        var failure: CryptoError?
        let boundary = randomBoundary { count in
            do throws(CryptoError) {
                return try SecureRandom.bytes(count)
            } catch {
                failure = error
                return [UInt8](repeating: 0, count: count)
            }
        }
        if let failure { throw failure }
        return boundary
    }

    /// `correlationID` from OpenSSL's CSPRNG.
    public static func secureCorrelationID() throws(CryptoError) -> String {
        let bytes = try SecureRandom.bytes(16)
        return correlationID { _ in bytes }
    }

    // MARK: - Items

    private enum Item {
        case timeseries(configurationID: String, entries: [MergedEntry])
        case event(EventRecord)
    }

    /// All values of one timestamp under one configuration, duplicates resolved.
    private struct MergedEntry {
        var timestamp: Int64
        var values: [TimeseriesValue]
        var indexByDataPoint: [String: Int]
    }

    private static func items(of batch: Batch) -> [Item] {
        // Item order: first appearance. Events are items of their own; timeseries collect per configuration.
        enum Slot {
            case configuration(String)
            case event(EventRecord)
        }
        var slots: [Slot] = []
        var entriesByConfiguration: [String: [Int64: MergedEntry]] = [:]
        for unit in batch.units {
            switch unit.content {
            case .event(let event): slots.append(.event(event))
            case .timeseries(let entry):
                if entriesByConfiguration[entry.configurationID] == nil {
                    slots.append(.configuration(entry.configurationID))
                    entriesByConfiguration[entry.configurationID] = [:]
                }
                var merged =
                    entriesByConfiguration[entry.configurationID]![entry.timestamp]
                    ?? MergedEntry(timestamp: entry.timestamp, values: [], indexByDataPoint: [:])
                for value in entry.values {
                    if let index = merged.indexByDataPoint[value.dataPointID] {
                        merged.values[index] = value
                    } else {
                        merged.indexByDataPoint[value.dataPointID] = merged.values.count
                        merged.values.append(value)
                    }
                }
                entriesByConfiguration[entry.configurationID]![entry.timestamp] = merged
            }
        }
        return slots.map { slot in
            switch slot {
            case .event(let event): .event(event)
            case .configuration(let id):
                .timeseries(
                    configurationID: id,
                    entries: (entriesByConfiguration[id] ?? [:]).values.sorted { $0.timestamp < $1.timestamp })
            }
        }
    }

    // MARK: - Framing

    private static let metaContentType = "application/vnd.siemens.mindsphere.meta+json"
    private static let payloadContentType = "application/json"

    private static func appendItem(meta: String, payload: String, main: String, sub: String, to body: inout [UInt8]) {
        appendItemHead(meta: meta, main: main, sub: sub, to: &body)
        body += Array(payload.utf8)
        appendItemTail(sub: sub, to: &body)
    }

    /// The item's framing and meta part, up to where its payload starts.
    private static func appendItemHead(meta: String, main: String, sub: String, to body: inout [UInt8]) {
        var part = "--\(main)\r\nContent-Type: multipart/related;boundary=\(sub)\r\n\r\n"
        part += "--\(sub)\r\nContent-Type: \(metaContentType)\r\n\r\n"
        body += Array(part.utf8)
        body += Array(meta.utf8)
        body += Array("\r\n--\(sub)\r\nContent-Type: \(payloadContentType)\r\n\r\n".utf8)
    }

    private static func appendItemTail(sub: String, to body: inout [UInt8]) {
        body += Array("\r\n--\(sub)--\r\n".utf8)
    }

    private static func timeseriesMeta(configurationID: String) -> String {
        "{\"type\":\"item\",\"version\":\"1.0\",\"payload\":{\"type\":\"standardTimeSeries\",\"version\":\"1.0\","
            + "\"details\":{\"configurationId\":\(JSONValue.quoted(configurationID))}}}"
    }

    private static let eventMeta =
        "{\"type\":\"item\",\"version\":\"1.0\",\"payload\":{\"type\":\"businessEvent\",\"version\":\"2.0\"}}"

    // The timeseries payload is written straight into the body, byte by byte: it holds nearly all
    // of a batch, and building it as Strings cost more than everything else the upload does.
    private static let entryOpen = Array("{\"timestamp\":\"".utf8)
    private static let entryValues = Array("\",\"values\":[".utf8)
    private static let entryClose = Array("]}".utf8)
    private static let valueOpen = Array("{\"dataPointId\":".utf8)
    private static let valueValue = Array(",\"value\":".utf8)
    private static let valueQuality = Array(",\"qualityCode\":\"".utf8)
    private static let valueClose = Array("\"}".utf8)

    private static func appendTimeseriesPayload(_ entries: [MergedEntry], to body: inout [UInt8]) {
        body.append(0x5B)  // [
        for (index, entry) in entries.enumerated() {
            if index > 0 { body.append(0x2C) }
            appendEntry(timestamp: entry.timestamp, values: entry.values, to: &body)
        }
        body.append(0x5D)  // ]
    }

    private static func appendEntry(timestamp: Int64, values: [TimeseriesValue], to body: inout [UInt8]) {
        body += entryOpen
        body += Array(ExchangeTimestamp.format(milliseconds: timestamp).utf8)
        body += entryValues
        for (index, value) in values.enumerated() {
            if index > 0 { body.append(0x2C) }
            body += valueOpen
            JSONValue.appendQuoted(value.dataPointID, to: &body)
            body += valueValue
            JSONValue.appendQuoted(text(of: value.value), to: &body)
            body += valueQuality
            appendDecimal(UInt64(value.qualityCode), to: &body)
            body += valueClose
        }
        body += entryClose
    }

    private static func appendDecimal(_ number: UInt64, to body: inout [UInt8]) {
        var digits: [UInt8] = []
        var rest = number
        repeat {
            digits.append(0x30 + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        body += digits.reversed()
    }

    private static func decimalLength(_ number: UInt64) -> Int {
        var length = 1
        var rest = number / 10
        while rest > 0 {
            length += 1
            rest /= 10
        }
        return length
    }

    /// The length of `text(of:)` quoted, without building it where the value's kind allows.
    private static func quotedValueLength(_ value: RecordValue) -> Int {
        switch value {
        case .integer(let number):
            2 + (number < 0 ? 1 + decimalLength(number.magnitude) : decimalLength(UInt64(number)))
        case .boolean(let flag): flag ? 6 : 7
        case .double, .text: JSONValue.quotedLength(text(of: value))
        }
    }

    static func text(of value: RecordValue) -> String {
        switch value {
        case .integer(let number): String(number)
        case .double(let number): number.description
        case .boolean(let flag): flag ? "true" : "false"
        case .text(let text): text
        }
    }

    private static func eventPayload(_ event: EventRecord) -> String {
        var members = "{\"id\":\(JSONValue.quoted(event.id))"
        if let correlationID = event.correlationID {
            members += ",\"correlationId\":\(JSONValue.quoted(correlationID))"
        }
        members += ",\"timestamp\":\"\(ExchangeTimestamp.format(milliseconds: event.timestamp))\""
        members += ",\"severity\":\(event.severity.rawValue)"
        if let description = event.description { members += ",\"description\":\(JSONValue.quoted(description))" }
        members += ",\"type\":\(JSONValue.quoted(event.type ?? "MindSphereStandardEvent"))"
        members += ",\"version\":\"1.0\",\"details\":\(event.details.serialized)}"
        return "[" + members + "]"
    }

    // MARK: - Size (what `Batch.estimatedBytes` adds up)

    /// `--<main>--`.
    static let closingBytes = 2 + boundaryLength + 2

    /// The framing of one item around its meta and payload.
    private static let itemFramingBytes: Int = {
        var body: [UInt8] = []
        let boundary = String(repeating: "0", count: boundaryLength)
        appendItem(meta: "", payload: "", main: boundary, sub: boundary, to: &body)
        return body.count
    }()

    /// A timeseries item without its entries: framing, meta, and `[]` less the one separator that
    /// `unitBytes` counts too many.
    static func timeseriesItemBytes(configurationID: String) -> Int {
        itemFramingBytes + timeseriesMeta(configurationID: configurationID).utf8.count + 2 - 1
    }

    /// One entry and its separator: exact for an entry that is not merged with another. Counted,
    /// not written: it is asked for every entry ingested (the flush decision) and batched.
    static func unitBytes(_ entry: TimeseriesEntry) -> Int {
        var bytes = entryOpen.count + 24 + entryValues.count + entryClose.count + 1
        for value in entry.values {
            bytes += valueOpen.count + JSONValue.quotedLength(value.dataPointID) + valueValue.count
            bytes += quotedValueLength(value.value) + valueQuality.count
            bytes += decimalLength(UInt64(value.qualityCode)) + valueClose.count
        }
        return bytes + max(0, entry.values.count - 1)
    }

    /// A whole event item.
    static func eventItemBytes(_ event: EventRecord) -> Int {
        itemFramingBytes + eventMeta.utf8.count + eventPayload(event).utf8.count
    }
}

/// Exchange timestamps: `YYYY-MM-DDTHH:mm:ss.SSSZ`, exactly 24 characters, UTC (docs/protocol.md
/// §14: MCL requires the length): the one formatter of the ingest side, `Timestamps.exchangeForm`.
enum ExchangeTimestamp {
    static func format(milliseconds: Int64) -> String {
        Timestamps.exchangeForm(milliseconds)
    }
}
