import FoundationEssentials
import XCTest
@testable import Crypto

final class JSONStringTests: XCTestCase {
    /// GIVEN quotes, backslashes and control characters WHEN quoted THEN the RFC 8259 escapes.
    func testEscapes() {
        XCTAssertEqual(JSONString.quoted("plain"), #""plain""#)
        XCTAssertEqual(JSONString.quoted(#"a"b\c"#), #""a\"b\\c""#)
        XCTAssertEqual(JSONString.quoted("\n\r\t\u{08}\u{0C}"), #""\n\r\t\b\f""#)
        XCTAssertEqual(JSONString.quoted("\u{00}\u{1F}"), #""\u0000\u001f""#)
        XCTAssertEqual(JSONString.quoted("/ü€"), "\"/ü€\"")
    }

    /// GIVEN every control character and some non-ASCII text WHEN quoted and decoded by
    /// JSONDecoder THEN the original string comes back.
    func testRoundTripThroughJSONDecoder() throws {
        let original = String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }) + #"\"/ü€𝄞"#
        let decoded = try JSONDecoder().decode(
            [String].self, from: Data("[\(JSONString.quoted(original))]".utf8))
        XCTAssertEqual(decoded, [original])
    }
}
