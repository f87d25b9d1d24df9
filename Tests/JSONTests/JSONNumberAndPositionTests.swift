import XCTest

@testable import JSON

final class JSONNumberAndPositionTests: XCTestCase {
    /// GIVEN numbers a state file holds (epoch seconds with fractions, counters, large values) WHEN serialized and
    /// parsed THEN the same value, integers without a fraction.
    func testNumbersRoundTrip() throws {
        let cases: [(Double, String)] = [
            (1_800_000_000, "1800000000"), (1_800_000_000.25, "1800000000.25"), (-3, "-3"),
            (0.1, "0.1"), (1e20, "1e+20"), (-0.0, "0"),
        ]
        for (value, text) in cases {
            XCTAssertEqual(JSONValue.number(value).serialized, text)
            XCTAssertEqual(try JSONValue.parse(text).numberValue, value, text)
        }
    }

    /// GIVEN a number beyond Double WHEN parsed THEN a positioned error, not infinity.
    func testHugeNumberRefused() {
        XCTAssertThrowsError(try JSONValue.parse("[1, 1e400]")) { error in
            XCTAssertEqual(
                error as? JSONSyntaxError, JSONSyntaxError(line: 1, column: 5, message: "number out of range"))
        }
    }

    /// GIVEN CRLF line ends and a multi-byte character WHEN a fault is reported THEN lines count CRLF once and columns
    /// count characters.
    func testPositionsWithCRLFAndUnicode() {
        XCTAssertThrowsError(try JSONValue.parse("{\r\n\"a\":\r\n x}")) { error in
            XCTAssertEqual((error as? JSONSyntaxError)?.line, 3)
            XCTAssertEqual((error as? JSONSyntaxError)?.column, 2)
        }
        XCTAssertThrowsError(try JSONValue.parse("{\"é\": x}")) { error in
            XCTAssertEqual((error as? JSONSyntaxError)?.column, 7)
        }
    }

    /// GIVEN a duplicated member WHEN looked up THEN the last one wins, as in JavaScript, and both stay in the
    /// serialization.
    func testDuplicateMembersLastWins() throws {
        let value = try JSONValue.parse(#"{"a":1,"a":2}"#)
        XCTAssertEqual(value["a"]?.int64Value, 2)
        XCTAssertEqual(value.serialized, #"{"a":1,"a":2}"#)
    }
}
