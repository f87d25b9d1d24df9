import Crypto
public import Dispatch
public import Platform
public import Southgate

/// Runs the `Lifecycle` for real: one serial work queue owns the state and the single timer;
/// `Effects` performs network calls, key generation and durable writes on a second serial queue,
/// and their results come back as events. Nothing polls: the daemon wakes for the next deadline,
/// a file change or a signal.
// @unchecked: every mutable property is touched only on `work` (each entry point hops there or
// checks it with dispatchPrecondition); `effects` and `actions` are Sendable.
public final class AgentDaemon: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var boardingSource: BoardingSource
        public var store: StateStore
        public var transportOptions: TransportOptions
        public var policy: LifecyclePolicy
        public var clock: any WallClock

        public init(
            boardingSource: BoardingSource, store: StateStore, transportOptions: TransportOptions,
            policy: LifecyclePolicy,
            clock: any WallClock
        ) {
            self.boardingSource = boardingSource
            self.store = store
            self.transportOptions = transportOptions
            self.policy = policy
            self.clock = clock
        }
    }

    public let work = DispatchQueue(label: "hubagent.work")
    private let effectsQueue = DispatchQueue(label: "hubagent.effects")
    private let configuration: Configuration
    private let logger: Logger
    private let effects: Effects
    /// Only touched on `work`.
    public private(set) var lifecycle: Lifecycle
    private var timer: (any DispatchSourceTimer)?
    private var lastReport: StatusReport?
    private var watcher: DirectoryWatcher?
    /// Local programs waiting for a token while one is being fetched (on `work`). `expiresAt` is
    /// on the gateway's clock, which is the one local programs compare it with.
    public typealias TokenCompletion = @Sendable (Result<(token: Secret, expiresAt: Double), TokenUnavailable>) -> Void
    private var tokenWaiters: [TokenCompletion] = []

    /// States handed to the effects queue to store and not yet stored (on `work`).
    private var persistsInFlight = 0

    /// Set once a stop was asked for: what to call when it may proceed.
    private var stopping: (@Sendable () -> Void)?
    private var stopDeadline: (any DispatchSourceTimer)?

    /// Called on `work` whenever the status report changes (its time stamp aside).
    public var onStatusChange: (@Sendable (StatusReport) -> Void)?
    /// Called on `work` whenever what the relay needs to upload changes (docs/relay.md §2, §4).
    public var onUploadContextChange: (@Sendable (UploadContext?) -> Void)?
    private var lastUploadContext: UploadContext?

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        effects = Effects(
            store: configuration.store, clock: configuration.clock, logger: logger,
            transport: CurlTransport(options: configuration.transportOptions))
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
                watcher = try DirectoryWatcher(path: configuration.boardingSource.directory, queue: work) {
                    [weak self] names in
                    guard let self else { return }
                    if names.contains(Layout.FileName.dataSources) { handle(.dataSourcesRead(readDataSources())) }
                    if names.contains(BoardingSource.fileName) {
                        handle(.boardingRead(configuration.boardingSource.read()))
                    }
                }
            } catch {
                logger.warning(
                    "not watching \(configuration.boardingSource.directory) for a new boarding file (\(error)); send "
                        + "SIGHUP after changing it"
                )
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
        effects.replaceTransport(CurlTransport(options: transportOptions))
        handle(.wakeUp)
    }

    /// A valid access token for a local program (the token socket), as `Lifecycle.tokenAnswer`
    /// decides: the cached one, or the one being fetched, shared by every waiter.
    public func withAccessToken(_ completion: @escaping TokenCompletion) {
        work.async { [self] in
            let now = configuration.clock.now()
            switch lifecycle.tokenAnswer(now: now) {
            case .token(let value, let expiresAt):
                completion(.success((value, expiresAt)))
            case .unavailable(let reason):
                completion(.failure(TokenUnavailable(reason: reason)))
            case .wait:
                tokenWaiters.append(completion)
                if lifecycle.inFlight == nil { handle(.wakeUp) }  // a refresh due now starts now
            }
        }
    }

    /// The exchange endpoint refused `token` (401): the next token request gets a new one.
    public func refuseAccessToken(_ token: Secret) {
        work.async { [self] in handle(.tokenRefused(token)) }
    }

    private func answerTokenWaiters(after event: Lifecycle.Event, now: Double) {
        let answer = lifecycle.tokenAnswerForWaiters(after: event, now: now)
        if answer == .wait { return }
        let waiters = tokenWaiters
        tokenWaiters = []
        for waiter in waiters {
            switch answer {
            case .token(let value, let expiresAt): waiter(.success((value, expiresAt)))
            case .unavailable(let reason): waiter(.failure(TokenUnavailable(reason: reason)))
            case .wait: break
            }
        }
    }

    /// On stop (on `work`): credentials in use that are not on disk yet get one last attempt,
    /// since nothing else holds them after the process exits.
    private func storeBeforeExit() {
        dispatchPrecondition(condition: .onQueue(work))
        guard lifecycle.unstored != nil else { return }
        do {
            let saved = try configuration.store.save(lifecycle.stored)
            logger.notice("stored the credentials in use before stopping (generation \(saved.generation))")
        } catch {
            logger.error(
                "stopping with credentials that could not be stored (\(error)); they are lost, and the gateway may "
                    + "need a new boarding file"
            )
        }
    }

    /// Stops (on `work`), then calls `finish` on `work`. An onboarding or a rotation in flight is
    /// waited for, up to `timeout` seconds: southgate may already have accepted it, and its answer
    /// is then the only copy of the new credentials (after onboarding, the IAT is used up). Nothing
    /// new is started meanwhile; credentials in use that are not on disk get a last attempt.
    public func stop(within timeout: Double, then finish: @escaping @Sendable () -> Void) {
        dispatchPrecondition(condition: .onQueue(work))
        guard stopping == nil else { return }
        stopping = finish
        guard isCredentialRequestInFlight || persistsInFlight > 0 else { return finishStop() }
        let what =
            !isCredentialRequestInFlight
            ? "the state being stored"
            : "southgate's answer to the \(lifecycle.phase == .onboarding ? "onboarding" : "rotation") in flight"
        logger.notice("waiting up to \(Format.duration(timeout)) for \(what)")
        let deadline = DispatchSource.makeTimerSource(queue: work)
        deadline.setEventHandler { [weak self] in
            self?.logger.warning("no answer to the \(what) within \(Format.duration(timeout)); stopping without it")
            self?.finishStop()
        }
        deadline.schedule(wallDeadline: .now() + timeout)
        deadline.resume()
        stopDeadline = deadline
    }

    private var isCredentialRequestInFlight: Bool {
        switch lifecycle.inFlight {
        case .register?, .rotate?: true
        default: false
        }
    }

    /// Once nothing that carries new credentials is in flight.
    private func finishStopIfSettled() {
        if stopping != nil, !isCredentialRequestInFlight, persistsInFlight == 0 { finishStop() }
    }

    /// Calls `finish` once: effects answered after this (a token fetch, a key) find it done.
    private func finishStop() {
        guard let finish = stopping, !stopFinished else { return }
        stopFinished = true
        stopDeadline?.cancel()
        storeBeforeExit()
        finish()
    }

    private var stopFinished = false

    /// Reads the boarding file and the data source configuration again (SIGHUP).
    public func reloadConfigurationFiles() {
        work.async { [self] in
            handle(.dataSourcesRead(readDataSources()))
            handle(.boardingRead(configuration.boardingSource.read()))
        }
    }

    private func readDataSources() -> Result<DataSourceConfiguration, ConfigurationError>? {
        let path = configuration.boardingSource.directory + "/" + Layout.FileName.dataSources
        return ConfigurationFile.load(path, limit: Layout.Limit.dataSources) { (bytes) throws(ConfigurationError) in
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
        var report = StatusReport(lifecycle: lifecycle, now: configuration.clock.now(), pid: ProcessControl.id)
        report.updatedAt = lastReport?.updatedAt ?? report.updatedAt
        if report != lastReport {
            lastReport = report
            report.updatedAt = configuration.clock.now()
            onStatusChange?(report)
        }
        let context = UploadContext(lifecycle)
        if context != lastUploadContext {
            lastUploadContext = context
            onUploadContextChange?(context)
        }
    }

    private func perform(_ action: Lifecycle.Action) {
        if stopping != nil {
            // Stopping: log what the lifecycle says and store what it wants kept (here, before the
            // process ends), start nothing new.
            switch action {
            case .log(let level, let message): logger.log(LogLevel(name: level.rawValue) ?? .info, message)
            case .persist(let state): effects.persist(state)
            default: break
            }
            return
        }
        switch action {
        case .log(let level, let message):
            logger.log(LogLevel(name: level.rawValue) ?? .info, message)
        case .wakeUp(let at):
            schedule(at: at)
        case .persist(let state):
            // In order with the other effects (a later state must land later); a stop waits for
            // it, or a marker such as "this boarding file was used" could be lost.
            persistsInFlight += 1
            effectsQueue.async { [self] in
                effects.persist(state)
                work.async { [self] in
                    persistsInFlight -= 1
                    finishStopIfSettled()
                }
            }
        case .register(let boarding, let stored):
            let serverClock = lifecycle.session.clock
            runAll { [effects] in effects.register(boarding, stored: stored, serverClock: serverClock) }
        case .rotate(let choice, let stored):
            let serverClock = lifecycle.session.clock
            runAll { [effects] in effects.rotate(using: choice, stored: stored, serverClock: serverClock) }
        case .fetchToken(let identity, let offset):
            run { [effects] in effects.fetchToken(identity, clockOffset: offset) }
        case .uploadDataSources(let dataSources, let identity, let token, let stored):
            run { [effects] in
                effects.uploadDataSources(dataSources, identity: identity, accessToken: token, stored: stored)
            }
        case .store(let state):
            run { [effects] in effects.storeInUse(state) }
        case .prepareKey(let stored):
            run { [effects] in effects.prepareKey(stored) }
        }
    }

    /// Runs an effect off the work queue and feeds its result back as an event.
    private func run(_ effect: @escaping @Sendable () -> Lifecycle.Event) {
        runAll { [effect()] }
    }

    /// The same for an effect that reports more than one event; they are handled in order, with
    /// nothing in between.
    private func runAll(_ effect: @escaping @Sendable () -> [Lifecycle.Event]) {
        effectsQueue.async { [self] in
            let events = effect()
            work.async { [self] in
                for event in events { handle(event) }
                finishStopIfSettled()
            }
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
}

/// What the relay needs from the agent to check and upload values: where to, as whom, against
/// which data source configuration, and southgate's clock (docs/relay.md §2, §4).
public struct UploadContext: Equatable, Sendable {
    public var baseURL: String
    public var agentID: String
    /// The configuration in force (`Lifecycle.dataSourcesInForce`); nil: values are refused (503).
    public var dataSources: DataSourceConfiguration?
    /// Southgate's clock minus the gateway's, seconds; nil until an answer told it.
    public var serverClockOffset: Double?
    /// The stored state's generation: it changes with new credentials, after which a refused
    /// token is worth trying again.
    public var generation: Int
    /// When the access token in hand expires (gateway clock): it changes with every new token.
    public var tokenExpiresAt: Double?

    public init(
        baseURL: String, agentID: String, dataSources: DataSourceConfiguration?, serverClockOffset: Double?,
        generation: Int = 0, tokenExpiresAt: Double? = nil
    ) {
        self.baseURL = baseURL
        self.agentID = agentID
        self.dataSources = dataSources
        self.serverClockOffset = serverClockOffset
        self.generation = generation
        self.tokenExpiresAt = tokenExpiresAt
    }

    /// Nil while there is no identity, or one that needs a new boarding file.
    init?(_ lifecycle: Lifecycle) {
        guard let identity = lifecycle.stored.identity, lifecycle.phase != .needsReboarding else { return nil }
        self.init(
            baseURL: identity.baseURL, agentID: identity.clientID, dataSources: lifecycle.dataSourcesInForce,
            serverClockOffset: lifecycle.session.clock.offset?.rounded(), generation: lifecycle.stored.generation,
            tokenExpiresAt: lifecycle.session.token?.expiresAt)
    }
}

/// Why no access token can be handed out now.
public struct TokenUnavailable: Error, Sendable {
    public var reason: String
}
