import XCTest

@testable import Platform

/// Inputs the fuzz campaign (Tests/Fuzz) found, kept as plain unit tests.
final class FuzzRegressionTests: XCTestCase {
    /// GIVEN a request path with a NUL, another C0 control, DEL or a non-ASCII byte WHEN parsed
    /// THEN malformed: the path is written to the journal as it is.
    func testPathWithControlOrNonASCIIBytesIsMalformed() {
        let found: [UInt8] =
            Array("POST /tokeUInt".utf8) + [0, 0] + Array("n HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}".utf8)
        XCTAssertEqual(LocalHTTPRequest.parse(found), .malformed("bad path"))
        for byte: UInt8 in [0x00, 0x01, 0x1B, 0x7F, 0xC3] {
            var bytes = Array("GET /to".utf8) + [byte]
            if byte == 0xC3 { bytes.append(0xA9) }  // é, valid UTF-8
            bytes += Array("ken HTTP/1.1\r\n\r\n".utf8)
            XCTAssertEqual(LocalHTTPRequest.parse(bytes), .malformed("bad path"), "byte \(byte)")
        }
        XCTAssertEqual(
            LocalHTTPRequest.parse(Array("GET /token?x=%00~ HTTP/1.1\r\n\r\n".utf8)),
            .request(LocalHTTPRequest(method: "GET", path: "/token?x=%00~")))
    }
}
