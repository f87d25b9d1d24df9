import XCTest

@testable import Platform

final class LocalHTTPRequestTests: XCTestCase {
    func parse(_ text: String) -> LocalHTTPRequest.Parse { LocalHTTPRequest.parse(Array(text.utf8)) }

    /// GIVEN a complete GET WHEN parsed THEN method and path; GIVEN half of it THEN incomplete.
    func testCompleteAndIncomplete() {
        XCTAssertEqual(
            parse("GET /token HTTP/1.1\r\nHost: x\r\n\r\n"),
            .request(LocalHTTPRequest(method: "GET", path: "/token", headers: ["host": "x"])))
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

    /// GIVEN a POST with a Content-Length WHEN parsed in parts THEN awaiting the body, then the request with it.
    func testBodyByContentLength() {
        let head = "POST /v1/timeseries HTTP/1.1\r\nContent-Type: application/x-ndjson\r\nContent-Length: 5\r\n\r\n"
        XCTAssertEqual(
            LocalHTTPRequest.parse(Array((head + "ab").utf8), maximumBody: 10),
            .awaitingBody(total: head.utf8.count + 5, expectsContinue: false))
        guard case .request(let request) = LocalHTTPRequest.parse(Array((head + "abcde").utf8), maximumBody: 10)
        else { return XCTFail() }
        XCTAssertEqual(request.body, Array("abcde".utf8))
        XCTAssertEqual(request.headers["content-type"], "application/x-ndjson")
        let curl = "POST /v1/events HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        XCTAssertEqual(
            LocalHTTPRequest.parse(Array(curl.utf8), maximumBody: 10),
            .awaitingBody(total: curl.utf8.count + 3, expectsContinue: true))
    }

    /// GIVEN a body over the limit, a chunked body or a bad length WHEN parsed THEN 413, 411 or malformed.
    func testBodyLimitsAndFraming() {
        let big = "POST /v1/timeseries HTTP/1.1\r\nContent-Length: 11\r\n\r\n"
        XCTAssertEqual(
            LocalHTTPRequest.parse(Array(big.utf8), maximumBody: 10),
            .refused(status: 413, reason: "request body larger than 10 bytes"))
        XCTAssertEqual(
            LocalHTTPRequest.parse(Array("GET /token HTTP/1.1\r\nContent-Length: 1\r\n\r\nx".utf8)),
            .refused(status: 413, reason: "request body larger than 0 bytes"))
        guard
            case .refused(411, _) = LocalHTTPRequest.parse(
                Array("POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".utf8), maximumBody: 10)
        else { return XCTFail("chunked") }
        for length in ["-1", "1e3", "", "99999999999999", "+5"] {
            let text = "POST /v1/events HTTP/1.1\r\nContent-Length: \(length)\r\n\r\n"
            guard case .malformed = LocalHTTPRequest.parse(Array(text.utf8), maximumBody: 10) else {
                return XCTFail(length)
            }
        }
        guard
            case .malformed = LocalHTTPRequest.parse(
                Array("POST /v1/events HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx".utf8),
                maximumBody: 10)
        else { return XCTFail("repeated length") }
    }
}
