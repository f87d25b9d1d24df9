import Glibc
import XCTest

@testable import Platform

final class SystemErrorTests: XCTestCase {
    /// GIVEN a failed call WHEN described THEN the call, the subject and the errno text all appear.
    func testDescriptionNamesCallSubjectAndReason() {
        let error = SystemError("openat", "/var/lib/hubagent/registration.json", errno: ENOENT)
        XCTAssertEqual(error.description, "openat /var/lib/hubagent/registration.json: No such file or directory")
    }
}
