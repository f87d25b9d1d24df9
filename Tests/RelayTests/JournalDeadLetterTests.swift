import Glibc
import JSON
import XCTest

@testable import Platform
@testable import Relay

/// `dead-letters.ndjson`: one line per record given up, bounded, listed for `hubagent relay dead-letters`.
final class JournalDeadLetterTests: JournalTestCase {
    /// GIVEN dead letters appended WHEN listed and reopened THEN they come back as written, newest `limit`, in order.
    func testAppendListAndReopen() throws {
        let record = JSONValue.object([("dataPointId", .string("dp1")), ("value", .string("12.5"))])
        do {
            let (journal, _) = try open()
            try journal.deadLetters.append(
                DeadLetter(
                    sequence: 7, time: 1_700_000_000_000, reason: "400: unknown data point", correlationID: "c-1",
                    record: record))
            try journal.deadLetters.append([
                DeadLetter(sequence: 8, time: 1, reason: "413", record: .null),
                DeadLetter(sequence: 9, time: 2, reason: "configuration changed", record: .bool(true)),
            ])
            XCTAssertEqual(journal.deadLetters.count, 3)
        }
        let (journal, _) = try open()
        XCTAssertEqual(journal.deadLetters.count, 3)
        XCTAssertEqual(journal.usage.deadLetters, 3)
        let listed = try journal.deadLetters.list(limit: 10)
        XCTAssertEqual(
            listed.first,
            DeadLetter(
                sequence: 7, time: 1_700_000_000_000, reason: "400: unknown data point", correlationID: "c-1",
                record: record))
        XCTAssertEqual(try journal.deadLetters.list(limit: 2).map(\.sequence), [8, 9])
    }

    /// GIVEN a cap of 2 KiB WHEN 50 lines are appended THEN the oldest are removed and counted, the file stays under
    /// the cap, and the count survives a restart (in the cursor).
    func testCapRemovesOldestLinesAndCountsThem() throws {
        let limits = JournalLimits(maxDiskBytes: 64 << 20, segmentBytes: 4096, deadLetterBytes: 2048)
        do {
            let (journal, _) = try open(limits)
            for index in 0..<50 {
                try journal.deadLetters.append(
                    DeadLetter(sequence: UInt64(index), time: 0, reason: "400", record: .string("value \(index)")))
                XCTAssertLessThanOrEqual(journal.deadLetters.bytes, 2048)
            }
            XCTAssertGreaterThan(journal.deadLetters.trimmed, 0)
            XCTAssertEqual(UInt64(journal.deadLetters.count) + journal.deadLetters.trimmed, 50)
            XCTAssertEqual(try journal.deadLetters.list(limit: 3).map(\.sequence), [47, 48, 49])
            XCTAssertEqual(JournalFiles.read(directory + "/dead-letters.ndjson").count, Int(journal.deadLetters.bytes))
            _ = try journal.append(payload: [1], recordCount: 1, ingestTime: 0)
            try journal.acknowledge(through: 1)
        }
        let (journal, _) = try open(limits)
        XCTAssertEqual(UInt64(journal.deadLetters.count) + journal.drops.deadLettersTrimmed, 50)
        XCTAssertEqual(JournalFiles.mode(directory + "/dead-letters.ndjson"), 0o600)
    }

    /// GIVEN a dead-letter line cut short by a crash WHEN opened THEN the partial line is dropped, the rest kept.
    func testPartialLineIsDroppedAtOpen() throws {
        do {
            let (journal, _) = try open()
            try journal.deadLetters.append(DeadLetter(sequence: 1, time: 0, reason: "400", record: .null))
        }
        let path = directory + "/dead-letters.ndjson"
        JournalFiles.write(path, JournalFiles.read(path) + Array("{\"seq\":2,\"ti".utf8))
        let (journal, _) = try open()
        XCTAssertEqual(journal.deadLetters.count, 1)
        XCTAssertEqual(try journal.deadLetters.list(limit: 5).map(\.sequence), [1])
        try journal.deadLetters.append(DeadLetter(sequence: 3, time: 0, reason: "400", record: .null))
        XCTAssertEqual(try journal.deadLetters.list(limit: 5).map(\.sequence), [1, 3])
    }
}

extension JournalDeadLetterTests {
    /// GIVEN a dead-letter file far over a cap that was lowered since WHEN opened THEN only the newest whole lines
    /// that fit the cap are kept.
    func testFileOverTheCapIsCutAtOpen() throws {
        do {
            let (journal, _) = try open()
            for index in 0..<100 {
                try journal.deadLetters.append(
                    DeadLetter(sequence: UInt64(index), time: 0, reason: "400", record: .string("value")))
            }
        }
        let limits = JournalLimits(maxDiskBytes: 64 << 20, segmentBytes: 4096, deadLetterBytes: 1024)
        let (journal, _) = try open(limits)
        XCTAssertLessThanOrEqual(journal.deadLetters.bytes, 1024)
        XCTAssertGreaterThan(journal.deadLetters.count, 5)
        let listed = try journal.deadLetters.list(limit: 1000)
        XCTAssertEqual(listed.count, journal.deadLetters.count)
        XCTAssertEqual(listed.last?.sequence, 99)
        try journal.deadLetters.append(DeadLetter(sequence: 100, time: 0, reason: "400", record: .null))
        XCTAssertEqual(try journal.deadLetters.list(limit: 1).map(\.sequence), [100])
    }
}

extension JournalDeadLetterTests {
    /// GIVEN a journal in use with a dead-letter line half written WHEN listed from outside (the CLI) THEN the
    /// complete lines, and the file is left as it was.
    func testListingFromOutsideChangesNothing() throws {
        let (journal, _) = try open()
        try journal.deadLetters.append(DeadLetter(sequence: 4, time: 5, reason: "400", record: .null))
        let path = directory + "/dead-letters.ndjson"
        JournalFiles.write(path, JournalFiles.read(path) + Array("{\"seq\":5".utf8))
        let before = JournalFiles.read(path)
        XCTAssertEqual(try DeadLetters.list(directory: directory, limit: 10).map(\.sequence), [4])
        XCTAssertEqual(JournalFiles.read(path), before)
        XCTAssertEqual(try DeadLetters.list(directory: root + "/nothing", limit: 10), [])
    }
}

extension JournalDeadLetterTests {
    /// GIVEN a dead record with a 100,000-character value WHEN dead-lettered THEN its line keeps the start of the
    /// record, marked truncated, and stays far below the cap.
    func testHugeRecordIsShortened() throws {
        let (journal, _) = try open()
        let huge = String(repeating: "é", count: 100_000)
        try journal.deadLetters.append(DeadLetter(sequence: 1, time: 0, reason: "413", record: .string(huge)))
        XCTAssertLessThan(journal.deadLetters.bytes, 4096)
        let listed = try journal.deadLetters.list(limit: 1)
        XCTAssertEqual(listed.first?.reason, "413")
        guard let text = listed.first?.record["truncated"]?.stringValue else { return XCTFail("\(listed)") }
        XCTAssertTrue(text.hasPrefix("\"éé"))
        XCTAssertTrue(text.hasSuffix("…"))
    }
}
