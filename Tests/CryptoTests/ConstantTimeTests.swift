import XCTest

@testable import Crypto

final class ConstantTimeTests: XCTestCase {
    /// GIVEN two equal arrays WHEN compared THEN equal.
    func testEqual() {
        XCTAssertTrue(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        XCTAssertTrue(ConstantTime.equals([], []))
    }

    /// GIVEN arrays differing in the first or last byte WHEN compared THEN not equal.
    func testDifferentContents() {
        XCTAssertFalse(ConstantTime.equals([1, 2, 3], [0, 2, 3]))
        XCTAssertFalse(ConstantTime.equals([1, 2, 3], [1, 2, 4]))
    }

    /// GIVEN arrays of different lengths, one a prefix of the other WHEN compared THEN not equal.
    func testDifferentLengths() {
        XCTAssertFalse(ConstantTime.equals([1, 2, 3], [1, 2]))
        XCTAssertFalse(ConstantTime.equals([], [0]))
    }
}
