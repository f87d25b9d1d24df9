import Glibc
import XCTest

@testable import Platform
@testable import Relay

/// Power loss after random work: what was synced (the 202s given) survives, whatever happened to the rest
/// (docs/relay.md: "a 202 means the values survive kill -9 and power loss").
final class JournalCrashTests: JournalTestCase {
    /// SplitMix64: the same run for a seed.
    private struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func size(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// GIVEN 40 rounds of random appends, syncs and acknowledgements, each ended by a simulated power loss that
    /// keeps a random part of everything written since the last sync WHEN reopened THEN every synced frame after
    /// the cursor is read back unchanged and in order, and numbering continues above all of them.
    func testSyncedFramesSurvivePowerLossAtAnyPoint() throws {
        var random = Generator(state: 20_261_203)
        var appended: [UInt64: JournalFrame] = [:]
        var synced = Set<UInt64>()
        var acknowledged: UInt64 = 0
        for round in 0..<40 {
            let (journal, _) = try open(JournalLimits(maxDiskBytes: 64 << 20, segmentBytes: 4096))
            XCTAssertGreaterThanOrEqual(journal.acknowledged, acknowledged, "round \(round)")
            acknowledged = journal.acknowledged
            // What survived: every synced frame after the cursor, unchanged and in order.
            let frames = try readAll(journal, after: acknowledged)
            for frame in frames { XCTAssertEqual(appended[frame.firstSequence], frame, "round \(round)") }
            XCTAssertEqual(frames.map(\.firstSequence), frames.map(\.firstSequence).sorted())
            let wanted = synced.filter { appended[$0]!.lastSequence > acknowledged }
            XCTAssertTrue(wanted.isSubset(of: Set(frames.map(\.firstSequence))), "round \(round): lost synced frames")
            XCTAssertGreaterThan(journal.nextSequence, frames.last?.lastSequence ?? 0)
            XCTAssertGreaterThan(journal.nextSequence, acknowledged)
            // Forget what did not survive: those numbers may be handed out again only above nextSequence.
            let survived = Set(frames.map(\.firstSequence))
            appended = appended.filter { survived.contains($0.key) || $0.value.lastSequence <= acknowledged }
            synced = synced.intersection(appended.keys)

            // What is on disk now counts as synced: the crash below keeps all of it.
            var sizesAtSync = Dictionary(uniqueKeysWithValues: segmentNames().map { ($0, size(directory + "/" + $0)) })
            for step in 0..<Int.random(in: 5...60, using: &random) {
                let count = Int.random(in: 1...4, using: &random)
                let payload = (0..<Int.random(in: 0...300, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
                let range = try journal.append(payload: payload, recordCount: count, ingestTime: Int64(step))
                appended[range.lowerBound] = JournalFrame(
                    firstSequence: range.lowerBound, recordCount: count, ingestTime: Int64(step), payload: payload)
                if Int.random(in: 0..<4, using: &random) == 0 {
                    try journal.sync()
                    synced.formUnion(appended.keys)
                    sizesAtSync = Dictionary(
                        uniqueKeysWithValues: segmentNames().map { ($0, size(directory + "/" + $0)) })
                    if Int.random(in: 0..<3, using: &random) == 0, journal.nextSequence - 1 > journal.acknowledged {
                        let through = UInt64.random(
                            in: journal.acknowledged + 1...journal.nextSequence - 1, using: &random)
                        try journal.acknowledge(through: through)
                        acknowledged = through
                    }
                }
            }
            // Power loss: of each segment's unsynced bytes a random part reaches the disk; a segment created
            // since the last sync may vanish.
            for name in segmentNames() {
                let path = directory + "/" + name
                let now = size(path)
                if let atSync = sizesAtSync[name] {
                    JournalFiles.truncate(path, to: Int.random(in: atSync...max(atSync, now), using: &random))
                } else {
                    if Bool.random(using: &random) {
                        unlink(path)
                    } else {
                        JournalFiles.truncate(path, to: Int.random(in: 0...now, using: &random))
                    }
                }
            }
        }
    }
}
