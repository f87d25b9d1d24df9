import Crypto
import Southgate
import XCTest

@testable import Agent

/// docs/design.md §4, rule by rule, with a fake clock: every `step` gets an explicit `now`.
final class LifecycleTests: XCTestCase {
    typealias Action = Lifecycle.Action
    let t0 = Fixture.t0
    let policy = LifecyclePolicy()

    // MARK: Helpers

    /// A lifecycle started with `identity`; its first token request is in flight.
    private func started(
        _ identity: Identity, policy: LifecyclePolicy = LifecyclePolicy(), now: Double? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) -> Lifecycle {
        var lifecycle = Lifecycle(policy: policy)
        let actions = lifecycle.step(.started(Fixture.stored(identity)), now: now ?? t0)
        XCTAssertEqual(actions.network, [.fetchToken(identity, clockOffset: 0)], file: file, line: line)
        return lifecycle
    }

    /// A lifecycle that holds a token fetched at `t0` (server clock = local clock): idle.
    private func idle(
        _ identity: Identity, policy: LifecyclePolicy = LifecyclePolicy(),
        file: StaticString = #filePath, line: UInt = #line
    ) -> (Lifecycle, [Action]) {
        var lifecycle = started(identity, policy: policy, file: file, line: line)
        let actions = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0))), now: t0)
        XCTAssertNotNil(lifecycle.session.token, file: file, line: line)
        return (lifecycle, actions)
    }

    // MARK: Rule 1 — transport errors never re-onboard; refusals recover step by step

    /// GIVEN an onboarded agent WHEN twelve token requests in a row fail in transport THEN each is retried after
    /// backoff, with no register, no needsReboarding and the identity kept.
    func testRule1TransportErrorsOnTokenOnlyRetry() throws {
        let identity = Fixture.identity()
        var lifecycle = started(identity)
        var now = t0
        for attempt in 1...12 {
            let actions = lifecycle.step(.tokenFetched(.failure(Fixture.transport("token"))), now: now)
            XCTAssertEqual(actions.network, [], "attempt \(attempt)")
            XCTAssertEqual(lifecycle.phase, .onboarded)
            XCTAssertNil(lifecycle.health.reboardingReason)
            XCTAssertEqual(lifecycle.stored.identity, identity)
            XCTAssertTrue(lifecycle.retry.offline)
            let retryAt = try XCTUnwrap(lifecycle.retry.retryAt)
            XCTAssertEqual(actions.wakeUps, [retryAt])
            now = retryAt
            XCTAssertEqual(
                lifecycle.step(.wakeUp, now: now).network, [.fetchToken(identity, clockOffset: 0)], "attempt \(attempt)"
            )
        }
    }

    /// GIVEN a rotation WHEN it keeps failing in transport THEN it is repeated with the current RAT, never a register
    /// or needsReboarding, identity kept.
    func testRule1TransportErrorsOnRotateOnlyRetry() throws {
        var identity = Fixture.identity()
        identity.rotationInProgress = true
        let stored = Fixture.stored(identity)
        var lifecycle = Lifecycle(policy: policy)
        XCTAssertEqual(lifecycle.step(.started(stored), now: t0).network, [.rotate(.current, stored)])
        var now = t0
        for attempt in 1...8 {
            let actions = lifecycle.step(
                .rotated(stored: stored, using: .current, outcome: .failure(Fixture.transport("rotate"))), now: now)
            XCTAssertEqual(actions.network, [], "attempt \(attempt)")
            XCTAssertNotEqual(lifecycle.phase, .needsReboarding)
            XCTAssertEqual(lifecycle.stored.identity, identity)
            now = try XCTUnwrap(lifecycle.retry.retryAt)
            XCTAssertEqual(lifecycle.step(.wakeUp, now: now).network, [.rotate(.current, stored)], "attempt \(attempt)")
        }
    }

    /// GIVEN an onboarded agent and a new boarding file WHEN the register fails in transport THEN no immediate
    /// re-register, no needsReboarding, identity kept; after backoff the register is repeated.
    func testRule1TransportErrorOnRegisterKeepsIdentity() throws {
        let identity = Fixture.identity()
        let stored = Fixture.stored(identity)
        var (lifecycle, _) = idle(identity)
        let boarding = try Fixture.boarding()
        XCTAssertEqual(
            lifecycle.step(.boardingRead(.success(boarding)), now: t0).network, [.register(boarding, stored)])
        XCTAssertEqual(lifecycle.phase, .onboarding)
        let actions = lifecycle.step(
            .registered(stored: stored, outcome: .failure(Fixture.transport("register"))), now: t0)
        XCTAssertEqual(actions.network, [])
        XCTAssertEqual(lifecycle.phase, .onboarded)
        XCTAssertEqual(lifecycle.stored.identity, identity)
        XCTAssertFalse(lifecycle.stored.hasUsed(boarding.fingerprint))
        let retryAt = try XCTUnwrap(lifecycle.retry.retryAt)
        XCTAssertEqual(lifecycle.step(.wakeUp, now: retryAt).network, [.register(boarding, stored)])
    }

    /// GIVEN no identity WHEN the register fails in transport THEN the agent waits (offline), not needsReboarding, and
    /// the IAT is not marked used.
    func testRule1TransportErrorOnFirstRegisterIsNotARefusal() throws {
        let boarding = try Fixture.boarding()
        var lifecycle = Lifecycle(policy: policy)
        _ = lifecycle.step(.started(StoredState()), now: t0)
        XCTAssertEqual(
            lifecycle.step(.boardingRead(.success(boarding)), now: t0).network, [.register(boarding, StoredState())])
        let actions = lifecycle.step(
            .registered(stored: StoredState(), outcome: .failure(Fixture.transport("register"))), now: t0)
        XCTAssertEqual(actions.network, [])
        XCTAssertEqual(actions.persisted, [])
        XCTAssertEqual(lifecycle.phase, .waitingForBoarding)
        XCTAssertTrue(lifecycle.retry.offline)
    }

    /// GIVEN a token request WHEN it gets 400 with a Server-Time an hour from our estimate THEN the offset is resynced
    /// and the token is requested again with it, no rotation, no backoff.
    func testRule1Token400WithFarServerTimeResyncsClock() {
        let identity = Fixture.identity()
        var lifecycle = started(identity)
        let actions = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400, serverTime: t0 + 3600))), now: t0)
        XCTAssertEqual(lifecycle.session.clock.offset, 3600)
        XCTAssertEqual(actions.network, [.fetchToken(identity, clockOffset: 3600)])
        XCTAssertEqual(lifecycle.session.recovery, .clockResynced)
        XCTAssertNil(lifecycle.retry.retryAt)
        XCTAssertEqual(lifecycle.phase, .onboarded)
    }

    /// GIVEN a resynced clock WHEN the token is refused again THEN rotate with the current RAT.
    func testRule1SecondToken400RotatesWithCurrent() {
        let identity = Fixture.identity()
        var lifecycle = started(identity)
        _ = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400, serverTime: t0 + 3600))), now: t0)
        let actions = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400, serverTime: t0 + 3601))),
            now: t0 + 1)
        XCTAssertEqual(actions.network, [.rotate(.current, Fixture.stored(identity))])
        XCTAssertEqual(lifecycle.session.recovery, .rotateWithCurrent)
        XCTAssertEqual(lifecycle.phase, .rotating)
    }

    /// GIVEN a token 400 whose Server-Time agrees with our clock WHEN handled THEN the clock is not the suspect: rotate
    /// with the current RAT at once.
    func testRule1Token400WithMatchingClockRotatesAtOnce() {
        let identity = Fixture.identity()
        var lifecycle = started(identity)
        let actions = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400, serverTime: t0 + 2))), now: t0)
        XCTAssertEqual(actions.network, [.rotate(.current, Fixture.stored(identity))])
    }

    /// GIVEN a recovery rotation with the current RAT WHEN southgate answers 401 and a previous registration exists
    /// THEN rotate with the previous RAT.
    func testRule1Rotate401WithCurrentTriesPrevious() {
        let identity = Fixture.identity(withPrevious: true)
        let stored = Fixture.stored(identity)
        var lifecycle = started(identity)
        _ = lifecycle.step(.tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400))), now: t0)
        let actions = lifecycle.step(
            .rotated(
                stored: stored, using: .current,
                outcome: .failure(Fixture.refused(.unauthorized, "rotate", status: 401))), now: t0 + 1)
        XCTAssertEqual(actions.network, [.rotate(.previous, stored)])
        XCTAssertEqual(lifecycle.phase, .rotating)
    }

    /// GIVEN a rotation with the previous RAT WHEN southgate answers 401 THEN needsReboarding, and no network action
    /// then or on later wake-ups.
    func testRule1Rotate401WithPreviousNeedsReboarding() {
        let identity = Fixture.identity(withPrevious: true)
        let stored = Fixture.stored(identity)
        var lifecycle = started(identity)
        _ = lifecycle.step(.tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400))), now: t0)
        _ = lifecycle.step(
            .rotated(
                stored: stored, using: .current,
                outcome: .failure(Fixture.refused(.unauthorized, "rotate", status: 401))), now: t0 + 1)
        let actions = lifecycle.step(
            .rotated(
                stored: stored, using: .previous,
                outcome: .failure(Fixture.refused(.unauthorized, "rotate", status: 401))), now: t0 + 2)
        XCTAssertEqual(lifecycle.phase, .needsReboarding)
        XCTAssertEqual(actions.network, [])
        XCTAssertEqual(actions.wakeUps, [nil])
        XCTAssertEqual(actions.logs(.error).count, 1)
        XCTAssertEqual(lifecycle.stored.identity, identity, "the identity is kept for the operator")
        for later in [t0 + 60, t0 + 86400, t0 + 40 * 86400] {
            XCTAssertEqual(lifecycle.step(.wakeUp, now: later).network, [], "at \(later)")
        }
    }

    /// GIVEN no previous registration WHEN the current RAT is refused with 401 THEN needsReboarding directly.
    func testRule1Rotate401WithoutPreviousNeedsReboarding() {
        let identity = Fixture.identity(withPrevious: false)
        let stored = Fixture.stored(identity)
        var lifecycle = started(identity)
        _ = lifecycle.step(.tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400))), now: t0)
        let actions = lifecycle.step(
            .rotated(
                stored: stored, using: .current,
                outcome: .failure(Fixture.refused(.unauthorized, "rotate", status: 401))), now: t0 + 1)
        XCTAssertEqual(lifecycle.phase, .needsReboarding)
        XCTAssertEqual(actions.network, [])
    }

    /// GIVEN a refused token and a successful recovery rotation WHEN the fresh credentials are refused too THEN
    /// needsReboarding.
    func testRule1Token400AfterRecoveryRotationNeedsReboarding() {
        let identity = Fixture.identity()
        var lifecycle = started(identity)
        _ = lifecycle.step(.tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400))), now: t0)
        var rotated = identity
        rotated.previous = identity.current
        rotated.current = Fixture.registration("rotated", issuedAt: t0 + 1, lifetime: 30 * 86400)
        let afterRotation = Fixture.stored(rotated, generation: 8)
        let actions = lifecycle.step(
            .rotated(stored: afterRotation, using: .current, outcome: .success(t0 + 1)), now: t0 + 1)
        XCTAssertEqual(actions.network, [.fetchToken(rotated, clockOffset: 0)])
        XCTAssertEqual(lifecycle.session.recovery, .rotated)
        let refused = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400, serverTime: t0 + 2))), now: t0 + 2
        )
        XCTAssertEqual(lifecycle.phase, .needsReboarding)
        XCTAssertEqual(refused.network, [])
    }

    // MARK: Rule 2 — boarding files by fingerprint

    /// GIVEN an onboarded agent WHEN a boarding file with a new fingerprint is read THEN `.register` with it and the
    /// stored state.
    func testRule2NewBoardingFileWhileOnboardedRegisters() throws {
        let identity = Fixture.identity()
        var (lifecycle, _) = idle(identity)
        let boarding = try Fixture.boarding()
        let actions = lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 10)
        XCTAssertEqual(actions.network, [.register(boarding, Fixture.stored(identity))])
        XCTAssertEqual(lifecycle.phase, .onboarding)
    }

    /// GIVEN an identity onboarded from a file WHEN that same file is read THEN nothing is sent.
    func testRule2SameFingerprintAsIdentityDoesNothing() throws {
        let boarding = try Fixture.boarding()
        let identity = Fixture.identity(fingerprint: boarding.fingerprint)
        var (lifecycle, idleActions) = idle(identity)
        let actions = lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 10)
        XCTAssertEqual(actions.network, [])
        XCTAssertEqual(actions.wakeUps, idleActions.wakeUps)
        XCTAssertEqual(lifecycle.phase, .onboarded)
        XCTAssertNil(lifecycle.boardingFile.problem)
    }

    /// GIVEN a fingerprint listed as used WHEN that file is read, re-read and the timer fires THEN never `.register`,
    /// and the problem is reported.
    func testRule2UsedFingerprintIsNeverRegistered() throws {
        let boarding = try Fixture.boarding()
        var lifecycle = Lifecycle(policy: policy)
        _ = lifecycle.step(.started(Fixture.stored(nil, used: ["other", boarding.fingerprint])), now: t0)
        var all = lifecycle.step(.boardingRead(.success(boarding)), now: t0)
        XCTAssertNotNil(lifecycle.boardingFile.problem)
        XCTAssertEqual(all.logs(.notice).count, 1)
        all += lifecycle.step(.wakeUp, now: t0 + 1)
        all += lifecycle.step(.boardingRead(nil), now: t0 + 2)
        all += lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 3)
        XCTAssertEqual(all.registers, 0)
        XCTAssertEqual(lifecycle.phase, .waitingForBoarding)
    }

    /// GIVEN a register in flight WHEN southgate answers 401 THEN a `.persist` whose state lists the fingerprint as
    /// used (onboarding record cleared), and that file is never sent again.
    func testRule2Register401MarksFingerprintUsed() throws {
        let boarding = try Fixture.boarding()
        var lifecycle = Lifecycle(policy: policy)
        _ = lifecycle.step(.started(StoredState()), now: t0)
        XCTAssertEqual(lifecycle.step(.boardingRead(.success(boarding)), now: t0).registers, 1)
        var pending = StoredState()
        pending.generation = 1
        pending.onboarding = PendingOnboarding(boardingFingerprint: boarding.fingerprint, keyPEM: nil)
        let actions = lifecycle.step(
            .registered(stored: pending, outcome: .failure(Fixture.refused(.unauthorized, "register", status: 401))),
            now: t0 + 1)
        let persisted = try XCTUnwrap(actions.persisted.first)
        XCTAssertEqual(persisted.usedBoardingFingerprints, [boarding.fingerprint])
        XCTAssertNil(persisted.onboarding)
        XCTAssertEqual(lifecycle.stored, persisted)
        XCTAssertEqual(actions.logs(.error).count, 1)
        XCTAssertNotNil(lifecycle.boardingFile.problem)
        var later = lifecycle.step(.wakeUp, now: t0 + 3600)
        later += lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 3601)
        later += lifecycle.step(.boardingRead(nil), now: t0 + 3602)
        later += lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 3603)
        XCTAssertEqual(later.registers, 0)
    }

    /// GIVEN an onboarded agent WHEN a new file's register is refused with 401 THEN the identity is kept and keeps
    /// fetching tokens.
    func testRule2Register401KeepsWorkingIdentity() throws {
        let identity = Fixture.identity()
        let stored = Fixture.stored(identity)
        var lifecycle = started(identity)
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0))), now: t0)
        let boarding = try Fixture.boarding()
        _ = lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 1)
        let actions = lifecycle.step(
            .registered(stored: stored, outcome: .failure(Fixture.refused(.unauthorized, "register", status: 401))),
            now: t0 + 2)
        XCTAssertEqual(lifecycle.phase, .onboarded)
        XCTAssertEqual(lifecycle.stored.identity, identity)
        XCTAssertEqual(actions.persisted.first?.identity, identity)
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 2880).network, [.fetchToken(identity, clockOffset: 0)])
    }

    // MARK: Rule 3 — an expired IAT is reported and not sent

    /// GIVEN a boarding file whose `expiration` is past WHEN read THEN no register, an error log, and `boardingProblem`
    /// says it expired.
    func testRule3ExpiredExpirationIsNotSent() throws {
        let boarding = try Fixture.boarding(expiration: t0 - 60)
        var lifecycle = Lifecycle(policy: policy)
        _ = lifecycle.step(.started(StoredState()), now: t0)
        let actions = lifecycle.step(.boardingRead(.success(boarding)), now: t0)
        XCTAssertEqual(actions.registers, 0)
        XCTAssertEqual(actions.logs(.error).count, 1)
        XCTAssertEqual(actions.wakeUps, [nil])
        XCTAssertEqual(
            lifecycle.boardingFile.problem,
            "its initial access token expired at 2027-01-15T07:59:00Z; download a new boarding file")
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 5).registers, 0)
    }

    /// GIVEN a boarding file with no `expiration` whose IAT `exp` is past WHEN read THEN no register, an error log,
    /// `boardingProblem` set.
    func testRule3ExpiredIATClaimIsNotSent() throws {
        let boarding = try Fixture.boarding(iatExp: Int64(t0) - 1, expiration: nil)
        XCTAssertNil(boarding.expiration)
        var lifecycle = Lifecycle(policy: policy)
        _ = lifecycle.step(.started(StoredState()), now: t0)
        let actions = lifecycle.step(.boardingRead(.success(boarding)), now: t0)
        XCTAssertEqual(actions.registers, 0)
        XCTAssertEqual(actions.logs(.error).count, 1)
        XCTAssertEqual(
            lifecycle.boardingFile.problem?.hasPrefix("its initial access token expired at 2027-01-15T07:59:59Z"), true)
    }

    /// GIVEN an onboarded agent WHEN an expired new boarding file is read THEN it is not sent and the identity keeps
    /// fetching tokens.
    func testRule3ExpiredFileDoesNotStopWorkingIdentity() throws {
        let identity = Fixture.identity()
        var (lifecycle, _) = idle(identity)
        let actions = lifecycle.step(.boardingRead(.success(try Fixture.boarding(expiration: t0 - 1))), now: t0 + 1)
        XCTAssertEqual(actions.network, [])
        XCTAssertNotNil(lifecycle.boardingFile.problem)
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 2880).network, [.fetchToken(identity, clockOffset: 0)])
    }

    // MARK: Rule 4 — proactive rotation at two thirds of the lifetime

    /// GIVEN a secret issued at t0 for 3000 s WHEN idle THEN the wake-up is at t0 + 2000 exactly, nothing rotates
    /// before it, and at it `.rotate(.current)`.
    func testRule4RotationAtTwoThirdsOfTheLifetime() {
        let identity = Fixture.identity(issuedAt: t0, lifetime: 3000)
        let (lifecycleAtStart, idleActions) = idle(identity)
        var lifecycle = lifecycleAtStart
        XCTAssertEqual(idleActions.wakeUps, [t0 + 2000])
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 1999.9).effects, [.wakeUp(at: t0 + 2000)])
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 2000).network, [.rotate(.current, Fixture.stored(identity))])
    }

    /// GIVEN rotation_fraction 0.5 WHEN idle THEN the wake-up is at half the lifetime.
    func testRule4RotationFractionFromPolicy() {
        var halfway = LifecyclePolicy()
        halfway.rotationFraction = 0.5
        let identity = Fixture.identity(issuedAt: t0, lifetime: 3000)
        var (lifecycle, actions) = idle(identity, policy: halfway)
        XCTAssertEqual(actions.wakeUps, [t0 + 1500])
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 1499).network, [])
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 1500).network, [.rotate(.current, Fixture.stored(identity))])
    }

    /// GIVEN a due rotation WHEN it fails with 500 five times THEN each retry waits the backoff, and after success the
    /// new secret's own schedule applies.
    func testRule4FailedRotationRetriedWithBackoffUntilSuccess() throws {
        let identity = Fixture.identity(issuedAt: t0, lifetime: 3000)
        let stored = Fixture.stored(identity)
        var (lifecycle, _) = idle(identity)
        var now = t0 + 2000
        XCTAssertEqual(lifecycle.step(.wakeUp, now: now).network, [.rotate(.current, stored)])
        for failures in 1...5 {
            let actions = lifecycle.step(
                .rotated(
                    stored: stored, using: .current,
                    outcome: .failure(Fixture.refused(.serverError, "rotate", status: 500))), now: now, jitter: 0.5)
            let retryAt = try XCTUnwrap(lifecycle.retry.retryAt)
            XCTAssertEqual(retryAt - now, policy.backoff(failures: failures, jitter: 0.5), accuracy: 1e-9)
            XCTAssertEqual(actions.effects, [.wakeUp(at: retryAt)])
            XCTAssertEqual(lifecycle.step(.wakeUp, now: retryAt - 0.01).network, [], "failure \(failures)")
            now = retryAt
            XCTAssertEqual(
                lifecycle.step(.wakeUp, now: now).network, [.rotate(.current, stored)], "failure \(failures)")
        }
        var rotated = identity
        rotated.previous = identity.current
        rotated.current = Fixture.registration("rotated", issuedAt: now, lifetime: 3000)
        let success = lifecycle.step(
            .rotated(stored: Fixture.stored(rotated, generation: 8), using: .current, outcome: .success(now)), now: now)
        XCTAssertEqual(success.network, [.fetchToken(rotated, clockOffset: 0)])
        XCTAssertEqual(lifecycle.retry.failures, 0)
        let idleAgain = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: now))), now: now)
        XCTAssertEqual(idleAgain.wakeUps, [now + 2000])
    }

    // MARK: Rule 5 — an interrupted rotation is resumed first

    /// GIVEN a stored identity with a rotation in progress and a pending key WHEN started THEN the first non-log action
    /// is `.rotate(.current)` with exactly that state.
    func testRule5InterruptedRotationResumesFirst() {
        var identity = Fixture.identity(profile: .rsa3072)
        identity.pendingKeyPEM = SecretBytes("-----BEGIN PRIVATE KEY-----\npending\n-----END PRIVATE KEY-----\n")
        identity.rotationInProgress = true
        let stored = Fixture.stored(identity)
        var lifecycle = Lifecycle(policy: policy)
        let actions = lifecycle.step(.started(stored), now: t0)
        XCTAssertEqual(actions.effects.first, .rotate(.current, stored))
        XCTAssertEqual(actions.network.count, 1)
        XCTAssertEqual(actions.logs(.notice).count, 1)
    }

    /// GIVEN a resumed rotation WHEN it fails in transport THEN the retry is `.rotate(.current)` with the same stored
    /// state, same pending key.
    func testRule5RetryAfterLostAnswerRepeatsTheSamePUT() throws {
        var identity = Fixture.identity(profile: .rsa3072)
        identity.pendingKeyPEM = SecretBytes("-----BEGIN PRIVATE KEY-----\npending\n-----END PRIVATE KEY-----\n")
        identity.rotationInProgress = true
        let stored = Fixture.stored(identity)
        var lifecycle = Lifecycle(policy: policy)
        _ = lifecycle.step(.started(stored), now: t0)
        _ = lifecycle.step(
            .rotated(stored: stored, using: .current, outcome: .failure(Fixture.transport("rotate"))), now: t0 + 30)
        let retry = lifecycle.step(.wakeUp, now: try XCTUnwrap(lifecycle.retry.retryAt))
        XCTAssertEqual(retry.network, [.rotate(.current, stored)])
        guard case .rotate(_, let again)? = retry.network.first else { return XCTFail("no rotate") }
        XCTAssertEqual(again.identity?.pendingKeyPEM, identity.pendingKeyPEM)
    }

    // MARK: Rule 6 — the access token

    /// GIVEN token lifetimes 3600 s, 6 s and 600 s WHEN the refresh delay is computed THEN 80 % (2880 s), half (3 s),
    /// lifetime − 5 min (300 s).
    func testRule6TokenRefreshDelay() {
        XCTAssertEqual(policy.tokenRefreshDelay(lifetime: 3600), 2880)
        XCTAssertEqual(policy.tokenRefreshDelay(lifetime: 6), 3)
        XCTAssertEqual(policy.tokenRefreshDelay(lifetime: 600), 300)
    }

    /// GIVEN a token fetched at t0 for 3600 s WHEN idle THEN the wake-up is at t0 + 2880 and then the token is
    /// refreshed.
    func testRule6TokenRefreshedAtTheRefreshTime() {
        let identity = Fixture.identity()
        var (lifecycle, actions) = idle(identity)
        XCTAssertEqual(actions.wakeUps, [t0 + 2880])
        XCTAssertEqual(lifecycle.session.token?.expiresAt, t0 + 3600)
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 2879).network, [])
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 2880).network, [.fetchToken(identity, clockOffset: 0)])
    }

    /// GIVEN a token request in flight WHEN the timer fires or the same boarding file is read again THEN no second
    /// `.fetchToken`.
    func testRule6OnlyOneTokenRequestInFlight() throws {
        let boarding = try Fixture.boarding()
        let identity = Fixture.identity(fingerprint: boarding.fingerprint)
        var lifecycle = started(identity)
        var during = lifecycle.step(.wakeUp, now: t0 + 1)
        during += lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 2)
        during += lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 3)
        during += lifecycle.step(.wakeUp, now: t0 + 4000)
        XCTAssertEqual(during.network, [])
        XCTAssertEqual(lifecycle.inFlight, .token)
    }

    /// GIVEN a token request in flight WHEN a new boarding file is read THEN the register waits for the token answer,
    /// then goes out.
    func testRule6NewBoardingFileWaitsForTokenInFlight() throws {
        let identity = Fixture.identity()
        var lifecycle = started(identity)
        let boarding = try Fixture.boarding()
        XCTAssertEqual(lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 1).network, [])
        let after = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0 + 2))), now: t0 + 2)
        XCTAssertEqual(after.network, [.register(boarding, Fixture.stored(identity))])
    }

    // MARK: Rule 7 — the server's clock

    /// GIVEN a token answer with Server-Time 42 s ahead WHEN the token is refreshed THEN the offset is 42 and the next
    /// `.fetchToken` carries it.
    func testRule7ServerTimeSetsOffsetForNextToken() {
        let identity = Fixture.identity()
        var lifecycle = started(identity)
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0 + 42))), now: t0)
        XCTAssertEqual(lifecycle.session.clock.offset, 42)
        XCTAssertEqual(lifecycle.session.clock.serverTime(at: t0 + 10), ServerTime(t0 + 52))
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 2880).network, [.fetchToken(identity, clockOffset: 42)])
    }

    /// GIVEN a server clock one hour ahead and a secret issued on it WHEN idle THEN the wake-up is the server due time
    /// minus the offset (local time).
    func testRule7RotationScheduledOnServerTime() {
        let offset = 3600.0
        let identity = Fixture.identity(issuedAt: t0 + offset, lifetime: 3000)
        var lifecycle = started(identity)
        let actions = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0 + offset))), now: t0)
        XCTAssertEqual(lifecycle.rotationDueLocal, t0 + offset + 2000 - offset)
        XCTAssertEqual(actions.wakeUps, [t0 + 2000])
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 2000).network, [.rotate(.current, Fixture.stored(identity))])
    }

    /// GIVEN a rotation due on the server clock but not yet on the local one WHEN a token answer reveals the offset
    /// THEN rotate at once.
    func testRule7DueOnServerClockRotatesNow() {
        let identity = Fixture.identity(issuedAt: t0 - 1000, lifetime: 3000)  // due at t0 + 1000 server time
        var lifecycle = started(identity)
        let actions = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0 + 1800))), now: t0)
        XCTAssertEqual(actions.network, [.rotate(.current, Fixture.stored(identity))])
    }

    // MARK: Rule 8 — backoff

    /// GIVEN the default policy WHEN failures grow THEN 1, 2, 4 … s at full jitter, capped at 300 s, and jitter keeps
    /// each delay within half to all of it.
    func testRule8BackoffGrowsAndIsCapped() {
        let expected: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
        XCTAssertEqual((1...12).map { policy.backoff(failures: $0, jitter: 1) }, expected)
        XCTAssertEqual(policy.backoff(failures: 1000, jitter: 1), 300)
        for failures in [1, 3, 9, 10, 64] {
            let full = policy.backoff(failures: failures, jitter: 1)
            for jitter in [0, 0.25, 0.5, 0.999] {
                let delay = policy.backoff(failures: failures, jitter: jitter)
                XCTAssertGreaterThanOrEqual(delay, full * 0.5, "\(failures) \(jitter)")
                XCTAssertLessThanOrEqual(delay, full, "\(failures) \(jitter)")
            }
            XCTAssertEqual(policy.backoff(failures: failures, jitter: 0), full / 2)
        }
    }

    /// GIVEN consecutive token transport failures WHEN each is handled THEN retryAt − now follows the policy with the
    /// given jitter.
    func testRule8LifecycleUsesPolicyBackoff() throws {
        var lifecycle = started(Fixture.identity())
        var now = t0
        for failures in 1...10 {
            let jitter = Double(failures % 4) / 4
            _ = lifecycle.step(.tokenFetched(.failure(Fixture.transport("token"))), now: now, jitter: jitter)
            let retryAt = try XCTUnwrap(lifecycle.retry.retryAt)
            XCTAssertEqual(
                retryAt - now, policy.backoff(failures: failures, jitter: jitter), accuracy: 1e-9, "failure \(failures)"
            )
            now = retryAt
            _ = lifecycle.step(.wakeUp, now: now)
        }
    }

    /// GIVEN a 429 with Retry-After 120 s WHEN handled THEN the retry waits 120 s, longer than the backoff.
    func testRule8RetryAfterHonouredWhenLarger() throws {
        var lifecycle = started(Fixture.identity())
        let actions = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.rateLimited, "token", status: 429, retryAfter: 120))), now: t0,
            jitter: 0.5)
        XCTAssertEqual(lifecycle.retry.retryAt, t0 + 120)
        XCTAssertEqual(actions.effects, [.wakeUp(at: t0 + 120)])
    }

    /// GIVEN a Retry-After shorter than the backoff WHEN handled THEN the backoff wins.
    func testRule8BackoffWinsOverShorterRetryAfter() {
        var lifecycle = started(Fixture.identity())
        _ = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.rateLimited, "token", status: 429, retryAfter: 0.1))), now: t0,
            jitter: 0.5)
        XCTAssertEqual(lifecycle.retry.retryAt, t0 + policy.backoff(failures: 1, jitter: 0.5))
    }

    /// GIVEN a retry scheduled at retryAt WHEN the timer fires early THEN the only action is `.wakeUp(at: retryAt)`.
    func testRule8NothingBeforeRetryAt() throws {
        var lifecycle = started(Fixture.identity())
        _ = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.serverError, "token", status: 503, retryAfter: 60))), now: t0)
        let retryAt = try XCTUnwrap(lifecycle.retry.retryAt)
        for early in [t0 + 1, t0 + 30, retryAt - 0.001] {
            XCTAssertEqual(lifecycle.step(.wakeUp, now: early), [.wakeUp(at: retryAt)], "at \(early)")
        }
    }

    // MARK: Rule 9 — no polling

    /// GIVEN an idle onboarded agent WHEN its token arrives or the timer fires early THEN a single `.wakeUp` for the
    /// earliest deadline, never a periodic tick.
    func testRule9IdleSchedulesOnlyTheEarliestDeadline() {
        let identity = Fixture.identity()
        var (lifecycle, actions) = idle(identity)
        XCTAssertEqual(actions.effects, [.wakeUp(at: t0 + 2880)])
        for spurious in [t0 + 1, t0 + 60, t0 + 1000] {
            XCTAssertEqual(lifecycle.step(.wakeUp, now: spurious), [.wakeUp(at: t0 + 2880)])
        }
    }

    /// GIVEN a rotation due (t0 + 1400) before the token refresh (t0 + 2880) WHEN idle THEN one `.wakeUp` at the
    /// rotation time.
    func testRule9EarliestOfRotationAndRefresh() {
        let (_, actions) = idle(Fixture.identity(issuedAt: t0 - 1000, lifetime: 3600))
        XCTAssertEqual(actions.effects, [.wakeUp(at: t0 + 1400)])
    }

    /// GIVEN a secret without expiry WHEN idle THEN the only deadline is the token refresh.
    func testRule9NoExpiryMeansOnlyTokenRefresh() {
        let (_, actions) = idle(Fixture.identity(lifetime: nil))
        XCTAssertEqual(actions.effects, [.wakeUp(at: t0 + 2880)])
    }

    /// GIVEN no identity and no boarding file WHEN started THEN the timer is cancelled: nothing to wait for.
    func testRule9WaitingForBoardingSetsNoTimer() {
        var lifecycle = Lifecycle(policy: policy)
        XCTAssertEqual(lifecycle.step(.started(StoredState()), now: t0), [.wakeUp(at: nil)])
        XCTAssertEqual(lifecycle.step(.boardingRead(nil), now: t0), [.wakeUp(at: nil)])
    }

    // MARK: Expired secret

    /// GIVEN a known server clock WHEN server time passes the secret's expiry THEN one rotation asks southgate; its
    /// 401 means needsReboarding (expired, not offboarded) with no further request; a new boarding file then onboards.
    func testExpiredSecretNeedsReboardingThenNewFileRecovers() throws {
        let identity = Fixture.identity(issuedAt: t0, lifetime: 3000)
        var (lifecycle, _) = idle(identity)
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 3000).network, [.rotate(.current, Fixture.stored(identity))])
        let refused = Fixture.refused(.unauthorized, "rotate", status: 401, serverTime: t0 + 3000)
        let actions = lifecycle.step(
            .rotated(stored: Fixture.stored(identity), using: .current, outcome: .failure(refused)), now: t0 + 3000)
        XCTAssertEqual(lifecycle.phase, .needsReboarding)
        XCTAssertEqual(lifecycle.health.reboardingReason?.hasPrefix("credentials expired at"), true)
        XCTAssertEqual(actions.network, [])
        XCTAssertEqual(actions.logs(.error).count, 1)
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 4000).network, [])
        let boarding = try Fixture.boarding()
        let recovered = lifecycle.step(.boardingRead(.success(boarding)), now: t0 + 5000)
        XCTAssertEqual(recovered.network, [.register(boarding, Fixture.stored(identity))])
        var onboarded = Fixture.stored(
            Fixture.identity(issuedAt: t0 + 5000, fingerprint: boarding.fingerprint, tag: "new"), generation: 8,
            used: [boarding.fingerprint])
        onboarded.archivedIdentity = identity
        let after = lifecycle.step(.registered(stored: onboarded, outcome: .success(t0 + 5000)), now: t0 + 5000)
        XCTAssertEqual(lifecycle.phase, .onboarded)
        XCTAssertNil(lifecycle.health.reboardingReason)
        XCTAssertEqual(after.network, [.fetchToken(onboarded.identity!, clockOffset: 0)])
    }

    /// GIVEN a secret past its expiry on the local clock only WHEN started without a known server clock THEN it tries
    /// to rotate instead of giving up.
    func testExpiryNotJudgedWithoutServerClock() {
        let identity = Fixture.identity(issuedAt: t0 - 4000, lifetime: 3000)
        var lifecycle = Lifecycle(policy: policy)
        let actions = lifecycle.step(.started(Fixture.stored(identity)), now: t0)
        XCTAssertEqual(actions.network, [.rotate(.current, Fixture.stored(identity))])
        XCTAssertNotEqual(lifecycle.phase, .needsReboarding)
    }

    /// GIVEN an agent with a known server clock WHEN one answer says the server is 30 days ahead THEN the offset
    /// stays, and no rotation or re-boarding follows from that one header.
    func testOneFarFutureServerTimeDoesNotMoveTheOffset() {
        let identity = Fixture.identity()
        var (lifecycle, _) = idle(identity)
        let actions = lifecycle.step(
            .tokenFetched(.success(Fixture.grant(serverTime: t0 + 10 + 30 * 86400))), now: t0 + 10)
        XCTAssertEqual(lifecycle.session.clock.offset, 0)
        XCTAssertEqual(actions.network, [])
        XCTAssertEqual(lifecycle.phase, .onboarded)
        // The next answer agrees with the old offset: the outlier is forgotten.
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0 + 20))), now: t0 + 20)
        XCTAssertEqual(lifecycle.session.clock.offset, 0)
        XCTAssertNil(lifecycle.session.clock.candidate)
    }

    /// GIVEN southgate granting a token for 10^12 s, then for 1 s WHEN cached THEN at most a day is believed, and a
    /// refresh never comes sooner than a second after the grant.
    func testTokenLifetimeIsBounded() throws {
        let identity = Fixture.identity()
        var lifecycle = started(identity)
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(expiresIn: 1e12, serverTime: t0))), now: t0)
        let long = try XCTUnwrap(lifecycle.session.token)
        XCTAssertEqual(long.expiresAt, t0 + 86400)
        XCTAssertLessThanOrEqual(long.refreshAt, t0 + 86400)
        _ = lifecycle.step(.wakeUp, now: long.refreshAt)
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(expiresIn: 1, serverTime: t0))), now: long.refreshAt)
        let short = try XCTUnwrap(lifecycle.session.token)
        XCTAssertGreaterThanOrEqual(short.refreshAt, long.refreshAt + 1)
    }

    /// GIVEN a known server clock WHEN two answers in a row agree on a new offset (the gateway's clock was stepped)
    /// THEN the offset follows them.
    func testTwoAgreeingAnswersMoveTheOffset() {
        var (lifecycle, _) = idle(Fixture.identity())
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0 + 600))), now: t0)
        XCTAssertEqual(lifecycle.session.clock.offset, 0)
        _ = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0 + 601))), now: t0 + 1)
        XCTAssertEqual(lifecycle.session.clock.offset, 600)
    }

    /// GIVEN a secret that looks expired only because of the clock WHEN southgate accepts the rotation that asks
    /// THEN the agent stays onboarded with new credentials: expiry was not concluded from the clock alone.
    func testExpiryByClockAsksWithARotation() {
        let identity = Fixture.identity(issuedAt: t0 - 86400, lifetime: 30 * 86400)
        var lifecycle = started(identity)
        // A token refusal carrying a server time 31 days ahead resyncs the clock at once.
        let far = t0 + 31 * 86400
        let actions = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400, serverTime: far))),
            now: t0)
        XCTAssertEqual(actions.network, [.rotate(.current, Fixture.stored(identity))])
        XCTAssertNotEqual(lifecycle.phase, .needsReboarding)
        var rotated = identity
        rotated.previous = identity.current
        rotated.current = Fixture.registration("rotated", issuedAt: far, lifetime: 30 * 86400)
        _ = lifecycle.step(.rotated(stored: Fixture.stored(rotated), using: .current, outcome: .success(far)), now: t0)
        XCTAssertEqual(lifecycle.phase, .onboarded)
        XCTAssertNil(lifecycle.health.reboardingReason)
    }

    // MARK: Status line

    /// GIVEN each phase WHEN the status line is built THEN its text names the phase and the facts for the operator.
    func testStatusLineForEachPhase() throws {
        var waiting = Lifecycle(policy: policy)
        _ = waiting.step(.started(StoredState()), now: t0)
        XCTAssertEqual(waiting.statusLine(now: t0), "waiting for a boarding file")
        _ = waiting.step(.boardingRead(.success(try Fixture.boarding(expiration: t0 - 60))), now: t0)
        XCTAssertEqual(
            waiting.statusLine(now: t0),
            "waiting for a boarding file; its initial access token expired at 2027-01-15T07:59:00Z; download a new "
                + "boarding file"
        )

        var onboarding = Lifecycle(policy: policy)
        _ = onboarding.step(.started(StoredState()), now: t0)
        _ = onboarding.step(.boardingRead(.success(try Fixture.boarding())), now: t0)
        XCTAssertEqual(onboarding.phase, .onboarding)
        XCTAssertEqual(onboarding.statusLine(now: t0), "onboarding")

        let identity = Fixture.identity(issuedAt: t0, lifetime: 30 * 86400)
        let noToken = started(identity)
        XCTAssertEqual(noToken.statusLine(now: t0), "onboarded; no token yet; secret rotates in 20d 0h")

        var (onboarded, _) = idle(identity)
        XCTAssertEqual(
            onboarded.statusLine(now: t0 + 3600),
            "onboarded; token valid until 2027-01-15T09:00:00Z; secret rotates in 19d 23h")

        _ = onboarded.step(.wakeUp, now: t0 + 20 * 86400)
        XCTAssertEqual(onboarded.phase, .rotating)
        XCTAssertEqual(onboarded.statusLine(now: t0 + 20 * 86400), "rotating credentials; no token yet; rotation due")
        _ = onboarded.step(
            .rotated(stored: Fixture.stored(identity), using: .current, outcome: .failure(Fixture.transport("rotate"))),
            now: t0 + 20 * 86400, jitter: 1)
        XCTAssertEqual(
            onboarded.statusLine(now: t0 + 20 * 86400), "onboarded; no token yet; rotation due; offline, retrying in 1s"
        )

        var gone = started(Fixture.identity(withPrevious: false))
        _ = gone.step(.tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400))), now: t0)
        _ = gone.step(
            .rotated(
                stored: Fixture.stored(Fixture.identity(withPrevious: false)), using: .current,
                outcome: .failure(Fixture.refused(.unauthorized, "rotate", status: 401))), now: t0)
        XCTAssertEqual(
            gone.statusLine(now: t0),
            "offboarded: southgate refuses this agent's credentials; drop a new boarding file into the configuration "
                + "directory"
        )
    }

    /// GIVEN every log action of a full onboarding and token cycle WHEN inspected THEN none contains a credential.
    func testNoSecretInLogActions() throws {
        let boarding = try Fixture.boarding()
        var lifecycle = Lifecycle(policy: policy)
        var actions = lifecycle.step(.started(StoredState()), now: t0)
        actions += lifecycle.step(.boardingRead(.success(boarding)), now: t0)
        let identity = Fixture.identity(issuedAt: t0, fingerprint: boarding.fingerprint)
        actions += lifecycle.step(
            .registered(stored: Fixture.stored(identity, used: [boarding.fingerprint]), outcome: .success(t0)), now: t0)
        actions += lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0))), now: t0)
        actions += lifecycle.step(.tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400))), now: t0)
        let text = LogLevelNames.all.flatMap { actions.logs($0) }.joined(separator: "\n")
        XCTAssertFalse(text.isEmpty)
        for secret in [boarding.initialAccessToken.exposed, "secret-current", "rat-current", "access-token"] {
            XCTAssertFalse(text.contains(secret), secret)
        }
    }
}

private enum LogLevelNames {
    static let all: [Lifecycle.LogLevelName] = [.error, .warning, .notice, .info, .debug]
}
