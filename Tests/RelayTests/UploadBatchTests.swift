import Relay
import XCTest

/// Batching (docs/relay.md §4): by estimated bytes, never splitting the values of one timestamp.
final class UploadBatchTests: XCTestCase {
    typealias F = UploadFixture

    /// Frames of one entry each at distinct timestamps, sequences 1….
    private func frames(_ count: Int, valuesPerEntry: Int = 1) -> [(firstSequence: UInt64, content: JournalContent)] {
        (0..<count).map { index in
            let values = (0..<valuesPerEntry).map { F.value("dp\($0)", Int64(index)) }
            return (UInt64(index * valuesPerEntry + 1), .timeseries([F.entry(at: Int64(index) * 1000, values)]))
        }
    }

    /// GIVEN 1000 small frames WHEN batched with a 4 KiB target THEN the batch is the shortest prefix whose
    /// estimate reaches the target, and the estimate equals the encoded size (no merging).
    func testBatchClosesAtTheFirstUnitThatReachesTheTarget() throws {
        let target = 4096
        let batch = try XCTUnwrap(Batcher.batch(frames: frames(1000), after: nil, target: target))
        XCTAssertGreaterThanOrEqual(batch.estimatedBytes, target)
        XCTAssertLessThan(Batch(units: Array(batch.units.dropLast())).estimatedBytes, target)
        XCTAssertEqual(batch.firstSequence, 1)
        XCTAssertEqual(batch.lastSequence, UInt64(batch.units.count))
        XCTAssertEqual(batch.recordCount, batch.units.count)
        let encoded = ExchangeEncoder.encode(batch, boundary: F.boundaries())
        XCTAssertEqual(encoded.body.count, batch.estimatedBytes)
    }

    /// GIVEN units of several configurations and events WHEN encoded THEN the estimate is exact.
    func testEstimateIsExactWithoutMerging() {
        var units = F.units(1...5, configuration: "a") + F.units(6...9, configuration: "b")
        units.append(BatchUnit(sequence: 10, event: F.event("e1")))
        units += F.units(11...12, configuration: "a")
        let batch = Batch(units: units)
        XCTAssertEqual(ExchangeEncoder.encode(batch, boundary: F.boundaries()).body.count, batch.estimatedBytes)
    }

    /// GIVEN units of one timestamp at the target boundary WHEN batched THEN all of them are in the batch,
    /// and it stops at the first unit of another timestamp.
    func testTheValuesOfOneTimestampAreNeverSplitAtTheTarget() throws {
        let firstBatch = try XCTUnwrap(Batcher.batch(frames: frames(1000), after: nil, target: 4096))
        let boundaryCount = firstBatch.units.count
        // The unit that reaches the target is at timestamp T; four more frames follow at T, then T + 1.
        var input = Array(frames(boundaryCount))
        let lastTimestamp = Int64(boundaryCount - 1) * 1000
        var sequence = UInt64(boundaryCount + 1)
        for index in 0..<4 {
            input.append((sequence, .timeseries([F.entry(at: lastTimestamp, [F.value("other\(index)", 1)])])))
            sequence += 1
        }
        input.append((sequence, .timeseries([F.entry(at: lastTimestamp + 1, [F.value("dp0", 1)])])))
        let batch = try XCTUnwrap(Batcher.batch(frames: input, after: nil, target: 4096))
        XCTAssertEqual(batch.units.count, boundaryCount + 4)
        XCTAssertEqual(batch.lastSequence, sequence - 1)
        XCTAssertEqual(batch.units.last?.key, TimeseriesKey(configurationID: "cfg", timestamp: lastTimestamp))
    }

    /// GIVEN a batch at the ceiling WHEN the next unit continues a timestamp already in it THEN the batch is
    /// cut before that timestamp's first unit rather than splitting it.
    func testACeilingCutFallsBeforeTheTimestampNotInsideIt() throws {
        let all = frames(200)
        let estimateOf100 = try XCTUnwrap(Batcher.batch(frames: all.prefix(100), after: nil, target: 1 << 30))
        // Unit 100 continues below, at the timestamp of unit 99 (index 98).
        var input = Array(all.prefix(100))
        input.append((101, .timeseries([F.entry(at: 98_000, [F.value("late", 1)])])))
        let batch = try XCTUnwrap(
            Batcher.batch(
                frames: input, after: nil, target: estimateOf100.estimatedBytes, ceiling: estimateOf100.estimatedBytes))
        XCTAssertEqual(batch.lastSequence, 98)
        XCTAssertLessThanOrEqual(batch.estimatedBytes, estimateOf100.estimatedBytes)
    }

    /// GIVEN a first unit larger than the ceiling WHEN batched THEN it is a batch on its own.
    func testAUnitOverTheCeilingIsABatchOfItsOwn() throws {
        let big = String(repeating: "x", count: 5000)
        let input: [(firstSequence: UInt64, content: JournalContent)] = [
            (1, .timeseries([F.entry(at: 0, [TimeseriesValue(dataPointID: "s", value: .text(big))])])),
            (2, .timeseries([F.entry(at: 1, [F.value("dp", 1)])])),
        ]
        let batch = try XCTUnwrap(Batcher.batch(frames: input, after: nil, target: 1000, ceiling: 2000))
        XCTAssertEqual(batch.units.count, 1)
        XCTAssertGreaterThan(batch.estimatedBytes, 2000)
    }

    /// GIVEN a frame of two entries (3 + 2 values, sequences 10…14) WHEN the cursor is inside or at its
    /// edges THEN only records after the cursor are taken, with their own sequences.
    func testTheCursorMayStraddleAFrame() throws {
        let content = JournalContent.timeseries([
            F.entry(at: 1, [F.value("a", 1), F.value("b", 2), F.value("c", 3)]),
            F.entry(at: 2, [F.value("a", 4), F.value("b", 5)]),
        ])
        let eventFrame: (firstSequence: UInt64, content: JournalContent) = (9, .event(F.event("e")))
        let frames: [(firstSequence: UInt64, content: JournalContent)] = [eventFrame, (10, content)]

        let fromNothing = try XCTUnwrap(Batcher.batch(frames: frames, after: nil, target: 1 << 20))
        XCTAssertEqual(fromNothing.units.map(\.firstSequence), [9, 10, 13])
        XCTAssertEqual(fromNothing.recordCount, 6)

        let inside = try XCTUnwrap(Batcher.batch(frames: frames, after: 11, target: 1 << 20))
        XCTAssertEqual(inside.units.map(\.firstSequence), [12, 13])
        XCTAssertEqual(inside.units.map(\.recordCount), [1, 2])
        guard case .timeseries(let partial) = inside.units[0].content else { return XCTFail("not timeseries") }
        XCTAssertEqual(partial.values.map(\.dataPointID), ["c"])
        XCTAssertEqual(inside.lastSequence, 14)

        let atEntryEdge = try XCTUnwrap(Batcher.batch(frames: frames, after: 12, target: 1 << 20))
        XCTAssertEqual(atEntryEdge.units.map(\.firstSequence), [13])

        XCTAssertNil(Batcher.batch(frames: frames, after: 14, target: 1 << 20))
    }

    /// GIVEN units A B A C D (A twice) WHEN halved THEN the cut falls where no timestamp is on both sides.
    func testHalvesNeverSplitATimestamp() throws {
        let keyA = F.entry(at: 1, [F.value("a", 1)])
        let units = [
            BatchUnit(firstSequence: 1, entry: keyA),
            BatchUnit(firstSequence: 2, entry: F.entry(at: 2, [F.value("a", 1)])),
            BatchUnit(firstSequence: 3, entry: F.entry(at: 1, [F.value("b", 1)])),
            BatchUnit(firstSequence: 4, entry: F.entry(at: 3, [F.value("a", 1)])),
            BatchUnit(firstSequence: 5, entry: F.entry(at: 4, [F.value("a", 1)])),
        ]
        let (first, second) = try XCTUnwrap(Batch(units: units).halves())
        XCTAssertEqual(first.units.map(\.firstSequence), [1, 2, 3])
        XCTAssertEqual(second.units.map(\.firstSequence), [4, 5])
    }

    /// GIVEN one unit, or units all of one timestamp WHEN halved THEN nil.
    func testHalvesIsNilForOneTimestamp() {
        XCTAssertNil(Batch(units: F.units(1...1)).halves())
        let sameKey = (1...4).map {
            BatchUnit(firstSequence: UInt64($0), entry: F.entry(at: 7, [F.value("dp\($0)", 1)]))
        }
        XCTAssertNil(Batch(units: sameKey).halves())
        XCTAssertNotNil(
            Batch(units: [BatchUnit(sequence: 1, event: F.event("a")), BatchUnit(sequence: 2, event: F.event("b"))])
                .halves())
    }

    /// GIVEN 500 random batches over a few timestamps WHEN halved THEN the halves are the batch in order, and
    /// no key is on both sides.
    func testHalvesPropertyOverRandomBatches() {
        var random = SeededRandom(seed: 15)
        for _ in 0..<500 {
            let count = 2 + random.below(12)
            let units = (0..<count).map { index -> BatchUnit in
                if random.below(5) == 0 { return BatchUnit(sequence: UInt64(index + 1), event: F.event("e\(index)")) }
                let entry = F.entry("c\(random.below(2))", at: Int64(random.below(4)), [F.value("dp", 1)])
                return BatchUnit(firstSequence: UInt64(index + 1), entry: entry)
            }
            let validCuts = (1..<units.count).filter { cut in
                Set(units[..<cut].compactMap(\.key)).isDisjoint(with: units[cut...].compactMap(\.key))
            }
            guard let (first, second) = Batch(units: units).halves() else {
                XCTAssertEqual(validCuts, [], "\(units)")
                continue
            }
            let distance = { (cut: Int) in
                abs(2 * units[..<cut].reduce(0) { $0 + $1.estimatedBytes } - units.reduce(0) { $0 + $1.estimatedBytes })
            }
            XCTAssertEqual(distance(first.units.count), validCuts.map(distance).min())
            XCTAssertEqual(first.units + second.units, units)
            XCTAssertFalse(first.units.isEmpty || second.units.isEmpty)
            XCTAssertTrue(Set(first.units.compactMap(\.key)).isDisjoint(with: second.units.compactMap(\.key)))
        }
    }
}
