public import Dispatch
import Crypto
import Glibc
public import Platform
import Synchronization
public import Southgate

/// Runs the `Lifecycle` for real: one serial work queue owns the state and the single timer;
/// network calls, key generation and durable writes run on a second serial queue and come back
/// as events. Nothing polls: the daemon wakes for the next deadline, a file change or a signal.
public final class AgentDaemon: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var boardingSource: BoardingSource
        public var store: StateStore
        public var transportOptions: TransportOptions
        public var policy: LifecyclePolicy
        public var clock: any WallClock

        public init(boardingSource: BoardingSource, store: StateStore, transportOptions: TransportOptions, policy: LifecyclePolicy, clock: any WallClock) {
            self.boardingSource = boardingSource
            self.store = store
            self.transportOptions = transportOptions
            self.policy = policy
            self.clock = clock
        }
    }

    public let work = DispatchQueue(label: "hubagent.work")
    private let effects = DispatchQueue(label: "hubagent.effects")
    private let configuration: Configuration
    private let logger: Logger
    /// Replaced on reload; read by effects on the other queue.
    private let transport: Mutex<any Transport>
    private let transportIsInjected: Bool
    /// Only touched on `work`.
    public private(set) var lifecycle: Lifecycle
    private var timer: (any DispatchSourceTimer)?
    private var lastReport: StatusReport?
    private var watcher: DirectoryWatcher?
    /// Local programs waiting for a token while one is being fetched (on `work`). `expiresAt` is
    /// on the local clock, which is the one local programs compare it with.
    public typealias TokenCompletion = @Sendable (Result<(token: Secret, expiresAt: Double), TokenUnavailable>) -> Void
    private var tokenWaiters: [TokenCompletion] = []

    /// Called on `work` whenever the status report changes (its time stamp aside).
    public var onStatusChange: (@Sendable (StatusReport) -> Void)?

    public init(configuration: Configuration, logger: Logger, transport: (any Transport)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.transport = Mutex(transport ?? CurlTransport(options: configuration.transportOptions))
        transportIsInjected = transport != nil
        lifecycle = Lifecycle(policy: configuration.policy)
    }

    /// Feeds the stored state and the boarding file to the lifecycle and starts watching the
    /// configuration directory. Returns at once; the work goes on on the queues.
    public func start(with stored: StoredState) {
        work.async { [self] in
            let timer = DispatchSource.makeTimerSource(queue: work)
            timer.setEventHandler { [weak self] in self?.handle(.wakeUp) }
            timer.schedule(wallDeadline: .distantFuture)
            timer.resume()
            self.timer = timer
            handle(.started(stored))
            handle(.dataSourcesRead(readDataSources()))
            handle(.boardingRead(configuration.boardingSource.read()))
            do {
                watcher = try DirectoryWatcher(path: configuration.boardingSource.directory, queue: work) { [weak self] names in
                    guard let self else { return }
                    if names.contains(Self.dataSourcesFileName) { handle(.dataSourcesRead(readDataSources())) }
                    if names.contains(BoardingSource.fileName) { handle(.boardingRead(configuration.boardingSource.read())) }
                }
            } catch {
                logger.warning("not watching \(configuration.boardingSource.directory) for a new boarding file (\(error)); send SIGHUP after changing it")
            }
        }
    }

    /// The status line now (on `work`).
    public var statusLine: String {
        dispatchPrecondition(condition: .onQueue(work))
        return lifecycle.statusLine(now: configuration.clock.now())
    }

    /// Applies reloaded settings (on `work`): the schedule at once, the transport from the next
    /// request on.
    public func apply(policy: LifecyclePolicy, transportOptions: TransportOptions) {
        dispatchPrecondition(condition: .onQueue(work))
        lifecycle.policy = policy
        if !transportIsInjected {
            transport.withLock { $0 = CurlTransport(options: transportOptions) }
        }
        handle(.wakeUp)
    }

    /// A valid access token for a local program (the token socket): the cached one while it is
    /// fresh; otherwise the one being fetched, shared by every waiter (design.md §4 rule 6).
    public func withAccessToken(_ completion: @escaping TokenCompletion) {
        work.async { [self] in
            let now = configuration.clock.now()
            // Fresh, or still valid while refreshing is failing and backing off: waiting for the
            // next attempt would only make the caller time out.
            if let token = lifecycle.token, now < token.refreshAt || (lifecycle.retryAt != nil && now < token.expiresAt - 5) {
                completion(.success((token.value, token.expiresAt)))
                return
            }
            switch lifecycle.phase {
            case .onboarded, .onboarding, .rotating:
                tokenWaiters.append(completion)
                if lifecycle.inFlight == nil { handle(.wakeUp) }  // a refresh due now starts now
            case .waitingForBoarding, .needsReboarding:
                completion(.failure(TokenUnavailable(reason: lifecycle.statusLine(now: now))))
            }
        }
    }

    /// After each event: a fresh token answers everyone; a failed fetch answers with the token
    /// still valid, or with the reason there is none.
    private func answerTokenWaiters(after event: Lifecycle.Event, now: Double) {
        if let token = lifecycle.token, now < token.refreshAt {
            let waiters = tokenWaiters
            tokenWaiters = []
            for waiter in waiters { waiter(.success((token.value, token.expiresAt))) }
            return
        }
        guard case .tokenFetched(.failure(let failure)) = event else {
            if lifecycle.phase == .needsReboarding || lifecycle.phase == .waitingForBoarding {
                let waiters = tokenWaiters
                tokenWaiters = []
                for waiter in waiters { waiter(.failure(TokenUnavailable(reason: lifecycle.statusLine(now: now)))) }
            }
            return
        }
        let waiters = tokenWaiters
        tokenWaiters = []
        for waiter in waiters {
            if let token = lifecycle.token, now < token.expiresAt - 5 {
                waiter(.success((token.value, token.expiresAt)))
            } else {
                waiter(.failure(TokenUnavailable(reason: failure.description)))
            }
        }
    }

    /// On stop (on `work`): credentials in use that are not on disk yet get one last attempt,
    /// since nothing else holds them after the process exits.
    public func storeBeforeExit() {
        dispatchPrecondition(condition: .onQueue(work))
        guard lifecycle.unstoredSince != nil else { return }
        do {
            let saved = try configuration.store.save(lifecycle.stored)
            logger.notice("stored the credentials in use before stopping (generation \(saved.generation))")
        } catch {
            logger.error("stopping with credentials that could not be stored (\(error)); they are lost, and the gateway may need a new boarding file")
        }
    }

    /// Reads the boarding file and the data source configuration again (SIGHUP).
    public func reloadConfigurationFiles() {
        work.async { [self] in
            handle(.dataSourcesRead(readDataSources()))
            handle(.boardingRead(configuration.boardingSource.read()))
        }
    }

    public static let dataSourcesFileName = "datasources.yaml"

    private func readDataSources() -> Result<DataSourceConfiguration, ConfigurationError>? {
        let path = configuration.boardingSource.directory + "/" + Self.dataSourcesFileName
        return ConfigurationFile.load(path, limit: 1 << 20) { (bytes) throws(ConfigurationError) in
            try DataSourceConfiguration.parse(bytes, file: path)
        }
    }

    // MARK: Event loop

    private func handle(_ event: Lifecycle.Event) {
        dispatchPrecondition(condition: .onQueue(work))
        let now = configuration.clock.now()
        let actions = lifecycle.step(event, now: now, jitter: Double.random(in: 0..<1))
        for action in actions { perform(action) }
        if !tokenWaiters.isEmpty { answerTokenWaiters(after: event, now: now) }
        var report = StatusReport(lifecycle: lifecycle, now: configuration.clock.now(), pid: getpid())
        report.updatedAt = lastReport?.updatedAt ?? report.updatedAt
        if report != lastReport {
            lastReport = report
            report.updatedAt = configuration.clock.now()
            onStatusChange?(report)
        }
    }

    private func perform(_ action: Lifecycle.Action) {
        switch action {
        case .log(let level, let message):
            logger.log(LogLevel(name: level.rawValue) ?? .info, message)
        case .wakeUp(let at):
            schedule(at: at)
        case .persist(let state):
            effects.async { [self] in
                do { try configuration.store.save(state) } catch { logger.error("storing state failed: \(error)") }
            }
        case let .register(boarding, stored):
            let offset = lifecycle.clockOffset ?? 0
            runAll { [self] in
                let (state, outcome, unstored) = register(boarding, stored: stored, clockOffset: offset)
                return [.registered(stored: state, outcome: outcome)] + (unstored.map { [.stored(state, outcome: .failure($0))] } ?? [])
            }
        case let .rotate(choice, stored):
            let offset = lifecycle.clockOffset ?? 0
            runAll { [self] in
                let (state, outcome, unstored) = rotate(using: choice, stored: stored, clockOffset: offset)
                return [.rotated(stored: state, using: choice, outcome: outcome)] + (unstored.map { [.stored(state, outcome: .failure($0))] } ?? [])
            }
        case let .fetchToken(identity, offset):
            run { [self] in .tokenFetched(fetchToken(identity, clockOffset: offset)) }
        case let .uploadDataSources(configuration, identity, token, stored):
            run { [self] in
                let (state, outcome) = uploadDataSources(configuration, identity: identity, accessToken: token, stored: stored)
                return .dataSourcesUploaded(stored: state, outcome: outcome)
            }
        case .store(let state):
            run { [self] in
                switch save(state, attempts: 1) {
                case .success(let saved): .stored(saved, outcome: .success(()))
                case .failure(let failure): .stored(state, outcome: .failure(failure))
                }
            }
        case .prepareKey(let stored):
            run { [self] in
                let (state, outcome) = prepareKey(stored)
                return .keyPrepared(stored: state, outcome: outcome)
            }
        }
    }

    /// Runs an effect off the work queue and feeds its result back as an event.
    private func run(_ effect: @escaping @Sendable () -> Lifecycle.Event) {
        runAll { [effect()] }
    }

    /// The same for an effect that reports more than one event; they are handled in order, with
    /// nothing in between.
    private func runAll(_ effect: @escaping @Sendable () -> [Lifecycle.Event]) {
        effects.async { [self] in
            let events = effect()
            work.async { [self] in for event in events { handle(event) } }
        }
    }

    private func schedule(at deadline: Double?) {
        guard let timer else { return }
        guard let deadline else {
            timer.schedule(wallDeadline: .distantFuture)
            return
        }
        // A wall-clock deadline: a clock step forward past it fires the timer, so rotation
        // follows the real date rather than the time the process has been running.
        let delay = max(0, deadline - configuration.clock.now())
        timer.schedule(wallDeadline: .now() + delay, leeway: .milliseconds(delay > 60 ? 1000 : 10))
    }

    // MARK: Effects (on the effects queue)

    private func client(_ baseURL: String) -> SouthgateClient {
        SouthgateClient(baseURL: baseURL, transport: transport.withLock { $0 })
    }

    private func save(_ state: StoredState, attempts: Int = 3) -> Result<StoredState, Lifecycle.Failure> {
        var lastError = ""
        for attempt in 1...attempts {
            do {
                return .success(try configuration.store.save(state))
            } catch {
                // fsync is never retried by itself: the whole replace is redone (design.md §9).
                lastError = error.description
                logger.warning("storing state failed (attempt \(attempt) of \(attempts)): \(error)")
            }
        }
        return .failure(.storage(lastError))
    }

    /// The state now in use, the outcome, and why that state is not on disk when the server
    /// accepted the registration but storing its answer failed.
    private func register(_ boarding: BoardingConfiguration, stored: StoredState, clockOffset: Double) -> (StoredState, Result<Double?, Lifecycle.Failure>, Lifecycle.Failure?) {
        var state = stored
        var key: RSAPrivateKey?
        var keyPEM: Secret?
        if boarding.profile == .rsa3072 {
            do {
                if let pending = state.onboarding, pending.boardingFingerprint == boarding.fingerprint, let pem = pending.keyPEM {
                    key = try RSAPrivateKey(pkcs8PEM: SecretBytes(pem.exposed))
                    keyPEM = pem
                } else {
                    let generated = try RSAPrivateKey.generate(bits: 3072)
                    key = generated
                    keyPEM = Secret(try generated.pkcs8PEM().text)
                }
            } catch {
                return (stored, .failure(.crypto(error.description)), nil)
            }
        }
        // The key must be durable before its public half leaves the gateway (design.md §4 rule 5).
        if state.onboarding != PendingOnboarding(boardingFingerprint: boarding.fingerprint, keyPEM: keyPEM) {
            state.onboarding = PendingOnboarding(boardingFingerprint: boarding.fingerprint, keyPEM: keyPEM)
            switch save(state) {
            case .success(let saved): state = saved
            case .failure(let failure): return (stored, .failure(failure), nil)
            }
        }
        let jwk: JWK?
        do {
            jwk = try key.map { $0.publicKey.jwk(kid: try UUIDv4.random()) }
        } catch {
            return (state, .failure(.crypto("\(error)")), nil)
        }
        let exchange: Exchange<ClientIdentifier>
        do {
            exchange = try client(boarding.baseURL).register(initialAccessToken: boarding.initialAccessToken.exposed, publicKey: jwk)
        } catch {
            return (state, .failure(.southgate(error)), nil)
        }
        let response = exchange.value
        if response.clientID != boarding.clientID {
            logger.warning("southgate registered client id \(response.clientID), the boarding file names \(boarding.clientID); using the server's")
        }
        let issuedAt = exchange.serverTime ?? configuration.clock.now() + clockOffset
        let registration = Registration(
            clientSecret: response.clientSecret.map(Secret.init), privateKeyPEM: keyPEM,
            registrationAccessToken: Secret(response.registrationAccessToken), registrationClientURI: response.registrationClientURI,
            secretExpiresAt: response.clientSecretExpiresAt.map(Double.init), issuedAt: issuedAt)
        var next = state
        if let old = next.identity { next.archivedIdentity = old }
        next.identity = Identity(profile: boarding.profile, clientID: response.clientID, tenant: boarding.tenant,
                                 baseURL: boarding.baseURL, boardingFingerprint: boarding.fingerprint, current: registration)
        next.onboarding = nil
        next.markUsed(boarding.fingerprint)
        switch save(next) {
        case .success(let saved):
            return (saved, .success(exchange.serverTime), nil)
        case .failure(let failure):
            // The server consumed the IAT: these credentials are the only ones there are. Use
            // them from memory while the lifecycle retries storing them.
            return (next, .success(exchange.serverTime), failure)
        }
    }

    /// Like `register`: the state in use, the outcome, and why it is not on disk.
    private func rotate(using choice: Lifecycle.RegistrationChoice, stored: StoredState, clockOffset: Double) -> (StoredState, Result<Double?, Lifecycle.Failure>, Lifecycle.Failure?) {
        guard var identity = stored.identity else { return (stored, .failure(.storage("no identity to rotate")), nil) }
        var state = stored
        var key: RSAPrivateKey?
        do {
            if identity.profile == .rsa3072 {
                if let pem = identity.pendingKeyPEM {
                    key = try RSAPrivateKey(pkcs8PEM: SecretBytes(pem.exposed))
                } else {
                    let generated = try RSAPrivateKey.generate(bits: 3072)
                    key = generated
                    identity.pendingKeyPEM = Secret(try generated.pkcs8PEM().text)
                }
            }
        } catch {
            return (stored, .failure(.crypto(error.description)), nil)
        }
        // Durable before the PUT: a crash or a lost answer repeats the same PUT (design.md §4 rule 5).
        if !identity.rotationInProgress || identity.pendingKeyPEM != stored.identity?.pendingKeyPEM {
            identity.rotationInProgress = true
            state.identity = identity
            switch save(state) {
            case .success(let saved): state = saved
            case .failure(let failure): return (stored, .failure(failure), nil)
            }
        }
        let authorizing = choice == .current ? identity.current : (identity.previous ?? identity.current)
        let jwk: JWK?
        do {
            jwk = try key.map { $0.publicKey.jwk(kid: try UUIDv4.random()) }
        } catch {
            return (state, .failure(.crypto("\(error)")), nil)
        }
        let exchange: Exchange<ClientIdentifier>
        do {
            exchange = try client(identity.baseURL).rotate(
                registrationClientURI: authorizing.registrationClientURI, registrationAccessToken: authorizing.registrationAccessToken.exposed,
                clientID: identity.clientID, publicKey: jwk)
        } catch {
            return (state, .failure(.southgate(error)), nil)
        }
        let response = exchange.value
        let registration = Registration(
            clientSecret: response.clientSecret.map(Secret.init), privateKeyPEM: identity.pendingKeyPEM,
            registrationAccessToken: Secret(response.registrationAccessToken), registrationClientURI: response.registrationClientURI,
            secretExpiresAt: response.clientSecretExpiresAt.map(Double.init),
            issuedAt: exchange.serverTime ?? configuration.clock.now() + clockOffset)
        var next = state
        // The server now accepts the RAT this rotation was made with, besides the new one
        // (protocol.md §5.2): that registration becomes `previous`.
        identity.previous = authorizing
        identity.current = registration
        identity.pendingKeyPEM = nil
        identity.rotationInProgress = false
        next.identity = identity
        switch save(next) {
        case .success(let saved):
            return (saved, .success(exchange.serverTime), nil)
        case .failure(let failure):
            // The server already replaced the secret, so the old one no longer gets tokens: use
            // the new one from memory while the lifecycle retries storing it. Should the process
            // die first, the stored in-progress rotation repeats the PUT with the same RAT,
            // which the server still accepts; no request that would void that RAT goes out
            // before this state is stored (the next rotation stores first).
            return (next, .success(exchange.serverTime), failure)
        }
    }

    /// PUT with the stored eTag; on 412 compare with the server's copy and overwrite it when it
    /// differs, because the file is the source of truth (design.md §6).
    private func uploadDataSources(_ dataSources: DataSourceConfiguration, identity: Identity, accessToken: Secret, stored: StoredState) -> (StoredState, Result<Void, Lifecycle.Failure>) {
        let southgate = client(identity.baseURL)
        let body = dataSources.canonicalJSON
        var uploaded: StoredDataSourceConfiguration
        do {
            do {
                uploaded = try southgate.putDataSourceConfiguration(agentID: identity.clientID, accessToken: accessToken.exposed,
                                                                    body: body, ifMatch: stored.dataSourceETag(for: identity.clientID)).value
            } catch where error.kind == .preconditionFailed {
                let server = try southgate.dataSourceConfiguration(agentID: identity.clientID, accessToken: accessToken.exposed).value
                if DataSourceConfiguration.fromCanonicalJSON(server.json) == dataSources {
                    logger.info("the server's data source configuration already matches the file (eTag \(server.eTag))")
                    uploaded = server
                } else {
                    logger.notice("the data source configuration was changed in Insights Hub (eTag \(server.eTag)); overwriting it with \(Self.dataSourcesFileName)")
                    uploaded = try southgate.putDataSourceConfiguration(agentID: identity.clientID, accessToken: accessToken.exposed,
                                                                        body: body, ifMatch: server.eTag).value
                }
            }
        } catch {
            return (stored, .failure(.southgate(error)))
        }
        var state = stored
        state.dataSources = DataSourceRecord(clientID: identity.clientID, contentHash: dataSources.contentHash,
                                             configurationID: dataSources.configurationID, eTag: uploaded.eTag,
                                             uploadedAt: configuration.clock.now())
        switch save(state) {
        case .success(let saved): return (saved, .success(()))
        case .failure(let failure): return (stored, .failure(failure))
        }
    }

    private func prepareKey(_ stored: StoredState) -> (StoredState, Result<Void, Lifecycle.Failure>) {
        var state = stored
        do {
            state.identity?.pendingKeyPEM = Secret(try RSAPrivateKey.generate(bits: 3072).pkcs8PEM().text)
        } catch {
            return (stored, .failure(.crypto("\(error)")))
        }
        switch save(state) {
        case .success(let saved): return (saved, .success(()))
        case .failure(let failure): return (stored, .failure(failure))
        }
    }

    /// Caches the parsed RSA key of the current registration; parsing a PEM per token is waste.
    private var cachedKey: (pem: Secret, key: RSAPrivateKey)?

    private func fetchToken(_ identity: Identity, clockOffset: Double) -> Result<Lifecycle.TokenGrant, Lifecycle.Failure> {
        let signer: JWS.Signer
        do {
            switch identity.profile {
            case .sharedSecret:
                guard let secret = identity.current.clientSecret else { return .failure(.crypto("no client secret stored")) }
                signer = .hs256(key: SecretBytes(secret.exposed))
            case .rsa3072:
                guard let pem = identity.current.privateKeyPEM else { return .failure(.crypto("no private key stored")) }
                if let cachedKey, cachedKey.pem == pem {
                    signer = .rs256(cachedKey.key)
                } else {
                    let key = try RSAPrivateKey(pkcs8PEM: SecretBytes(pem.exposed))
                    cachedKey = (pem, key)
                    signer = .rs256(key)
                }
            }
            let issuedAt = Int64((configuration.clock.now() + clockOffset).rounded(.down))
            let assertion = try ClientAssertion.make(clientID: identity.clientID, tenant: identity.tenant, issuedAt: issuedAt,
                                                     jti: try UUIDv4.random(), signer: signer)
            let exchange = try client(identity.baseURL).token(clientAssertion: assertion)
            return .success(Lifecycle.TokenGrant(value: Secret(exchange.value.accessToken), expiresIn: Double(exchange.value.expiresIn),
                                                 serverTime: exchange.serverTime))
        } catch let error as SouthgateError {
            return .failure(.southgate(error))
        } catch {
            return .failure(.crypto("\(error)"))
        }
    }
}

/// Why no access token can be handed out now.
public struct TokenUnavailable: Error, Sendable {
    public var reason: String
}

extension SecretBytes {
    /// The bytes as text, for a PEM that is stored in the state file.
    var text: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}
