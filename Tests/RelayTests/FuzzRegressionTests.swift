import Glibc
import XCTest

@testable import Relay

/// Inputs the fuzz targets (Tests/Fuzz) found, kept as tests with the input inline.
final class FuzzRegressionTests: JournalTestCase {
    private let limits = JournalLimits(maxDiskBytes: 64 << 20, segmentBytes: 4096)

    /// fuzz-journal: a segment named near 2^64 whose frame numbers its records past 2^64 - 1.
    /// GIVEN that segment WHEN the journal opens THEN the frame is cut as a defect (it trapped computing the
    /// next sequence number) and nothing is read.
    func testFrameNumberedPastTheLastSequenceIsCut() throws {
        XCTAssertEqual(mkdir(directory, 0o700), 0)
        let first = UInt64.max - 1
        let name = Journal.segmentName(first)
        JournalFiles.write(
            directory + "/" + name,
            FrameFormat.encode(firstSequence: first, recordCount: 2, ingestTime: 0, payload: Array("max".utf8)))
        let (journal, recovery) = try open(limits)
        XCTAssertEqual(
            recovery.cuts.map(\.defect), [.sequenceOverflow(first: first, records: 2)], "\(recovery.cuts)")
        XCTAssertEqual(recovery.cuts.first?.offset, 0)
        XCTAssertEqual(try readAll(journal), [])
    }

    /// fuzz-journal: the same in an older segment, which recovery walks by headers, and the reader then.
    /// GIVEN a frame that ends exactly at 2^64 - 1 followed by one that numbers past it WHEN opened and read
    /// THEN the first frame is read and the second cut.
    func testFrameEndingAtTheLastSequenceIsKeptAndTheNextCut() throws {
        XCTAssertEqual(mkdir(directory, 0o700), 0)
        let first = UInt64.max - 1
        let kept = FrameFormat.encode(firstSequence: first, recordCount: 1, ingestTime: 7, payload: [1])
        let over = FrameFormat.encode(firstSequence: UInt64.max, recordCount: 1, ingestTime: 8, payload: [2])
        JournalFiles.write(directory + "/" + Journal.segmentName(first), kept + over)
        let (journal, recovery) = try open(limits)
        XCTAssertEqual(recovery.cuts.map(\.offset), [Int64(kept.count)], "\(recovery.cuts)")
        XCTAssertEqual(recovery.cuts.first?.defect, .sequenceOverflow(first: UInt64.max, records: 1))
        XCTAssertEqual(
            try readAll(journal), [JournalFrame(firstSequence: first, recordCount: 1, ingestTime: 7, payload: [1])])
    }
}
