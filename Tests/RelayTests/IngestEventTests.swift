import JSON
import Relay
import XCTest

/// `POST /v1/events` bodies (docs/relay.md §1).
final class IngestEventTests: XCTestCase {
    static let now: Int64 = 1_796_294_700_000

    func ingest(_ body: String, offset: Int64? = nil) -> Result<EventRecord, IngestRejection> {
        EventIngest.parse(body: Array(body.utf8), now: Self.now, serverClockOffset: offset, makeID: { "id-1" })
    }

    func fields(_ result: Result<EventRecord, IngestRejection>) -> [String] {
        guard case .failure(.records(let errors, _)) = result else {
            XCTFail("expected record errors, got \(result)")
            return []
        }
        return errors.map(\.field)
    }

    /// GIVEN each severity form WHEN parsed THEN names (any case) and 20/30/40 map to the severity; others fail.
    func testSeverityForms() {
        let cases: [(String, EventRecord.Severity)] = [
            ("\"error\"", .error), ("\"Warning\"", .warning), ("\"INFO\"", .info), ("20", .error), ("30", .warning),
            ("40", .info),
        ]
        for (text, severity) in cases {
            XCTAssertEqual(ingest(#"{"severity":\#(text)}"#).success?.severity, severity, text)
        }
        for refused in ["1", "25", "20.5", "\"fatal\"", "true", "null", "{}"] {
            XCTAssertEqual(fields(ingest(#"{"severity":\#(refused)}"#)), ["severity"], refused)
        }
        XCTAssertEqual(fields(ingest("{}")), ["severity"])
    }

    /// GIVEN a full event WHEN parsed THEN every member is kept, the id comes from makeID, the time is normalised.
    func testFullEvent() throws {
        let event = try ingest(
            #"{"severity":"warning","type":"Door","timestamp":"2026-12-03T11:00:00+01:00","description":"open","#
                + #""correlationId":"c-9","details":{"door":2,"who":["a"]}}"#
        ).get()
        XCTAssertEqual(
            event,
            EventRecord(
                id: "id-1", timestamp: Self.now - 2_700_000, severity: .warning, type: "Door", description: "open",
                correlationID: "c-9", details: .object([("door", .number(2)), ("who", .array([.string("a")]))])))
        XCTAssertEqual(try ingest(#"{"severity":40}"#).get().timestamp, Self.now)
        XCTAssertEqual(try ingest(#"{"severity":40,"timestamp":1000}"#).get().timestamp, 1000)
    }

    /// GIVEN descriptions of 255 and 256 characters WHEN parsed THEN only the shorter passes.
    func testDescriptionLength() {
        let fits = String(repeating: "ü", count: 255)
        XCTAssertEqual(ingest(#"{"severity":20,"description":"\#(fits)"}"#).success?.description, fits)
        XCTAssertEqual(fields(ingest(#"{"severity":20,"description":"\#(fits)x"}"#)), ["description"])
    }

    /// GIVEN wrong members WHEN parsed THEN each is reported: an own id, unknown names, wrong types, the future.
    func testRefusals() {
        XCTAssertEqual(
            fields(
                ingest(#"{"severity":20,"id":"x","colour":1,"type":3,"details":[],"timestamp":"2026-12-05T00:00:00Z"}"#)
            ),
            ["id", "colour", "timestamp", "type", "details"])
        XCTAssertNotNil(ingest(#"{"severity":20,"timestamp":"2026-12-04T10:45:00Z"}"#).success)
        XCTAssertNil(ingest(#"{"severity":20,"timestamp":"2026-12-04T10:45:00.001Z"}"#).success)
        XCTAssertNotNil(ingest(#"{"severity":20,"timestamp":"2026-12-04T10:45:00.001Z"}"#, offset: 1).success)
        XCTAssertEqual(fields(ingest(#"{"severity":20,"severity":40}"#)), ["severity"])
        XCTAssertEqual(ingest("").failure, .empty)
        XCTAssertEqual(ingest("[]").failure, .wrongShape("the body must be one event object {\"severity\",…}"))
        guard case .failure(.notJSON) = ingest("{") else { return XCTFail() }
    }
}
