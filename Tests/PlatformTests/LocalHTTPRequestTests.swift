import XCTest

@testable import Platform

final class LocalHTTPRequestTests: XCTestCase {
    func parse(_ text: String) -> LocalHTTPRequest.Parse { LocalHTTPRequest.parse(Array(text.utf8)) }

    /// GIVEN a complete GET WHEN parsed THEN method and path; GIVEN half of it THEN incomplete.
    func testCompleteAndIncomplete() {
        XCTAssertEqual(
            parse("GET /token HTTP/1.1\r\nHost: x\r\n\r\n"), .request(LocalHTTPRequest(method: "GET", path: "/token")))
        XCTAssertEqual(parse("GET /token HTTP/1.0\r\n\r\n"), .request(LocalHTTPRequest(method: "GET", path: "/token")))
        XCTAssertEqual(parse("GET /token HTTP/1.1\r\nHost: x\r\n"), .incomplete)
    }

    /// GIVEN malformed heads WHEN parsed THEN malformed, never a crash.
    func testMalformed() {
        for text in [
            "hello\r\n\r\n", "GET /token\r\n\r\n", "GET token HTTP/1.1\r\n\r\n", "get /token HTTP/1.1\r\n\r\n",
            "GET /token HTTP/2\r\n\r\n", "GET /token HTTP/1.1\r\nno colon\r\n\r\n", "GET /a b HTTP/1.1\r\n\r\n",
            "GET /token HTTP/1.1\r\n: empty name\r\n\r\n",
        ] {
            guard case .malformed = parse(text) else { return XCTFail(text) }
        }
        guard case .malformed = LocalHTTPRequest.parse([0xFF, 0xFE, 13, 10, 13, 10]) else { return XCTFail("binary") }
    }

    /// GIVEN more than 8 KiB without the end of the head WHEN parsed THEN malformed, so memory stays bounded.
    func testOversized() {
        guard case .malformed(let reason) = parse("GET /token HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000))
        else { return XCTFail() }
        XCTAssertTrue(reason.contains("8192"))
    }

    /// GIVEN random bytes ending the head WHEN parsed THEN a request or malformed (never "incomplete", never a trap).
    func testRandomInput() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes =
                (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator)
                } + [13, 10, 13, 10]
            XCTAssertNotEqual(LocalHTTPRequest.parse(bytes), .incomplete, "\(bytes)")
        }
    }
}
