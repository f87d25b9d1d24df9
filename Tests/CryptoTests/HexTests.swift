import XCTest

@testable import Crypto

final class HexTests: XCTestCase {
    /// GIVEN bytes WHEN encoded THEN lowercase hex; WHEN decoded (either case) THEN the bytes.
    func testRoundTrip() {
        XCTAssertEqual(Hex.encode([0x00, 0x0F, 0xA5, 0xFF]), "000fa5ff")
        XCTAssertEqual(Hex.decode("000fa5ff"), [0x00, 0x0F, 0xA5, 0xFF])
        XCTAssertEqual(Hex.decode("000FA5FF"), [0x00, 0x0F, 0xA5, 0xFF])
        XCTAssertEqual(Hex.decode(""), [])
    }

    /// GIVEN an odd length or a non-hex character WHEN decoded THEN nil.
    func testRejectsGarbage() {
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
    }
}
