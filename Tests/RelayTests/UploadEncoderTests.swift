import JSON
import Southgate
import XCTest

@testable import Relay

/// The exchange body in MCL's framing (docs/protocol.md §14), byte for byte.
final class UploadEncoderTests: XCTestCase {
    typealias F = UploadFixture

    /// GIVEN two values at one timestamp and an event, fixed boundaries WHEN encoded THEN the body is exactly
    /// the one written by hand from docs/protocol.md §14.
    func testBodyByteForByte() {
        let batch = Batch(units: [
            BatchUnit(
                firstSequence: 1,
                entry: F.entry(
                    "cfg1", at: 0,
                    [
                        TimeseriesValue(dataPointID: "a", value: .integer(42)),
                        TimeseriesValue(dataPointID: "b", value: .double(2.5), qualityCode: 12_189_696),
                    ])),
            BatchUnit(
                sequence: 3,
                event: EventRecord(
                    id: "e1", timestamp: 1_700_000_000_123, severity: .warning, description: "x \"y\"",
                    correlationID: "c1")),
        ])
        let (contentType, body) = ExchangeEncoder.encode(batch, boundary: F.boundaries())
        XCTAssertEqual(contentType, "multipart/mixed;boundary=MAIN0000000000000000;charset=utf-8")
        let expected = [
            "--MAIN0000000000000000",
            "Content-Type: multipart/related;boundary=ITEM1000000000000000",
            "",
            "--ITEM1000000000000000",
            "Content-Type: application/vnd.siemens.mindsphere.meta+json",
            "",
            #"{"type":"item","version":"1.0","payload":{"type":"standardTimeSeries","version":"1.0","#
                + #""details":{"configurationId":"cfg1"}}}"#,
            "--ITEM1000000000000000",
            "Content-Type: application/json",
            "",
            #"[{"timestamp":"1970-01-01T00:00:00.000Z","values":["#
                + #"{"dataPointId":"a","value":"42","qualityCode":"0"},"#
                + #"{"dataPointId":"b","value":"2.5","qualityCode":"12189696"}]}]"#,
            "--ITEM1000000000000000--",
            "--MAIN0000000000000000",
            "Content-Type: multipart/related;boundary=ITEM2000000000000000",
            "",
            "--ITEM2000000000000000",
            "Content-Type: application/vnd.siemens.mindsphere.meta+json",
            "",
            #"{"type":"item","version":"1.0","payload":{"type":"businessEvent","version":"2.0"}}"#,
            "--ITEM2000000000000000",
            "Content-Type: application/json",
            "",
            #"[{"id":"e1","correlationId":"c1","timestamp":"2023-11-14T22:13:20.123Z","severity":30,"#
                + #""description":"x \"y\"","type":"MindSphereStandardEvent","version":"1.0","details":{}}]"#,
            "--ITEM2000000000000000--",
            "--MAIN0000000000000000--",
        ].joined(separator: "\r\n")
        XCTAssertEqual(String(decoding: body, as: UTF8.self), expected)
        XCTAssertEqual(body, Array(expected.utf8))
        XCTAssertLessThanOrEqual(body.count, batch.estimatedBytes)
    }

    /// GIVEN units of one timestamp from three frames, one data point twice, out of timestamp order WHEN
    /// encoded THEN one entry per timestamp in timestamp order, and the later record's value wins.
    func testUnitsOfOneTimestampAreMergedAndTheLaterValueWins() throws {
        let batch = Batch(units: [
            BatchUnit(firstSequence: 1, entry: F.entry(at: 2000, [F.value("a", 1), F.value("b", 2)])),
            BatchUnit(firstSequence: 3, entry: F.entry(at: 1000, [F.value("a", 9)])),
            BatchUnit(firstSequence: 4, entry: F.entry(at: 2000, [F.value("c", 3), F.value("a", 4)])),
            BatchUnit(firstSequence: 6, entry: F.entry("other", at: 2000, [F.value("a", 5)])),
        ])
        let (_, body) = ExchangeEncoder.encode(batch, boundary: F.boundaries())
        XCTAssertLessThanOrEqual(body.count, batch.estimatedBytes)
        let payloads = try payloads(of: body)
        XCTAssertEqual(payloads.count, 2)
        XCTAssertEqual(
            payloads[0],
            #"[{"timestamp":"1970-01-01T00:00:01.000Z","values":[{"dataPointId":"a","value":"9","qualityCode":"0"}]},"#
                + #"{"timestamp":"1970-01-01T00:00:02.000Z","values":["#
                + #"{"dataPointId":"a","value":"4","qualityCode":"0"},"#
                + #"{"dataPointId":"b","value":"2","qualityCode":"0"},"#
                + #"{"dataPointId":"c","value":"3","qualityCode":"0"}]}]"#)
        XCTAssertEqual(
            payloads[1],
            #"[{"timestamp":"1970-01-01T00:00:02.000Z","values":[{"dataPointId":"a","value":"5","qualityCode":"0"}]}]"#)
    }

    /// GIVEN each value type WHEN encoded THEN every field is a string in its documented form.
    /// GIVEN batches of units that are not merged, with every kind of value (negative and extreme integers,
    /// doubles, booleans, text with quotes, controls and non-ASCII) WHEN encoded THEN the body is exactly as long as
    /// the batch's estimate (seeded).
    func testEstimateIsExactWithoutMerging() {
        var random = SeededRandom(seed: 7)
        let texts = ["", "plain", "q\"uo\\te", "ctl\u{01}\n\t", "é😀", String(repeating: "x", count: 300)]
        for round in 0..<200 {
            var units: [BatchUnit] = []
            var sequence: UInt64 = 1
            for index in 0..<(1 + random.below(5)) {
                let values = (0..<(1 + random.below(6))).map { number -> TimeseriesValue in
                    let value: RecordValue
                    switch random.below(4) {
                    case 0: value = .integer([Int64.min, Int64.max, 0, -7, 1_234_567][random.below(5)])
                    case 1: value = .double([0.1, -2.5e-7, 1e300, 42][random.below(4)])
                    case 2: value = .boolean(random.below(2) == 0)
                    default: value = .text(texts[random.below(texts.count)])
                    }
                    return TimeseriesValue(
                        dataPointID: "dp-\(number)\(texts[random.below(3)])", value: value,
                        qualityCode: [0, 12_189_696, UInt32.max][random.below(3)])
                }
                let entry = F.entry(["cfg", "c\"2"][random.below(2)], at: Int64(round * 100 + index), values)
                units.append(BatchUnit(firstSequence: sequence, entry: entry))
                sequence += UInt64(values.count)
            }
            let batch = Batch(units: units)
            let body = ExchangeEncoder.encode(batch, boundary: F.boundaries()).body
            XCTAssertEqual(body.count, batch.estimatedBytes, "round \(round)")
        }
    }

    func testValueForms() {
        XCTAssertEqual(ExchangeEncoder.text(of: .integer(-9_223_372_036_854_775_808)), "-9223372036854775808")
        XCTAssertEqual(ExchangeEncoder.text(of: .double(3)), "3.0")
        XCTAssertEqual(ExchangeEncoder.text(of: .double(0.1)), "0.1")
        XCTAssertEqual(ExchangeEncoder.text(of: .double(1e-5)), "1e-05")
        XCTAssertEqual(ExchangeEncoder.text(of: .double(1e16)), "1e+16")
        XCTAssertEqual(ExchangeEncoder.text(of: .boolean(true)), "true")
        XCTAssertEqual(ExchangeEncoder.text(of: .boolean(false)), "false")
        XCTAssertEqual(ExchangeEncoder.text(of: .text("line\nbreak")), "line\nbreak")
        for number in [0.1, 1e-5, 1e16, -2.5e-300, Double.greatestFiniteMagnitude] {
            XCTAssertEqual(Double(ExchangeEncoder.text(of: .double(number))), number)
        }
    }

    /// GIVEN text with quotes and control characters WHEN encoded THEN it is escaped inside the string field.
    func testTextIsEscaped() throws {
        let batch = Batch(units: [
            BatchUnit(
                firstSequence: 1,
                entry: F.entry(at: 0, [TimeseriesValue(dataPointID: "q\"", value: .text("a\"b\\c\n\u{01}"))]))
        ])
        let payload = try XCTUnwrap(payloads(of: ExchangeEncoder.encode(batch, boundary: F.boundaries()).body).first)
        XCTAssertTrue(payload.contains(#"{"dataPointId":"q\"","value":"a\"b\\c\n\u0001","qualityCode":"0"}"#), payload)
        XCTAssertNoThrow(try JSONValue.parse(payload))
    }

    /// GIVEN events with and without optional fields and a producer's type WHEN encoded THEN one item per
    /// event, in order, version 2.0, severity 20/30/40, the producer's type kept.
    func testEventsAreOneItemEach() throws {
        let batch = Batch(units: [
            BatchUnit(sequence: 1, event: EventRecord(id: "a", timestamp: 0, severity: .error)),
            BatchUnit(
                sequence: 2,
                event: EventRecord(
                    id: "b", timestamp: 1, severity: .info, type: "custom.Type",
                    details: .object([("n", .number(1)), ("s", .string("x"))]))),
        ])
        let payloads = try payloads(of: ExchangeEncoder.encode(batch, boundary: F.boundaries()).body)
        XCTAssertEqual(
            payloads,
            [
                #"[{"id":"a","timestamp":"1970-01-01T00:00:00.000Z","severity":20,"#
                    + #""type":"MindSphereStandardEvent","version":"1.0","details":{}}]"#,
                #"[{"id":"b","timestamp":"1970-01-01T00:00:00.001Z","severity":40,"#
                    + #""type":"custom.Type","version":"1.0","details":{"n":1,"s":"x"}}]"#,
            ])
    }

    /// GIVEN instants around leap days, the epoch and the range's ends WHEN formatted THEN 24 characters, UTC.
    func testTimestampFormat() {
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (951_868_799_999, "2000-02-29T23:59:59.999Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
        ]
        for (milliseconds, text) in cases {
            XCTAssertEqual(ExchangeTimestamp.format(milliseconds: milliseconds), text)
        }
    }

    /// GIVEN a seeded source WHEN boundaries and Correlation-IDs are drawn THEN 20 × [0-9A-Za-z] and
    /// 32 × lowercase hex; bytes ≥ 248 are skipped, not folded.
    func testRandomBoundaryAndCorrelationID() throws {
        var random = SeededRandom(seed: 7)
        let alphanumeric = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        for _ in 0..<200 {
            let boundary = ExchangeEncoder.randomBoundary { random.bytes($0) }
            XCTAssertEqual(boundary.count, 20)
            XCTAssertTrue(boundary.allSatisfy(alphanumeric.contains), boundary)
            let id = ExchangeEncoder.correlationID { random.bytes($0) }
            XCTAssertEqual(id.count, 32)
            XCTAssertTrue(id.allSatisfy(Set("0123456789abcdef").contains), id)
        }
        var calls = 0
        let skipped = ExchangeEncoder.randomBoundary { count in
            calls += 1
            return calls == 1 ? [UInt8](repeating: 255, count: count) : [UInt8](repeating: 61, count: count)
        }
        XCTAssertEqual(skipped, String(repeating: "z", count: 20))
        XCTAssertEqual(
            ExchangeEncoder.correlationID { _ in [0x00, 0xff] + [UInt8](repeating: 0x5a, count: 14) },
            "00ff" + String(repeating: "5a", count: 14))
        XCTAssertEqual(try ExchangeEncoder.secureBoundary().count, 20)
        XCTAssertEqual(try ExchangeEncoder.secureCorrelationID().count, 32)
    }

    /// GIVEN a batch WHEN made into a request THEN POST to the exchange path with bearer, multipart type, Accept
    /// and Correlation-ID, and the encoded body.
    func testRequest() {
        let batch = Batch(units: F.units(1...2))
        let request = ExchangeRequest.make(
            batch, baseURL: "https://gw.example", accessToken: "tok", correlationID: "0123", boundary: F.boundaries())
        XCTAssertEqual(request.method, .post)
        XCTAssertEqual(request.url, "https://gw.example/api/mindconnect/v3/exchange")
        XCTAssertEqual(request.headers.map(\.name), ["Authorization", "Content-Type", "Accept", "Correlation-ID"])
        XCTAssertEqual(
            request.headers.map(\.value),
            ["Bearer tok", "multipart/mixed;boundary=MAIN0000000000000000;charset=utf-8", "application/json", "0123"])
        XCTAssertEqual(request.body, ExchangeEncoder.encode(batch, boundary: F.boundaries()).body)
        // A 1 MiB batch gets through a 2 KB/s uplink: 60 s plus 512 s.
        XCTAssertEqual(ExchangeRequest.deadline(bodyBytes: 1 << 20), 572)
        XCTAssertEqual(request.timeout, ExchangeRequest.deadline(bodyBytes: request.body.count))
        XCTAssertEqual(UploadOutcome(HTTPResponse(status: 200), retryAfter: 3), .accepted)
        XCTAssertEqual(UploadOutcome(HTTPResponse(status: 429), retryAfter: 3), .status(429, retryAfter: 3))
    }

    /// The payload parts, in order.
    private func payloads(of body: [UInt8]) throws -> [String] {
        let marker = Array("Content-Type: application/json\r\n\r\n".utf8)
        let end = Array("\r\n--".utf8)
        var out: [String] = []
        var position = 0
        while let start = find(marker, in: body, from: position) {
            let payloadStart = start + marker.count
            let payloadEnd = try XCTUnwrap(find(end, in: body, from: payloadStart))
            out.append(String(decoding: body[payloadStart..<payloadEnd], as: UTF8.self))
            position = payloadEnd
        }
        return out
    }

    private func find(_ pattern: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= pattern.count, start <= bytes.count - pattern.count else { return nil }
        return (start...(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
    }
}
