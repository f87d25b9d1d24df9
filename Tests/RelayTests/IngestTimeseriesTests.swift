import Agent
import JSON
import Relay
import XCTest

/// `POST /v1/timeseries` bodies against the configuration in force (docs/relay.md §1, §2).
final class IngestTimeseriesTests: XCTestCase {
    static let now: Int64 = 1_796_294_700_000  // 2026-12-03T10:45:00.000Z

    static let configuration = DataSourceConfiguration(
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
                ]),
            DataSource(
                name: "Line",
                dataPoints: (0..<10).map { DataPoint(id: lineID($0), name: "P\($0)", type: .double, unit: "") }),
            DataSource(name: "a/b", dataPoints: [DataPoint(id: "x1", name: "c", type: .int, unit: "")]),
            DataSource(name: "a", dataPoints: [DataPoint(id: "x2", name: "b/c", type: .int, unit: "")]),
        ])
    static let catalog = DataPointCatalog(configuration)

    /// Ids as long as derived ones (35 characters).
    static func lineID(_ point: Int) -> String { "dp-" + String(repeating: String(point), count: 32) }

    func ingest(
        _ body: String, _ format: TimeseriesIngest.Format = .ndjson, offset: Int64? = nil,
        file: StaticString = #filePath,
        line: UInt = #line
    ) -> Result<[TimeseriesEntry], IngestRejection> {
        TimeseriesIngest.parse(
            body: Array(body.utf8), format: format, catalog: Self.catalog, now: Self.now, serverClockOffset: offset)
    }

    /// One NDJSON line for `point` with `value` (JSON text).
    func value(_ point: String, _ value: String) -> Result<RecordValue, IngestRejection> {
        ingest(#"{"dataPointId":"\#(point)","value":\#(value)}"#).map { $0[0].values[0].value }
    }

    func errors(_ result: Result<[TimeseriesEntry], IngestRejection>) -> [RecordError] {
        guard case .failure(.records(let errors, _)) = result else {
            XCTFail("expected record errors, got \(result)")
            return []
        }
        return errors
    }

    /// GIVEN the bulk form with ids WHEN parsed THEN entries keep order, configurationId, typed values, quality codes.
    func testBulkFormWithIds() throws {
        let body = """
            [{"timestamp":"2026-12-03T10:44:00.000Z","values":[
              {"dataPointId":"dp-temp","value":"21.5","qualityCode":"0"},
              {"dataPointId":"dp-count","value":"10","qualityCode":"12189696"}]},
             {"timestamp":"2026-12-03T10:43:00Z","values":[{"dataPointId":"dp-run","value":"true"}]}]
            """
        let entries = try ingest(body, .json).get()
        XCTAssertEqual(
            entries,
            [
                TimeseriesEntry(
                    configurationID: "cfg-1", timestamp: Self.now - 60_000,
                    values: [
                        TimeseriesValue(dataPointID: "dp-temp", value: .double(21.5)),
                        TimeseriesValue(dataPointID: "dp-count", value: .integer(10), qualityCode: 12_189_696),
                    ]),
                TimeseriesEntry(
                    configurationID: "cfg-1", timestamp: Self.now - 120_000,
                    values: [TimeseriesValue(dataPointID: "dp-run", value: .boolean(true))]),
            ])
    }

    /// GIVEN NDJSON with names, blank lines, CRLF and no timestamps WHEN parsed THEN values group under `now` by id.
    func testNDJSONWithNamesGroupsByTimestamp() throws {
        let body =
            "{\"dataPointId\":\"Press/Temperature\",\"value\":20}\r\n\n   \n"
            + "{\"dataPointId\":\"Press/Count\",\"value\":3,\"qualityCode\":5}\n"
            + "{\"dataPointId\":\"dp-temp\",\"value\":1.5,\"timestamp\":1796294600000}\n"
        let entries = try ingest(body).get()
        XCTAssertEqual(entries.map(\.timestamp), [Self.now, Self.now - 100_000])
        XCTAssertEqual(entries[0].values.map(\.dataPointID), ["dp-temp", "dp-count"])
        XCTAssertEqual(entries[0].values[1].qualityCode, 5)
        XCTAssertEqual(entries[1].values, [TimeseriesValue(dataPointID: "dp-temp", value: .double(1.5))])
    }

    /// GIVEN two bulk entries with the same instant in different offsets WHEN parsed THEN they merge into one entry.
    func testBulkEntriesWithEqualTimestampsMerge() throws {
        let body = """
            [{"timestamp":"2026-12-03T10:45:00Z","values":[{"dataPointId":"dp-temp","value":1}]},
             {"timestamp":"2026-12-03T11:45:00+01:00","values":[{"dataPointId":"dp-count","value":2}]}]
            """
        let entries = try ingest(body, .json).get()
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries[0].values.map(\.dataPointID), ["dp-temp", "dp-count"])
    }

    /// GIVEN INT values WHEN checked THEN 32-bit bounds hold, fractions fail, exact notations pass.
    func testIntBounds() {
        XCTAssertEqual(value("dp-count", "2147483647").success, .integer(2_147_483_647))
        XCTAssertEqual(value("dp-count", "-2147483648").success, .integer(-2_147_483_648))
        XCTAssertEqual(value("dp-count", "\"-2147483648\"").success, .integer(-2_147_483_648))
        XCTAssertEqual(value("dp-count", "1.5e1").success, .integer(15))
        XCTAssertEqual(value("dp-count", "2.0").success, .integer(2))
        for refused in [
            "2147483648", "-2147483649", "1.5", "\"1.5\"", "1e-3", "true", "\"ten\"", "null", "[]", "\" 1\"",
        ] {
            XCTAssertEqual(
                errors(ingest(#"{"dataPointId":"dp-count","value":\#(refused)}"#)).first?.field, "value", refused)
        }
    }

    /// GIVEN one integer in many notations WHEN read as LONG THEN the exact value comes out, fractions are refused.
    func testIntegerNotations() {
        let cases: [(String, Int64)] = [
            ("100", 100), ("1.50e2", 150), ("10.0e-1", 1), ("100e-2", 1), ("120e-1", 12), ("1.20e1", 12), ("0.000", 0),
            ("-0", 0), ("0e5", 0), ("5E+2", 500), ("\"007\"", 7), ("\"-0.0\"", 0),
            ("1000000000000000000", 1_000_000_000_000_000_000),
            ("0.0000000000000000000009223372036854775807e40", .max), ("9223372036854775807.000", .max),
        ]
        for (text, number) in cases { XCTAssertEqual(value("dp-total", text).success, .integer(number), text) }
        for refused in [
            "1000e-4", "0.1", "1.0000000000000000000000001", "10000000000000000000", "1e19", "18446744073709551617",
            "123456789012345678901234", "\"+1\"", "\"1 \"", "\"\"",
        ] {
            XCTAssertNil(value("dp-total", refused).success, refused)
        }
    }

    /// GIVEN LONG values at and beyond 64 bits WHEN checked THEN they are exact (no Double rounding above 2^53).
    func testLongBoundsAreExact() {
        XCTAssertEqual(value("dp-total", "9223372036854775807").success, .integer(.max))
        XCTAssertEqual(value("dp-total", "\"9223372036854775807\"").success, .integer(.max))
        XCTAssertEqual(value("dp-total", "-9223372036854775808").success, .integer(.min))
        XCTAssertEqual(value("dp-total", "9007199254740993").success, .integer(9_007_199_254_740_993))
        XCTAssertEqual(value("dp-total", "92233720368547758.07e2").success, .integer(.max))
        for refused in ["9223372036854775808", "-9223372036854775809", "1e19", "1e400", "0.5"] {
            XCTAssertNil(value("dp-total", refused).success, refused)
        }
        XCTAssertTrue(
            errors(ingest(#"{"dataPointId":"dp-total","value":9223372036854775808}"#))[0].reason.contains("range"))
    }

    /// GIVEN DOUBLE values WHEN checked THEN finite numbers and numeric strings pass, NaN/Infinity/overflow fail.
    func testDoubleMustBeFinite() {
        XCTAssertEqual(value("dp-temp", "-0.25").success, .double(-0.25))
        XCTAssertEqual(value("dp-temp", "\"1e3\"").success, .double(1000))
        XCTAssertEqual(value("dp-temp", "1.7976931348623157e308").success, .double(.greatestFiniteMagnitude))
        for refused in [
            "\"NaN\"", "\"nan\"", "\"Infinity\"", "\"-Infinity\"", "\"inf\"", "1e309", "\"\"", "true", "\"0x10\"",
        ] {
            XCTAssertNil(value("dp-temp", refused).success, refused)
        }
    }

    /// GIVEN BOOLEAN values WHEN checked THEN true/false and their strings pass, nothing else does.
    func testBooleans() {
        XCTAssertEqual(value("dp-run", "true").success, .boolean(true))
        XCTAssertEqual(value("dp-run", "\"false\"").success, .boolean(false))
        for refused in ["1", "0", "\"True\"", "\"yes\"", "null"] {
            XCTAssertNil(value("dp-run", refused).success, refused)
        }
    }

    /// GIVEN STRING and BIG_STRING values WHEN checked THEN lengths count UTF-16 units up to 255 / 100,000.
    func testTextLengths() {
        let fits = String(repeating: "é", count: 255)
        XCTAssertEqual(value("dp-label", "\"\(fits)\"").success, .text(fits))
        XCTAssertNil(value("dp-label", "\"\(fits)x\"").success)
        // 128 emoji are 256 UTF-16 code units.
        XCTAssertNil(value("dp-label", "\"\(String(repeating: "😀", count: 128))\"").success)
        XCTAssertEqual(value("dp-label", "12.50").success, .text("12.50"))
        XCTAssertEqual(value("dp-label", #""a\"b\u00e9""#).success, .text("a\"bé"))
        let big = String(repeating: "x", count: 100_000)
        XCTAssertEqual(value("dp-log", "\"\(big)\"").success, .text(big))
        XCTAssertNil(value("dp-log", "\"\(big)y\"").success)
    }

    /// GIVEN TIMESTAMP values WHEN checked THEN ISO texts and epoch ms become the exchange's form.
    func testTimestampValuesAreNormalised() {
        XCTAssertEqual(value("dp-stamp", "\"2026-12-03T11:45:00.5+01:00\"").success, .text("2026-12-03T10:45:00.500Z"))
        XCTAssertEqual(value("dp-stamp", "0").success, .text("1970-01-01T00:00:00.000Z"))
        XCTAssertNil(value("dp-stamp", "\"2026-02-30T00:00:00Z\"").success)
        XCTAssertNil(value("dp-stamp", "\"yesterday\"").success)
        XCTAssertNil(value("dp-stamp", "1.5").success)
    }

    /// GIVEN quality codes as strings and numbers WHEN parsed THEN decimal uint32 passes, anything else fails.
    func testQualityCodes() throws {
        func quality(_ text: String) -> UInt32? {
            ingest(#"{"dataPointId":"dp-temp","value":1,"qualityCode":\#(text)}"#).success?[0].values[0].qualityCode
        }
        XCTAssertEqual(quality("\"00000000\""), 0)
        XCTAssertEqual(quality("\"1083310080\""), 1_083_310_080)
        XCTAssertEqual(quality("4294967295"), 4_294_967_295)
        for refused in ["\"4294967296\"", "-1", "\"-1\"", "\"0x0\"", "\"\"", "1.5", "true", "\" 0\""] {
            XCTAssertNil(quality(refused), refused)
        }
    }

    /// GIVEN timestamps ahead of the clocks WHEN checked THEN max_future counts from southgate's clock (now + offset).
    func testMaximumFuture() {
        let day: Int64 = 86_400_000
        func line(_ timestamp: Int64) -> String { #"{"dataPointId":"dp-temp","value":1,"timestamp":\#(timestamp)}"# }
        XCTAssertNotNil(ingest(line(Self.now + day)).success)
        XCTAssertEqual(errors(ingest(line(Self.now + day + 1))).first?.field, "timestamp")
        // Southgate's clock is an hour ahead of the gateway's: an hour more is allowed.
        XCTAssertNotNil(ingest(line(Self.now + day + 3_600_000), offset: 3_600_000).success)
        XCTAssertNil(ingest(line(Self.now + day + 3_600_001), offset: 3_600_000).success)
        // And an hour behind: an hour less.
        XCTAssertNil(ingest(line(Self.now + day - 3_599_999), offset: -3_600_000).success)
        XCTAssertNotNil(ingest(line(Self.now + day - 3_600_000), offset: -3_600_000).success)
    }

    /// GIVEN a name spelt by two (source, point) pairs WHEN used THEN it is refused; the ids still work.
    func testAmbiguousNamesNeedIds() {
        XCTAssertTrue(errors(ingest(#"{"dataPointId":"a/b/c","value":1}"#))[0].reason.contains("more than one"))
        XCTAssertNotNil(ingest(#"{"dataPointId":"x1","value":1}"#).success)
        XCTAssertEqual(Self.catalog.lookup("Press/Count"), DataPointCatalog.Point(id: "dp-count", type: .int))
        XCTAssertEqual(Self.catalog.configurationID, "cfg-1")
    }

    /// GIVEN one data point twice at one timestamp (by id and by name) WHEN parsed THEN the error names both indexes.
    func testDuplicateDataPointNamesBothIndexes() {
        let bulk = """
            [{"timestamp":"2026-12-03T10:45:00Z","values":[{"dataPointId":"dp-temp","value":1},
              {"dataPointId":"dp-count","value":1}]},
             {"timestamp":"2026-12-03T10:45:00.000Z","values":[{"dataPointId":"Press/Temperature","value":2}]}]
            """
        let bulkErrors = errors(ingest(bulk, .json))
        XCTAssertEqual(bulkErrors.map(\.location), ["1.values[0]"])
        XCTAssertTrue(bulkErrors.first?.reason.contains("0.values[0]") ?? false, "\(bulkErrors)")
        let lines = "{\"dataPointId\":\"dp-temp\",\"value\":1}\n\n{\"dataPointId\":\"Press/Temperature\",\"value\":2}"
        let lineErrors = errors(ingest(lines))
        XCTAssertEqual(lineErrors.map(\.index), [2])
        XCTAssertTrue(lineErrors.first?.reason.contains("at 0;") ?? false, "\(lineErrors)")
        // The same point at different timestamps is fine.
        XCTAssertNotNil(ingest(lines.replacingOccurrences("}\n\n{", "}\n{\"timestamp\":1,")).success)
    }

    /// GIVEN several bad records WHEN parsed THEN every one is reported with its index and field, and nothing passes.
    func testErrorIndexesAndFields() {
        let body = """
            [{"timestamp":"2026-12-03T10:45:00Z","values":[{"dataPointId":"dp-temp","value":1},
              {"dataPointId":"nope","value":1}]},
             {"timestamp":"bad","values":[{"dataPointId":"dp-count","value":1.5,"qualitycode":"0"}]},
             {"values":{}},
             7]
            """
        let found = errors(ingest(body, .json))
        XCTAssertEqual(
            found.map { "\($0.location) \($0.field)" },
            [
                "0.values[1] dataPointId", "1 timestamp", "1.values[0] qualitycode", "1.values[0] value", "2 values",
                "3 ",
            ])
        XCTAssertEqual(
            found[0].json,
            .object([
                ("index", .string("0.values[1]")), ("field", .string("dataPointId")),
                ("reason", .string(found[0].reason)),
            ]))
        let lines =
            "{\"dataPointId\":\"dp-temp\",\"value\":1}\nnot json\n[1]\n{\"value\":1}\n{\"dataPointId\":1,\"value\":1}"
        XCTAssertEqual(
            errors(ingest(lines)).map { "\($0.index) \($0.field)" }, ["1 ", "2 ", "3 dataPointId", "4 dataPointId"])
        XCTAssertEqual(
            errors(ingest(#"{"dataPointId":"dp-temp","value":1,"value":2}"#)).map { "\($0.index) \($0.field)" },
            ["0 value"])
    }

    /// GIVEN more bad records than the cap WHEN parsed THEN the first 100 are listed and all are counted.
    func testErrorsAreCapped() {
        let body = String(repeating: "{\"dataPointId\":\"nope\",\"value\":1}\n", count: 250)
        guard case .failure(.records(let errors, let total)) = ingest(body) else { return XCTFail() }
        XCTAssertEqual(errors.count, IngestRejection.maximumReported)
        XCTAssertEqual(total, 250)
        XCTAssertEqual(errors.last?.index, 99)
    }

    /// GIVEN bodies that are wrong as a whole WHEN parsed THEN the body-level rejection says why.
    func testBodyLevelRejections() {
        XCTAssertEqual(ingest("", .json).failure, .empty)
        XCTAssertEqual(ingest(" \n\n", .ndjson).failure, .empty)
        XCTAssertEqual(ingest("[]", .json).failure, .empty)
        XCTAssertEqual(ingest(#"[{"timestamp":"2026-12-03T10:45:00Z","values":[]}]"#, .json).failure, .empty)
        guard case .failure(.notJSON(let line, _, _)) = ingest("[\n{", .json) else { return XCTFail() }
        XCTAssertEqual(line, 2)
        guard case .failure(.wrongShape) = ingest(#"{"dataPointId":"dp-temp","value":1}"#, .json) else {
            return XCTFail()
        }
        XCTAssertEqual(
            TimeseriesIngest.parse(body: [0x5B, 0xFF, 0x5D], format: .json, catalog: Self.catalog, now: 0).failure,
            .notUTF8)
        XCTAssertNotNil(IngestRejection.empty.responseJSON["errors"])
        // A byte order mark from an editor is skipped in both forms.
        XCTAssertNotNil(ingest("\u{FEFF}[{\"values\":[{\"dataPointId\":\"dp-temp\",\"value\":1}]}]", .json).success)
        XCTAssertNotNil(ingest("\u{FEFF}{\"dataPointId\":\"dp-temp\",\"value\":1}").success)
        XCTAssertEqual(ingest("\u{FEFF} ").failure, .empty)
    }

    /// GIVEN Content-Type headers WHEN mapped THEN NDJSON, JSON, none and others are told apart.
    func testFormatFromContentType() {
        XCTAssertEqual(TimeseriesIngest.Format(contentType: "application/x-ndjson"), .ndjson)
        XCTAssertEqual(TimeseriesIngest.Format(contentType: "Application/NDJSON; charset=utf-8"), .ndjson)
        XCTAssertEqual(TimeseriesIngest.Format(contentType: "application/json;charset=UTF-8"), .json)
        XCTAssertEqual(TimeseriesIngest.Format(contentType: nil), .json)
        XCTAssertNil(TimeseriesIngest.Format(contentType: "text/plain"))
    }

    /// A rough timing of parse + validate + encode for a 1,000-value request, printed, not asserted.
    func testTimingOfAThousandValues() throws {
        let (body, _) = Self.thousandValueBody()
        let clock = ContinuousClock()
        var entries: [TimeseriesEntry] = []
        let rounds = 20
        let elapsed = try clock.measure {
            for _ in 0..<rounds {
                entries = try TimeseriesIngest.parse(body: body, format: .json, catalog: Self.catalog, now: Self.now)
                    .get()
                _ = RecordCodec.encode(.timeseries(entries))
            }
        }
        XCTAssertEqual(JournalContent.timeseries(entries).recordCount, 1000)
        let perValue = elapsed / (rounds * 1000)
        print(
            "ingest timing: \(body.count) bytes, 1000 values, parse+validate+encode \(perValue) per value (debug build)"
        )
    }

    /// 100 timestamps × 10 DOUBLE points in the bulk form.
    static func thousandValueBody() -> ([UInt8], DataPointCatalog) {
        var text = "["
        for t in 0..<100 {
            if t > 0 { text += "," }
            text += "{\"timestamp\":\"\(Timestamps.exchangeForm(now - Int64(100 - t) * 1000))\",\"values\":["
            for p in 0..<10 {
                if p > 0 { text += "," }
                text +=
                    "{\"dataPointId\":\"\(lineID(p))\",\"value\":\"\(Double(t * 10 + p) / 7)\",\"qualityCode\":\"0\"}"
            }
            text += "]}"
        }
        return (Array((text + "]").utf8), catalog)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

/// The request reader against JSONValue's parser on mutated bodies: same grammar, never a trap.
final class IngestFuzzTests: XCTestCase {
    /// GIVEN 20,000 bodies with random bytes changed, cut or inserted WHEN parsed in both forms THEN nothing traps,
    /// and the bulk form calls a body JSON exactly when JSONValue does (except numbers beyond Double, kept as text).
    func testMutatedBodies() {
        let seeds = [
            #"[{"timestamp":"2026-12-03T10:45:00.000Z","values":"#
                + #"[{"dataPointId":"dp-temp","value":"21.5","qualityCode":"0"},"#
                + #"{"dataPointId":"Press/Count","value":-12,"qualityCode":12189696}]}]"#,
            #"[{"values":[{"dataPointId":"dp-label","value":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}],"timestamp":0}]"#,
            "{\"dataPointId\":\"dp-total\",\"value\":9223372036854775807}\n"
                + "{\"dataPointId\":\"dp-run\",\"value\":true}\n",
        ].map { Array($0.utf8) }
        let alphabet = Array(#"{}[]",:\"0123456789.eE+-tfnu ablrx"#.utf8) + [0x0A, 0x00, 0xC3, 0xA9, 0xFF]
        var generator = SeededGenerator(seed: 99)
        var rejected = 0
        for round in 0..<20_000 {
            var body = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0...body.count, using: &generator)
                let symbol = alphabet.randomElement(using: &generator)!
                switch Int.random(in: 0..<4, using: &generator) {
                case 0 where position < body.count: body[position] = symbol
                case 1 where position < body.count: body.remove(at: position)
                case 2: body.removeSubrange(position...)
                default: body.insert(symbol, at: position)
                }
            }
            for format in [TimeseriesIngest.Format.json, .ndjson] {
                let result = TimeseriesIngest.parse(
                    body: body, format: format, catalog: IngestTimeseriesTests.catalog, now: IngestTimeseriesTests.now)
                if case .failure = result { rejected += 1 }
                guard format == .json, String(validating: body, as: UTF8.self) != nil else { continue }
                var notJSON = false
                if case .failure(.notJSON) = result { notJSON = true }
                if case .failure(.empty) = result, !body.contains(where: { $0 > 0x20 }) { continue }
                do {
                    _ = try JSONValue.parse(body)
                    XCTAssertFalse(
                        notJSON,
                        "rejected as not JSON, but JSONValue reads it: \(String(decoding: body, as: UTF8.self))")
                } catch {
                    XCTAssertTrue(
                        notJSON || error.message.contains("out of range"),
                        "JSONValue refuses (\(error)), the reader does not: \(String(decoding: body, as: UTF8.self))")
                }
            }
        }
        XCTAssertGreaterThan(rejected, 0)
    }
}
