import Relay
import XCTest

/// When to flush, and the upload rate limit (docs/relay.md §4).
final class UploadFlushTests: XCTestCase {
    let t0 = 5000.0

    /// GIVEN nothing pending WHEN asked THEN no timer at all.
    func testNothingPendingMeansNoTimer() {
        let flush = FlushPolicy()
        XCTAssertNil(flush.flushTime(pendingBytes: 0, oldestIngestTime: nil, batchTarget: 1 << 20, now: t0))
        XCTAssertNil(flush.flushTime(pendingBytes: 0, oldestIngestTime: t0, batchTarget: 1 << 20, now: t0))
    }

    /// GIVEN a batch's worth pending WHEN asked THEN now; GIVEN less THEN the oldest record's ingest time + 5 s.
    func testFlushOnSizeOrAge() {
        let flush = FlushPolicy(flushInterval: 5)
        XCTAssertEqual(
            flush.flushTime(pendingBytes: 1 << 20, oldestIngestTime: t0 - 1, batchTarget: 1 << 20, now: t0), t0)
        XCTAssertEqual(
            flush.flushTime(pendingBytes: 100, oldestIngestTime: t0 - 1, batchTarget: 1 << 20, now: t0), t0 + 4)
        XCTAssertEqual(
            flush.flushTime(pendingBytes: 100, oldestIngestTime: t0 - 60, batchTarget: 1 << 20, now: t0), t0 - 55)
        // After a 429 the target is lower: the same backlog flushes at once.
        XCTAssertEqual(flush.flushTime(pendingBytes: 20000, oldestIngestTime: t0, batchTarget: 16384, now: t0), t0)
    }

    /// GIVEN the frames of a backlog WHEN their estimates are summed THEN the sum reaches the target no later
    /// than the batch built from them does.
    func testPendingEstimateMatchesTheBatcher() throws {
        let frames: [(firstSequence: UInt64, content: JournalContent)] = (0..<400).map { index in
            (UInt64(index + 1), .timeseries([UploadFixture.entry(at: Int64(index), [UploadFixture.value("dp", 7)])]))
        }
        let pending = frames.reduce(0) { $0 + Batcher.estimatedBytes(of: $1.content) }
        let batch = try XCTUnwrap(Batcher.batch(frames: frames, after: nil, target: 1 << 30))
        XCTAssertLessThanOrEqual(pending, batch.estimatedBytes)
        XCTAssertGreaterThan(pending, batch.estimatedBytes - 1000)
        XCTAssertEqual(
            Batcher.estimatedBytes(of: .event(UploadFixture.event("e"))),
            Batch(units: [BatchUnit(sequence: 1, event: UploadFixture.event("e"))]).estimatedBytes - 24)
    }

    /// GIVEN 1000 B/s and a full bucket WHEN sending 1000 B twice THEN the first goes now, the second after 1 s.
    func testRateLimiterSpacesRequests() {
        var limiter = RateLimiter(bytesPerSecond: 1000, now: t0)
        XCTAssertEqual(limiter.delay(forSending: 1000, now: t0), 0)
        limiter.spend(1000, now: t0)
        XCTAssertEqual(limiter.delay(forSending: 1000, now: t0), 1, accuracy: 1e-9)
        XCTAssertEqual(limiter.delay(forSending: 500, now: t0 + 0.25), 0.25, accuracy: 1e-9)
        XCTAssertEqual(limiter.delay(forSending: 1000, now: t0 + 1), 0)
        // Idle time does not bank more than the burst.
        XCTAssertEqual(limiter.delay(forSending: 1000, now: t0 + 3600), 0)
        limiter.spend(1000, now: t0 + 3600)
        XCTAssertEqual(limiter.delay(forSending: 1, now: t0 + 3600), 0.001, accuracy: 1e-9)
    }

    /// GIVEN requests larger than the bucket WHEN a backlog drains THEN each waits for a full bucket, and the
    /// average rate over the drain stays at the limit.
    func testRateLimiterHoldsTheRateForLargeRequests() {
        var limiter = RateLimiter(bytesPerSecond: 10_000, now: t0)
        var now = t0
        var sent = 0
        for _ in 0..<20 {
            now += limiter.delay(forSending: 100_000, now: now)
            limiter.spend(100_000, now: now)
            sent += 100_000
        }
        // The first request goes at once on a full bucket; the other 19 pay for themselves.
        XCTAssertEqual(now - t0, Double(sent - 100_000) / 10_000, accuracy: 1.01)
        XCTAssertGreaterThan(limiter.delay(forSending: 100_000, now: now), 9)
    }
}
