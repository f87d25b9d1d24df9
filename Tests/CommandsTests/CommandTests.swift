import XCTest

@testable import Agent
@testable import Commands

final class CommandTests: XCTestCase {
    /// GIVEN an unknown subcommand WHEN dispatched THEN exit status 64 and the way to the list.
    func testUnknownCommandIsAUsageError() {
        let run = hubagent("frobnicate")
        XCTAssertEqual(run.status, ExitCode.usage)
        XCTAssertTrue(run.error.contains("unknown command 'frobnicate'"), run.error)
    }

    /// GIVEN no arguments WHEN dispatched THEN the overview on stderr and 64.
    func testNoCommand() {
        let run = hubagent()
        XCTAssertEqual(run.status, ExitCode.usage)
        XCTAssertTrue(run.error.contains("Usage: hubagent <command>"))
    }

    /// GIVEN help for each command WHEN asked THEN its text, exit 0, defaults from Layout.
    func testHelpTexts() {
        for command in ["run", "status", "check", "token", "validate", "version", "help"] {
            let run = hubagent("help", command)
            XCTAssertEqual(run.status, ExitCode.ok, command)
            XCTAssertTrue(run.output.hasPrefix("Usage: hubagent \(command)"), run.output)
        }
        XCTAssertTrue(hubagent("help", "run").output.contains("else \(Layout.defaultStateDirectory))"))
        XCTAssertEqual(hubagent("help", "nothing").status, ExitCode.usage)
        XCTAssertEqual(hubagent("status", "--help").status, ExitCode.ok)
    }

    func testVersion() {
        let run = hubagent("version")
        XCTAssertEqual(run.status, ExitCode.ok)
        XCTAssertEqual(run.output, "hubagent \(HubAgentVersion.string)\n")
    }
}

final class OptionsTests: XCTestCase {
    /// GIVEN both spellings, a switch and a positional WHEN parsed THEN each lands in its place.
    func testSpellings() throws {
        let options = try Options(
            ["--config-dir", "/a", "--state-dir=/b", "--json", "file"],
            valued: ["config-dir", "state-dir"], switches: ["json"])
        XCTAssertEqual(options.values, ["config-dir": "/a", "state-dir": "/b"])
        XCTAssertEqual(options.flags, ["json"])
        XCTAssertEqual(options.positional, ["file"])
    }

    func testErrors() {
        XCTAssertThrowsError(try Options(["--nope"], valued: [], switches: [])) { error in
            XCTAssertEqual("\(error)", "unknown option --nope")
        }
        XCTAssertThrowsError(try Options(["--config-dir"], valued: ["config-dir"], switches: [])) { error in
            XCTAssertEqual("\(error)", "option --config-dir needs a value")
        }
        // A switch given a value is not that switch.
        XCTAssertThrowsError(try Options(["--json=yes"], valued: [], switches: ["json"]))
    }

    /// GIVEN a flag, systemd's variable (a list) and nothing WHEN resolved THEN flag, first of the
    /// list, default.
    func testLayoutPrecedence() throws {
        let options = try Options(["--state-dir", "/flag"], valued: ["state-dir"], switches: [])
        let layout = options.layout(environment: ["STATE_DIRECTORY": "/env", "RUNTIME_DIRECTORY": "/run/a:/run/b"])
        XCTAssertEqual(layout.stateDirectory, "/flag")
        XCTAssertEqual(layout.runtimeDirectory, "/run/a")
        XCTAssertEqual(layout.configurationDirectory, Layout.defaultConfigurationDirectory)
        XCTAssertEqual(layout.settingsFile, "/etc/hubagent/hubagent.conf")
        XCTAssertEqual(layout.tokenSocket, "/run/a/token.sock")
        XCTAssertEqual(layout.statusFile, "/run/a/status.json")
    }
}

final class ValidateCommandTests: XCTestCase {
    func testKinds() {
        XCTAssertEqual(FileSummary.kind(of: "/x/datasources.yaml"), .dataSources)
        XCTAssertEqual(FileSummary.kind(of: "/x/a.yml"), .dataSources)
        XCTAssertEqual(FileSummary.kind(of: "/x/hubagent.conf"), .settings)
        XCTAssertEqual(FileSummary.kind(of: "/x/boarding.json"), .boarding)
    }

    /// GIVEN valid files in the configuration directory WHEN validated without arguments THEN
    /// one OK line each (the optional ones only when present), exit 0.
    func testValidDirectory() throws {
        let scratch = ScratchDirectory()
        scratch.write("boarding.json", try boardingJSON())
        scratch.write("hubagent.conf", "log_level = debug\n")
        let run = hubagent("validate", "--config-dir", scratch.path)
        XCTAssertEqual(run.status, ExitCode.ok, run.output + run.error)
        let lines = run.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, run.output)
        let boarding = scratch.file("boarding.json")
        XCTAssertTrue(lines[0].hasPrefix(boarding + ": OK: boarding file for gateway-1 (SHARED_SECRET)"))
        XCTAssertTrue(lines[1].hasPrefix(scratch.file("hubagent.conf") + ": OK: settings: log_level debug"))
    }

    /// GIVEN a broken settings file and a missing boarding file WHEN validated THEN file:line
    /// errors, exit 1.
    func testInvalidFiles() {
        let scratch = ScratchDirectory()
        let settings = scratch.write("hubagent.conf", "\nrotate_every = 3d\n")
        let run = hubagent("validate", settings, scratch.file("boarding.json"))
        XCTAssertEqual(run.status, ExitCode.failure)
        XCTAssertTrue(run.output.contains(settings + ":2: unknown setting \"rotate_every\""), run.output)
        XCTAssertTrue(run.output.contains(scratch.file("boarding.json") + ": no such file"), run.output)
        XCTAssertEqual(hubagent("validate", "--frob").status, ExitCode.usage)
    }

    /// GIVEN a data source file over the limit WHEN validated THEN refused by size.
    func testDataSourcesLimit() {
        let scratch = ScratchDirectory()
        let path = scratch.write("datasources.yaml", String(repeating: "#", count: Layout.Limit.dataSources + 1))
        guard case .failure(let error) = FileSummary.check(path) else { return XCTFail("accepted") }
        XCTAssertEqual(error.message, "larger than \(Layout.Limit.dataSources) bytes")
    }
}
