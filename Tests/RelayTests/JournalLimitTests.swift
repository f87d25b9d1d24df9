import Glibc
import XCTest

@testable import Platform
@testable import Relay

/// `relay_max_disk` under both full policies, with exact drop counts (docs/relay.md §3).
final class JournalLimitTests: JournalTestCase {
    /// 64 KiB of 4 KiB segments, each holding exactly four frames of 1 KiB.
    private func limits(_ policy: JournalLimits.FullPolicy, deadLetters: Int64 = 16 << 10) -> JournalLimits {
        JournalLimits(maxDiskBytes: 64 << 10, segmentBytes: 4096, fullPolicy: policy, deadLetterBytes: deadLetters)
    }

    private let payloadSize = 1024 - FrameFormat.headerSize

    /// GIVEN a full journal under drop_oldest with 2 of its frames acknowledged WHEN 100 frames of 3 records are
    /// appended THEN whole oldest segments go, one report each, the unsent records among them counted exactly,
    /// the disk bound holds throughout and the newest 64 frames remain in order.
    func testDropOldestDeletesWholeSegmentsAndCountsTheirRecords() throws {
        let (journal, _) = try open(limits(.dropOldest))
        for index in 0..<100 {
            if index == 10 { try journal.acknowledge(through: 6) }
            _ = try journal.append(
                payload: Self.payload(index, size: payloadSize), recordCount: 3, ingestTime: Int64(index))
            XCTAssertLessThanOrEqual(journal.usage.diskBytes, 64 << 10)
        }
        try journal.sync()
        let reports = journal.takeDropReports()
        XCTAssertEqual(reports.count, 9, "frames 65, 69 … 97 each needed one segment")
        XCTAssertEqual(reports.map(\.records), [6] + Array(repeating: 12, count: 8))
        XCTAssertEqual(reports.first?.segment, "segment.00000000000000000001.log")
        XCTAssertEqual(reports.first?.sequences, 1...12)
        XCTAssertEqual(journal.drops.full, 102)
        XCTAssertEqual(journal.acknowledged, 108)
        let frames = try readAll(journal)
        XCTAssertEqual(frames.count, 64)
        XCTAssertEqual(frames.first?.firstSequence, 109)
        XCTAssertEqual(frames.first?.payload, Self.payload(36, size: payloadSize))
        XCTAssertEqual(journal.usage.unacknowledgedRecords, 192)
        XCTAssertEqual(segmentNames().count, 16)
        let (reopened, _) = try open(limits(.dropOldest))
        XCTAssertEqual(reopened.drops.full, 102, "the counts are kept in the cursor")
    }

    /// GIVEN a full journal under reject_new WHEN one more frame comes THEN `.full` and nothing is written; after
    /// an acknowledgement frees a segment, the append succeeds.
    func testRejectNewWritesNothingWhenFull() throws {
        let (journal, _) = try open(limits(.rejectNew))
        for index in 0..<64 {
            _ = try journal.append(payload: Self.payload(index, size: payloadSize), recordCount: 3, ingestTime: 0)
        }
        try journal.sync()
        let before = segmentNames().map { JournalFiles.read(directory + "/" + $0) }
        XCTAssertThrowsError(
            try journal.append(payload: Self.payload(64, size: payloadSize), recordCount: 3, ingestTime: 0)
        ) {
            error in
            XCTAssertEqual(error as? JournalError, .full(needed: 1024, available: 0))
            XCTAssertTrue((error as? JournalError)?.isOutOfSpace ?? false)
        }
        XCTAssertEqual(journal.nextSequence, 193)
        XCTAssertEqual(journal.unsyncedBytes, 0)
        XCTAssertEqual(segmentNames().map { JournalFiles.read(directory + "/" + $0) }, before)
        XCTAssertEqual(journal.drops, JournalDrops())
        try journal.acknowledge(through: 12)
        XCTAssertEqual(
            try journal.append(payload: Self.payload(64, size: payloadSize), recordCount: 3, ingestTime: 0), 193...195)
    }

    /// GIVEN dead letters taking part of the bound WHEN segments fill the rest THEN the total stays under the bound.
    func testDeadLettersCountAgainstTheBound() throws {
        let (journal, _) = try open(limits(.dropOldest))
        let letters = (0..<40).map {
            DeadLetter(
                sequence: UInt64($0), time: 0, reason: "400", record: .string(String(repeating: "x", count: 150)))
        }
        try journal.deadLetters.append(Array(letters.prefix(20)))
        try journal.deadLetters.append(Array(letters.suffix(20)))
        XCTAssertGreaterThan(journal.deadLetters.bytes, 4096)
        for index in 0..<100 {
            _ = try journal.append(payload: Self.payload(index, size: payloadSize), recordCount: 1, ingestTime: 0)
            XCTAssertLessThanOrEqual(journal.usage.diskBytes, 64 << 10)
        }
        XCTAssertLessThan(journal.usage.segmentBytes, 64 << 10 - 4096)
        XCTAssertEqual(journal.usage.deadLetterBytes, journal.deadLetters.bytes)
    }

    /// GIVEN a frame larger than a quarter of the bound WHEN appended THEN `.tooLarge`, under either policy.
    func testFrameLargerThanTheJournalCanHoldIsRefused() throws {
        let (journal, _) = try open(limits(.dropOldest))
        XCTAssertThrowsError(
            try journal.append(payload: [UInt8](repeating: 0, count: 16 << 10), recordCount: 1, ingestTime: 0)
        ) {
            error in
            XCTAssertEqual(
                error as? JournalError, .tooLarge(bytes: (16 << 10) + FrameFormat.headerSize, limit: 16 << 10))
        }
        XCTAssertEqual(journal.nextSequence, 1)
    }

    /// GIVEN free space and configured bounds WHEN combined THEN a quarter of the free space (our own files
    /// included) at most, 8 MiB at least.
    func testEffectiveMaxDisk() {
        let mib: Int64 = 1 << 20
        XCTAssertEqual(JournalSpace.effectiveMaxDisk(configured: 256 * mib, available: 100 * mib), 25 * mib)
        XCTAssertEqual(JournalSpace.effectiveMaxDisk(configured: 256 * mib, available: 10 * mib), 8 * mib)
        XCTAssertEqual(JournalSpace.effectiveMaxDisk(configured: 16 * mib, available: 1024 * mib), 16 * mib)
        XCTAssertEqual(
            JournalSpace.effectiveMaxDisk(configured: 256 * mib, available: 60 * mib, inUse: 40 * mib), 25 * mib)
        XCTAssertEqual(JournalSpace.effectiveMaxDisk(configured: 4 * mib, available: 1024 * mib), 8 * mib)
        let real = JournalSpace.effectiveMaxDisk(configured: 1 << 60, directory: root)
        XCTAssertGreaterThanOrEqual(real, 8 * mib)
        XCTAssertLessThan(real, 1 << 60)
    }
}
