import Glibc
import XCTest

@testable import Platform
@testable import Relay

/// The journal's round trip, segments, cursor and reader (docs/relay.md §3) against a real directory.
final class JournalTests: JournalTestCase {
    /// GIVEN 300 frames of 1…5 records over 4 KiB segments WHEN synced and read back THEN every frame in order with
    /// consecutive sequence numbers, the payloads and ingest times as appended, spread over many segments.
    func testRoundTripAcrossSegmentRolls() throws {
        let (journal, recovery) = try open()
        XCTAssertTrue(recovery.isClean)
        XCTAssertEqual(recovery.cursor, .missing)
        var appended = [JournalFrame]()
        for index in 0..<300 {
            let count = index % 5 + 1
            let payload = Self.payload(index, size: index % 97)
            let range = try journal.append(payload: payload, recordCount: count, ingestTime: 1_000 + Int64(index))
            XCTAssertEqual(range.count, count)
            XCTAssertEqual(range.lowerBound, (appended.last?.lastSequence ?? 0) + 1)
            appended.append(
                JournalFrame(
                    firstSequence: range.lowerBound, recordCount: count, ingestTime: 1_000 + Int64(index),
                    payload: payload))
        }
        XCTAssertGreaterThan(journal.unsyncedBytes, 0)
        try journal.sync()
        XCTAssertEqual(journal.unsyncedBytes, 0)
        XCTAssertEqual(try readAll(journal), appended)
        XCTAssertGreaterThan(segmentNames().count, 5)
        XCTAssertEqual(journal.usage.segments, segmentNames().count)
        XCTAssertEqual(journal.usage.unacknowledgedRecords, appended.last!.lastSequence)
        XCTAssertEqual(journal.usage.oldestUnacknowledgedIngestTime, 1_000)
        XCTAssertEqual(journal.nextSequence, appended.last!.lastSequence + 1)
        for name in segmentNames() {
            XCTAssertLessThanOrEqual(JournalFiles.read(directory + "/" + name).count, 4096, name)
        }
    }

    /// GIVEN a journal with frames WHEN closed and opened again THEN nothing is cut, the same frames are read and
    /// the next append continues the numbering in the same segment.
    func testReopenAfterClose() throws {
        var appended = [JournalFrame]()
        do {
            let (journal, _) = try open()
            for index in 0..<10 {
                let range = try journal.append(payload: Self.payload(index), recordCount: 2, ingestTime: Int64(index))
                appended.append(
                    JournalFrame(
                        firstSequence: range.lowerBound, recordCount: 2, ingestTime: Int64(index),
                        payload: Self.payload(index)))
            }
            try journal.sync()
        }
        let segmentsBefore = segmentNames()
        let (journal, recovery) = try open()
        XCTAssertTrue(recovery.isClean, "\(recovery)")
        XCTAssertEqual(recovery.unacknowledgedRecords, 20)
        XCTAssertEqual(recovery.frames, 10)
        XCTAssertEqual(try readAll(journal), appended)
        XCTAssertEqual(try journal.append(payload: [1], recordCount: 1, ingestTime: 99), 21...21)
        try journal.sync()
        XCTAssertEqual(segmentNames(), segmentsBefore)
        XCTAssertEqual(try readAll(journal, after: 20).map(\.firstSequence), [21])
    }

    /// GIVEN a new journal WHEN opened THEN its directory is 0700 and its segment and cursor files 0600.
    func testPermissionsAreGivenAtCreation() throws {
        let (journal, _) = try open()
        _ = try journal.append(payload: [1, 2, 3], recordCount: 1, ingestTime: 0)
        try journal.acknowledge(through: 1)
        _ = try journal.append(payload: [4], recordCount: 1, ingestTime: 0)
        try journal.deadLetters.append(DeadLetter(sequence: 1, time: 0, reason: "test", record: .null))
        XCTAssertEqual(JournalFiles.mode(directory), 0o700)
        let names = JournalFiles.names(directory)
        XCTAssertEqual(names, ["cursor", "dead-letters.ndjson", "segment.00000000000000000002.log"])
        for name in names { XCTAssertEqual(JournalFiles.mode(directory + "/" + name), 0o600, name) }
    }

    /// GIVEN a directory others can read WHEN opened THEN refused with the fix, like the state directory.
    func testRefusesADirectoryOthersCanRead() throws {
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        chmod(directory, 0o755)
        XCTAssertThrowsError(try Journal.open(directory: directory, limits: JournalLimits())) { error in
            guard case JournalError.directory(.insecure(let problem)) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(problem.fix, "chmod 700 \(directory)")
        }
    }

    /// GIVEN frames over several segments WHEN acknowledged part way THEN the fully acknowledged segments are
    /// deleted, the cursor survives a reopen, and a reader after the cursor starts with the frame that straddles it.
    func testCursorIsDurableAndDeletesAcknowledgedSegments() throws {
        do {
            let (journal, _) = try open()
            for index in 0..<100 {
                _ = try journal.append(
                    payload: Self.payload(index, size: 200), recordCount: 3, ingestTime: Int64(index))
            }
            try journal.sync()
            let before = segmentNames()
            XCTAssertGreaterThan(before.count, 4)
            try journal.acknowledge(through: 151)  // inside frame 50 (sequences 151...153)
            XCTAssertEqual(journal.acknowledged, 151)
            let after = segmentNames()
            XCTAssertLessThan(after.count, before.count)
            XCTAssertEqual(Array(before.suffix(after.count)), after)
            let frames = try readAll(journal, after: 151)
            XCTAssertEqual(frames.first?.firstSequence, 151)
            XCTAssertEqual(frames.count, 50)
            XCTAssertEqual(journal.usage.unacknowledgedRecords, 300 - 151)
            XCTAssertEqual(journal.usage.oldestUnacknowledgedIngestTime, 50)
            try journal.acknowledge(through: 10)  // behind the cursor: no effect
            XCTAssertEqual(journal.acknowledged, 151)
            XCTAssertThrowsError(try journal.acknowledge(through: 301)) { error in
                XCTAssertEqual(error as? JournalError, .beyondEnd(sequence: 301, next: 301))
            }
        }
        let (journal, recovery) = try open()
        XCTAssertEqual(recovery.cursor, .read)
        XCTAssertEqual(journal.acknowledged, 151)
        XCTAssertEqual(recovery.unacknowledgedRecords, 149)
        XCTAssertEqual(journal.usage.oldestUnacknowledgedIngestTime, 50)
        try journal.acknowledge(through: 300)
        XCTAssertEqual(segmentNames(), [], "all sent: no segment left")
        XCTAssertNil(journal.usage.oldestUnacknowledgedIngestTime)
        XCTAssertEqual(try journal.append(payload: [1], recordCount: 1, ingestTime: 0), 301...301)
        try journal.sync()
        XCTAssertEqual(segmentNames(), ["segment.00000000000000000301.log"])
    }

    /// GIVEN every segment acknowledged and deleted WHEN reopened THEN numbering continues after the cursor.
    func testNumbersAreNeverReusedAfterEverythingWasSent() throws {
        do {
            let (journal, _) = try open()
            _ = try journal.append(payload: [1], recordCount: 7, ingestTime: 0)
            try journal.sync()
            try journal.acknowledge(through: 7)
        }
        XCTAssertEqual(segmentNames(), [])
        let (journal, _) = try open()
        XCTAssertEqual(try journal.append(payload: [1], recordCount: 1, ingestTime: 0), 8...8)
    }

    /// GIVEN a cursor file that fails its CRC WHEN opened THEN every frame on disk is unsent again (duplicates,
    /// never loss) and numbering continues after the last frame.
    func testCorruptCursorFallsBackToTheFirstFrameOnDisk() throws {
        do {
            let (journal, _) = try open()
            for index in 0..<40 {
                _ = try journal.append(payload: Self.payload(index, size: 300), recordCount: 1, ingestTime: 0)
            }
            try journal.sync()
            try journal.acknowledge(through: 25)
        }
        let firstOnDisk = Journal.parseSegmentName(segmentNames().first!)!
        XCTAssertGreaterThan(firstOnDisk, 1)
        var cursor = JournalFiles.read(directory + "/cursor")
        cursor[6] ^= 0x40
        JournalFiles.write(directory + "/cursor", cursor)
        let (journal, recovery) = try open()
        guard case .corrupt = recovery.cursor else { return XCTFail("\(recovery.cursor)") }
        XCTAssertFalse(recovery.isClean)
        XCTAssertEqual(journal.acknowledged, firstOnDisk - 1)
        XCTAssertEqual(try readAll(journal, after: journal.acknowledged).first?.firstSequence, firstOnDisk)
        XCTAssertEqual(try journal.append(payload: [1], recordCount: 1, ingestTime: 0), 41...41)
    }

    /// GIVEN 60 segments WHEN read from the start THEN all frames come back while the reader holds at most one
    /// open file: memory and descriptors do not grow with the backlog.
    func testReaderHoldsOneFrameAndOneFileAtATime() throws {
        let (journal, _) = try open()
        for index in 0..<240 {
            _ = try journal.append(payload: Self.payload(index, size: 1000), recordCount: 1, ingestTime: 0)
        }
        try journal.sync()
        XCTAssertGreaterThanOrEqual(segmentNames().count, 60)
        let baseline = JournalFiles.openDescriptors()
        let reader = journal.reader(after: 0)
        var count = 0
        var most = 0
        while let frame = try reader.next() {
            XCTAssertEqual(frame.payload, Self.payload(count, size: 1000))
            count += 1
            most = max(most, JournalFiles.openDescriptors() - baseline)
        }
        XCTAssertEqual(count, 240)
        XCTAssertLessThanOrEqual(most, 1)
    }

    /// GIVEN a reader that has caught up WHEN more is appended and its segments are acknowledged under it THEN it
    /// goes on with the new frames.
    func testReaderFollowsAppendsAndDeletions() throws {
        let (journal, _) = try open()
        let reader = journal.reader(after: 0)
        XCTAssertNil(try reader.next())
        for index in 0..<30 {
            _ = try journal.append(payload: Self.payload(index, size: 500), recordCount: 1, ingestTime: 0)
        }
        XCTAssertEqual(try reader.next()?.firstSequence, 1)
        try journal.acknowledge(through: 20)
        let firstLeft = Journal.parseSegmentName(segmentNames().first!)!
        XCTAssertGreaterThan(firstLeft, 2)
        XCTAssertEqual(try reader.next()?.firstSequence, firstLeft, "the deleted segment is skipped")
        var last: UInt64 = 0
        while let frame = try reader.next() { last = frame.lastSequence }
        XCTAssertEqual(last, 30)
        _ = try journal.append(payload: [9], recordCount: 2, ingestTime: 0)
        XCTAssertEqual(try reader.next()?.sequences, 31...32)
        XCTAssertNil(try reader.next())
    }

    /// GIVEN records past their age at send time WHEN dropped THEN counted exactly (only unacknowledged ones), the
    /// cursor moves, and the counts survive a reopen.
    func testDropRecordsCountsAndPersists() throws {
        do {
            let (journal, _) = try open()
            for _ in 0..<10 { _ = try journal.append(payload: [1], recordCount: 4, ingestTime: 0) }
            try journal.acknowledge(through: 8)
            try journal.dropRecords(through: 20, reason: .age)
            XCTAssertEqual(journal.drops.age, 12)
            XCTAssertEqual(journal.acknowledged, 20)
            XCTAssertEqual(journal.takeDropReports().map(\.records), [12])
            XCTAssertEqual(journal.takeDropReports(), [])
        }
        let (journal, _) = try open()
        XCTAssertEqual(journal.drops.age, 12)
        XCTAssertEqual(journal.acknowledged, 20)
        XCTAssertEqual(journal.usage.unacknowledgedRecords, 20)
    }
}

extension JournalTests {
    /// GIVEN segment names WHEN parsed THEN only `segment.<20 digits ≥ 1>.log` is one, and names sort by number.
    func testSegmentNames() {
        XCTAssertEqual(Journal.segmentName(1), "segment.00000000000000000001.log")
        XCTAssertEqual(Journal.parseSegmentName(Journal.segmentName(Journal.maximumSequence)), Journal.maximumSequence)
        XCTAssertNil(Journal.parseSegmentName(Journal.segmentName(UInt64.max)), "beyond any sequence number")
        XCTAssertEqual(Journal.parseSegmentName("segment.00000000000000000042.log"), 42)
        for bad in [
            "segment.00000000000000000000.log", "segment.42.log", "segment.0000000000000000004x.log",
            "segment.00000000000000000042.log.tmp", "cursor",
        ] {
            XCTAssertNil(Journal.parseSegmentName(bad), bad)
        }
        XCTAssertLessThan(Journal.segmentName(9), Journal.segmentName(10))
    }
}
