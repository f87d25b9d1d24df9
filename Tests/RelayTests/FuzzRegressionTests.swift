import Glibc
import XCTest

@testable import Relay

/// Inputs the fuzz targets (Tests/Fuzz) found, kept as tests with the input inline.
final class FuzzRegressionTests: JournalTestCase {
    private let limits = JournalLimits(maxDiskBytes: 64 << 20, segmentBytes: 4096)

    /// fuzz-journal: segments named near 2^64 made the sequence arithmetic trap (a frame numbering its records
    /// past 2^64 - 1; a drop count of about 2^64 overflowing the next one). GIVEN such a segment WHEN the journal
    /// opens THEN it is not taken for a segment: nothing is read, numbering starts at 1, nothing traps.
    func testSegmentNamedBeyondTheLastSequenceIsNotOurs() throws {
        XCTAssertEqual(mkdir(directory, 0o700), 0)
        for first in [UInt64.max - 1, Journal.maximumSequence + 1] {
            JournalFiles.write(
                directory + "/" + Journal.segmentName(first),
                FrameFormat.encode(firstSequence: first, recordCount: 2, ingestTime: 0, payload: Array("max".utf8)))
        }
        let (journal, recovery) = try open(limits)
        XCTAssertEqual(recovery.cuts, [])
        XCTAssertEqual(try readAll(journal), [])
        XCTAssertEqual(journal.nextSequence, 1)
        XCTAssertEqual(Journal.parseSegmentName(Journal.segmentName(Journal.maximumSequence)), Journal.maximumSequence)
        XCTAssertNil(Journal.parseSegmentName(Journal.segmentName(Journal.maximumSequence + 1)))
    }

    /// The counts a damaged journal could push past 2^64 - 1 stop there.
    func testDropCountsSaturate() {
        var count = UInt64.max - 2
        count.addSaturating(5)
        XCTAssertEqual(count, .max)
        count = 3
        count.addSaturating(4)
        XCTAssertEqual(count, 7)
    }
}
