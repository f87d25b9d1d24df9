import XCTest

@testable import Agent

final class RelaySettingsTests: XCTestCase {
    private let path = "/etc/hubagent/hubagent.conf"

    /// GIVEN no relay keys WHEN parsed THEN the relay is off with the defaults of docs/relay.md §3–§5.
    func testDefaults() throws {
        let relay = try Settings.parse("", file: path).relay
        XCTAssertFalse(relay.enabled)
        XCTAssertEqual(relay.maxDisk, 256 << 20)
        XCTAssertEqual(relay.fullPolicy, .dropOldest)
        XCTAssertEqual(relay.durability, .sync)
        XCTAssertEqual(relay.batchBytes, 1 << 20)
        XCTAssertEqual(relay.flushInterval, 5)
        XCTAssertEqual(relay.ingestMaxRequest, 1 << 20)
        XCTAssertEqual(relay.maxFuture, 86_400)
        XCTAssertNil(relay.maxAge)
        XCTAssertNil(relay.uploadRate)
        XCTAssertNil(relay.ingestListen?.port)
    }

    /// GIVEN every relay key with units WHEN parsed THEN each value is read in bytes and seconds.
    func testEveryKeyWithUnits() throws {
        let text = """
            relay = on
            data_socket_group = collectors
            ingest_listen = 127.0.0.1:8765
            ingest_key_file = /etc/hubagent/ingest.key
            ingest_max_request = 512KiB
            relay_max_disk = 64 MiB
            relay_full_policy = reject_new
            relay_max_age = 7d
            relay_durability = interval:200ms
            relay_batch_bytes = 262144
            relay_flush_interval = 2s
            relay_upload_rate = 125KiB
            max_future = 10m
            """
        let relay = try Settings.parse(text, file: path).relay
        XCTAssertTrue(relay.enabled)
        XCTAssertEqual(relay.dataSocketGroup, "collectors")
        XCTAssertEqual(relay.ingestListen?.host, "127.0.0.1")
        XCTAssertEqual(relay.ingestListen?.port, 8765)
        XCTAssertEqual(relay.ingestKeyFile, "/etc/hubagent/ingest.key")
        XCTAssertEqual(relay.ingestMaxRequest, 512 * 1024)
        XCTAssertEqual(relay.maxDisk, 64 << 20)
        XCTAssertEqual(relay.fullPolicy, .rejectNew)
        XCTAssertEqual(relay.maxAge, 7 * 86_400)
        XCTAssertEqual(relay.durability, .interval(0.2))
        XCTAssertEqual(relay.batchBytes, 262_144)
        XCTAssertEqual(relay.flushInterval, 2)
        XCTAssertEqual(relay.uploadRate, 125 * 1024)
        XCTAssertEqual(relay.maxFuture, 600)
    }

    /// GIVEN a bad value WHEN parsed THEN file:line and what is accepted.
    func testBadValuesNameTheLineAndWhatIsAccepted() {
        let cases: [(String, String)] = [
            ("relay = yes", "relay must be on or off"),
            ("ingest_listen = 0.0.0.0:8765", "ingest_listen must be a loopback address and port"),
            ("ingest_listen = 192.168.1.5:80", "ingest_listen must be a loopback address and port"),
            ("relay_max_disk = 1MiB", "relay_max_disk must be a size from 8388608"),
            ("relay_max_disk = 12TB", "relay_max_disk must be a size"),
            ("relay_batch_bytes = 20MiB", "relay_batch_bytes must be a size"),
            ("relay_full_policy = overwrite", "relay_full_policy must be drop_oldest or reject_new"),
            ("relay_durability = async", "relay_durability must be sync or interval:<duration>"),
            ("relay_flush_interval = soon", "relay_flush_interval must be a duration"),
            ("ingest_key_file = key", "ingest_key_file must be an absolute path"),
            ("relay_max_disk = 9999999999999999999GiB", "relay_max_disk must be a size"),
        ]
        for (line, message) in cases {
            XCTAssertThrowsError(try Settings.parse("# c\n" + line, file: path), line) { error in
                let error = error as? ConfigurationError
                XCTAssertEqual(error?.line, 2, line)
                XCTAssertTrue(error?.message.hasPrefix(message) == true, "\(line): \(String(describing: error))")
            }
        }
    }
}
