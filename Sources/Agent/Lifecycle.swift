public import Southgate

/// The agent's lifecycle as a pure value: `step(event, now)` updates the state and returns the
/// actions to perform. No I/O, no clock, no randomness of its own: the driver feeds all three in,
/// so every rule of design.md §4 is a unit test with a fake clock.
public struct Lifecycle: Sendable {
    public enum Phase: String, Sendable {
        case waitingForBoarding, onboarding, onboarded, rotating, needsReboarding
    }

    /// Which registration authorizes a rotation: the current RAT, or the one before it, which the
    /// server still accepts after a rotation it made with it (protocol.md §5.2).
    public enum RegistrationChoice: String, Sendable { case current, previous }

    public enum Operation: Equatable, Sendable {
        case register(fingerprint: String)
        case rotate(RegistrationChoice)
        case token
        case prepareKey
        case uploadDataSources
        case store
    }

    /// Why a driver operation did not complete.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case southgate(SouthgateError)
        /// Storing state failed; nothing that depends on it was used.
        case storage(String)
        /// Key generation or signing failed.
        case crypto(String)

        public var description: String {
            switch self {
            case .southgate(let error): error.description
            case .storage(let detail): "storing state failed: \(detail)"
            case .crypto(let detail): "cryptography failed: \(detail)"
            }
        }
    }

    /// A token the server granted. Times on the local clock.
    public struct AccessToken: Equatable, Sendable {
        public var value: Secret
        public var expiresAt: Double
        public var refreshAt: Double
    }

    public struct TokenGrant: Equatable, Sendable {
        public var value: Secret
        public var expiresIn: Double
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
        /// The driver finished `.register`; `stored` is what is now on disk.
        case registered(stored: StoredState, outcome: Result<Double?, Failure>)
        case rotated(stored: StoredState, using: RegistrationChoice, outcome: Result<Double?, Failure>)
        case tokenFetched(Result<TokenGrant, Failure>)
        /// The driver finished `.prepareKey`; `stored` is what is now on disk.
        case keyPrepared(stored: StoredState, outcome: Result<Void, Failure>)
        /// `datasources.yaml` as read now: a configuration, an error, or nil when there is none.
        case dataSourcesRead(Result<DataSourceConfiguration, ConfigurationError>?)
        /// The driver finished `.uploadDataSources`; `stored` is what is now on disk.
        case dataSourcesUploaded(stored: StoredState, outcome: Result<Void, Failure>)
        /// Storing a state already in use failed (`.failure`, after `.registered` or `.rotated`
        /// succeeded on the server), or `.store` finished (then `stored` is what is now on disk).
        case stored(StoredState, outcome: Result<Void, Failure>)
    }

    public enum Action: Equatable, Sendable {
        /// Onboard with this boarding file: store the pending onboarding (and key) first, then
        /// `POST /register`, then store the identity; report `.registered`.
        case register(BoardingConfiguration, StoredState)
        /// Rotate with the chosen RAT: store the in-progress rotation (and pending key) first,
        /// then `PUT`, then store the new identity; report `.rotated`.
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
        /// clock (local time + offset); report `.tokenFetched`.
        case fetchToken(Identity, clockOffset: Double)
        /// Store this state; nothing waits for it.
        case persist(StoredState)
        /// Store this state, which is in use but not yet on disk (the server accepted a
        /// registration or rotation whose answer could not be stored); report `.stored`.
        case store(StoredState)
        /// Send `.wakeUp` at this local time; nil cancels the timer.
        case wakeUp(at: Double?)
        case log(LogLevelName, String)
    }

    /// Log levels without importing Platform into every test.
    public enum LogLevelName: String, Sendable { case error, warning, notice, info, debug }

    // MARK: State

    /// Replaced on reload; takes effect at the next decision.
    public var policy: LifecyclePolicy
    public private(set) var stored = StoredState()
    public private(set) var boarding: BoardingConfiguration?
    /// Why the boarding file cannot be used, for status and `check`.
    public private(set) var boardingProblem: String?
    public private(set) var token: AccessToken?
    /// Server clock minus local clock, once a response has told us (design.md §4 rule 7).
    public private(set) var clockOffset: Double?
    public private(set) var inFlight: Operation?
    /// Consecutive failures; > 0 means retrying with backoff ("offline" when transport errors).
    public private(set) var failures = 0
    public private(set) var retryAt: Double?
    public private(set) var offline = false
    /// Set when only a new boarding file can help; says why.
    public private(set) var reboardingReason: String?
    public private(set) var lastError: String?
    public private(set) var lastErrorAt: Double?
    /// Where the agent is on the way back from a refused assertion (design.md §4 rule 1).
    public private(set) var recovery = Recovery.none
    /// The data source configuration from the file, when there is a valid one.
    public private(set) var dataSources: DataSourceConfiguration?
    /// Why `datasources.yaml` is not in force (invalid, or refused by the server).
    public private(set) var dataSourcesProblem: String?
    /// The content southgate refused as invalid: not sent again until the file changes.
    private var refusedDataSourcesHash: String?
    /// Set while `stored` holds credentials the server issued that are not on disk yet: the
    /// generation last stored before them. Any state stored later carries them.
    public private(set) var unstoredSince: Int?
    /// Why the credentials in use are not on disk; retried with backoff until they are.
    public private(set) var storageProblem: String?
    public private(set) var storageFailures = 0
    public private(set) var storeRetryAt: Double?
    /// Local time the credentials in use were loaded or obtained (for `testRotationInterval`).
    public private(set) var credentialsSince: Double?

    public enum Recovery: Sendable, Equatable {
        case none, clockResynced, rotateWithCurrent, rotateWithPrevious, rotated
    }

    public init(policy: LifecyclePolicy = LifecyclePolicy()) {
        self.policy = policy
    }

    public var phase: Phase {
        switch inFlight {
        case .register?: return .onboarding
        case .rotate?: return .rotating
        case .token?, .prepareKey?, .uploadDataSources?, .store?, nil: break
        }
        if reboardingReason != nil { return .needsReboarding }
        return stored.identity == nil ? .waitingForBoarding : .onboarded
    }

    public func serverTime(_ now: Double) -> Double { now + (clockOffset ?? 0) }

    /// Local time at which the current secret is due for rotation.
    public var rotationDueLocal: Double? {
        let due = stored.identity?.rotationDue(fraction: policy.rotationFraction).map { $0 - (clockOffset ?? 0) }
        guard stored.identity != nil, let interval = policy.testRotationInterval, let since = credentialsSince else { return due }
        return min(due ?? .infinity, since + interval)
    }

    // MARK: Transitions

    /// Applies `event` at local time `now`; `jitter` in [0, 1) spreads backoff delays.
    public mutating func step(_ event: Event, now: Double, jitter: Double = 0.5) -> [Action] {
        var actions = [Action]()
        switch event {
        case .started(let state):
            stored = state
            credentialsSince = now
            if let identity = state.identity {
                actions.append(.log(.info, "loaded identity \(identity.clientID) (\(identity.profile.rawValue)), generation \(state.generation)"))
                if identity.rotationInProgress { actions.append(.log(.notice, "a rotation was interrupted; repeating it with the same registration access token")) }
            }
        case .boardingRead(let result):
            actions += boardingRead(result, now: now)
        case .wakeUp:
            break
        case let .registered(state, outcome):
            stored = state
            let sent: String? = if case .register(let fingerprint)? = inFlight { fingerprint } else { nil }
            inFlight = nil
            actions += registered(outcome, fingerprint: sent, now: now, jitter: jitter)
        case let .rotated(state, choice, outcome):
            stored = state
            inFlight = nil
            actions += rotated(outcome, using: choice, now: now, jitter: jitter)
        case .tokenFetched(let outcome):
            inFlight = nil
            actions += tokenFetched(outcome, now: now, jitter: jitter)
        case .dataSourcesRead(let result):
            actions += dataSourcesRead(result)
        case let .dataSourcesUploaded(state, outcome):
            stored = state
            inFlight = nil
            actions += dataSourcesUploaded(outcome, now: now, jitter: jitter)
        case let .keyPrepared(state, outcome):
            stored = state
            inFlight = nil
            if case .failure(let failure) = outcome { actions += failed(failure, doing: "key generation", now: now, jitter: jitter) }
        case let .stored(state, outcome):
            stored = state
            if inFlight == .store { inFlight = nil }
            if case .failure(let failure) = outcome { actions += storeFailed(failure, now: now, jitter: jitter) }
        }
        if let since = unstoredSince, stored.generation > since { actions += storedAgain() }
        return actions + decide(now: now)
    }

    /// The server's answer is in use but not on disk: keep working with it (a restart now would
    /// lose it, and with it, after onboarding, the used initial access token) and retry storing
    /// it with backoff, so that a disk that was full for a while costs nothing.
    private mutating func storeFailed(_ failure: Failure, now: Double, jitter: Double) -> [Action] {
        if unstoredSince == nil { unstoredSince = stored.generation }
        storageFailures += 1
        let delay = policy.backoff(failures: storageFailures, jitter: jitter)
        storeRetryAt = now + delay
        storageProblem = "the credentials in use are not stored yet (\(failure)); free space in the state directory, do not stop hubagent meanwhile"
        lastError = failure.description
        lastErrorAt = now
        return [.log(storageFailures == 1 ? .error : .warning, "\(storageProblem!); retrying in \(Format.duration(delay))")]
    }

    private mutating func storedAgain() -> [Action] {
        let attempts = storageFailures
        unstoredSince = nil
        storageProblem = nil
        storageFailures = 0
        storeRetryAt = nil
        return [.log(.notice, "credentials stored (generation \(stored.generation)) after \(attempts) failed attempt\(attempts == 1 ? "" : "s")")]
    }

    private mutating func boardingRead(_ result: Result<BoardingConfiguration, ConfigurationError>?, now: Double) -> [Action] {
        switch result {
        case nil:
            boarding = nil
            boardingProblem = nil
            return []
        case .failure(let error)?:
            // A broken new file must not take away a working identity: keep running, report it.
            boardingProblem = error.description
            return [.log(.error, error.description)]
        case .success(let configuration)?:
            // The same file read again (SIGHUP, a `touch`) changes nothing, its problem included.
            guard configuration.fingerprint != boarding?.fingerprint else { return [] }
            boarding = configuration
            boardingProblem = nil
            if configuration.fingerprint == stored.identity?.boardingFingerprint {
                return [.log(.debug, "boarding file unchanged: this identity was onboarded from it")]
            }
            if stored.hasUsed(configuration.fingerprint) {
                boardingProblem = "its initial access token was already used; a new boarding file is needed to onboard again"
                return [.log(.notice, "boarding file for \(configuration.clientID) was already used; not sending its initial access token again")]
            }
            return [.log(.info, "new boarding file for \(configuration.clientID) (\(configuration.profile.rawValue)), tenant \(configuration.tenant)")]
        }
    }

    /// `fingerprint` is the boarding file that was sent, which need not be the one read last.
    private mutating func registered(_ outcome: Result<Double?, Failure>, fingerprint: String?, now: Double, jitter: Double) -> [Action] {
        switch outcome {
        case .success(let serverTime):
            observe(serverTime: serverTime, now: now)
            succeeded()
            credentialsSince = now
            token = nil
            reboardingReason = nil
            recovery = .none
            guard let identity = stored.identity else { return [] }
            var actions: [Action] = [.log(.notice, "onboarded as \(identity.clientID) (\(identity.profile.rawValue)) at \(identity.baseURL)")]
            if let expiry = identity.current.secretExpiresAt { actions.append(.log(.info, "credentials valid until \(Format.time(expiry))")) }
            return actions
        case .failure(let failure):
            if case .southgate(let error) = failure {
                observe(serverTime: error.serverTime, now: now)
                if error.kind == .unauthorized || error.kind == .badRequest, let fingerprint {
                    // Refused for good (used, expired or foreign IAT): never send it again (rule 2).
                    stored.markUsed(fingerprint)
                    stored.onboarding = nil
                    succeeded()
                    boardingProblem = "southgate refused its initial access token (\(error.serverMessage ?? "\(error.status ?? 0)")); download a new boarding file"
                    var actions: [Action] = [.persist(stored), .log(.error, "onboarding refused: \(error); the initial access token cannot be used again (if an earlier attempt's answer was lost to a crash or the network, southgate may already have registered this agent: offboard it in Asset Manager); drop a new boarding file into the configuration directory")]
                    if stored.identity == nil { reboardingReason = "onboarding refused" } else { actions.append(.log(.notice, "keeping the current identity \(stored.identity!.clientID)")) }
                    return actions
                }
            }
            return failed(failure, doing: "onboarding", now: now, jitter: jitter)
        }
    }

    private mutating func rotated(_ outcome: Result<Double?, Failure>, using choice: RegistrationChoice, now: Double, jitter: Double) -> [Action] {
        switch outcome {
        case .success(let serverTime):
            observe(serverTime: serverTime, now: now)
            succeeded()
            credentialsSince = now
            // New credentials are proven by fetching a token with them right away.
            token = nil
            if recovery != .none { recovery = .rotated }
            var text = "credentials rotated"
            if choice == .previous { text += " with the previous registration access token" }
            if let expiry = stored.identity?.current.secretExpiresAt { text += "; valid until \(Format.time(expiry))" }
            return [.log(.notice, text)]
        case .failure(let failure):
            if case .southgate(let error) = failure {
                observe(serverTime: error.serverTime, now: now)
                if error.kind == .unauthorized {
                    // Refused because the secret ran out (the server's clock says so): that is
                    // not an offboarding, and the operator should hear the real reason.
                    if clockOffset != nil, let expiry = stored.identity?.current.secretExpiresAt, serverTime(now) >= expiry {
                        return needsReboarding(Self.expiredReason(expiry), error: error.description, now: now)
                    }
                    if choice == .current, stored.identity?.previous != nil {
                        recovery = .rotateWithPrevious
                        return [.log(.warning, "rotation refused with the current registration access token (\(error)); trying the previous one")]
                    }
                    return needsReboarding("offboarded: southgate refuses this agent's credentials; drop a new boarding file into the configuration directory", error: error.description, now: now)
                }
            }
            return failed(failure, doing: "rotation", now: now, jitter: jitter)
        }
    }

    private mutating func tokenFetched(_ outcome: Result<TokenGrant, Failure>, now: Double, jitter: Double) -> [Action] {
        switch outcome {
        case .success(let grant):
            observe(serverTime: grant.serverTime, now: now)
            succeeded()
            recovery = .none
            let expiresAt = now + grant.expiresIn
            token = AccessToken(value: grant.value, expiresAt: expiresAt, refreshAt: now + policy.tokenRefreshDelay(lifetime: grant.expiresIn))
            return [.log(.info, "access token valid until \(Format.time(expiresAt + (clockOffset ?? 0)))")]
        case .failure(let failure):
            guard case .southgate(let error) = failure, error.kind == .badRequest || error.kind == .unauthorized else {
                return failed(failure, doing: "token request", now: now, jitter: jitter)
            }
            // A refused assertion: clock first, then rotate with the current RAT, then with the
            // previous one; only then is the agent offboarded (design.md §4 rule 1).
            // At any stage: a resync that changes nothing cannot repeat, because the next
            // refusal then carries a server time that matches the new offset.
            if let reported = error.serverTime, abs(reported - serverTime(now)) > policy.clockResyncThreshold {
                clockOffset = reported - now
                if recovery == .none { recovery = .clockResynced }
                return [.log(.warning, "token refused (\(error)); the clock differs from southgate's by \(Format.duration(clockOffset!)); retrying with the server's time")]
            }
            observe(serverTime: error.serverTime, now: now)
            switch recovery {
            case .none, .clockResynced:
                recovery = .rotateWithCurrent
                return [.log(.warning, "token refused (\(error)); rotating credentials to recover")]
            case .rotateWithCurrent, .rotateWithPrevious, .rotated:
                return needsReboarding("offboarded: southgate refuses even freshly rotated credentials; drop a new boarding file into the configuration directory", error: error.description, now: now)
            }
        }
    }

    private mutating func dataSourcesRead(_ result: Result<DataSourceConfiguration, ConfigurationError>?) -> [Action] {
        switch result {
        case nil:
            dataSources = nil
            dataSourcesProblem = nil
            return []
        case .failure(let error)?:
            // The configuration in force (the one last read, and the server's) stays.
            dataSourcesProblem = error.description
            return [.log(.error, "\(error.description); the previous data source configuration stays in force")]
        case .success(let configuration)?:
            guard configuration.contentHash != dataSources?.contentHash || dataSourcesProblem != nil else { return [] }
            dataSources = configuration
            dataSourcesProblem = nil
            return [.log(.info, "data source configuration \(configuration.configurationID): \(configuration.dataSources.count) data sources, \(configuration.dataSources.reduce(0) { $0 + $1.dataPoints.count }) data points")]
        }
    }

    private mutating func dataSourcesUploaded(_ outcome: Result<Void, Failure>, now: Double, jitter: Double) -> [Action] {
        switch outcome {
        case .success:
            succeeded()
            guard let record = stored.dataSources else { return [] }
            return [.log(.notice, "data source configuration \(record.configurationID) uploaded (eTag \(record.eTag))")]
        case .failure(let failure):
            if case .southgate(let error) = failure {
                observe(serverTime: error.serverTime, now: now)
                switch error.kind {
                case .badRequest:
                    // The server's verdict on this content: report it, do not send it again
                    // until the file changes.
                    refusedDataSourcesHash = dataSources?.contentHash
                    dataSourcesProblem = "southgate refused the data source configuration: \(error.serverMessage ?? "400")"
                    succeeded()  // a verdict, not an outage: nothing to back off from
                    return [.log(.error, dataSourcesProblem! + "; fix datasources.yaml and reload")]
                case .unauthorized:
                    token = nil  // refused token: get a new one first
                default: break
                }
            }
            return failed(failure, doing: "data source upload", now: now, jitter: jitter)
        }
    }

    /// The file's configuration when it differs from what was last uploaded for this identity.
    private func dataSourcesToUpload(_ identity: Identity) -> DataSourceConfiguration? {
        guard let configuration = dataSources, configuration.contentHash != refusedDataSourcesHash else { return nil }
        if let record = stored.dataSources, record.clientID == identity.clientID, record.contentHash == configuration.contentHash { return nil }
        return configuration
    }

    // MARK: Deciding what to do next

    /// With nothing in flight, starts the next due operation or sets the timer for it.
    private mutating func decide(now: Double) -> [Action] {
        guard inFlight == nil else { return [] }
        guard unstoredSince != nil, let storeRetryAt else { return decideOperation(now: now) }
        // Storing credentials in use comes first, on its own backoff: a failing disk must not
        // stop tokens from being served meanwhile.
        if now >= storeRetryAt {
            self.storeRetryAt = nil
            inFlight = .store
            return [.store(stored)]
        }
        return decideOperation(now: now).map { action in
            guard case .wakeUp(let at) = action else { return action }
            return .wakeUp(at: min(at ?? storeRetryAt, storeRetryAt))
        }
    }

    private mutating func decideOperation(now: Double) -> [Action] {        if let retryAt, now < retryAt { return [.wakeUp(at: retryAt)] }
        retryAt = nil
        if let token, now >= token.expiresAt { self.token = nil }

        // A boarding file not used yet: onboard with it, even while an older identity still works.
        if let boarding, boarding.fingerprint != stored.identity?.boardingFingerprint, !stored.hasUsed(boarding.fingerprint) {
            if let expiry = boarding.expiresAt, expiry <= serverTime(now) {
                let problem = "its initial access token expired at \(Format.time(expiry)); download a new boarding file"
                var actions = [Action]()
                if boardingProblem != problem { actions.append(.log(.error, "boarding file for \(boarding.clientID): \(problem)")) }
                boardingProblem = problem
                if stored.identity == nil { return actions + [.wakeUp(at: nil)] }
            } else {
                inFlight = .register(fingerprint: boarding.fingerprint)
                return [.register(boarding, stored)]
            }
        }

        guard let identity = stored.identity, reboardingReason == nil else { return [.wakeUp(at: nil)] }

        // An expired secret cannot be rotated: only a new boarding file helps (protocol.md §5.1).
        // Judged only once the server clock is known, so a wrong local clock cannot trigger it.
        if clockOffset != nil, let expiry = identity.current.secretExpiresAt, serverTime(now) >= expiry {
            return needsReboarding(Self.expiredReason(expiry), error: nil, now: now)
        }

        let rotationDue = identity.rotationDue(fraction: policy.rotationFraction)
        let testRotationDue = policy.testRotationInterval.flatMap { interval in credentialsSince.map { now >= $0 + interval } } ?? false
        if identity.rotationInProgress || recovery == .rotateWithCurrent || recovery == .rotateWithPrevious
            || (rotationDue.map { serverTime(now) >= $0 } ?? false) || testRotationDue {
            let choice: RegistrationChoice = recovery == .rotateWithPrevious ? .previous : .current
            inFlight = .rotate(choice)
            var text = "rotating credentials"
            if identity.rotationInProgress { text += " (resuming)" } else if let expiry = identity.current.secretExpiresAt { text += "; the secret expires at \(Format.time(expiry))" }
            return [.log(.info, text), .rotate(choice, stored)]
        }

        if token == nil || now >= token!.refreshAt {
            inFlight = .token
            return [.fetchToken(identity, clockOffset: clockOffset ?? 0)]
        }

        if let configuration = dataSourcesToUpload(identity), let token {
            inFlight = .uploadDataSources
            return [.uploadDataSources(configuration, identity, accessToken: token.value, stored)]
        }

        if identity.profile == .rsa3072 && identity.pendingKeyPEM == nil {
            inFlight = .prepareKey
            return [.prepareKey(stored)]
        }

        let deadlines = [token?.refreshAt, rotationDueLocal].compactMap { $0 }
        return [.wakeUp(at: deadlines.min())]
    }

    // MARK: Helpers

    static func expiredReason(_ expiry: Double) -> String {
        "credentials expired at \(Format.time(expiry)) (the gateway was off or offline too long); drop a new boarding file into the configuration directory"
    }

    private mutating func observe(serverTime: Double?, now: Double) {
        if let serverTime { clockOffset = serverTime - now }
    }

    private mutating func succeeded() {
        failures = 0
        retryAt = nil
        offline = false
    }

    private mutating func failed(_ failure: Failure, doing operation: String, now: Double, jitter: Double) -> [Action] {
        failures += 1
        var delay = policy.backoff(failures: failures, jitter: jitter)
        if case .southgate(let error) = failure {
            if let retryAfter = error.retryAfter { delay = max(delay, retryAfter) }
            if case .transport = error.kind { offline = true }
        }
        retryAt = now + delay
        lastError = failure.description
        lastErrorAt = now
        return [.log(failures > 3 ? .warning : .notice, "\(operation) failed: \(failure); retrying in \(Format.duration(delay))")]
    }

    private mutating func needsReboarding(_ reason: String, error: String?, now: Double) -> [Action] {
        reboardingReason = reason
        token = nil
        recovery = .none
        succeeded()
        lastError = error ?? reason
        lastErrorAt = now
        return [.log(.error, reason)]
    }

    // MARK: Status

    /// One line for `STATUS=` and the log (design.md §5).
    public func statusLine(now: Double) -> String {
        var parts = [String]()
        switch phase {
        case .waitingForBoarding:
            parts.append("waiting for a boarding file")
            if let boardingProblem { parts.append(boardingProblem) }
        case .onboarding: parts.append("onboarding")
        case .rotating: parts.append("rotating credentials")
        case .needsReboarding: parts.append(reboardingReason ?? "needs a new boarding file")
        case .onboarded: parts.append("onboarded")
        }
        if phase == .onboarded || phase == .rotating {
            if let token { parts.append("token valid until \(Format.time(token.expiresAt + (clockOffset ?? 0)))") } else { parts.append("no token yet") }
            if let due = rotationDueLocal { parts.append(due > now ? "secret rotates in \(Format.duration(due - now))" : "rotation due") }
        }
        if dataSourcesProblem != nil { parts.append("data source configuration problem (see the log)") }
        if unstoredSince != nil { parts.append("credentials not stored yet, retrying (see the log)") }
        if offline, let retryAt { parts.append("offline, retrying in \(Format.duration(max(0, retryAt - now)))") }
        return parts.joined(separator: "; ")
    }
}
