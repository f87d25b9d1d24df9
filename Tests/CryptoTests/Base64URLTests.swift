import XCTest

@testable import Crypto

final class Base64URLTests: XCTestCase {
    /// GIVEN the RFC 4648 §10 vectors WHEN encoded THEN they match without padding.
    func testRFC4648Vectors() {
        let vectors = [
            "": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg",
            "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy",
        ]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64URL.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64URL.decode(encoded), Array(plain.utf8))
        }
    }

    /// GIVEN bytes whose encoding uses the URL alphabet WHEN encoded THEN `-` and `_` appear, not `+` `/`.
    func testURLAlphabet() {
        XCTAssertEqual(Base64URL.encode([0xFB, 0xFF, 0xBF]), "-_-_")
    }

    /// GIVEN MCL-style padded and standard-alphabet input WHEN decoded THEN both are accepted (docs/protocol.md §6.2).
    func testTolerantDecoding() {
        XCTAssertEqual(Base64URL.decode("Zm8="), Array("fo".utf8))
        XCTAssertEqual(Base64URL.decode("+/+/"), [0xFB, 0xFF, 0xBF])
    }

    /// GIVEN malformed input WHEN decoded THEN nil, never a crash.
    func testRejectsGarbage() {
        XCTAssertNil(Base64URL.decode("Zm9v!"))
        XCTAssertNil(Base64URL.decode("Z"))
        XCTAssertNil(Base64URL.decode("Zg=x"))
    }

    /// GIVEN random bytes of every length up to 64 WHEN round-tripped THEN unchanged.
    func testRoundTrip() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...64 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            XCTAssertEqual(Base64URL.decode(Base64URL.encode(bytes)), bytes)
        }
    }
}
