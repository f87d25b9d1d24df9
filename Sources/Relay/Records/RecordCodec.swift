import JSON

/// Why stored bytes are not journal content. Offsets count from the payload's start.
public enum RecordCodecError: Error, Equatable, Sendable {
    /// The bytes end inside a field.
    case truncated(at: Int)
    case unknownKind(UInt8)
    case unknownValueTag(UInt8, at: Int)
    /// A varint longer than 10 bytes or beyond 64 bits.
    case badVarint(at: Int)
    /// A count larger than the remaining bytes could hold, or a string index outside the table.
    case badCount(at: Int)
    case invalidUTF8(at: Int)
    /// A field that decodes but cannot be a record's (a severity, a timestamp text, event details).
    case invalidField(at: Int)
    case trailingBytes(at: Int)
}

/// The journal's compact payload for one frame (docs/relay.md §3: store a compact form, not the
/// exchange's JSON). The journal adds its own frame header and checksum.
///
/// Layout (integers are LEB128 varints, signed ones zigzag-encoded first):
/// - byte 0: the kind and version: `0x54` timeseries v1, `0x45` event v1.
/// - timeseries: a string table (count, then length + UTF-8 each) holding every configurationId
///   and data point id once; the entry count; per entry its configurationId's table index, its
///   timestamp as the signed difference to the previous entry's (the first to 0), its value count;
///   per value the data point id's table index, a tag byte, the payload, and the quality code when
///   the tag's high bit says it is not 0.
/// - value tags: 0 integer (signed varint), 1 double (8 bytes, IEEE 754 little-endian), 2 false,
///   3 true, 4 text (length + UTF-8), 5 text that is a timestamp in the exchange's form, stored as
///   its milliseconds (signed varint).
/// - event: timestamp (signed varint), severity (one byte: 20, 30, 40), a flags byte (1 type,
///   2 description, 4 correlationId present), the id, the present texts in that order, then the
///   details as compact JSON; each text as length + UTF-8.
///
/// A DOUBLE value costs 10 bytes plus its entry's share (a few bytes per timestamp).
/// `decode` checks every length and count against the bytes that remain, so corrupt input throws
/// instead of trapping or allocating without bound.
public enum RecordCodec {
    static let timeseriesKind: UInt8 = 0x54
    static let eventKind: UInt8 = 0x45
    static let qualityFlag: UInt8 = 0x80

    enum Tag: UInt8 {
        case integer = 0
        case double = 1
        case `false` = 2
        case `true` = 3
        case text = 4
        case timestampText = 5
    }

    public static func encode(_ content: JournalContent) -> [UInt8] {
        var writer = Writer()
        switch content {
        case .timeseries(let entries): writer.timeseries(entries)
        case .event(let event): writer.event(event)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(RecordCodecError) -> JournalContent {
        var reader = Reader(bytes: bytes)
        let kind = try reader.byte()
        let content: JournalContent
        switch kind {
        case timeseriesKind: content = .timeseries(try reader.timeseries())
        case eventKind: content = .event(try reader.event())
        default: throw .unknownKind(kind)
        }
        guard reader.index == bytes.count else { throw .trailingBytes(at: reader.index) }
        return content
    }

    private struct Writer {
        var bytes: [UInt8] = []

        mutating func varint(_ value: UInt64) {
            var rest = value
            while rest >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
                rest >>= 7
            }
            bytes.append(UInt8(rest))
        }

        mutating func signed(_ value: Int64) {
            varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
        }

        mutating func text(_ text: String) {
            var text = text
            text.withUTF8 { utf8 in
                varint(UInt64(utf8.count))
                bytes.append(contentsOf: utf8)
            }
        }

        mutating func timeseries(_ entries: [TimeseriesEntry]) {
            var table: [String: Int] = [:]
            var strings: [String] = []
            func intern(_ text: String) {
                if table[text] == nil {
                    table[text] = strings.count
                    strings.append(text)
                }
            }
            var valueCount = 0
            for entry in entries {
                intern(entry.configurationID)
                for value in entry.values { intern(value.dataPointID) }
                valueCount += entry.values.count
            }
            bytes.reserveCapacity(1 + strings.count * 40 + entries.count * 8 + valueCount * 11)
            bytes.append(RecordCodec.timeseriesKind)
            varint(UInt64(strings.count))
            for text in strings { self.text(text) }
            varint(UInt64(entries.count))
            var previous: Int64 = 0
            for entry in entries {
                varint(UInt64(table[entry.configurationID] ?? 0))
                signed(entry.timestamp &- previous)
                previous = entry.timestamp
                varint(UInt64(entry.values.count))
                for value in entry.values {
                    varint(UInt64(table[value.dataPointID] ?? 0))
                    let quality = value.qualityCode == 0 ? 0 : RecordCodec.qualityFlag
                    switch value.value {
                    case .integer(let number):
                        bytes.append(Tag.integer.rawValue | quality)
                        signed(number)
                    case .double(let number):
                        bytes.append(Tag.double.rawValue | quality)
                        withUnsafeBytes(of: number.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
                    case .boolean(let flag):
                        bytes.append((flag ? Tag.true : Tag.false).rawValue | quality)
                    case .text(let text):
                        if let milliseconds = Timestamps.parseExchangeForm(text),
                            Timestamps.exchangeForm(milliseconds) == text
                        {
                            bytes.append(Tag.timestampText.rawValue | quality)
                            signed(milliseconds)
                        } else {
                            bytes.append(Tag.text.rawValue | quality)
                            self.text(text)
                        }
                    }
                    if value.qualityCode != 0 { varint(UInt64(value.qualityCode)) }
                }
            }
        }

        mutating func event(_ event: EventRecord) {
            bytes.append(RecordCodec.eventKind)
            signed(event.timestamp)
            bytes.append(UInt8(event.severity.rawValue))
            var flags: UInt8 = 0
            if event.type != nil { flags |= 1 }
            if event.description != nil { flags |= 2 }
            if event.correlationID != nil { flags |= 4 }
            bytes.append(flags)
            text(event.id)
            if let type = event.type { text(type) }
            if let description = event.description { text(description) }
            if let correlationID = event.correlationID { text(correlationID) }
            text(event.details.serialized)
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var remaining: Int { bytes.count - index }

        mutating func byte() throws(RecordCodecError) -> UInt8 {
            guard index < bytes.count else { throw .truncated(at: index) }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func varint() throws(RecordCodecError) -> UInt64 {
            let start = index
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = try byte()
                // The tenth byte may carry only the 64th bit.
                if shift == 63, byte > 1 { throw .badVarint(at: start) }
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
                if shift > 63 { throw .badVarint(at: start) }
            }
        }

        mutating func signed() throws(RecordCodecError) -> Int64 {
            let raw = try varint()
            return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
        }

        /// A count of items that take at least `minimumSize` bytes each: never more than the rest can hold.
        mutating func count(minimumSize: Int) throws(RecordCodecError) -> Int {
            let start = index
            let value = try varint()
            guard value <= UInt64(remaining / minimumSize) else { throw .badCount(at: start) }
            return Int(value)
        }

        mutating func text() throws(RecordCodecError) -> String {
            let start = index
            let length = try varint()
            guard length <= UInt64(remaining) else { throw .truncated(at: start) }
            let range = index..<index + Int(length)
            index = range.upperBound
            guard let text = String(validating: bytes[range], as: UTF8.self) else { throw .invalidUTF8(at: start) }
            return text
        }

        mutating func timeseries() throws(RecordCodecError) -> [TimeseriesEntry] {
            let stringCount = try count(minimumSize: 1)
            var strings: [String] = []
            strings.reserveCapacity(stringCount)
            for _ in 0..<stringCount { strings.append(try text()) }
            func string(_ reader: inout Reader) throws(RecordCodecError) -> String {
                let start = reader.index
                let position = try reader.varint()
                guard position < UInt64(strings.count) else { throw .badCount(at: start) }
                return strings[Int(position)]
            }
            // An entry takes at least 3 bytes, a value 2.
            let entryCount = try count(minimumSize: 3)
            var entries: [TimeseriesEntry] = []
            entries.reserveCapacity(entryCount)
            var previous: Int64 = 0
            for _ in 0..<entryCount {
                let configurationID = try string(&self)
                let timestamp = previous &+ (try signed())
                previous = timestamp
                let valueCount = try count(minimumSize: 2)
                var values: [TimeseriesValue] = []
                values.reserveCapacity(valueCount)
                for _ in 0..<valueCount {
                    let dataPointID = try string(&self)
                    let tagAt = index
                    let tagByte = try byte()
                    guard let tag = Tag(rawValue: tagByte & ~RecordCodec.qualityFlag) else {
                        throw .unknownValueTag(tagByte, at: tagAt)
                    }
                    let value: RecordValue
                    switch tag {
                    case .integer: value = .integer(try signed())
                    case .double:
                        guard remaining >= 8 else { throw .truncated(at: index) }
                        var pattern: UInt64 = 0
                        for shift in 0..<8 { pattern |= UInt64(bytes[index + shift]) << (8 * UInt64(shift)) }
                        index += 8
                        value = .double(Double(bitPattern: pattern))
                    case .false: value = .boolean(false)
                    case .true: value = .boolean(true)
                    case .text: value = .text(try text())
                    case .timestampText:
                        let at = index
                        let milliseconds = try signed()
                        guard (Timestamps.earliest...Timestamps.latest).contains(milliseconds) else {
                            throw .invalidField(at: at)
                        }
                        value = .text(Timestamps.exchangeForm(milliseconds))
                    }
                    var quality: UInt32 = 0
                    if tagByte & RecordCodec.qualityFlag != 0 {
                        let at = index
                        guard let code = UInt32(exactly: try varint()) else { throw .invalidField(at: at) }
                        quality = code
                    }
                    values.append(TimeseriesValue(dataPointID: dataPointID, value: value, qualityCode: quality))
                }
                entries.append(TimeseriesEntry(configurationID: configurationID, timestamp: timestamp, values: values))
            }
            return entries
        }

        mutating func event() throws(RecordCodecError) -> EventRecord {
            let timestamp = try signed()
            let severityAt = index
            guard let severity = EventRecord.Severity(rawValue: Int(try byte())) else {
                throw .invalidField(at: severityAt)
            }
            let flagsAt = index
            let flags = try byte()
            guard flags & ~7 == 0 else { throw .invalidField(at: flagsAt) }
            let id = try text()
            let type = flags & 1 != 0 ? try text() : nil
            let description = flags & 2 != 0 ? try text() : nil
            let correlationID = flags & 4 != 0 ? try text() : nil
            let detailsAt = index
            let detailsText = try text()
            guard let details = try? JSONValue.parse(detailsText), details.objectValue != nil else {
                throw .invalidField(at: detailsAt)
            }
            return EventRecord(
                id: id, timestamp: timestamp, severity: severity, type: type, description: description,
                correlationID: correlationID, details: details)
        }
    }
}
