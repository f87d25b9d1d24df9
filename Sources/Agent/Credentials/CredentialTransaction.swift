public import Crypto
public import Southgate

/// An onboarding (`POST /register`) or a rotation (`PUT /register/{id}`) as a pure value.
///
/// `onboarding`/`rotation` prepare it from the stored state: what must be durable before the
/// request leaves the gateway (`storeFirst`) and what to send (`request`). `commit` turns the
/// server's answer into the state to store next. The driver only performs: it generates a key
/// when asked, stores `storeFirst`, sends `request`, stores what `commit` returns.
///
/// The ordering rule (docs/design.md §4 rule 5): a key, or an in-progress marker, is durable before
/// anything that depends on it is sent, so a crash or a lost answer repeats the same request:
/// the same key for a pending onboarding, the same key and the same RAT for a rotation, which
/// southgate accepts (docs/protocol.md §5.2).
public struct CredentialTransaction: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case onboarding(BoardingConfiguration)
        case rotation(Lifecycle.RegistrationChoice)
    }

    /// What goes to southgate.
    public struct Request: Equatable, Sendable {
        public enum Authorization: Equatable, Sendable {
            /// `POST /register` with the boarding file's initial access token.
            case initialAccessToken(Secret)
            /// `PUT` to `registrationClientURI` with that registration's access token.
            case registrationAccessToken(Secret, registrationClientURI: String, clientID: String)
        }

        public var baseURL: String
        public var authorization: Authorization
        /// RSA_3072: the private key whose public half goes with the request (as a JWK).
        public var key: SecretBytes?
    }

    public let kind: Kind
    /// The state to make durable before `request` is sent; nil when the stored state already
    /// holds everything (a repeat after a crash or a lost answer).
    public private(set) var storeFirst: StoredState?
    public let request: Request
    /// The state the answer is committed onto: the stored state, with `storeFirst` applied.
    public private(set) var base: StoredState
    /// The registration whose RAT authorizes a rotation; it becomes `previous` afterwards.
    private let authorizing: Registration?

    /// Why a transaction cannot be prepared. Never a southgate or storage problem: those come
    /// from performing it.
    public enum PreparationError: Error, Equatable, Sendable, CustomStringConvertible {
        case noIdentity
        case keyGeneration(CryptoError)

        public var description: String {
            switch self {
            case .noIdentity: "there is no identity to rotate"
            case .keyGeneration(let error): "generating the RSA key failed: \(error)"
            }
        }
    }

    /// Makes a new PKCS#8 PEM private key; only called when no stored key can be reused.
    public typealias KeyGenerator = () throws(CryptoError) -> SecretBytes

    /// Onboarding with `boarding`. RSA_3072 reuses the key of a pending onboarding with the same
    /// boarding file, so a repeated `POST /register` carries the same public key.
    public static func onboarding(
        _ boarding: BoardingConfiguration, stored: StoredState,
        generateKey: KeyGenerator
    ) throws(PreparationError) -> CredentialTransaction {
        var key: SecretBytes?
        if boarding.profile == .rsa3072 {
            if let pending = stored.onboarding, pending.boardingFingerprint == boarding.fingerprint,
                let pem = pending.keyPEM
            {
                key = pem
            } else {
                do { key = try generateKey() } catch { throw .keyGeneration(error) }
            }
        }
        let pending = PendingOnboarding(boardingFingerprint: boarding.fingerprint, keyPEM: key)
        var base = stored
        var storeFirst: StoredState?
        if stored.onboarding != pending {
            base.onboarding = pending
            storeFirst = base
        }
        return CredentialTransaction(
            kind: .onboarding(boarding), storeFirst: storeFirst,
            request: Request(
                baseURL: boarding.baseURL, authorization: .initialAccessToken(boarding.initialAccessToken), key: key),
            base: base, authorizing: nil)
    }

    /// Rotation authorized by the `choice` registration. RSA_3072 reuses the pending key (made
    /// in idle time, or by an interrupted rotation), so a repeated PUT carries the same key.
    public static func rotation(
        _ choice: Lifecycle.RegistrationChoice, stored: StoredState,
        generateKey: KeyGenerator
    ) throws(PreparationError) -> CredentialTransaction {
        guard var identity = stored.identity else { throw .noIdentity }
        if identity.profile == .rsa3072 && identity.pendingKeyPEM == nil {
            do { identity.pendingKeyPEM = try generateKey() } catch { throw .keyGeneration(error) }
        }
        var base = stored
        var storeFirst: StoredState?
        if !identity.rotationInProgress || identity.pendingKeyPEM != stored.identity?.pendingKeyPEM {
            identity.rotationInProgress = true
            base.identity = identity
            storeFirst = base
        }
        let authorizing = choice == .current ? identity.current : (identity.previous ?? identity.current)
        let authorization = Request.Authorization.registrationAccessToken(
            authorizing.registrationAccessToken, registrationClientURI: authorizing.registrationClientURI,
            clientID: identity.clientID)
        return CredentialTransaction(
            kind: .rotation(choice), storeFirst: storeFirst,
            request: Request(baseURL: identity.baseURL, authorization: authorization, key: identity.pendingKeyPEM),
            base: base, authorizing: authorizing)
    }

    /// `storeFirst` is durable now, as `saved` (with its generation): the request may go out.
    public func stored(as saved: StoredState) -> CredentialTransaction {
        var next = self
        next.base = saved
        next.storeFirst = nil
        return next
    }

    /// The state after southgate accepted the request with `answer`. `issuedAt` is on the
    /// server's clock: its `Server-Time`, or our estimate of it.
    public func commit(_ answer: ClientIdentifier, issuedAt: Double) -> StoredState {
        let registration = Registration(
            clientSecret: answer.clientSecret.map(Secret.init), privateKeyPEM: request.key,
            registrationAccessToken: Secret(answer.registrationAccessToken),
            registrationClientURI: answer.registrationClientURI,
            secretExpiresAt: answer.clientSecretExpiresAt.map(Double.init), issuedAt: issuedAt)
        var next = base
        switch kind {
        case .onboarding(let boarding):
            if let old = next.identity { next.archivedIdentity = old }
            // The server's client id wins over the file's (they match unless the file was edited).
            next.identity = Identity(
                profile: boarding.profile, clientID: answer.clientID, tenant: boarding.tenant,
                baseURL: boarding.baseURL, boardingFingerprint: boarding.fingerprint, current: registration)
            next.onboarding = nil
            next.markUsed(boarding.fingerprint)
        case .rotation:
            guard var identity = next.identity, let authorizing else { return next }
            // The server now accepts the RAT this rotation was made with, besides the new one
            // (docs/protocol.md §5.2): that registration becomes `previous`.
            identity.previous = authorizing
            identity.current = registration
            identity.pendingKeyPEM = nil
            identity.rotationInProgress = false
            next.identity = identity
        }
        return next
    }
}
