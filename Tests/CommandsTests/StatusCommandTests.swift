import JSON
import XCTest

@testable import Agent
@testable import Commands

final class StatusCommandTests: XCTestCase {
    private func statusJSON(pid: Int32?) -> String {
        """
        {"state":"onboarded","summary":"onboarded; token valid until later","clientId":"gateway-1","tenant":"acme",
         "profile":"SHARED_SECRET","southgate":"https://southgate.example.test","secretExpiresAt":4070908800,
         "nextRotationAt":4070000000,"tokenExpiresAt":4070000000,"clockOffset":1.5,"offline":false,"dataSources":null,
         "problems":[],"lastError":null,"pid":\(pid.map(String.init) ?? "null"),"version":"0.1.0",
         "updatedAt":1800000000}
        """
    }

    /// GIVEN a status.json of a live daemon (this process) WHEN shown THEN rendered from it,
    /// "running" true in JSON.
    func testLiveStatus() throws {
        let scratch = ScratchDirectory()
        scratch.write("status.json", statusJSON(pid: getpid()))
        let run = hubagent("status", "--runtime-dir", scratch.path, "--state-dir", scratch.file("none"))
        XCTAssertEqual(run.status, ExitCode.ok, run.error)
        XCTAssertTrue(run.output.contains("gateway-1"), run.output)
        XCTAssertTrue(run.output.contains("+1.5 s (southgate minus this gateway)"), run.output)
        XCTAssertFalse(run.output.contains("daemon not running"))

        let json = try JSONValue.parse(Array(hubagent("status", "--json", "--runtime-dir", scratch.path).output.utf8))
        XCTAssertEqual(json["running"]?.boolValue, true)
        XCTAssertEqual(json["clientId"]?.stringValue, "gateway-1")
    }

    /// GIVEN a status.json whose daemon is gone WHEN shown THEN marked not running.
    func testStaleStatus() {
        let scratch = ScratchDirectory()
        scratch.write("status.json", statusJSON(pid: nil))
        let run = hubagent("status", "--runtime-dir", scratch.path)
        XCTAssertEqual(run.status, ExitCode.ok)
        XCTAssertTrue(run.output.contains("onboarded (daemon not running)"), run.output)
    }

    /// GIVEN no status and an empty state directory WHEN shown THEN "no identity stored yet".
    func testFromStateDirectory() {
        let scratch = ScratchDirectory()
        let state = scratch.makeDirectory("state")
        let run = hubagent("status", "--runtime-dir", scratch.file("run"), "--state-dir", state)
        XCTAssertEqual(run.status, ExitCode.ok, run.error)
        XCTAssertTrue(run.output.contains("no identity stored yet"), run.output)
    }

    /// GIVEN neither WHEN shown THEN exit 1 naming both places.
    func testNothingToShow() {
        let scratch = ScratchDirectory()
        let run = hubagent("status", "--runtime-dir", scratch.file("run"), "--state-dir", scratch.file("state"))
        XCTAssertEqual(run.status, ExitCode.failure)
        XCTAssertTrue(run.error.contains("no status from a running daemon in \(scratch.file("run"))"), run.error)
    }
}

final class TokenCommandTests: XCTestCase {
    /// GIVEN no daemon WHEN a token is asked for THEN exit 1, nothing on stdout, the reason.
    func testNoDaemon() {
        let scratch = ScratchDirectory()
        let run = hubagent("token", "--runtime-dir", scratch.path)
        XCTAssertEqual(run.status, ExitCode.failure)
        XCTAssertEqual(run.output, "")
        XCTAssertTrue(run.error.contains("cannot reach the daemon at \(scratch.file("token.sock"))"), run.error)
        XCTAssertTrue(run.error.contains("is hubagent running?"))
    }

    /// GIVEN a socket path beyond sun_path WHEN asked THEN a clear error, not a crash.
    func testPathTooLong() {
        let run = hubagent("token", "--runtime-dir", "/tmp/" + String(repeating: "x", count: 120))
        XCTAssertEqual(run.status, ExitCode.failure)
        XCTAssertTrue(run.error.contains("File name too long"), run.error)
    }

    /// The permission message names the socket, its group and both fixes.
    func testPermissionDeniedMessage() {
        let scratch = ScratchDirectory()
        let socket = scratch.write("token.sock", "")
        let text = TokenCommand.permissionDenied(socket)
        XCTAssertTrue(text.hasPrefix("permission denied on \(socket): \(socket) is group "), text)
        XCTAssertTrue(text.contains("usermod -aG") && text.contains("token_socket_group"), text)
        XCTAssertFalse(text.contains("is hubagent running"))
    }

    func testUsage() {
        XCTAssertEqual(hubagent("token", "--json").status, ExitCode.usage)
    }
}
