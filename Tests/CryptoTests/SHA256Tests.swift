import XCTest

@testable import Crypto

final class SHA256Tests: XCTestCase {
    /// GIVEN "abc" WHEN hashed THEN the FIPS 180-2 B.1 digest.
    func testABC() {
        XCTAssertEqual(
            SHA256.hexHash(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// GIVEN no bytes WHEN hashed THEN the well-known empty digest, 32 bytes long.
    func testEmpty() {
        let digest = SHA256.hash([])
        XCTAssertEqual(digest.count, 32)
        XCTAssertEqual(Hex.encode(digest), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
