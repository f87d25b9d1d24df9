import Platform

/// `POST /v1/timeseries` (docs/relay.md §1, §2): a request body to the entries it stores, or every
/// reason it stores nothing.
public enum TimeseriesIngest {
    public enum Format: Sendable {
        /// `[{"timestamp":"…","values":[{"dataPointId":"…","value":…,"qualityCode":"0"}]}]`, the
        /// Node SDK's and Node-RED's form.
        case json
        /// `application/x-ndjson`: one `{"dataPointId","value","timestamp"?,"qualityCode"?}` per line.
        case ndjson

        /// From a `Content-Type` header: `application/x-ndjson` or `application/ndjson` → NDJSON;
        /// `application/json` or no header → the bulk form; parameters (`; charset=utf-8`) and letter
        /// case ignored. Nil for any other media type: the caller decides whether to refuse it.
        public init?(contentType: String?) {
            guard let contentType else {
                self = .json
                return
            }
            let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .lowercased().filter { $0 != " " && $0 != "\t" }
            switch mediaType {
            case "application/x-ndjson", "application/ndjson": self = .ndjson
            case "application/json", "": self = .json
            default: return nil
            }
        }
    }

    /// docs/relay.md §2: `max_future` defaults to one day.
    public static let defaultMaximumFuture: Int64 = 86_400_000

    /// Validates a request against the configuration in force and groups its values by timestamp.
    ///
    /// - A data point is named by its id or `<data source name>/<data point name>`.
    /// - A missing timestamp is `now` (the gateway's clock); a timestamp may be at most `maxFuture`
    ///   ahead of southgate's clock, `now + serverClockOffset` (the gateway's clock alone when the
    ///   offset is unknown).
    /// - A missing `qualityCode` is 0; it is a decimal uint32, as a string or an integer.
    /// - Entries come out in the order their timestamps first appear, all values of one timestamp
    ///   in one entry (the bulk form's entries with equal timestamps merge); one value per data
    ///   point per timestamp, a second one is an error that names the first's index.
    /// - Members other than the documented ones are errors, so a misspelt `qualitycode` is not
    ///   silently dropped.
    public static func parse(
        body: [UInt8], format: Format, catalog: DataPointCatalog, now: Int64, serverClockOffset: Int64? = nil,
        maxFuture: Int64 = defaultMaximumFuture
    ) -> Result<[TimeseriesEntry], IngestRejection> {
        // A UTF-8 byte order mark from an editor is skipped, as JSONValue.parse does.
        let start = body.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        guard body[start...].contains(where: { !isWhitespace($0) }) else { return .failure(.empty) }
        guard RawJSON.isValidUTF8(body) else { return .failure(.notUTF8) }
        var reader = Reader(
            json: RawJSON(body), catalog: catalog, now: now,
            latest: now.addingSaturating(serverClockOffset ?? 0).addingSaturating(maxFuture))
        switch format {
        case .json:
            let root: RawJSON.Node
            do {
                root = try reader.json.parse(start..<body.count)
            } catch {
                let position = reader.json.position(of: error.offset)
                return .failure(.notJSON(line: position.line, column: position.column, message: error.message))
            }
            guard case .array(let entries) = root else {
                return .failure(
                    .wrongShape(
                        "the body must be an array of {\"timestamp\",\"values\":[…]} entries; "
                            + "for one value per line send Content-Type: application/x-ndjson"))
            }
            guard !entries.isEmpty else { return .failure(.empty) }
            for (index, entry) in entries.enumerated() { reader.entry(entry, index: index) }
        case .ndjson:
            var lineIndex = 0
            var start = start
            var any = false
            while start <= body.count {
                var end = start
                while end < body.count, body[end] != UInt8(ascii: "\n") { end += 1 }
                var contentEnd = end
                if contentEnd > start, body[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
                if body[start..<contentEnd].contains(where: { !isWhitespace($0) }) {
                    any = true
                    reader.line(start..<contentEnd, index: lineIndex)
                }
                lineIndex += 1
                start = end + 1
            }
            guard any else { return .failure(.empty) }
        }
        guard reader.errors.isEmpty else { return .failure(reader.errors.rejection) }
        // Entries whose `values` are all empty: nothing to store, like `[]`.
        guard !reader.entries.isEmpty else { return .failure(.empty) }
        return .success(reader.entries)
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// Where a value came from, for duplicate messages.
    private struct Origin {
        let index: Int
        let valueIndex: Int?
        var location: String {
            RecordError(index: index, valueIndex: valueIndex, field: "", reason: "").location
        }
    }

    private struct Reader {
        let json: RawJSON
        let catalog: DataPointCatalog
        let now: Int64
        let latest: Int64
        var errors = RecordErrors()
        var entries: [TimeseriesEntry] = []
        /// Timestamp → index in `entries`.
        var entryIndex: [Int64: Int] = [:]
        /// (entry, data point ordinal) → where its value came from.
        var seen: [Slot: Origin] = [:]
        /// The last timestamp text parsed and its value: entries of one request often repeat it.
        var lastTimestamp: (text: ArraySlice<UInt8>, milliseconds: Int64)?

        struct Slot: Hashable {
            let entry: Int
            let ordinal: Int
        }

        init(json: RawJSON, catalog: DataPointCatalog, now: Int64, latest: Int64) {
            self.json = json
            self.catalog = catalog
            self.now = now
            self.latest = latest
            // About one value per 40 bytes of body: no rehashing while the table fills.
            seen.reserveCapacity(min(json.bytes.count / 40, 1 << 16))
        }

        mutating func entry(_ node: RawJSON.Node, index: Int) {
            guard case .object(let members) = node else {
                errors.add(
                    index, nil, "",
                    "an entry must be an object {\"timestamp\",\"values\":[…]}, not \(json.quoted(node))")
                return
            }
            var timestampNode: RawJSON.Node?
            var valuesNode: RawJSON.Node?
            for member in members {
                if json.text(member.key, equals: "timestamp") {
                    once(&timestampNode, member, index, nil)
                } else if json.text(member.key, equals: "values") {
                    once(&valuesNode, member, index, nil)
                } else {
                    unknownMember(member.key, index, nil, allowed: "timestamp, values")
                }
            }
            let timestamp = self.timestamp(timestampNode, index, nil)
            guard let valuesNode else {
                errors.add(index, nil, "values", "values is missing; add \"values\":[{\"dataPointId\",\"value\"}]")
                return
            }
            guard case .array(let values) = valuesNode else {
                errors.add(index, nil, "values", "values must be an array of {\"dataPointId\",\"value\"} objects")
                return
            }
            for (valueIndex, value) in values.enumerated() {
                guard case .object(let members) = value else {
                    errors.add(
                        index, valueIndex, "",
                        "a value must be an object {\"dataPointId\",\"value\"}, not \(json.quoted(value))")
                    continue
                }
                self.value(members, timestamp: timestamp, index, valueIndex, allowsTimestamp: false)
            }
        }

        mutating func line(_ range: Range<Int>, index: Int) {
            let node: RawJSON.Node
            do {
                node = try json.parse(range)
            } catch {
                let column = json.position(of: error.offset, from: range.lowerBound).column
                errors.add(index, nil, "", "not JSON at column \(column): \(error.message)")
                return
            }
            guard case .object(let members) = node else {
                errors.add(
                    index, nil, "",
                    "a line must be one object {\"dataPointId\",\"value\",\"timestamp\"?,\"qualityCode\"?}, "
                        + "not \(json.quoted(node))"
                )
                return
            }
            value(members, timestamp: nil, index, nil, allowsTimestamp: true)
        }

        /// A value object; `timestamp` is the entry's (bulk form) or nil to read the member (NDJSON).
        mutating func value(
            _ members: [(key: RawJSON.Text, value: RawJSON.Node)], timestamp entryTimestamp: Int64?, _ index: Int,
            _ valueIndex: Int?, allowsTimestamp: Bool
        ) {
            var reference: RawJSON.Node?
            var valueNode: RawJSON.Node?
            var qualityNode: RawJSON.Node?
            var timestampNode: RawJSON.Node?
            for member in members {
                if json.text(member.key, equals: "dataPointId") {
                    once(&reference, member, index, valueIndex)
                } else if json.text(member.key, equals: "value") {
                    once(&valueNode, member, index, valueIndex)
                } else if json.text(member.key, equals: "qualityCode") {
                    once(&qualityNode, member, index, valueIndex)
                } else if allowsTimestamp, json.text(member.key, equals: "timestamp") {
                    once(&timestampNode, member, index, valueIndex)
                } else {
                    unknownMember(
                        member.key, index, valueIndex,
                        allowed: allowsTimestamp
                            ? "dataPointId, value, timestamp, qualityCode" : "dataPointId, value, qualityCode")
                }
            }
            let timestamp = allowsTimestamp ? self.timestamp(timestampNode, index, valueIndex) : entryTimestamp
            let quality = qualityCode(qualityNode, index, valueIndex)

            guard let reference else {
                errors.add(
                    index, valueIndex, "dataPointId",
                    "dataPointId is missing; add the data point's id or \"<source>/<point>\"")
                return
            }
            guard case .string(let referenceText) = reference else {
                errors.add(
                    index, valueIndex, "dataPointId", "dataPointId must be a string, not \(json.quoted(reference))")
                return
            }
            let point: DataPointCatalog.Point
            let ordinal: Int
            let referenceBytes =
                referenceText.escaped ? Array(json.text(referenceText).utf8)[...] : json.bytes[referenceText.range]
            let resolved = catalog.resolve(utf8: referenceBytes)
            switch resolved.resolution {
            case .found(let found):
                point = found
                ordinal = resolved.ordinal
            case .unknown:
                errors.add(
                    index, valueIndex, "dataPointId",
                    "no data point \(json.quoted(reference)) in configuration \(catalog.configurationID); use an id or "
                        + "\"<data source name>/<data point name>\" from datasources.yaml")
                return
            case .ambiguousName:
                errors.add(
                    index, valueIndex, "dataPointId",
                    "\(json.quoted(reference)) names more than one data point (a name holds '/'); "
                        + "use the data point's id"
                )
                return
            }
            guard let valueNode else {
                errors.add(index, valueIndex, "value", "value is missing; add a \(point.type.rawValue) value")
                return
            }
            let value: RecordValue
            do {
                value = try json.recordValue(valueNode, as: point.type)
            } catch {
                errors.add(index, valueIndex, "value", error.reason)
                return
            }
            guard let timestamp, let quality else { return }
            add(
                TimeseriesValue(dataPointID: point.id, value: value, qualityCode: quality), ordinal: ordinal, timestamp,
                Origin(index: index, valueIndex: valueIndex))
        }

        /// Files a valid value under its timestamp, or reports it as a duplicate.
        mutating func add(_ value: TimeseriesValue, ordinal: Int, _ timestamp: Int64, _ origin: Origin) {
            let entry: Int
            if let last = entries.indices.last, entries[last].timestamp == timestamp {
                entry = last
            } else if let existing = entryIndex[timestamp] {
                entry = existing
            } else {
                entry = entries.count
                entryIndex[timestamp] = entry
                entries.append(
                    TimeseriesEntry(configurationID: catalog.configurationID, timestamp: timestamp, values: []))
            }
            let slot = Slot(entry: entry, ordinal: ordinal)
            if let first = seen[slot] {
                errors.add(
                    origin.index, origin.valueIndex, "dataPointId",
                    "a second value for data point \(value.dataPointID) at \(Timestamps.exchangeForm(timestamp)), "
                        + "the first is at \(first.location); send one value per data point per timestamp")
                return
            }
            seen[slot] = origin
            entries[entry].values.append(value)
        }

        mutating func timestamp(_ node: RawJSON.Node?, _ index: Int, _ valueIndex: Int?) -> Int64? {
            guard let node else { return now }
            var milliseconds: Int64
            switch node {
            case .string(let text) where !text.escaped:
                let bytes = json.bytes[text.range]
                if let last = lastTimestamp, last.text == bytes {
                    milliseconds = last.milliseconds
                } else {
                    do {
                        milliseconds = try Timestamps.parseISO8601(bytes)
                    } catch {
                        errors.add(index, valueIndex, "timestamp", "\(json.quoted(node)): \(error.reason)")
                        return nil
                    }
                    lastTimestamp = (bytes, milliseconds)
                }
            case .string(let text):
                do {
                    milliseconds = try Timestamps.parseISO8601(json.text(text))
                } catch {
                    errors.add(index, valueIndex, "timestamp", "\(json.quoted(node)): \(error.reason)")
                    return nil
                }
            case .number(let range):
                guard case .value(let number) = NumberText.integer(json.bytes[range]),
                    let checked = try? Timestamps.checkEpochMilliseconds(number)
                else {
                    errors.add(
                        index, valueIndex, "timestamp",
                        "\(json.quoted(node)) is not epoch milliseconds from year 0000 to 9999 (an integer)")
                    return nil
                }
                milliseconds = checked
            default:
                errors.add(
                    index, valueIndex, "timestamp",
                    "\(json.quoted(node)) is not a timestamp; send ISO 8601 such as \"2026-12-03T10:45:00.000Z\" "
                        + "or epoch milliseconds"
                )
                return nil
            }
            guard milliseconds <= latest else {
                errors.add(
                    index, valueIndex, "timestamp",
                    "\(Timestamps.exchangeForm(milliseconds)) is more than max_future ahead of Insights Hub's clock "
                        + "(\(Timestamps.exchangeForm(latest)) at the latest); check the producer's clock and time zone"
                )
                return nil
            }
            return milliseconds
        }

        mutating func qualityCode(_ node: RawJSON.Node?, _ index: Int, _ valueIndex: Int?) -> UInt32? {
            guard let node else { return 0 }
            let text: ArraySlice<UInt8>
            switch node {
            case .number(let range): text = json.bytes[range]
            case .string(let raw)
            where !raw.escaped && raw.range.allSatisfy({ json.bytes[$0] &- UInt8(ascii: "0") < 10 }):
                text = json.bytes[raw.range]
            default: text = []
            }
            guard case .value(let number) = NumberText.integer(text), let code = UInt32(exactly: number) else {
                errors.add(
                    index, valueIndex, "qualityCode",
                    "\(json.quoted(node)) is not a quality code; send a decimal from 0 to 4294967295, "
                        + "e.g. \"0\" for good"
                )
                return nil
            }
            return code
        }

        /// Keeps a member's value; a second member of the same name is an error (JSON leaves it open
        /// which one counts, so neither is guessed).
        mutating func once(
            _ slot: inout RawJSON.Node?, _ member: (key: RawJSON.Text, value: RawJSON.Node), _ index: Int,
            _ valueIndex: Int?
        ) {
            if slot != nil {
                let name = json.text(member.key)
                errors.add(index, valueIndex, name, "\(name) appears twice; keep one")
            }
            slot = member.value
        }

        mutating func unknownMember(_ key: RawJSON.Text, _ index: Int, _ valueIndex: Int?, allowed: String) {
            errors.add(
                index, valueIndex, DisplayText.sanitized(json.text(key), limit: 64),
                "unknown member \(json.quoted(.string(key))); the members are \(allowed)")
        }
    }
}

extension Int64 {
    func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
