import Glibc
import Platform
import Southgate
import XCTest

@testable import Agent

/// The server accepted a registration or rotation but its answer could not be stored (disk
/// full): the credentials stay in use from memory and storing them is retried with backoff.
final class LifecycleStorageTests: XCTestCase {
    typealias Action = Lifecycle.Action
    let t0 = Fixture.t0
    let diskFull = Lifecycle.Failure.storage(
        SystemError("write", "/var/lib/hubagent/.state.8.json.tmp.42", errno: ENOSPC))

    private func stores(_ actions: [Action]) -> [StoredState] {
        actions.compactMap { if case .store(let state) = $0 { state } else { nil } }
    }

    /// A lifecycle whose onboarding was accepted by the server and not stored: (lifecycle, the state in use).
    private func onboardedUnstored(file: StaticString = #filePath, line: UInt = #line) throws -> (
        Lifecycle, StoredState, [Action]
    ) {
        let boarding = try Fixture.boarding()
        var lifecycle = Lifecycle()
        _ = lifecycle.step(.started(StoredState()), now: t0)
        XCTAssertEqual(lifecycle.step(.boardingRead(.success(boarding)), now: t0).registers, 1, file: file, line: line)
        // What the driver holds: the pending onboarding was stored (generation 1), the identity not.
        var next = Fixture.stored(
            Fixture.identity(issuedAt: t0, withPrevious: false, fingerprint: boarding.fingerprint), generation: 1)
        next.markUsed(boarding.fingerprint)
        var actions = lifecycle.step(.registered(stored: next, outcome: .success(t0)), now: t0)
        actions += lifecycle.step(.stored(next, outcome: .failure(diskFull)), now: t0)
        return (lifecycle, next, actions)
    }

    /// GIVEN a register the server accepted WHEN storing its answer fails THEN the identity is used (a token is
    /// requested with it), the problem is reported, and a store is scheduled, not a re-onboarding.
    func testUnstoredOnboardingKeepsIdentityAndReportsIt() throws {
        let (lifecycle, next, actions) = try onboardedUnstored()
        XCTAssertEqual(actions.network, [.fetchToken(next.identity!, clockOffset: 0)])
        XCTAssertEqual(lifecycle.phase, .onboarded)
        XCTAssertEqual(lifecycle.stored.identity, next.identity)
        XCTAssertEqual(lifecycle.unstored?.since, 1)
        XCTAssertNil(lifecycle.retry.retryAt, "a storage failure must not hold back token requests")
        XCTAssertEqual(lifecycle.health.lastError, diskFull.description)
        XCTAssertEqual(actions.logs(.error).count, 1)
        XCTAssertTrue(actions.logs(.error)[0].contains("not stored yet"), actions.logs(.error)[0])
        XCTAssertTrue(
            lifecycle.statusLine(now: t0).contains("credentials not stored yet"), lifecycle.statusLine(now: t0))
        let report = StatusReport(lifecycle: lifecycle, now: t0, pid: 1)
        XCTAssertTrue(report.problems.contains { $0.contains("not stored yet") }, "\(report.problems)")
        XCTAssertEqual(report.lastError, diskFull.description)
    }

    /// GIVEN unstored credentials WHEN storing keeps failing THEN it is retried with growing backoff while tokens are
    /// still served; once it succeeds the problem clears and no more stores are issued.
    func testStoreIsRetriedWithBackoffUntilItSucceeds() throws {
        var (lifecycle, next, _) = try onboardedUnstored()
        var actions = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0))), now: t0)
        XCTAssertNotNil(lifecycle.session.token)
        var retryAt = try XCTUnwrap(lifecycle.unstored?.retryAt)
        XCTAssertEqual(actions.wakeUps, [retryAt], "the timer wakes the agent for the store, before the token refresh")
        var delays = [Double]()
        var now = t0
        for attempt in 1...6 {
            delays.append(retryAt - now)
            now = retryAt
            actions = lifecycle.step(.wakeUp, now: now)
            XCTAssertEqual(stores(actions), [next], "attempt \(attempt)")
            XCTAssertEqual(actions.network, [])
            XCTAssertEqual(lifecycle.phase, .onboarded)
            actions = lifecycle.step(.stored(next, outcome: .failure(diskFull)), now: now)
            XCTAssertEqual(stores(actions), [])
            XCTAssertEqual(lifecycle.unstored?.failures, attempt + 1)
            retryAt = try XCTUnwrap(lifecycle.unstored?.retryAt)
        }
        XCTAssertGreaterThan(delays.last!, delays.first!, "backoff grows: \(delays)")
        XCTAssertNotNil(lifecycle.session.token, "the token survives storage failures")

        now = retryAt
        XCTAssertEqual(stores(lifecycle.step(.wakeUp, now: now)), [next])
        var saved = next
        saved.generation = 2
        actions = lifecycle.step(.stored(saved, outcome: .success(())), now: now)
        XCTAssertNil(lifecycle.unstored?.since)
        XCTAssertNil(lifecycle.unstored?.problem)
        XCTAssertNil(lifecycle.unstored?.retryAt)
        XCTAssertEqual(lifecycle.stored.generation, 2)
        XCTAssertEqual(
            actions.logs(.notice).filter { $0.contains("credentials stored (generation 2) after 7 failed attempts") }
                .count, 1, "\(actions)")
        XCTAssertFalse(lifecycle.statusLine(now: now).contains("not stored"))
        XCTAssertEqual(stores(lifecycle.step(.wakeUp, now: now + 3600)), [])
    }

    /// GIVEN unstored credentials and a short-lived token WHEN storing keeps failing THEN the token keeps being
    /// refreshed with them in between.
    func testTokenRefreshWhileStoreBacksOff() throws {
        var (lifecycle, next, actions) = try onboardedUnstored()
        var now = t0
        var refreshes = 0
        for attempt in 1...9 {
            if case .fetchToken? = actions.network.first {
                refreshes += 1
                actions = lifecycle.step(
                    .tokenFetched(.success(Fixture.grant(expiresIn: 20, serverTime: now))), now: now)
            }
            // Wake up when the timer says; a token refresh may come first.
            now = try XCTUnwrap(actions.wakeUps.last ?? nil)
            actions = lifecycle.step(.wakeUp, now: now)
            if case .fetchToken? = actions.network.first { continue }
            XCTAssertEqual(stores(actions), [next], "attempt \(attempt)")
            actions = lifecycle.step(.stored(next, outcome: .failure(diskFull)), now: now)
        }
        XCTAssertGreaterThan(refreshes, 2, "tokens were refreshed while the store was failing")
        XCTAssertNotNil(lifecycle.unstored?.since)
        XCTAssertNil(lifecycle.health.reboardingReason)
    }

    /// GIVEN a rotation the server accepted WHEN storing its answer fails THEN the new credentials are used for the
    /// token and the store is retried; the rotation is not repeated.
    func testUnstoredRotationUsesNewCredentials() throws {
        var identity = Fixture.identity()
        identity.rotationInProgress = true
        let before = Fixture.stored(identity)
        var lifecycle = Lifecycle()
        XCTAssertEqual(lifecycle.step(.started(before), now: t0).network, [.rotate(.current, before)])
        var rotated = identity
        rotated.previous = identity.current
        rotated.current = Fixture.registration("rotated", issuedAt: t0, lifetime: 30 * 86400)
        rotated.rotationInProgress = false
        var next = before
        next.identity = rotated
        var actions = lifecycle.step(.rotated(stored: next, using: .current, outcome: .success(t0)), now: t0)
        actions += lifecycle.step(.stored(next, outcome: .failure(diskFull)), now: t0)
        XCTAssertEqual(actions.network, [.fetchToken(rotated, clockOffset: 0)])
        XCTAssertEqual(lifecycle.unstored?.since, before.generation)
        XCTAssertNotNil(lifecycle.unstored?.problem)
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0))), now: t0)
        let retryAt = try XCTUnwrap(lifecycle.unstored?.retryAt)
        actions = lifecycle.step(.wakeUp, now: retryAt)
        XCTAssertEqual(stores(actions), [next])
        XCTAssertEqual(actions.network, [], "no second rotation while the first one's answer is not stored")
    }

    /// GIVEN unstored credentials WHEN another operation stores a newer generation (it carries them) THEN the problem
    /// clears without a separate store.
    func testAnyLaterSaveStoresTheCredentials() throws {
        var (lifecycle, next, _) = try onboardedUnstored()
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0))), now: t0)
        var saved = next
        saved.generation = 5
        let actions = lifecycle.step(.keyPrepared(stored: saved, outcome: .success(())), now: t0)
        XCTAssertNil(lifecycle.unstored?.since)
        XCTAssertNil(lifecycle.unstored?.problem)
        XCTAssertEqual(actions.logs(.notice).filter { $0.contains("credentials stored") }.count, 1)
        XCTAssertEqual(stores(lifecycle.step(.wakeUp, now: t0 + 600)), [])
    }

    /// GIVEN the soak run's test intervals WHEN time passes on the local clock THEN the token is refreshed and the
    /// secret rotated at those intervals, however long both live.
    func testSoakIntervalsDriveRefreshAndRotation() throws {
        var policy = LifecyclePolicy()
        policy.testRotationInterval = 0.1
        policy.testTokenRefreshInterval = 0.015
        let identity = Fixture.identity()
        var lifecycle = Lifecycle(policy: policy)
        XCTAssertEqual(
            lifecycle.step(.started(Fixture.stored(identity)), now: t0).network, [.fetchToken(identity, clockOffset: 0)]
        )
        let actions = lifecycle.step(.tokenFetched(.success(Fixture.grant(expiresIn: 3600, serverTime: t0))), now: t0)
        XCTAssertEqual(actions.wakeUps, [t0 + 0.015])
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 0.015).network, [.fetchToken(identity, clockOffset: 0)])
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(expiresIn: 3600, serverTime: t0))), now: t0 + 0.05)
        guard case .rotate(.current, _)? = lifecycle.step(.wakeUp, now: t0 + 0.1).network.first else {
            return XCTFail("no rotation 0.1 s after start")
        }
        XCTAssertNil(LifecyclePolicy().testRotationInterval, "off unless a test hook sets it")
    }
}
