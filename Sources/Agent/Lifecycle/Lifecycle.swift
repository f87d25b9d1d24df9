public import Southgate

/// The agent's lifecycle as a pure value: `step(event, now)` updates the state and returns the
/// actions to perform. No I/O, no clock, no randomness of its own: the driver feeds all three in,
/// so every rule of docs/design.md §4 is a unit test with a fake clock.
///
/// `now` and every deadline here are seconds on the gateway's clock; server-clock values are
/// `ServerTime` and meet gateway time only through `clock` (`ServerClock`).
///
/// The rules live by concern: `Lifecycle+Credentials` (boarding file, onboarding, rotation,
/// storing credentials), `Lifecycle+Token`, `Lifecycle+DataSources`, `Lifecycle+Decide` (what
/// to do next), `Lifecycle+Status`; the state they share is grouped in `LifecycleState.swift`.
public struct Lifecycle: Sendable {
    public enum Phase: String, Sendable {
        case waitingForBoarding, onboarding, onboarded, rotating, needsReboarding
    }

    /// Which registration authorizes a rotation: the current RAT, or the one before it, which the
    /// server still accepts after a rotation it made with it (docs/protocol.md §5.2).
    public enum RegistrationChoice: String, Sendable { case current, previous }

    public enum Operation: Equatable, Sendable {
        case register(fingerprint: String)
        case rotate(RegistrationChoice)
        case token
        case prepareKey
        case uploadDataSources
        case store
    }

    /// A token the server granted. Times on the gateway's clock.
    public struct AccessToken: Equatable, Sendable {
        public var value: Secret
        public var expiresAt: Double
        public var refreshAt: Double
    }

    public struct TokenGrant: Equatable, Sendable {
        public var value: Secret
        public var expiresIn: Double
        /// The server's clock when it answered, if it said.
        public var serverTime: Double?

        public init(value: Secret, expiresIn: Double, serverTime: Double?) {
            self.value = value
            self.expiresIn = expiresIn
            self.serverTime = serverTime
        }
    }

    public enum Event: Sendable {
        /// The stored state, read at start.
        case started(StoredState)
        /// The boarding file as read now: a configuration, an error, or nil when there is none.
        case boardingRead(Result<BoardingConfiguration, ConfigurationError>?)
        /// A timer the driver set from `.wakeUp` fired.
        case wakeUp
        /// The driver finished `.register`; `stored` is what is now on disk (or in use, see
        /// `.stored`). The success value is the server's time, if it said.
        case registered(stored: StoredState, outcome: Result<Double?, Failure>)
        case rotated(stored: StoredState, using: RegistrationChoice, outcome: Result<Double?, Failure>)
        case tokenFetched(Result<TokenGrant, Failure>)
        /// The driver finished `.prepareKey`; `stored` is what is now on disk.
        case keyPrepared(stored: StoredState, outcome: Result<Void, Failure>)
        /// `datasources.yaml` as read now: a configuration, an error, or nil when there is none.
        case dataSourcesRead(Result<DataSourceConfiguration, ConfigurationError>?)
        /// The exchange endpoint refused this access token (401): the next request gets a new
        /// one, fetched once however many uploads saw the refusal (docs/relay.md §4).
        case tokenRefused(Secret)
        /// The driver finished `.uploadDataSources`; `stored` is what is now on disk.
        case dataSourcesUploaded(stored: StoredState, outcome: Result<Void, Failure>)
        /// Storing a state already in use failed (`.failure`, after `.registered` or `.rotated`
        /// succeeded on the server), or `.store` finished (then `stored` is what is now on disk).
        case stored(StoredState, outcome: Result<Void, Failure>)
    }

    public enum Action: Equatable, Sendable {
        /// Onboard with this boarding file: perform `CredentialTransaction.onboarding` (store the
        /// pending onboarding and key first, then `POST /register`, then store the identity);
        /// report `.registered`.
        case register(BoardingConfiguration, StoredState)
        /// Rotate with the chosen RAT: perform `CredentialTransaction.rotation` (store the
        /// in-progress rotation and pending key first, then `PUT`, then store the new identity);
        /// report `.rotated`.
        case rotate(RegistrationChoice, StoredState)
        /// RSA_3072: generate the next rotation's key and store it as pending, in idle time, so
        /// that the rotation itself is a single request however slow key generation is on this
        /// gateway; report `.keyPrepared`.
        case prepareKey(StoredState)
        /// Upload the data source configuration with this token: PUT with `If-Match` = the
        /// stored eTag; on 412 GET the server's copy and overwrite it if it differs (the file
        /// is the source of truth); store the record; report `.dataSourcesUploaded`.
        case uploadDataSources(DataSourceConfiguration, Identity, accessToken: Secret, StoredState)
        /// Request an access token with the current credentials, assertion times on the server
        /// clock (gateway time + offset); report `.tokenFetched`.
        case fetchToken(Identity, clockOffset: Double)
        /// Store this state; nothing waits for it.
        case persist(StoredState)
        /// Store this state, which is in use but not yet on disk (the server accepted a
        /// registration or rotation whose answer could not be stored); report `.stored`.
        case store(StoredState)
        /// Send `.wakeUp` at this gateway time; nil cancels the timer.
        case wakeUp(at: Double?)
        case log(LogLevelName, String)
    }

    /// Log levels without importing Platform into every test.
    public enum LogLevelName: String, Sendable { case error, warning, notice, info, debug }

    // MARK: State

    /// Replaced on reload; takes effect at the next decision.
    public var policy: LifecyclePolicy
    public internal(set) var stored = StoredState()
    public internal(set) var boardingFile = BoardingFileState()
    public internal(set) var session = SessionState()
    public internal(set) var retry = RetryState()
    public internal(set) var health = HealthState()
    public internal(set) var dataSources = DataSourcesState()
    /// Set while credentials the server issued are in use but not on disk yet.
    public internal(set) var unstored: UnstoredCredentials?
    public internal(set) var inFlight: Operation?
    #if HUBAGENT_TEST_HOOKS
        /// Gateway time the credentials in use were loaded or obtained (for `testRotationInterval`).
        var credentialsSince: Double?
    #endif

    public init(policy: LifecyclePolicy = LifecyclePolicy()) {
        self.policy = policy
    }

    public var phase: Phase {
        switch inFlight {
        case .register?: return .onboarding
        case .rotate?: return .rotating
        case .token?, .prepareKey?, .uploadDataSources?, .store?, nil: break
        }
        if health.reboardingReason != nil { return .needsReboarding }
        return stored.identity == nil ? .waitingForBoarding : .onboarded
    }

    /// Gateway time at which the current secret is due for rotation.
    public var rotationDueLocal: Double? {
        let due = stored.identity?.rotationDue(fraction: policy.rotationFraction).map(session.clock.gatewayTime(of:))
        #if HUBAGENT_TEST_HOOKS
            guard stored.identity != nil, let interval = policy.testRotationInterval, let since = credentialsSince
            else { return due }
            return min(due ?? .infinity, since + interval)
        #else
            return due
        #endif
    }

    // MARK: Transitions

    /// Applies `event` at gateway time `now`; `jitter` in [0, 1) spreads backoff delays.
    public mutating func step(_ event: Event, now: Double, jitter: Double = 0.5) -> [Action] {
        var actions = [Action]()
        switch event {
        case .started(let state):
            stored = state
            credentialsObtained(at: now)
            if let identity = state.identity {
                actions.append(
                    .log(
                        .info,
                        "loaded identity \(identity.clientID) (\(identity.profile.rawValue)), generation "
                            + "\(state.generation)"
                    ))
                if identity.rotationInProgress {
                    actions.append(
                        .log(
                            .notice, "a rotation was interrupted; repeating it with the same registration access token")
                    )
                }
            }
        case .boardingRead(let result):
            actions += boardingRead(result)
        case .wakeUp:
            break
        case .registered(let state, let outcome):
            stored = state
            let sent: String? = if case .register(let fingerprint)? = inFlight { fingerprint } else { nil }
            inFlight = nil
            actions += registered(outcome, fingerprint: sent, now: now, jitter: jitter)
        case .rotated(let state, let choice, let outcome):
            stored = state
            inFlight = nil
            actions += rotated(outcome, using: choice, now: now, jitter: jitter)
        case .tokenFetched(let outcome):
            inFlight = nil
            actions += tokenFetched(outcome, now: now, jitter: jitter)
        case .dataSourcesRead(let result):
            actions += dataSourcesRead(result)
        case .tokenRefused(let refused):
            if session.token?.value == refused {
                session.token = nil
                actions.append(.log(.notice, "the exchange endpoint refused the access token; fetching a new one"))
            }
        case .dataSourcesUploaded(let state, let outcome):
            stored = state
            inFlight = nil
            actions += dataSourcesUploaded(outcome, now: now, jitter: jitter)
        case .keyPrepared(let state, let outcome):
            stored = state
            inFlight = nil
            if case .failure(let failure) = outcome {
                actions += failed(failure, doing: "key generation", now: now, jitter: jitter)
            }
        case .stored(let state, let outcome):
            stored = state
            if inFlight == .store { inFlight = nil }
            if case .failure(let failure) = outcome { actions += storeFailed(failure, now: now, jitter: jitter) }
        }
        if let unstored, stored.generation > unstored.since { actions += storedAgain() }
        return actions + decide(now: now)
    }

    // MARK: Shared by the rules

    /// New credentials are in use from `now` (the test-only rotation interval counts from here).
    mutating func credentialsObtained(at now: Double) {
        #if HUBAGENT_TEST_HOOKS
            credentialsSince = now
        #endif
    }

    mutating func observe(serverTime: Double?, now: Double) {
        session.clock.observe(serverTime, at: now, tolerance: policy.clockResyncThreshold)
    }

    mutating func failed(_ failure: Failure, doing operation: String, now: Double, jitter: Double) -> [Action] {
        retry.failures += 1
        var delay = policy.backoff(failures: retry.failures, jitter: jitter)
        if let retryAfter = failure.retryAfter { delay = max(delay, retryAfter) }
        if failure.isOffline { retry.offline = true }
        retry.retryAt = now + delay
        health.record(failure.description, at: now)
        return [
            .log(
                retry.failures > 3 ? .warning : .notice,
                "\(operation) failed: \(failure); retrying in \(Format.duration(delay))")
        ]
    }

    mutating func needsReboarding(_ reason: String, error: String?, now: Double) -> [Action] {
        health.reboardingReason = reason
        session.token = nil
        session.recovery = .none
        retry.succeeded()
        health.record(error ?? reason, at: now)
        return [.log(.error, reason)]
    }

    static func expiredReason(_ expiry: ServerTime) -> String {
        "credentials expired at \(expiry) (the gateway was off or offline too long); "
            + "drop a new boarding file into the configuration directory"
    }
}
