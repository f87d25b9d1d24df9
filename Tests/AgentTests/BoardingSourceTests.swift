import Glibc
import XCTest

@testable import Agent

/// Under the unit the boarding file reaches the daemon as systemd's credential (docs/design.md §3); run by hand,
/// the daemon reads the operator's file. Messages always name the operator's file.
final class BoardingSourceTests: XCTestCase {
    private var root = ""
    private var configuration: String { root + "/etc" }
    private var credentials: String { root + "/credentials" }

    override func setUp() {
        var template = Array("/tmp/hubagent-boarding-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        mkdir(configuration, 0o755)
        mkdir(credentials, 0o700)
    }

    override func tearDown() { TemporaryTree.remove(root) }

    private func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// GIVEN a credential and a different file WHEN read THEN the credential counts (the daemon cannot read the
    /// root-only file under the unit).
    func testTheCredentialIsReadWhenSystemdProvidesIt() throws {
        let iat = try Fixture.iat(exp: nil)
        write(credentials + "/boarding.json", Fixture.boardingJSON(iat: iat))
        write(configuration + "/boarding.json", "not what is read")
        let source = BoardingSource(directory: configuration, credentialsDirectory: credentials)
        guard case .success(let boarding)? = source.read() else { return XCTFail() }
        XCTAssertEqual(boarding.initialAccessToken.exposed, iat)
        XCTAssertEqual(source.path, configuration + "/boarding.json")
    }

    /// GIVEN the unit's stand-in credential (no boarding file) WHEN read THEN no boarding file, whatever is in the
    /// configuration directory; GIVEN no credential at all THEN the file is read.
    func testTheStandInMeansNoFileAndNoCredentialMeansTheFile() throws {
        write(credentials + "/boarding.json", BoardingSource.absentCredential)
        write(configuration + "/boarding.json", try Fixture.boardingJSON(iat: Fixture.iat(exp: nil)))
        XCTAssertNil(BoardingSource(directory: configuration, credentialsDirectory: credentials).read())
        unlink(credentials + "/boarding.json")
        guard case .success? = BoardingSource(directory: configuration, credentialsDirectory: credentials).read()
        else { return XCTFail() }
        guard case .success? = BoardingSource(directory: configuration).read() else { return XCTFail() }
    }

    /// GIVEN a broken credential WHEN read THEN the error names the operator's file, where the fix goes.
    func testErrorsNameTheOperatorsFile() {
        write(credentials + "/boarding.json", "{\"content\": ")
        let source = BoardingSource(directory: configuration, credentialsDirectory: credentials)
        guard case .failure(let error)? = source.read() else { return XCTFail() }
        XCTAssertEqual(error.file, configuration + "/boarding.json")
    }

    /// GIVEN systemd's RUNTIME_DIRECTORY=/run/hubagent/daemon WHEN laid out THEN the sockets are in /run/hubagent;
    /// a flag or a directory of another name keeps them beside status.json.
    func testTheUnitsRuntimeDirectoryIsSplit() {
        let unit = Layout(
            configurationDirectory: nil, stateDirectory: nil, runtimeDirectory: nil,
            environment: ["RUNTIME_DIRECTORY": "/run/hubagent/daemon"])
        XCTAssertEqual(unit.tokenSocket, "/run/hubagent/token.sock")
        XCTAssertEqual(unit.statusFile, "/run/hubagent/daemon/status.json")
        let byHand = Layout(
            configurationDirectory: nil, stateDirectory: nil, runtimeDirectory: root + "/daemon", environment: [:])
        XCTAssertEqual(byHand.tokenSocket, root + "/daemon/token.sock")
        let other = Layout(
            configurationDirectory: nil, stateDirectory: nil, runtimeDirectory: nil,
            environment: ["RUNTIME_DIRECTORY": "/run/other"])
        XCTAssertEqual(other.tokenSocket, "/run/other/token.sock")
    }

    /// GIVEN the default layout of a client WHEN the service's subdirectory exists THEN status.json is read there.
    func testAClientFindsTheServicesStatus() {
        let client = Layout(
            configurationDirectory: nil, stateDirectory: nil, runtimeDirectory: root, environment: [:])
        XCTAssertEqual(client.statusFile, root + "/status.json")
        mkdir(root + "/daemon", 0o750)
        XCTAssertEqual(client.statusFile, root + "/daemon/status.json")
        XCTAssertEqual(client.tokenSocket, root + "/token.sock")
    }
}
