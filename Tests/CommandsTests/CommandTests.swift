import XCTest
@testable import Commands

final class CommandTests: XCTestCase {
    /// GIVEN an unknown subcommand WHEN dispatched THEN exit status 64.
    func testUnknownCommandIsAUsageError() {
        XCTAssertEqual(Command.dispatch(["frobnicate"]), ExitCode.usage)
    }
}
