import XCTest

@testable import Agent

final class VersionTests: XCTestCase {
    /// GIVEN the product version WHEN read THEN it is MAJOR.MINOR.PATCH, which Debian's version rules accept.
    func testVersionIsSemantic() {
        let parts = HubAgentVersion.string.split(separator: ".")
        XCTAssertEqual(parts.count, 3)
        XCTAssertTrue(parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) })
    }
}
