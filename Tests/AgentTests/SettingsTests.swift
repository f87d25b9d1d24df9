import Platform
import XCTest

@testable import Agent

final class SettingsTests: XCTestCase {
    private let path = "/etc/hubagent/hubagent.conf"

    private func expectRefused(
        _ text: String, line: Int, _ message: String, file: StaticString = #filePath, testLine: UInt = #line
    ) {
        XCTAssertThrowsError(try Settings.parse(text, file: path), file: file, line: testLine) { error in
            guard let error = error as? ConfigurationError else {
                return XCTFail("\(error)", file: file, line: testLine)
            }
            XCTAssertEqual(error.file, self.path, file: file, line: testLine)
            XCTAssertEqual(error.line, line, file: file, line: testLine)
            XCTAssertEqual(error.message, message, file: file, line: testLine)
        }
    }

    /// GIVEN an empty file WHEN parsed THEN the defaults of docs/design.md §7.
    func testDefaults() throws {
        let settings = try Settings.parse("", file: path)
        XCTAssertEqual(settings, Settings())
        XCTAssertNil(settings.caFile)
        XCTAssertNil(settings.proxy)
        XCTAssertNil(settings.noProxy)
        XCTAssertEqual(settings.rotationFraction, 2.0 / 3.0)
        XCTAssertEqual(settings.tokenRefreshMargin, 300)
        XCTAssertEqual(settings.requestTimeout, 30)
        XCTAssertEqual(settings.logLevel, .info)
        XCTAssertNil(settings.tokenSocketGroup)
    }

    /// GIVEN every key, comments, blank lines and surrounding tabs/spaces WHEN parsed THEN each value is read.
    func testEveryKeyWithCommentsAndBlankLines() throws {
        let text = """
            # hubagent settings

            ca_file = /etc/ssl/private/inspecting-proxy.pem
            \tproxy=http://proxy.plant.example:3128 \t
            no_proxy = localhost,127.0.0.1
               # indented comment
            rotation_fraction = 0.5
            token_refresh_margin = 120
            request_timeout = 45.5
            log_level = DEBUG
            token_socket_group = collectors

            """
        let settings = try Settings.parse(text, file: path)
        XCTAssertEqual(settings.caFile, "/etc/ssl/private/inspecting-proxy.pem")
        XCTAssertEqual(settings.proxy, "http://proxy.plant.example:3128")
        XCTAssertEqual(settings.noProxy, "localhost,127.0.0.1")
        XCTAssertEqual(settings.rotationFraction, 0.5)
        XCTAssertEqual(settings.tokenRefreshMargin, 120)
        XCTAssertEqual(settings.requestTimeout, 45.5)
        XCTAssertEqual(settings.logLevel, .debug)
        XCTAssertEqual(settings.tokenSocketGroup, "collectors")
        XCTAssertEqual(Set(Settings.keys).count, 8 + RelaySettings.keys.count)
    }

    /// GIVEN a value with `=` in it WHEN parsed THEN only the first `=` separates key and value.
    func testValueMayContainEquals() throws {
        XCTAssertEqual(
            try Settings.parse("proxy = http://u:p=w@proxy:3128", file: path).proxy, "http://u:p=w@proxy:3128")
    }

    /// GIVEN an unknown key on line 3 WHEN parsed THEN the error names it and its line, and lists the known keys.
    func testUnknownKeyWithLineNumber() {
        XCTAssertThrowsError(try Settings.parse("# c\n\nrotation = 0.5\n", file: path)) { error in
            guard let error = error as? ConfigurationError else { return XCTFail("\(error)") }
            XCTAssertEqual(
                error.description,
                "/etc/hubagent/hubagent.conf:3: unknown setting \"rotation\"; known settings: ca_file, proxy, "
                    + "no_proxy, rotation_fraction, token_refresh_margin, request_timeout, log_level, "
                    + "token_socket_group, relay, data_socket_group, ingest_listen, ingest_key_file, "
                    + "ingest_max_request, relay_max_disk, relay_full_policy, relay_max_age, relay_durability, "
                    + "relay_batch_bytes, relay_flush_interval, relay_upload_rate, max_future"
            )
        }
    }

    /// GIVEN a key set twice WHEN parsed THEN refused at the second line.
    func testDuplicateKey() {
        expectRefused("log_level = info\nproxy = x\nlog_level = debug\n", line: 3, "log_level is set twice")
    }

    /// GIVEN numbers outside their ranges or not numbers WHEN parsed THEN refused with the range.
    func testOutOfRangeNumbers() {
        expectRefused(
            "rotation_fraction = 0.95", line: 1, "rotation_fraction must be a number from 0.1 to 0.9, found \"0.95\"")
        expectRefused(
            "rotation_fraction = 0.05", line: 1, "rotation_fraction must be a number from 0.1 to 0.9, found \"0.05\"")
        expectRefused(
            "\ntoken_refresh_margin = 3001", line: 2,
            "token_refresh_margin must be a number from 0 to 3000, found \"3001\"")
        expectRefused(
            "token_refresh_margin = -1", line: 1, "token_refresh_margin must be a number from 0 to 3000, found \"-1\"")
        expectRefused("request_timeout = 0", line: 1, "request_timeout must be a number from 1 to 600, found \"0\"")
        expectRefused("request_timeout = 601", line: 1, "request_timeout must be a number from 1 to 600, found \"601\"")
        expectRefused("request_timeout = ten", line: 1, "request_timeout must be a number from 1 to 600, found \"ten\"")
        expectRefused("request_timeout = nan", line: 1, "request_timeout must be a number from 1 to 600, found \"nan\"")
    }

    /// GIVEN the range limits themselves WHEN parsed THEN accepted.
    func testRangeLimitsAccepted() throws {
        let settings = try Settings.parse(
            "rotation_fraction = 0.9\ntoken_refresh_margin = 0\nrequest_timeout = 600", file: path)
        XCTAssertEqual(settings.rotationFraction, 0.9)
        XCTAssertEqual(settings.tokenRefreshMargin, 0)
        XCTAssertEqual(settings.requestTimeout, 600)
    }

    /// GIVEN a bad log level WHEN parsed THEN refused listing the levels; aliases err/warn are accepted.
    func testLogLevel() throws {
        expectRefused("log_level = verbose", line: 1, "log_level must be one of error, warning, notice, info, debug")
        XCTAssertEqual(try Settings.parse("log_level = err", file: path).logLevel, .error)
        XCTAssertEqual(try Settings.parse("log_level = warn", file: path).logLevel, .warning)
        XCTAssertEqual(try Settings.parse("log_level = notice", file: path).logLevel, .notice)
    }

    /// GIVEN a line without `=`, an empty value, a relative ca_file WHEN parsed THEN each refused with its line.
    func testMalformedLines() {
        expectRefused("proxy = a\nlog_level debug\n", line: 2, "expected `key = value`, found \"log_level debug\"")
        expectRefused("proxy =   ", line: 1, "proxy has no value")
        expectRefused("ca_file = certs/ca.pem", line: 1, "ca_file must be an absolute path")
    }
}
