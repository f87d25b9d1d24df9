import Glibc
import JSON
import Platform
import XCTest

@testable import Agent
@testable import Commands

/// Each check on prepared directories, without a daemon and without the network.
final class CheckTests: XCTestCase {
    private var scratch: ScratchDirectory!

    override func setUp() {
        scratch = ScratchDirectory()
        _ = scratch.makeDirectory("conf", mode: 0o755)
    }

    private func context(_ extra: [String] = []) throws -> CheckContext {
        let options = try Options(
            [
                "--config-dir", scratch.file("conf"), "--state-dir", scratch.file("state"),
                "--runtime-dir", scratch.file("run"),
            ] + extra,
            valued: ["config-dir", "state-dir", "runtime-dir", "ca-file"],
            switches: ["json", "online"])
        return CheckContext(options: options, environment: [:])
    }

    func testIdsAreStableAndInOrder() {
        XCTAssertEqual(
            CheckCommand.checks.map { $0.id },
            [
                "config.boarding", "config.datasources", "config.settings", "state.permissions",
                "boarding.expiry", "network.dns", "network.tls", "clock.offset", "token.roundtrip",
                "systemd.unit", "relay.disk", "relay.socket",
            ])
    }

    /// GIVEN nothing at all WHEN checked THEN the boarding check fails, the rest skip or pass.
    func testNothingThere() throws {
        let context = try context()
        let boarding = ConfigBoardingCheck.run(context)
        XCTAssertEqual(boarding.status, .fail)
        let path = scratch.file("conf/boarding.json")
        XCTAssertTrue(boarding.message.contains("no boarding file at \(path)"), boarding.message)
        XCTAssertEqual(ConfigDataSourcesCheck.run(context).status, .ok)
        XCTAssertEqual(ConfigSettingsCheck.run(context).status, .ok)
        XCTAssertEqual(StatePermissionsCheck.run(context).status, .skip)
        XCTAssertEqual(BoardingExpiryCheck.run(context).status, .skip)
        for check in [NetworkDNSCheck.self, NetworkTLSCheck.self, ClockOffsetCheck.self] as [any HealthCheck.Type] {
            let result = check.run(context)
            XCTAssertEqual(result.status, .skip, check.id)
            XCTAssertTrue(result.message.hasPrefix("no southgate URL"), result.message)
        }
        XCTAssertEqual(TokenRoundTripCheck.run(context).status, .skip)
        XCTAssertFalse(access(scratch.file("state"), F_OK) == 0, "check must not create the state directory")
    }

    /// GIVEN the relay off THEN its checks skip; GIVEN it on with a group that does not exist THEN the socket
    /// check fails naming the group, and the disk check weighs relay_max_disk against the free space.
    func testRelayChecks() throws {
        XCTAssertEqual(RelayDiskCheck.run(try context()).status, .skip)
        XCTAssertEqual(RelaySocketCheck.run(try context()).status, .skip)
        scratch.write("conf/hubagent.conf", "relay = on\ndata_socket_group = no-such-group-here\n")
        let socket = RelaySocketCheck.run(try context())
        XCTAssertEqual(socket.status, .fail)
        XCTAssertTrue(socket.message.contains("data_socket_group no-such-group-here does not exist"), socket.message)
        scratch.write("conf/hubagent.conf", "relay = on\nrelay_max_disk = 1024GiB\n")
        let disk = RelayDiskCheck.run(try context())
        XCTAssertEqual(disk.status, .warn, disk.message)
        XCTAssertTrue(disk.message.contains("not relay_max_disk 1048576 MiB"), disk.message)
        scratch.write("conf/hubagent.conf", "relay = on\nrelay_max_disk = 8MiB\n")
        XCTAssertEqual(RelayDiskCheck.run(try context()).status, .ok)
        XCTAssertEqual(RelaySocketCheck.run(try context()).status, .warn, "no daemon, no socket")
    }

    func testBoardingFile() throws {
        scratch.write("conf/boarding.json", try boardingJSON())
        let context = try context()
        let result = ConfigBoardingCheck.run(context)
        XCTAssertEqual(result.status, .ok)
        XCTAssertTrue(
            result.message.contains("boarding file for gateway-1 (SHARED_SECRET), tenant acme"),
            result.message)
        XCTAssertEqual(BoardingExpiryCheck.run(context).status, .ok)
    }

    func testExpiredBoardingFile() throws {
        let expired = try boardingJSON(expiration: "2020-01-01T00:00:00.000Z", iatExpiry: 1_577_836_800)
        scratch.write("conf/boarding.json", expired)
        let result = BoardingExpiryCheck.run(try context())
        XCTAssertEqual(result.status, .fail)
        XCTAssertTrue(result.message.contains("expired at"), result.message)
    }

    func testBrokenBoardingFile() throws {
        scratch.write("conf/boarding.json", #"{"content": {"baseUrl": "#)
        let result = ConfigBoardingCheck.run(try context())
        XCTAssertEqual(result.status, .fail)
        XCTAssertTrue(result.message.hasPrefix(scratch.file("conf/boarding.json") + ":1:"), result.message)
    }

    func testSettings() throws {
        scratch.write("conf/hubagent.conf", "request_timeout = 0\n")
        let broken = ConfigSettingsCheck.run(try context())
        XCTAssertEqual(broken.status, .fail)
        XCTAssertTrue(broken.message.contains("hubagent.conf:1: request_timeout must be a number"), broken.message)

        scratch.write("conf/hubagent.conf", "ca_file = \(scratch.file("missing.pem"))\n")
        let missing = ConfigSettingsCheck.run(try context())
        XCTAssertEqual(missing.status, .fail)
        XCTAssertEqual(missing.message, "ca_file \(scratch.file("missing.pem")) does not exist")

        let pem = scratch.write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        let fine = ConfigSettingsCheck.run(try context(["--ca-file", pem]))
        XCTAssertEqual(fine.status, .ok)
        XCTAssertTrue(fine.message.hasSuffix("; --ca-file \(pem) readable"), fine.message)
    }

    func testDataSources() throws {
        scratch.write("conf/datasources.yaml", "configurationId: [\n")
        let result = ConfigDataSourcesCheck.run(try context())
        XCTAssertEqual(result.status, .fail)
        XCTAssertTrue(result.message.contains("datasources.yaml:1:"), result.message)
    }

    /// GIVEN the state directory at 0755 and a state file at 0644 WHEN checked THEN FAIL with the
    /// exact chmods, the rules being StateDirectory's.
    func testStatePermissions() throws {
        let state = scratch.makeDirectory("state", mode: 0o755)
        let file = scratch.write("state/state.1.json", "{}", mode: 0o644)
        let result = StatePermissionsCheck.run(try context())
        XCTAssertEqual(result.status, .fail)
        let expected = "\(state): mode 755 lets other users read the credentials in it (and 1 more)"
        XCTAssertTrue(
            result.message.hasPrefix(expected),
            result.message)
        XCTAssertEqual(result.fix, "chmod 700 \(state); chmod 600 \(file)")

        chmod(state, 0o700)
        chmod(file, 0o600)
        let readable = StatePermissionsCheck.run(try context())
        // Modes are right now; the file is not a state document, which the daemon skips.
        XCTAssertEqual(readable.status, .warn, readable.message)
        XCTAssertTrue(
            readable.message.hasPrefix("\(state): mode 700, 1 file 600, owner uid \(getuid())"),
            readable.message)

        unlink(file)
        symlink("/etc/passwd", scratch.file("state/link"))
        let linked = StatePermissionsCheck.run(try context())
        XCTAssertEqual(linked.status, .fail)
        XCTAssertTrue(linked.message.contains("is a symbolic link"), linked.message)
    }

    func testEmptyStateDirectory() throws {
        _ = scratch.makeDirectory("state")
        let result = StatePermissionsCheck.run(try context())
        XCTAssertEqual(result.status, .ok)
        XCTAssertTrue(result.message.hasSuffix("; no identity stored yet"), result.message)
    }

    /// GIVEN a boarding file for an unreachable southgate WHEN the name cannot resolve THEN
    /// network.dns FAILs with the fix, as libcurl reports it.
    func testUnresolvableHost() throws {
        scratch.write("conf/boarding.json", try boardingJSON(baseURL: "https://does-not-exist.invalid"))
        let result = NetworkDNSCheck.run(try context())
        XCTAssertEqual(result.status, .fail, result.message)
        XCTAssertTrue(result.message.hasPrefix("does-not-exist.invalid does not resolve"), result.message)
        XCTAssertTrue(result.fix?.contains("/etc/resolv.conf") == true)
    }

    /// localhost resolves through libcurl without asking /etc/hosts or a name server.
    func testLocalhostResolves() throws {
        scratch.write("conf/boarding.json", try boardingJSON(baseURL: "https://localhost:1"))
        let result = NetworkDNSCheck.run(try context())
        XCTAssertEqual(result.status, .ok, result.message)
        XCTAssertTrue(result.message.hasPrefix("localhost resolves"), result.message)
    }

    func testProxyRoute() {
        let route = ProxyRoute(
            settings: Settings(),
            environment: [
                "https_proxy": "http://user:secret-pw@proxy:3128",
                "no_proxy": "internal.example, .corp",
            ])
        XCTAssertEqual(route.proxy(for: "southgate.example"), "http://proxy:3128")
        XCTAssertNil(route.proxy(for: "a.internal.example"))
        XCTAssertNil(route.proxy(for: "x.corp"))
        XCTAssertEqual(route.credentials, ["user:secret-pw", "secret-pw"])
    }

    func testEndpoint() {
        XCTAssertEqual(Endpoint(url: "https://h.example/x")?.description, "h.example:443")
        XCTAssertEqual(Endpoint(url: "https://u@[::1]:8443/")?.description, "[::1]:8443")
        XCTAssertNil(Endpoint(url: "https://h:99999/"))
        XCTAssertNil(Endpoint(url: "no-scheme"))
    }

    /// The clock check reads the date as the daemon does: HTTPDate, with its fuzzing fixes.
    func testServerTime() {
        XCTAssertEqual(ClockOffsetCheck.serverTime(["date": "Tue, 01 Dec 2026 04:45:55 GMT"]), 1_796_100_355.5)
        XCTAssertNil(ClockOffsetCheck.serverTime(["date": "Sat, 31 Nov 2026 04:45:55 GMT"]))
        XCTAssertEqual(ClockOffsetCheck.serverTime(["server-time": "1796100355.25"]), 1_796_100_355.25)
        XCTAssertNil(ClockOffsetCheck.serverTime(["server-time": "1e9"]))
    }

    /// GIVEN results WHEN rendered THEN the table aligns and counts, the JSON has a null fix for OK.
    func testRendering() throws {
        var ok = CheckResult.ok("fine")
        ok.id = "a.b"
        var failed = CheckResult.fail("broken\nacross lines", fix: "mend it")
        failed.id = "config.longer"
        let table = CheckCommand.table([ok, failed], fails: 1, warnings: 0)
        XCTAssertEqual(
            table,
            """
            OK    a.b            fine
            FAIL  config.longer  broken across lines
                                 fix: mend it

            1 failure, 0 warnings in 2 checks
            """)
        let json = CheckCommand.json([ok, failed], fails: 1, warnings: 0)
        XCTAssertEqual(json["checks"]?.arrayValue?.first?["fix"], .null)
        XCTAssertEqual(json["fails"]?.numberValue, 1)
    }

    /// The exit status is the number of FAILs, and --json holds every check.
    func testExitStatus() throws {
        let run = hubagent(
            "check", "--json", "--config-dir", scratch.file("conf"),
            "--state-dir", scratch.file("state"), "--runtime-dir", scratch.file("run"))
        let report = try JSONValue.parse(Array(run.output.utf8))
        XCTAssertEqual(run.status, Int32(report["fails"]?.numberValue ?? -1))
        XCTAssertEqual(report["checks"]?.arrayValue?.count, 12)
        XCTAssertEqual(hubagent("check", "extra").status, ExitCode.usage)
    }
}
