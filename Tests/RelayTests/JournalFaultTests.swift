import Glibc
import Synchronization
import XCTest

@testable import Platform
@testable import Relay

/// Storage faults through `Syscall`'s injector (debug builds): the journal stays usable and keeps what it
/// had (docs/relay.md §3, "ENOSPC/EIO on append").
final class JournalFaultTests: JournalTestCase {
    /// Fails the next `times` calls named `name` on the journal's directory with `code`.
    private func inject(_ name: Syscall.Name, _ code: Int32, times: Int = 1) {
        let left = Mutex(times)
        let prefix = directory
        Syscall.setPathFaultInjector { called, subject in
            guard called == name, subject.hasPrefix(prefix) else { return nil }
            return left.withLock { left in
                guard left > 0 else { return nil }
                left -= 1
                return code
            }
        }
    }

    /// GIVEN frames on disk WHEN one append meets ENOSPC THEN it throws an out-of-space storage error, takes no
    /// number, and the next append and a reopen find every other frame intact and numbered without a gap.
    func testENOSPCOnAppendLeavesTheJournalUsable() throws {
        let (journal, _) = try open()
        for index in 0..<5 { _ = try journal.append(payload: Self.payload(index), recordCount: 1, ingestTime: 0) }
        inject(.write, ENOSPC)
        XCTAssertThrowsError(try journal.append(payload: Self.payload(99), recordCount: 1, ingestTime: 0)) { error in
            guard case JournalError.storage(let system)? = error as? JournalError else { return XCTFail("\(error)") }
            XCTAssertTrue(system.isOutOfSpace)
            XCTAssertTrue((error as? JournalError)?.isOutOfSpace ?? false)
        }
        XCTAssertEqual(journal.nextSequence, 6)
        XCTAssertEqual(try journal.append(payload: Self.payload(5), recordCount: 1, ingestTime: 0), 6...6)
        try journal.sync()
        let (reopened, recovery) = try open()
        XCTAssertTrue(recovery.isClean, "\(recovery)")
        XCTAssertEqual(try readAll(reopened).map(\.payload), (0..<6).map { Self.payload($0) })
    }

    /// GIVEN a file size limit (RLIMIT_FSIZE) that lets only part of a frame reach the file WHEN appending THEN the
    /// write fails (EFBIG), the partial frame is cut off at once, and the journal goes on after the limit is lifted.
    func testPartialWriteIsCutOff() throws {
        let (journal, _) = try open()
        for index in 0..<3 { _ = try journal.append(payload: Self.payload(index), recordCount: 1, ingestTime: 0) }
        let segment = directory + "/" + segmentNames().first!
        let size = JournalFiles.read(segment).count
        let resource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
        var saved = rlimit()
        XCTAssertEqual(getrlimit(resource, &saved), 0)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var partial = rlimit(rlim_cur: rlim_t(size + 10), rlim_max: saved.rlim_max)
        XCTAssertEqual(setrlimit(resource, &partial), 0)
        XCTAssertThrowsError(try journal.append(payload: Self.payload(99), recordCount: 1, ingestTime: 0)) { error in
            guard case JournalError.storage(let system)? = error as? JournalError else { return XCTFail("\(error)") }
            XCTAssertEqual(system.errno, EFBIG)
        }
        let afterFailure = JournalFiles.read(segment).count
        XCTAssertEqual(setrlimit(resource, &saved), 0)
        signal(SIGXFSZ, previousHandler)
        XCTAssertEqual(afterFailure, size, "nothing partial remains")
        XCTAssertEqual(try journal.append(payload: Self.payload(3), recordCount: 1, ingestTime: 0), 4...4)
        try journal.sync()
        let (reopened, recovery) = try open()
        XCTAssertTrue(recovery.isClean, "\(recovery)")
        XCTAssertEqual(try readAll(reopened).map(\.payload), (0..<4).map { Self.payload($0) })
    }

    /// GIVEN a failing write whose clean-up (ftruncate) fails too WHEN the next append comes THEN it goes to a new
    /// segment, and a reopen reads every frame.
    func testFailedCleanUpStartsANewSegment() throws {
        let (journal, _) = try open()
        for index in 0..<3 { _ = try journal.append(payload: Self.payload(index), recordCount: 1, ingestTime: 0) }
        inject(.write, EIO, times: 2)
        XCTAssertThrowsError(try journal.append(payload: Self.payload(99), recordCount: 1, ingestTime: 0))
        XCTAssertEqual(segmentNames().count, 1)
        _ = try journal.append(payload: Self.payload(3), recordCount: 1, ingestTime: 0)
        XCTAssertEqual(segmentNames(), ["segment.00000000000000000001.log", "segment.00000000000000000004.log"])
        try journal.sync()
        let (reopened, recovery) = try open()
        XCTAssertTrue(recovery.isClean, "\(recovery)")
        XCTAssertEqual(try readAll(reopened).map(\.payload), (0..<4).map { Self.payload($0) })
    }

    /// GIVEN a failed fdatasync (EIO) WHEN the next frames come THEN sync reports it once, they go to a new segment
    /// (the failed pages may be gone) and the next sync succeeds.
    func testFailedSyncIsNotRetriedAndRollsToANewSegment() throws {
        let (journal, _) = try open()
        _ = try journal.append(payload: Self.payload(0), recordCount: 1, ingestTime: 0)
        inject(.fsync, EIO)
        XCTAssertThrowsError(try journal.sync())
        XCTAssertEqual(journal.unsyncedBytes, 0)
        _ = try journal.append(payload: Self.payload(1), recordCount: 1, ingestTime: 0)
        XCTAssertEqual(segmentNames().count, 2)
        try journal.sync()
        XCTAssertEqual(try readAll(journal).count, 2)
    }

    /// GIVEN a cursor write that fails (ENOSPC on rename) WHEN acknowledging THEN the error surfaces, the cursor and
    /// segments stay as they were, and a later acknowledgement works.
    func testFailedCursorWriteKeepsEverything() throws {
        let (journal, _) = try open()
        for index in 0..<20 {
            _ = try journal.append(payload: Self.payload(index, size: 500), recordCount: 1, ingestTime: 0)
        }
        try journal.sync()
        let before = segmentNames()
        inject(.rename, ENOSPC)
        XCTAssertThrowsError(try journal.acknowledge(through: 19))
        XCTAssertEqual(journal.acknowledged, 0)
        XCTAssertEqual(segmentNames(), before)
        XCTAssertEqual(try readAll(journal).count, 20)
        try journal.acknowledge(through: 19)
        XCTAssertEqual(segmentNames().count, 1)
    }

    /// GIVEN drop_oldest needing room WHEN the cursor cannot be written THEN the append fails and nothing is
    /// dropped or written.
    func testDropOldestWithoutACursorDropsNothing() throws {
        let limits = JournalLimits(maxDiskBytes: 16 << 10, segmentBytes: 4096, deadLetterBytes: 1024)
        let (journal, _) = try open(limits)
        let size = 1024 - FrameFormat.headerSize
        for index in 0..<16 {
            _ = try journal.append(payload: Self.payload(index, size: size), recordCount: 1, ingestTime: 0)
        }
        inject(.rename, ENOSPC)
        XCTAssertThrowsError(try journal.append(payload: Self.payload(16, size: size), recordCount: 1, ingestTime: 0))
        XCTAssertEqual(journal.drops.full, 0)
        XCTAssertEqual(try readAll(journal).count, 16)
        _ = try journal.append(payload: Self.payload(16, size: size), recordCount: 1, ingestTime: 0)
        XCTAssertEqual(journal.drops.full, 4)
    }
}

extension JournalFaultTests {
    /// GIVEN appends that roll to new segments WHEN synced THEN each segment written since the last sync gets one
    /// fdatasync and the directory one fsync; a sync with nothing new does neither; appends alone never sync.
    func testSyncCoversRolledSegmentsAndTheDirectory() throws {
        let (journal, _) = try open()
        let calls = Mutex<[String]>([])
        let prefix = directory
        Syscall.setPathFaultInjector { name, subject in
            if name == .fsync, subject.hasPrefix(prefix) {
                calls.withLock { $0.append(String(subject.dropFirst(prefix.count))) }
            }
            return nil
        }
        _ = try journal.append(payload: Self.payload(0, size: 3000), recordCount: 1, ingestTime: 0)
        _ = try journal.append(payload: Self.payload(1, size: 3000), recordCount: 1, ingestTime: 0)
        _ = try journal.append(payload: Self.payload(2, size: 3000), recordCount: 1, ingestTime: 0)
        XCTAssertEqual(calls.withLock { $0 }, [], "append only writes")
        try journal.sync()
        XCTAssertEqual(
            calls.withLock { $0 },
            [
                "/segment.00000000000000000001.log", "/segment.00000000000000000002.log",
                "/segment.00000000000000000003.log", "",
            ])
        calls.withLock { $0 = [] }
        try journal.sync()
        XCTAssertEqual(calls.withLock { $0 }, [])
        _ = try journal.append(payload: [1], recordCount: 1, ingestTime: 0)
        try journal.sync()
        XCTAssertEqual(
            calls.withLock { $0 }, ["/segment.00000000000000000003.log"], "no new segment: no directory sync")
    }

    /// GIVEN a journal in use WHEN its usage is asked THEN the bytes are those of its files.
    func testUsageMatchesTheFiles() throws {
        let (journal, _) = try open()
        for index in 0..<50 {
            _ = try journal.append(
                payload: Self.payload(index, size: 333), recordCount: 2, ingestTime: 1000 + Int64(index))
        }
        try journal.deadLetters.append(DeadLetter(sequence: 1, time: 0, reason: "400", record: .null))
        try journal.acknowledge(through: 40)
        let usage = journal.usage
        let segmentBytes = segmentNames().reduce(0) { $0 + JournalFiles.read(directory + "/" + $1).count }
        XCTAssertEqual(usage.segmentBytes, Int64(segmentBytes))
        XCTAssertEqual(usage.deadLetterBytes, Int64(JournalFiles.read(directory + "/dead-letters.ndjson").count))
        XCTAssertEqual(usage.diskBytes, usage.segmentBytes + usage.deadLetterBytes)
        XCTAssertEqual(usage.segments, segmentNames().count)
        XCTAssertEqual(usage.unacknowledgedRecords, 60)
        XCTAssertEqual(usage.oldestUnacknowledgedIngestTime, 1020)
        XCTAssertEqual(usage.acknowledged, 40)
        XCTAssertEqual(usage.nextSequence, 101)
        XCTAssertEqual(usage.deadLetters, 1)
    }
}
