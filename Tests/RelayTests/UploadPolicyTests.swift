import Relay
import XCTest

/// The outcome table of docs/relay.md §4, row by row, with a fake clock.
final class UploadPolicyTests: XCTestCase {
    typealias F = UploadFixture
    let t0 = 1_000_000.0

    /// A policy with `batch` sent at t0 and outstanding.
    private func sending(_ batch: Batch, settings: UploadSettings = UploadSettings()) -> UploadPolicy {
        var policy = UploadPolicy(settings: settings)
        XCTAssertEqual(policy.batchReady(batch, now: t0), [.send(batch, at: t0)])
        XCTAssertTrue(policy.outstanding)
        return policy
    }

    private func sendTime(_ decisions: [UploadDecision], file: StaticString = #filePath, line: UInt = #line) -> Double?
    {
        guard case .send(_, let at)? = decisions.last else {
            XCTFail("no send in \(decisions)", file: file, line: line)
            return nil
        }
        return at
    }

    // MARK: 200

    /// GIVEN a batch in flight WHEN 200 THEN the cursor advances through its last sequence and the policy is idle.
    func testAcceptedAdvancesTheCursor() {
        let batch = Batch(units: F.units(1...4))
        var policy = sending(batch)
        XCTAssertEqual(policy.outcome(.accepted, now: t0 + 1, jitter: 0), [.advanceCursor(through: 4)])
        XCTAssertTrue(policy.isIdle)
        XCTAssertFalse(policy.outstanding)
        // Only one batch at a time: a second one while busy is ignored.
        var busy = sending(batch)
        XCTAssertEqual(busy.batchReady(Batch(units: F.units(5...6)), now: t0), [])
        XCTAssertEqual(busy.outcome(.accepted, now: t0, jitter: 0), [.advanceCursor(through: 4)])
        XCTAssertEqual(busy.outcome(.accepted, now: t0, jitter: 0), [], "no outcome without a send")
    }

    /// GIVEN a driver that reports 200 as a status WHEN it does THEN it counts as accepted; the due time of each
    /// send is kept for status reports.
    func testStatus200IsAcceptedAndTheNextAttemptIsKnown() {
        var policy = sending(Batch(units: F.units(1...2)))
        XCTAssertEqual(policy.scheduledAt, t0)
        XCTAssertEqual(sendTime(policy.outcome(.status(502, retryAfter: nil), now: t0, jitter: 0)), t0 + 0.5)
        XCTAssertEqual(policy.scheduledAt, t0 + 0.5)
        XCTAssertEqual(policy.lastStatus, 502)
        XCTAssertEqual(
            policy.outcome(.status(200, retryAfter: 9), now: t0 + 1, jitter: 0), [.advanceCursor(through: 2)])
        XCTAssertNil(policy.scheduledAt)
    }

    // MARK: network error, timeout, 5xx, 408

    /// GIVEN repeated transient failures WHEN jitter is 0 or near 1 THEN the same batch is resent after 1, 2, 4 …
    /// s capped at 300, between half and all of it; forever; a success resets the back-off.
    func testTransientFailuresBackOffExponentiallyWithJitterForever() {
        let batch = Batch(units: F.units(1...2))
        var policy = sending(batch)
        let outcomes: [UploadOutcome] = [
            .transportFailure, .status(500, retryAfter: nil), .status(503, retryAfter: nil),
            .status(408, retryAfter: nil),
        ]
        var now = t0
        for failure in 1...40 {
            let jitter = failure % 2 == 0 ? 0.0 : 0.999_999
            let decisions = policy.outcome(outcomes[failure % outcomes.count], now: now, jitter: jitter)
            guard case .send(let resent, let at)? = decisions.first, decisions.count == 1 else {
                return XCTFail("\(decisions)")
            }
            XCTAssertEqual(resent, batch)
            let nominal = min(pow2(failure - 1), 300)
            XCTAssertGreaterThanOrEqual(at - now, nominal * 0.5 - 1e-9)
            XCTAssertLessThanOrEqual(at - now, nominal + 1e-9)
            if jitter == 0 { XCTAssertEqual(at - now, nominal / 2, accuracy: 1e-9) }
            XCTAssertEqual(policy.failures, failure)
            now = at
        }
        XCTAssertEqual(policy.outcome(.accepted, now: now, jitter: 0), [.advanceCursor(through: 2)])
        XCTAssertEqual(policy.failures, 0)
        var again = policy
        _ = again.batchReady(batch, now: now)
        XCTAssertEqual(
            sendTime(again.outcome(.transportFailure, now: now, jitter: 0.999_999)) ?? 0, now + 1, accuracy: 1e-5)
    }

    /// GIVEN a 503 with Retry-After WHEN the back-off is shorter THEN Retry-After is the floor.
    func testRetryAfterIsAFloorOnServerErrors() {
        var policy = sending(Batch(units: F.units(1...1)))
        XCTAssertEqual(sendTime(policy.outcome(.status(503, retryAfter: 20), now: t0, jitter: 0.5)), t0 + 20)
    }

    // MARK: 401

    /// GIVEN a 401 WHEN it comes THEN one token refresh is asked for and nothing sent; WHEN the token is renewed
    /// THEN the same batch goes once more; a second 401 pauses until the next renewal; then a success resets.
    func testUnauthorizedRefreshesOnceThenPauses() {
        let batch = Batch(units: F.units(1...3))
        var policy = sending(batch)
        XCTAssertEqual(policy.outcome(.status(401, retryAfter: nil), now: t0, jitter: 0), [.requestTokenRefresh])
        XCTAssertFalse(policy.outstanding)
        XCTAssertEqual(policy.tokenRenewed(now: t0 + 2), [.send(batch, at: t0 + 2)])
        XCTAssertEqual(policy.outcome(.status(401, retryAfter: nil), now: t0 + 3, jitter: 0), [.paused(.unauthorized)])
        XCTAssertEqual(policy.pause, .unauthorized)
        XCTAssertFalse(policy.outstanding, "no timer: only a new token helps")
        XCTAssertEqual(policy.tokenRenewed(now: t0 + 3600), [.send(batch, at: t0 + 3600)])
        XCTAssertEqual(policy.tokenRenewed(now: t0 + 3601), [], "already sending")
        XCTAssertEqual(policy.outcome(.accepted, now: t0 + 3601, jitter: 0), [.advanceCursor(through: 3)])
        XCTAssertNil(policy.pause)
        XCTAssertEqual(policy.unauthorized, 0)
        // After the success, a 401 gets its one refresh again.
        _ = policy.batchReady(Batch(units: F.units(4...4)), now: t0 + 4000)
        XCTAssertEqual(policy.outcome(.status(401, retryAfter: nil), now: t0 + 4000, jitter: 0), [.requestTokenRefresh])
    }

    /// GIVEN an idle policy WHEN a token is renewed THEN nothing happens.
    func testTokenRenewedWhenNotWaitingIsIgnored() {
        var policy = UploadPolicy()
        XCTAssertEqual(policy.tokenRenewed(now: t0), [])
        var busy = sending(Batch(units: F.units(1...1)))
        XCTAssertEqual(busy.tokenRenewed(now: t0), [])
    }

    // MARK: 403 and other statuses

    /// GIVEN a 403 WHEN it comes THEN the relay pauses, reports, and tries again in 5 min; a success resumes.
    func testForbiddenPausesAndRetriesEveryFiveMinutes() {
        let batch = Batch(units: F.units(1...2))
        var policy = sending(batch)
        XCTAssertEqual(
            policy.outcome(.status(403, retryAfter: nil), now: t0, jitter: 0.3),
            [.paused(.forbidden), .send(batch, at: t0 + 300)])
        XCTAssertEqual(policy.pause, .forbidden)
        XCTAssertEqual(
            policy.outcome(.status(403, retryAfter: nil), now: t0 + 300, jitter: 0.3),
            [.paused(.forbidden), .send(batch, at: t0 + 600)])
        XCTAssertEqual(policy.outcome(.accepted, now: t0 + 600, jitter: 0), [.advanceCursor(through: 2)])
        XCTAssertNil(policy.pause)
    }

    /// GIVEN a status outside the table (404, 302, 204) WHEN it comes THEN paused like 403, nothing dead-lettered.
    func testOtherStatusesPauseAndNeverDeadLetter() {
        for status in [404, 302, 204, 418] {
            let batch = Batch(units: F.units(1...4))
            var policy = sending(batch)
            XCTAssertEqual(
                policy.outcome(.status(status, retryAfter: nil), now: t0, jitter: 0),
                [.paused(.unexpectedStatus(status)), .send(batch, at: t0 + 300)])
        }
    }

    // MARK: 429

    /// GIVEN 429s without Retry-After WHEN they repeat THEN 30 s doubling to 5 min (+ ≤ 10 % jitter), the batch
    /// in hand halved and the target halved down to its floor; successes restore the target gradually.
    func testTooManyRequestsWithoutRetryAfter() throws {
        let settings = UploadSettings(batchBytes: 1 << 20)
        let batch = Batch(units: F.units(1...8))
        var policy = sending(batch, settings: settings)
        var now = t0
        var expectedTarget = 1 << 20
        var sent = batch
        for throttle in 1...8 {
            let decisions = policy.outcome(.status(429, retryAfter: nil), now: now, jitter: throttle == 8 ? 0.999 : 0)
            guard case .send(let next, let at)? = decisions.first, decisions.count == 1 else {
                return XCTFail("\(decisions)")
            }
            let nominal = min(30 * pow2(throttle - 1), 300)
            XCTAssertGreaterThanOrEqual(at - now, nominal)
            XCTAssertLessThanOrEqual(at - now, nominal * 1.1)
            expectedTarget = max(expectedTarget / 2, UploadSettings.minimumBatchBytes)
            XCTAssertEqual(policy.batchTarget, expectedTarget)
            // The part in hand is halved while it can be (one unit: as is).
            if sent.units.count > 1 {
                XCTAssertEqual(next.units, Array(sent.units.prefix(next.units.count)))
                XCTAssertLessThan(next.units.count, sent.units.count)
            } else {
                XCTAssertEqual(next, sent)
            }
            sent = next
            now = at
        }
        XCTAssertEqual(policy.batchTarget, UploadSettings.minimumBatchBytes)
        XCTAssertEqual(policy.outcome(.accepted, now: now, jitter: 0).first, .advanceCursor(through: 1))
        XCTAssertEqual(policy.throttles, 0)
        XCTAssertEqual(policy.batchTarget, UploadSettings.minimumBatchBytes + (1 << 17))
        // The rest of the halved batch follows at once, and the target climbs back by eighths.
        var rounds = 0
        while !policy.isIdle {
            XCTAssertEqual(policy.outcome(.accepted, now: now, jitter: 0).first?.isAdvance, true)
            rounds += 1
        }
        XCTAssertEqual(rounds, 3)
        XCTAssertEqual(policy.batchTarget, UploadSettings.minimumBatchBytes + 4 * (1 << 17))
        for round in 0..<4 {
            _ = policy.batchReady(Batch(units: F.units(UInt64(9 + round)...UInt64(9 + round))), now: now)
            _ = policy.outcome(.accepted, now: now, jitter: 0)
        }
        XCTAssertEqual(policy.batchTarget, 1 << 20)
    }

    /// GIVEN a 429 with Retry-After WHEN it is sensible, tiny, huge or not finite THEN it is used, clamped to 1…900 s.
    func testTooManyRequestsWithRetryAfter() {
        for (retryAfter, wait) in [(42.0, 42.0), (0, 1), (86400, 900), (Double.infinity, 900)] {
            var policy = sending(Batch(units: F.units(1...1)))
            XCTAssertEqual(
                sendTime(policy.outcome(.status(429, retryAfter: retryAfter), now: t0, jitter: 0.9)), t0 + wait)
            XCTAssertEqual(policy.batchTarget, UploadSettings().batchBytes / 2)
        }
    }

    // MARK: 413

    /// GIVEN 8 units and a proxy that refuses any request with unit 6 in it WHEN 413 comes back THEN the batch is
    /// split down to unit 6, which is a dead letter, and everything else is accepted in order.
    func testRequestTooLargeSplitsDownToADeadLetter() {
        let units = F.units(1...8)
        let result = drive(Batch(units: units)) { batch in
            batch.units.contains { $0.firstSequence == 6 } ? .status(413, retryAfter: nil) : .accepted
        }
        XCTAssertEqual(result.deadLetters.map(\.units), [[units[5]]])
        XCTAssertEqual(result.deadLetters.map(\.reason), [.rejected(status: 413)])
        XCTAssertEqual(result.accepted.flatMap(\.units), units.filter { $0.firstSequence != 6 })
        XCTAssertEqual(result.cursor, 8)
    }

    /// GIVEN a unit estimated over the ceiling WHEN its batch is ready THEN it is a dead letter, never sent.
    func testAUnitOverTheCeilingIsADeadLetterWithoutSending() {
        let big = String(repeating: "x", count: UploadSettings.maximumBatchBytes)
        let unit = BatchUnit(
            firstSequence: 5, entry: F.entry(at: 0, [TimeseriesValue(dataPointID: "s", value: .text(big))]))
        let batch = Batch(units: [unit])
        var policy = UploadPolicy()
        XCTAssertEqual(
            policy.batchReady(batch, now: t0),
            [
                .deadLetter([unit], reason: .overCeiling(estimatedBytes: batch.estimatedBytes)),
                .advanceCursor(through: 5),
            ])
        XCTAssertTrue(policy.isIdle)
        XCTAssertFalse(policy.outstanding)

        // Beside other units: split off, the others are sent.
        let mixed = Batch(units: F.units(1...4) + [unit])
        var other = UploadPolicy()
        let decisions = other.batchReady(mixed, now: t0)
        guard case .send(let first, _)? = decisions.last else { return XCTFail("\(decisions)") }
        XCTAssertFalse(first.units.contains(unit))
        XCTAssertLessThanOrEqual(first.estimatedBytes, UploadSettings.maximumBatchBytes)
    }

    // MARK: 400

    /// GIVEN 16 units of which 2 are bad WHEN the service answers 400 to any request containing a bad one THEN
    /// bisection dead-letters exactly those two, sends every other unit exactly once, in order, and the cursor
    /// ends at 16 without ever going back.
    func testBadRequestBisectsToExactlyTheBadUnits() {
        let units = F.units(1...16)
        let bad: Set<UInt64> = [4, 11]
        let result = drive(Batch(units: units)) { batch in
            batch.units.contains { bad.contains($0.firstSequence) } ? .status(400, retryAfter: nil) : .accepted
        }
        XCTAssertEqual(result.deadLetters.flatMap(\.units).map(\.firstSequence), [4, 11])
        XCTAssertEqual(result.deadLetters.map(\.reason), [.rejected(status: 400), .rejected(status: 400)])
        XCTAssertEqual(result.accepted.flatMap(\.units), units.filter { !bad.contains($0.firstSequence) })
        XCTAssertEqual(result.cursor, 16)
        XCTAssertEqual(result.advances, result.advances.sorted())
        XCTAssertLessThanOrEqual(result.requests, 16, "bisection, not one request per unit")
    }

    /// GIVEN a bad timestamp whose values came in three frames WHEN bisected THEN all three are dead-lettered
    /// together: a timestamp is never split.
    func testBadRequestDeadLettersAWholeTimestamp() {
        let sameKey = (0..<3).map {
            BatchUnit(firstSequence: UInt64(3 + $0), entry: F.entry(at: 99, [F.value("p\($0)", 1)]))
        }
        let units = F.units(1...2) + sameKey + [BatchUnit(firstSequence: 6, entry: F.entry(at: 100, [F.value("p", 1)]))]
        let result = drive(Batch(units: units)) { batch in
            batch.units.contains { $0.key?.timestamp == 99 && $0.firstSequence == 4 }
                ? .status(400, retryAfter: nil) : .accepted
        }
        XCTAssertEqual(result.deadLetters.flatMap(\.units), sameKey)
        XCTAssertEqual(result.cursor, 6)
    }

    // MARK: Driver loop

    private struct DriveResult {
        var accepted: [Batch] = []
        var deadLetters: [(units: [BatchUnit], reason: DeadLetterReason)] = []
        var advances: [UInt64] = []
        var requests = 0
        var cursor: UInt64? { advances.last }
    }

    /// Performs the policy's decisions against a fake service until the batch is done.
    private func drive(_ batch: Batch, service: (Batch) -> UploadOutcome) -> DriveResult {
        var policy = UploadPolicy()
        var result = DriveResult()
        var decisions = policy.batchReady(batch, now: t0)
        var now = t0
        while !decisions.isEmpty, result.requests < 1000 {
            var next: [UploadDecision] = []
            for decision in decisions {
                switch decision {
                case .send(let sent, let at):
                    now = max(now, at)
                    result.requests += 1
                    let outcome = service(sent)
                    if outcome == .accepted { result.accepted.append(sent) }
                    next += policy.outcome(outcome, now: now, jitter: 0.5)
                case .advanceCursor(let sequence): result.advances.append(sequence)
                case .deadLetter(let units, let reason): result.deadLetters.append((units, reason))
                case .requestTokenRefresh, .paused: XCTFail("unexpected \(decision)")
                }
            }
            decisions = next
        }
        XCTAssertTrue(policy.isIdle)
        return result
    }

    private func pow2(_ exponent: Int) -> Double { Double(1 << exponent) }

    // MARK: the batch in hand and the journal

    /// GIVEN a batch waiting for its retry WHEN drop_oldest drops records through 3 THEN they leave the batch (a
    /// unit straddling the drop keeps its later values), the send keeps its time; GIVEN everything dropped THEN
    /// idle, and the next batch still waits for the back-off.
    func testDroppedRecordsLeaveTheBatchInHand() {
        let straddling = BatchUnit(
            firstSequence: 3, entry: F.entry(at: 9_000, [F.value("a", 3), F.value("b", 4), F.value("c", 5)]))
        var policy = sending(Batch(units: F.units(1...2) + [straddling]))
        let retry = sendTime(policy.outcome(.transportFailure, now: t0, jitter: 0.99)) ?? 0
        policy.discard(through: 3)
        XCTAssertEqual(policy.work.count, 1)
        XCTAssertEqual(policy.work[0].firstSequence, 4)
        XCTAssertEqual(policy.work[0].lastSequence, 5)
        XCTAssertEqual(policy.work[0].recordCount, 2)
        XCTAssertEqual(policy.scheduledAt, retry)
        XCTAssertTrue(policy.outstanding)
        policy.discard(through: 5)
        XCTAssertTrue(policy.isIdle)
        XCTAssertFalse(policy.outstanding)
        let next = Batch(units: F.units(6...7))
        XCTAssertEqual(
            policy.batchReady(next, now: t0 + 0.1), [UploadDecision.send(next, at: retry)], "the back-off carries over")
    }

    /// GIVEN a batch waiting for its retry WHEN abandoned (a configuration change) THEN idle, and a batch built
    /// again from the journal waits as long; GIVEN no back-off THEN it goes at once.
    func testAbandonedWorkKeepsTheBackOff() {
        var policy = sending(Batch(units: F.units(1...2)))
        let retry = sendTime(policy.outcome(.status(503, retryAfter: 20), now: t0, jitter: 0)) ?? 0
        policy.abandonWork()
        XCTAssertTrue(policy.isIdle)
        XCTAssertFalse(policy.outstanding)
        let again = Batch(units: F.units(1...2, configuration: "cfg-2"))
        XCTAssertEqual(policy.batchReady(again, now: t0 + 1), [UploadDecision.send(again, at: retry)])
        XCTAssertEqual(policy.outcome(.accepted, now: retry, jitter: 0), [.advanceCursor(through: 2)])
        let later = Batch(units: F.units(3...3))
        XCTAssertEqual(policy.batchReady(later, now: retry + 1), [UploadDecision.send(later, at: retry + 1)])
    }
}

extension UploadDecision {
    fileprivate var isAdvance: Bool {
        if case .advanceCursor = self { true } else { false }
    }

}
