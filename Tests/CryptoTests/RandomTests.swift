import XCTest

@testable import Crypto

final class RandomTests: XCTestCase {
    /// GIVEN a count WHEN random bytes are drawn twice THEN the count is right and the draws differ.
    func testSecureRandomBytes() throws {
        let first = try SecureRandom.bytes(32)
        XCTAssertEqual(first.count, 32)
        XCTAssertNotEqual(first, try SecureRandom.bytes(32))
        XCTAssertEqual(try SecureRandom.bytes(0), [])
    }

    /// GIVEN a negative count WHEN random bytes are requested THEN invalidArgument.
    func testSecureRandomRejectsNegativeCount() {
        XCTAssertThrowsError(try SecureRandom.bytes(-1)) { error in
            guard case .invalidArgument = error as? CryptoError else { return XCTFail("\(error)") }
        }
    }

    /// GIVEN 1000 UUIDs WHEN inspected THEN each is lowercase 8-4-4-4-12 with version 4 and
    /// variant 8/9/a/b, and all are distinct.
    func testUUIDv4FormatAndUniqueness() throws {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let uuid = try UUIDv4.random()
            let groups = uuid.split(separator: "-", omittingEmptySubsequences: false)
            XCTAssertEqual(groups.map(\.count), [8, 4, 4, 4, 12], uuid)
            XCTAssertTrue(uuid.allSatisfy { "0123456789abcdef-".contains($0) }, uuid)
            XCTAssertEqual(groups[2].first, "4", uuid)
            XCTAssertTrue("89ab".contains(groups[3].first ?? "x"), uuid)
            seen.insert(uuid)
        }
        XCTAssertEqual(seen.count, 1000)
    }

    /// GIVEN a correlation id WHEN inspected THEN 32 lowercase hex characters (docs/protocol.md §1).
    func testCorrelationID() throws {
        let id = try CorrelationID.random()
        XCTAssertEqual(id.count, 32)
        XCTAssertTrue(id.allSatisfy { "0123456789abcdef".contains($0) }, id)
        XCTAssertNotEqual(id, try CorrelationID.random())
    }
}
