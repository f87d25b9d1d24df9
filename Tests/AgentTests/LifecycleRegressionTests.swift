import Crypto
import JSON
import Southgate
import XCTest

@testable import Agent
@testable import Southgate

final class LifecycleRegressionTests: XCTestCase {
    /// GIVEN a settings file with CRLF line ends WHEN parsed THEN lines are split and errors carry line numbers.
    func testCRLFSettings() {
        XCTAssertThrowsError(try Settings.parse("# hubagent\r\nlog_level = verbose\r\n", file: "f")) { error in
            XCTAssertEqual((error as? ConfigurationError)?.line, 2)
        }
        XCTAssertEqual(try? Settings.parse("proxy = a\r\nlog_level = debug\r\n", file: "f").proxy, "a")
    }

    /// GIVEN a new boarding file read while another is being sent WHEN the sent one is refused THEN the sent one is
    /// marked used and the new one is sent next.
    func testRegister401MarksTheSentFile() throws {
        let a = try Fixture.boarding(jti: "a")
        let b = try Fixture.boarding(jti: "b")
        var lifecycle = Lifecycle()
        _ = lifecycle.step(.started(StoredState()), now: Fixture.t0)
        XCTAssertEqual(lifecycle.step(.boardingRead(.success(a)), now: Fixture.t0).registers, 1)
        XCTAssertEqual(lifecycle.step(.boardingRead(.success(b)), now: Fixture.t0 + 1).registers, 0)
        let actions = lifecycle.step(
            .registered(
                stored: StoredState(), outcome: .failure(Fixture.refused(.unauthorized, "register", status: 401))),
            now: Fixture.t0 + 2)
        XCTAssertEqual(actions.persisted.first?.usedBoardingFingerprints, [a.fingerprint])
        XCTAssertEqual(actions.network, [.register(b, lifecycle.stored)])
    }

    /// GIVEN a used boarding file WHEN read again THEN the reason it cannot be used stays in the status.
    func testUsedFileProblemSurvivesReRead() throws {
        let a = try Fixture.boarding()
        var lifecycle = Lifecycle()
        _ = lifecycle.step(.started(Fixture.stored(nil, used: [a.fingerprint])), now: Fixture.t0)
        _ = lifecycle.step(.boardingRead(.success(a)), now: Fixture.t0)
        let before = lifecycle.statusLine(now: Fixture.t0)
        _ = lifecycle.step(.boardingRead(.success(a)), now: Fixture.t0 + 1)
        XCTAssertEqual(lifecycle.statusLine(now: Fixture.t0 + 1), before)
        XCTAssertNotNil(lifecycle.boardingFile.problem)
    }
}

final class SouthgateRobustnessTests: XCTestCase {
    /// GIVEN absurd server clocks WHEN read THEN ignored, so no offset computation can overflow.
    func testImplausibleServerTimeIsIgnored() {
        XCTAssertNil(HTTPDate.serverTime(["server-time": "inf"]))
        XCTAssertNil(HTTPDate.serverTime(["server-time": "1e300"]))
        XCTAssertNil(HTTPDate.serverTime(["server-time": "-5"]))
        XCTAssertNil(HTTPDate.serverTime(["date": "Sun, 06 Nov 1000000000000 08:49:37 GMT"]))
        XCTAssertEqual(HTTPDate.serverTime(["server-time": "1800000000"]), 1_800_000_000)
    }

    /// GIVEN a registration with an out-of-range or zero expiry WHEN decoded THEN an error, or "never expires".
    func testSecretExpiryIsValidated() throws {
        func identifier(_ expiry: String) throws -> ClientIdentifier {
            let json = try JSONValue.parse(
                #"{"client_id":"a","client_secret":"s","registration_access_token":"r","registration_client_uri":"htt"#
                    + #"ps://h/x","client_secret_expires_at":\#(expiry)}"#
            )
            return try ClientIdentifier(json: json, requireSecret: true)
        }
        XCTAssertThrowsError(try identifier("1e300"))
        XCTAssertThrowsError(try identifier("-1"))
        XCTAssertNil(try identifier("0").clientSecretExpiresAt)
        XCTAssertEqual(try identifier("1800000000").clientSecretExpiresAt, 1_800_000_000)
    }
}

final class ExpiryReasonTests: XCTestCase {
    /// GIVEN a restart after the secret ran out (clock offset not yet known) WHEN the rotation is refused with 401 and
    /// the server clock is past the expiry THEN needsReboarding says "expired", not "offboarded".
    func testRotation401AfterExpiryIsReportedAsExpiry() {
        let t0 = Fixture.t0
        let identity = Fixture.identity(issuedAt: t0 - 10, lifetime: 6, withPrevious: false)
        var lifecycle = Lifecycle()
        var rotating = identity
        rotating.rotationInProgress = true
        let first = lifecycle.step(.started(Fixture.stored(rotating)), now: t0)
        XCTAssertEqual(first.network.count, 1)
        let actions = lifecycle.step(
            .rotated(
                stored: Fixture.stored(rotating), using: .current,
                outcome: .failure(Fixture.refused(.unauthorized, "rotate", status: 401, serverTime: t0))), now: t0)
        XCTAssertEqual(lifecycle.phase, .needsReboarding)
        XCTAssertTrue(
            lifecycle.health.reboardingReason?.hasPrefix("credentials expired at") ?? false,
            lifecycle.health.reboardingReason ?? "")
        XCTAssertEqual(actions.network, [])
    }
}

final class KeyPreparationTests: XCTestCase {
    /// GIVEN an RSA_3072 identity without a pending key WHEN a token has been obtained THEN the next key is prepared in
    /// idle time, and nothing else runs meanwhile.
    func testRSAIdentityPreparesTheNextKeyAfterTheToken() {
        let t0 = Fixture.t0
        let identity = Fixture.identity(profile: .rsa3072)
        var lifecycle = Lifecycle()
        XCTAssertEqual(lifecycle.step(.started(Fixture.stored(identity)), now: t0).network.count, 1)
        let afterToken = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0))), now: t0)
        XCTAssertEqual(afterToken.effects, [.prepareKey(Fixture.stored(identity))])
        XCTAssertEqual(lifecycle.step(.wakeUp, now: t0 + 1).effects, [], "one operation at a time")

        var prepared = identity
        prepared.pendingKeyPEM = SecretBytes("-----BEGIN PRIVATE KEY-----\nnext\n-----END PRIVATE KEY-----\n")
        let idle = lifecycle.step(.keyPrepared(stored: Fixture.stored(prepared), outcome: .success(())), now: t0 + 2)
        XCTAssertEqual(idle.effects.count, 1)
        guard case .wakeUp(let at)? = idle.effects.first else { return XCTFail("\(idle)") }
        XCTAssertNotNil(at)
    }

    /// GIVEN a SHARED_SECRET identity WHEN a token has been obtained THEN no key is prepared.
    func testSharedSecretIdentityPreparesNoKey() {
        let t0 = Fixture.t0
        var lifecycle = Lifecycle()
        _ = lifecycle.step(.started(Fixture.stored(Fixture.identity())), now: t0)
        let actions = lifecycle.step(.tokenFetched(.success(Fixture.grant(serverTime: t0))), now: t0)
        XCTAssertEqual(actions.effects.count, 1)
        guard case .wakeUp? = actions.effects.first else { return XCTFail("\(actions)") }
    }
}

final class ClockResyncAfterRecoveryTests: XCTestCase {
    /// GIVEN a recovery rotation that succeeded WHEN the next assertion is refused with a server time 10 minutes off
    /// THEN the clock is resynced and the token retried, not offboarded.
    func testResyncAfterRecoveryRotation() {
        let t0 = Fixture.t0
        let identity = Fixture.identity()
        let stored = Fixture.stored(identity)
        var lifecycle = Lifecycle()
        _ = lifecycle.step(.started(stored), now: t0)
        _ = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400, serverTime: t0))), now: t0)
        _ = lifecycle.step(.rotated(stored: stored, using: .current, outcome: .success(t0)), now: t0)
        let actions = lifecycle.step(
            .tokenFetched(.failure(Fixture.refused(.badRequest, "token", status: 400, serverTime: t0 + 600))),
            now: t0 + 1)
        XCTAssertNotEqual(lifecycle.phase, .needsReboarding)
        guard case .fetchToken(_, let offset)? = actions.network.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(offset, 599, accuracy: 0.001)
    }
}
