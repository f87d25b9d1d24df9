import Crypto
import Southgate
import XCTest

@testable import Agent

/// docs/design.md §4 rule 5 as pure values: what must be durable before each request, what a
/// repeat after a lost answer sends, and the state a committed answer produces.
final class CredentialTransactionTests: XCTestCase {
    let t0 = Fixture.t0

    /// A key generator that hands out numbered fake PEMs and counts its calls.
    final class KeyFactory {
        private(set) var made = 0
        var fails = false

        func generate() throws(CryptoError) -> SecretBytes {
            if fails { throw CryptoError.openssl(operation: "EVP_RSA_gen", reason: "entropy") }
            made += 1
            return SecretBytes("-----BEGIN PRIVATE KEY-----\ngenerated-\(made)\n-----END PRIVATE KEY-----\n")
        }
    }

    private func answer(_ tag: String, clientID: String = Fixture.clientID, secret: Bool = true) -> ClientIdentifier {
        ClientIdentifier(
            clientID: clientID, clientSecret: secret ? "secret-\(tag)" : nil,
            clientSecretExpiresAt: Int64(t0) + 30 * 86400,
            registrationAccessToken: "rat-\(tag)", registrationClientURI: Fixture.registrationURI)
    }

    // MARK: Onboarding

    /// GIVEN no state and a SHARED_SECRET boarding file WHEN onboarding is prepared THEN the pending onboarding is
    /// stored first, the IAT is sent, and no key is made.
    func testSharedSecretOnboardingStoresThePendingOnboardingFirst() throws {
        let boarding = try Fixture.boarding()
        let keys = KeyFactory()
        let transaction = try CredentialTransaction.onboarding(
            boarding, stored: StoredState(), generateKey: keys.generate)
        XCTAssertEqual(keys.made, 0)
        XCTAssertEqual(
            transaction.storeFirst?.onboarding,
            PendingOnboarding(boardingFingerprint: boarding.fingerprint, keyPEM: nil))
        XCTAssertEqual(transaction.request.authorization, .initialAccessToken(boarding.initialAccessToken))
        XCTAssertEqual(transaction.request.baseURL, boarding.baseURL)
        XCTAssertNil(transaction.request.key)
    }

    /// GIVEN an RSA_3072 boarding file WHEN onboarding is prepared THEN one key is made, stored before the request, and
    /// the request carries that key.
    func testRSAOnboardingStoresTheKeyBeforeItsPublicHalfLeaves() throws {
        let boarding = try Fixture.boarding(profile: .rsa3072)
        let keys = KeyFactory()
        let transaction = try CredentialTransaction.onboarding(
            boarding, stored: StoredState(), generateKey: keys.generate)
        XCTAssertEqual(keys.made, 1)
        let stored = try XCTUnwrap(transaction.storeFirst?.onboarding?.keyPEM)
        XCTAssertEqual(transaction.request.key, stored)
    }

    /// GIVEN a pending RSA_3072 onboarding on disk (the answer was lost) WHEN onboarding is prepared again THEN nothing
    /// new is stored and the same key is sent.
    func testRSAOnboardingRepeatSendsTheSameKey() throws {
        let boarding = try Fixture.boarding(profile: .rsa3072)
        let keys = KeyFactory()
        let first = try CredentialTransaction.onboarding(boarding, stored: StoredState(), generateKey: keys.generate)
        var saved = try XCTUnwrap(first.storeFirst)
        saved.generation = 1
        let repeated = try CredentialTransaction.onboarding(boarding, stored: saved, generateKey: keys.generate)
        XCTAssertEqual(keys.made, 1, "no second key")
        XCTAssertNil(repeated.storeFirst, "already durable")
        XCTAssertEqual(repeated.request, first.request)
    }

    /// GIVEN a pending RSA_3072 onboarding for another boarding file WHEN onboarding with a new file is prepared THEN a
    /// new key replaces it and is stored first.
    func testRSAOnboardingWithANewFileMakesANewKey() throws {
        let old = try Fixture.boarding(profile: .rsa3072, jti: "iat-old")
        let new = try Fixture.boarding(profile: .rsa3072, jti: "iat-new")
        let keys = KeyFactory()
        let saved = try XCTUnwrap(
            try CredentialTransaction.onboarding(old, stored: StoredState(), generateKey: keys.generate).storeFirst)
        let transaction = try CredentialTransaction.onboarding(new, stored: saved, generateKey: keys.generate)
        XCTAssertEqual(keys.made, 2)
        XCTAssertEqual(transaction.storeFirst?.onboarding?.boardingFingerprint, new.fingerprint)
        XCTAssertNotEqual(transaction.request.key, saved.onboarding?.keyPEM)
    }

    /// GIVEN key generation failing WHEN onboarding is prepared THEN it fails with the cause and nothing is to be
    /// stored or sent.
    func testKeyGenerationFailureStopsBeforeAnything() throws {
        let keys = KeyFactory()
        keys.fails = true
        XCTAssertThrowsError(
            try CredentialTransaction.onboarding(
                try Fixture.boarding(profile: .rsa3072), stored: StoredState(),
                generateKey: keys.generate)
        ) { error in
            guard
                case CredentialTransaction.PreparationError.keyGeneration(.openssl)? = error
                    as? CredentialTransaction.PreparationError
            else {
                return XCTFail("\(error)")
            }
        }
    }

    /// GIVEN an identity and a new boarding file WHEN the onboarding answer is committed THEN the server's client id is
    /// used, the old identity archived, the pending onboarding cleared and the file marked used.
    func testOnboardingCommit() throws {
        let boarding = try Fixture.boarding(profile: .rsa3072)
        let old = Fixture.identity()
        let keys = KeyFactory()
        let transaction = try CredentialTransaction.onboarding(
            boarding, stored: Fixture.stored(old), generateKey: keys.generate)
        var saved = try XCTUnwrap(transaction.storeFirst)
        saved.generation = 8
        let next = transaction.stored(as: saved).commit(
            answer("new", clientID: "server-chosen-id", secret: false), issuedAt: t0 + 3)
        XCTAssertEqual(next.generation, 8, "committed onto what was stored")
        XCTAssertEqual(next.archivedIdentity, old)
        XCTAssertNil(next.onboarding)
        XCTAssertTrue(next.hasUsed(boarding.fingerprint))
        let identity = try XCTUnwrap(next.identity)
        XCTAssertEqual(identity.clientID, "server-chosen-id")
        XCTAssertEqual(identity.profile, .rsa3072)
        XCTAssertEqual(identity.boardingFingerprint, boarding.fingerprint)
        XCTAssertEqual(identity.current.privateKeyPEM, transaction.request.key)
        XCTAssertEqual(identity.current.registrationAccessToken, Secret("rat-new"))
        XCTAssertEqual(identity.current.issuedAt, t0 + 3)
        XCTAssertEqual(identity.current.secretExpiresAt, t0 + 30 * 86400)
        XCTAssertNil(identity.previous)
    }

    // MARK: Rotation

    /// GIVEN a SHARED_SECRET identity WHEN a rotation is prepared THEN the in-progress marker is stored first and the
    /// current RAT authorizes the PUT.
    func testRotationStoresInProgressFirst() throws {
        let identity = Fixture.identity()
        let transaction = try CredentialTransaction.rotation(
            .current, stored: Fixture.stored(identity), generateKey: KeyFactory().generate)
        XCTAssertEqual(transaction.storeFirst?.identity?.rotationInProgress, true)
        XCTAssertEqual(
            transaction.storeFirst?.identity?.current, identity.current, "nothing else changes before the answer")
        XCTAssertEqual(
            transaction.request.authorization,
            .registrationAccessToken(
                identity.current.registrationAccessToken,
                registrationClientURI: identity.current.registrationClientURI, clientID: identity.clientID))
    }

    /// GIVEN a rotation in progress on disk (its answer was lost) WHEN prepared again THEN nothing is stored and the
    /// same PUT goes out.
    func testRotationRepeatSendsTheSameRequest() throws {
        let stored = Fixture.stored(Fixture.identity())
        let first = try CredentialTransaction.rotation(.current, stored: stored, generateKey: KeyFactory().generate)
        let repeated = try CredentialTransaction.rotation(
            .current, stored: try XCTUnwrap(first.storeFirst), generateKey: KeyFactory().generate)
        XCTAssertNil(repeated.storeFirst)
        XCTAssertEqual(repeated.request, first.request)
    }

    /// GIVEN an RSA_3072 identity without a pending key WHEN a rotation is prepared THEN the new key is stored with the
    /// in-progress marker before the PUT, and a repeat reuses it.
    func testRSARotationStoresThePendingKeyFirst() throws {
        let keys = KeyFactory()
        let stored = Fixture.stored(Fixture.identity(profile: .rsa3072))
        let first = try CredentialTransaction.rotation(.current, stored: stored, generateKey: keys.generate)
        let durable = try XCTUnwrap(first.storeFirst?.identity)
        XCTAssertEqual(keys.made, 1)
        XCTAssertTrue(durable.rotationInProgress)
        XCTAssertEqual(durable.pendingKeyPEM, first.request.key)
        let repeated = try CredentialTransaction.rotation(
            .current, stored: try XCTUnwrap(first.storeFirst), generateKey: keys.generate)
        XCTAssertEqual(keys.made, 1)
        XCTAssertNil(repeated.storeFirst)
        XCTAssertEqual(repeated.request.key, first.request.key)
    }

    /// GIVEN a key prepared in idle time WHEN a rotation is prepared THEN that key is used, not a new one, and only the
    /// marker is added.
    func testRSARotationUsesThePreparedKey() throws {
        var identity = Fixture.identity(profile: .rsa3072)
        identity.pendingKeyPEM = SecretBytes("prepared")
        let keys = KeyFactory()
        let transaction = try CredentialTransaction.rotation(
            .current, stored: Fixture.stored(identity), generateKey: keys.generate)
        XCTAssertEqual(keys.made, 0)
        XCTAssertEqual(transaction.request.key, SecretBytes("prepared"))
        XCTAssertEqual(transaction.storeFirst?.identity?.rotationInProgress, true)
    }

    /// GIVEN a rotation with the previous RAT WHEN committed THEN the previous registration authorized it and stays
    /// previous; the new one is current; the marker and pending key are gone.
    func testRotationWithPreviousCommit() throws {
        var identity = Fixture.identity(profile: .rsa3072)
        identity.pendingKeyPEM = SecretBytes("prepared")
        let previous = try XCTUnwrap(identity.previous)
        let transaction = try CredentialTransaction.rotation(
            .previous, stored: Fixture.stored(identity), generateKey: KeyFactory().generate)
        XCTAssertEqual(
            transaction.request.authorization,
            .registrationAccessToken(
                previous.registrationAccessToken, registrationClientURI: previous.registrationClientURI,
                clientID: identity.clientID))
        let next = transaction.commit(answer("rotated", secret: false), issuedAt: t0)
        let rotated = try XCTUnwrap(next.identity)
        XCTAssertEqual(rotated.previous, previous)
        XCTAssertEqual(rotated.current.registrationAccessToken, Secret("rat-rotated"))
        XCTAssertEqual(rotated.current.privateKeyPEM, SecretBytes("prepared"))
        XCTAssertNil(rotated.pendingKeyPEM)
        XCTAssertFalse(rotated.rotationInProgress)
    }

    /// GIVEN a rotation with the current RAT WHEN committed THEN the registration it was made with becomes previous
    /// (the server still honours its RAT, docs/protocol.md §5.2).
    func testRotationCommitKeepsTheAuthorizingRegistration() throws {
        let identity = Fixture.identity()
        let transaction = try CredentialTransaction.rotation(
            .current, stored: Fixture.stored(identity), generateKey: KeyFactory().generate)
        let rotated = try XCTUnwrap(transaction.commit(answer("rotated"), issuedAt: t0).identity)
        XCTAssertEqual(rotated.previous, identity.current)
        XCTAssertEqual(rotated.current.clientSecret, Secret("secret-rotated"))
        XCTAssertEqual(rotated.clientID, identity.clientID)
    }

    /// GIVEN no identity WHEN a rotation is prepared THEN it fails as a driver bug, with nothing to store.
    func testRotationWithoutIdentity() {
        XCTAssertThrowsError(
            try CredentialTransaction.rotation(.current, stored: StoredState(), generateKey: KeyFactory().generate)
        ) {
            XCTAssertEqual($0 as? CredentialTransaction.PreparationError, .noIdentity)
        }
    }
}
