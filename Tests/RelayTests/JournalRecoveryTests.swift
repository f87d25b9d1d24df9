import Glibc
import XCTest

@testable import Platform
@testable import Relay

/// What `Journal.open` does with what a crash or a bad disk left (docs/relay.md §3, "On start").
final class JournalRecoveryTests: JournalTestCase {
    private let limits = JournalLimits(maxDiskBytes: 64 << 20, segmentBytes: 4096)

    /// Writes `count` frames of 2 records into `path`, synced, and returns them.
    private func build(_ path: String, count: Int, size: Int = 50) throws -> [JournalFrame] {
        let (journal, _) = try open(limits, at: path)
        var frames = [JournalFrame]()
        for index in 0..<count {
            let range = try journal.append(
                payload: Self.payload(index, size: size), recordCount: 2, ingestTime: Int64(index))
            frames.append(
                JournalFrame(
                    firstSequence: range.lowerBound, recordCount: 2, ingestTime: Int64(index),
                    payload: Self.payload(index, size: size)))
        }
        try journal.sync()
        return frames
    }

    /// GIVEN the last segment truncated at every offset inside its last frame WHEN opened THEN exactly the
    /// complete frames are kept, the cut is reported, and appending continues with the next number.
    func testTornTailKeepsExactlyTheCompleteFrames() throws {
        let frameSize = FrameFormat.headerSize + 50
        for cut in 0..<frameSize {
            let path = root + "/torn-\(cut)"
            let frames = try build(path, count: 3)
            let segment = path + "/" + segmentNames(path).last!
            XCTAssertEqual(JournalFiles.read(segment).count, 3 * frameSize)
            JournalFiles.truncate(segment, to: 2 * frameSize + cut)
            let (journal, recovery) = try open(limits, at: path)
            if cut == 0 {
                XCTAssertTrue(recovery.cuts.isEmpty, "\(cut)")
            } else {
                XCTAssertEqual(recovery.cuts.count, 1, "\(cut)")
                XCTAssertEqual(recovery.cuts.first?.offset, Int64(2 * frameSize), "\(cut)")
                XCTAssertEqual(recovery.cuts.first?.bytes, Int64(cut), "\(cut)")
                XCTAssertEqual(recovery.cuts.first?.records, 0, "a torn tail was never promised")
            }
            XCTAssertEqual(try readAll(journal), Array(frames.prefix(2)), "\(cut)")
            XCTAssertEqual(JournalFiles.read(segment).count, 2 * frameSize, "\(cut)")
            XCTAssertEqual(try journal.append(payload: [7], recordCount: 1, ingestTime: 0), 5...5, "\(cut)")
            try journal.sync()
            let (again, second) = try open(limits, at: path)
            XCTAssertTrue(second.isClean, "\(cut): \(second)")
            XCTAssertEqual(try readAll(again).map(\.firstSequence), [1, 3, 5], "\(cut)")
        }
    }

    /// GIVEN one byte of the last frame flipped, at every position WHEN opened THEN the frame is cut (CRC, magic,
    /// length or sequence check) and the frames before it are kept.
    func testFlippedByteInTheLastSegmentIsCaught() throws {
        let frameSize = FrameFormat.headerSize + 50
        for position in 0..<frameSize {
            let path = root + "/flip-\(position)"
            let frames = try build(path, count: 3)
            let segment = path + "/" + segmentNames(path).last!
            var bytes = JournalFiles.read(segment)
            bytes[2 * frameSize + position] ^= 0x10
            JournalFiles.write(segment, bytes)
            let (journal, recovery) = try open(limits, at: path)
            XCTAssertEqual(recovery.cuts.map(\.offset), [Int64(2 * frameSize)], "\(position)")
            XCTAssertEqual(try readAll(journal), Array(frames.prefix(2)), "\(position)")
        }
    }

    /// GIVEN a payload byte flipped in an older segment WHEN the reader reaches it THEN the CRC fails, the rest of
    /// that segment is cut and its unsent records counted as corrupt, and reading goes on with the next segment.
    func testFlippedByteInAnOlderSegmentIsCaughtByTheReader() throws {
        let frames = try build(directory, count: 200)
        let names = segmentNames()
        XCTAssertGreaterThan(names.count, 3)
        let second = Journal.parseSegmentName(names[1])!
        let third = Journal.parseSegmentName(names[2])!
        var bytes = JournalFiles.read(directory + "/" + names[1])
        let frameSize = FrameFormat.headerSize + 50
        bytes[frameSize + FrameFormat.headerSize + 5] ^= 0x01  // the second frame's payload
        JournalFiles.write(directory + "/" + names[1], bytes)
        let (journal, recovery) = try open()
        XCTAssertTrue(recovery.isClean, "older segments are walked by their headers at open")
        let read = try readAll(journal)
        let lost = frames.filter { $0.firstSequence >= second + 2 && $0.firstSequence < third }
        XCTAssertEqual(read, frames.filter { frame in !lost.contains(frame) })
        XCTAssertEqual(journal.drops.corrupt, third - (second + 2))
        let reports = journal.takeDropReports()
        XCTAssertEqual(reports.count, 1)
        XCTAssertEqual(reports.first?.segment, names[1])
        guard case .badChecksum? = reports.first?.defect else { return XCTFail("\(reports)") }
        XCTAssertEqual(JournalFiles.read(directory + "/" + names[1]).count, frameSize)
        // Counted once, and kept across a restart.
        let (reopened, _) = try open()
        XCTAssertEqual(reopened.drops.corrupt, third - (second + 2))
        XCTAssertEqual(try readAll(reopened), read)
    }

    /// GIVEN a bad header in the middle of an older segment WHEN opened THEN the rest of that segment is cut at open
    /// and its records (up to the next segment) counted as corrupt.
    func testBadHeaderInAnOlderSegmentIsCutAtOpen() throws {
        let frames = try build(directory, count: 200)
        let names = segmentNames()
        let first = Journal.parseSegmentName(names[0])!
        let second = Journal.parseSegmentName(names[1])!
        var bytes = JournalFiles.read(directory + "/" + names[0])
        let frameSize = FrameFormat.headerSize + 50
        bytes[frameSize * 3] = 0  // the fourth frame's magic byte
        JournalFiles.write(directory + "/" + names[0], bytes)
        let (journal, recovery) = try open()
        XCTAssertEqual(recovery.cuts.count, 1)
        XCTAssertEqual(recovery.cuts.first?.segment, names[0])
        XCTAssertEqual(recovery.cuts.first?.defect, .badMagic(0))
        XCTAssertEqual(recovery.cuts.first?.records, second - (first + 6))
        XCTAssertEqual(journal.drops.corrupt, second - 7)
        XCTAssertEqual(try readAll(journal), frames.filter { $0.firstSequence < 7 || $0.firstSequence >= second })
    }

    /// GIVEN a crash right after a new segment was created, before anything was written into it WHEN opened THEN
    /// the empty file is removed and appending goes on.
    func testEmptySegmentIsRemoved() throws {
        let frames = try build(directory, count: 3)
        JournalFiles.write(directory + "/segment.00000000000000000007.log", [])
        JournalFiles.write(directory + "/.cursor.tmp.12345", [1, 2, 3])
        let (journal, recovery) = try open()
        XCTAssertEqual(recovery.removedSegments, ["segment.00000000000000000007.log"])
        XCTAssertEqual(recovery.removedTemporaryFiles, [".cursor.tmp.12345"])
        XCTAssertEqual(try readAll(journal), frames)
        XCTAssertEqual(try journal.append(payload: [1], recordCount: 1, ingestTime: 0), 7...7)
        try journal.sync()
        XCTAssertEqual(try readAll(journal).count, 4)
    }

    /// GIVEN a segment file readable by others WHEN opened THEN refused (it is not one the journal wrote).
    func testRefusesASegmentOthersCanRead() throws {
        _ = try build(directory, count: 2)
        chmod(directory + "/" + segmentNames().first!, 0o644)
        XCTAssertThrowsError(try Journal.open(directory: directory, limits: limits)) { error in
            guard case JournalError.directory(.insecure) = error else { return XCTFail("\(error)") }
        }
    }
}
