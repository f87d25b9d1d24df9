import XCTest

@testable import JSON

final class JSONValueTests: XCTestCase {
    /// GIVEN a document with every kind of value WHEN parsed and serialized THEN it round-trips, member order kept.
    func testRoundTripKeepsMemberOrder() throws {
        let text = #"{"z":1,"a":[true,false,null],"s":"é\n\"\u0001","n":-1.5,"o":{}}"#
        let value = try JSONValue.parse(text)
        XCTAssertEqual(value["z"]?.int64Value, 1)
        XCTAssertEqual(value["s"]?.stringValue, "é\n\"\u{01}")
        XCTAssertEqual(value["n"]?.numberValue, -1.5)
        XCTAssertEqual(value.serialized, #"{"z":1,"a":[true,false,null],"s":"é\n\"\u0001","n":-1.5,"o":{}}"#)
        XCTAssertEqual(try JSONValue.parse(value.serialized), value)
    }

    /// GIVEN a surrogate-pair escape WHEN parsed THEN it becomes the one scalar.
    func testSurrogatePairs() throws {
        XCTAssertEqual(try JSONValue.parse(#""\ud83d\ude00""#).stringValue, "😀")
    }

    /// GIVEN broken documents WHEN parsed THEN the error names line, column and the problem.
    func testErrorsCarryLineAndColumn() {
        let cases: [(String, Int, Int, String)] = [
            ("{\n  \"a\": 1,\n  \"b\": x\n}", 3, 8, "unexpected character 'x'"),
            ("{\"a\": 1", 1, 8, "a '}' is missing"),
            ("[1, 2,]", 1, 7, "unexpected character ']'"),
            ("{\"a\" 1}", 1, 6, "expected ':'"),
            ("\"abc", 1, 1, "unterminated string"),
            ("01", 1, 1, "leading zeros"),
            ("{} {}", 1, 4, "after the end"),
            ("{'a': 1}", 1, 2, "double quotes"),
        ]
        for (text, line, column, message) in cases {
            XCTAssertThrowsError(try JSONValue.parse(text), text) { error in
                guard let error = error as? JSONSyntaxError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.line, line, text)
                XCTAssertEqual(error.column, column, text)
                XCTAssertTrue(error.message.contains(message), "\(text): \(error.message)")
            }
        }
    }

    /// GIVEN hostile nesting WHEN parsed THEN a clean error, not a stack overflow.
    func testDepthLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssertThrowsError(try JSONValue.parse(deep))
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        XCTAssertNoThrow(try JSONValue.parse(fine))
    }

    /// GIVEN integers and non-integers WHEN read as Int64 THEN only exact integers convert.
    func testInt64Value() throws {
        XCTAssertEqual(try JSONValue.parse("1700000000").int64Value, 1_700_000_000)
        XCTAssertNil(try JSONValue.parse("1.5").int64Value)
    }
}

final class JSONQuotingTests: XCTestCase {
    /// GIVEN quotes, backslashes and control characters WHEN quoted THEN the RFC 8259 escapes.
    func testEscapes() {
        XCTAssertEqual(JSONValue.quoted("plain"), #""plain""#)
        XCTAssertEqual(JSONValue.quoted(#"a"b\c"#), #""a\"b\\c""#)
        XCTAssertEqual(JSONValue.quoted("\n\r\t\u{08}\u{0C}"), #""\n\r\t\b\f""#)
        XCTAssertEqual(JSONValue.quoted("\u{00}\u{1F}"), #""\u0000\u001f""#)
        XCTAssertEqual(JSONValue.quoted("/ü€"), "\"/ü€\"")
    }

    /// GIVEN every control character and non-ASCII text WHEN quoted and parsed back THEN unchanged.
    func testRoundTrip() throws {
        let original = String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }) + #"\"/ü€𝄞"#
        XCTAssertEqual(try JSONValue.parse("[\(JSONValue.quoted(original))]"), .array([.string(original)]))
    }

    /// GIVEN text with quotes, backslashes, controls and non-ASCII WHEN appended as bytes THEN the same bytes as
    /// `quoted`, and `quotedLength` counts them.
    func testAppendQuotedMatchesQuoted() {
        let samples = ["", "plain", "say \"hi\"", "back\\slash", "tab\tnew\nline\r", "\u{01}\u{1F}\u{08}\u{0C}", "é😀ü"]
        for text in samples {
            var bytes: [UInt8] = [0x41]
            JSONValue.appendQuoted(text, to: &bytes)
            XCTAssertEqual(bytes, [0x41] + Array(JSONValue.quoted(text).utf8), text)
            XCTAssertEqual(JSONValue.quotedLength(text), JSONValue.quoted(text).utf8.count, text)
        }
    }
}
