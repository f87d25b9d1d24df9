import Agent
import Dispatch
import Platform
import Southgate
import Synchronization

/// `hubagent run`: the daemon in the foreground.
enum RunCommand {
    static let help = """
        Usage: hubagent run [options]

        Runs the agent in the foreground, as systemd starts it. It onboards the gateway from the
        boarding file, keeps an access token fresh and rotates the credentials before they
        expire. Waiting for a boarding file or for the network is a state, not an error.

        Options:
          --config-dir DIR    boarding.json, hubagent.conf
                              (default $CONFIGURATION_DIRECTORY, else \(Layout.defaultConfigurationDirectory))
          --state-dir DIR     credentials, mode 0700
                              (default $STATE_DIRECTORY, else \(Layout.defaultStateDirectory))
          --runtime-dir DIR   status and token socket
                              (default $RUNTIME_DIRECTORY, else \(Layout.defaultRuntimeDirectory))
          --ca-file FILE      extra trusted CA bundle (PEM), as ca_file in hubagent.conf
          --log-level LEVEL   error, warning, notice, info (default) or debug

        Files in the configuration directory: boarding.json (from Asset Manager), datasources.yaml
        (the data source configuration, uploaded when it changes) and hubagent.conf (settings).
        boarding.json and datasources.yaml are also picked up when they change on disk.

        Signals: SIGTERM stops; SIGHUP reads all three files again (a broken new file is
        reported and what runs is kept).
        Exit status: 0 stopped, 64 usage, 78 configuration error (fix it, then start again), 1 other.
        """

    static func main(_ arguments: [String]) -> Int32 {
        let options: Options
        do {
            options = try Options(
                arguments, valued: ["config-dir", "state-dir", "runtime-dir", "ca-file", "log-level"], switches: [])
        } catch {
            Output.error("hubagent run: \(error); see `hubagent help run`")
            return ExitCode.usage
        }
        let environment = ProcessEnvironment.current
        let layout = options.layout(environment: environment)
        let logger = Logger(minimum: .info)
        let serviceManager = ServiceManager(environment: environment)
        // Before any credential is read (docs/design.md §5): no core dump or ptrace of a process
        // that holds keys, a closed stderr is not death, and every descriptor the hard limit allows.
        ProcessHardening.ignoreBrokenPipe()
        do { try ProcessHardening.disableCoreDumps() } catch { logger.warning("\(error); core dumps stay possible") }
        do { try ProcessHardening.raiseDescriptorLimit() } catch { logger.warning("\(error)") }
        // Before any other thread: two malloc arenas bound what a drain keeps (MemoryRelease).
        MemoryRelease.limitArenas(2)

        /// A configuration problem a restart cannot fix: say it, tell systemd, exit 78.
        func configurationError(
            _ message: String, cause: ServiceManager.FailureCause = .invalidConfiguration
        ) -> Int32 {
            logger.error(message)
            serviceManager.failing(cause, status: "configuration error: " + message)
            return ExitCode.configuration
        }

        if let name = options.values["log-level"], LogLevel(name: name) == nil {
            Output.error("hubagent run: --log-level must be one of error, warning, notice, info, debug")
            return ExitCode.usage
        }
        let settingsPath = layout.settingsFile
        let settings: Settings
        switch options.settings(at: settingsPath) {
        case .success(let loaded): settings = loaded
        case .failure(let error): return configurationError(error.description)
        }
        logger.level = settings.logLevel

        let directory: StateDirectory
        let loaded: StateStore.Loaded
        let store: StateStore
        let lock: StateLock
        do {
            directory = try StateDirectory(path: layout.stateDirectory)
            // Before anything in the directory is touched (temp files included): a second daemon
            // on it would rotate against the first and drop its identity (docs/design.md §9).
            do {
                lock = try directory.lock()
            } catch {
                if case .held = error { return configurationError("state directory: \(error)", cause: .busy) }
                logger.error("state directory: \(error)")
                return ExitCode.failure
            }
            store = StateStore(directory: directory)
            for name in directory.removeStaleTemporaryFiles() {
                logger.notice("removed \(directory.pathOf(name)), left behind by an interrupted write")
            }
            loaded = try store.load()
        } catch {
            if case .insecure = error { return configurationError("state directory: \(error)", cause: .insecure) }
            if case .system(let failure) = error, failure.isPermissionDenied || failure.isNotADirectory {
                return configurationError("state directory: \(error)", cause: .system(failure))
            }
            logger.error("state directory: \(error)")
            return ExitCode.failure
        }
        for problem in loaded.skipped {
            logger.error("ignoring unreadable state \(problem); continuing from the generation before it")
        }

        #if HUBAGENT_TEST_HOOKS
            if environment["HUBAGENT_TEST_HOOKS"] == "1", let text = environment["HUBAGENT_TEST_STORAGE_FAULT"] {
                // Test-only, installed after the state is loaded so that positions count the
                // daemon's own writes (Tests/System/storage_faults.py).
                guard let faults = StorageFaultHook(text, directory: layout.stateDirectory, logger: logger) else {
                    Output.error(
                        "hubagent run: HUBAGENT_TEST_STORAGE_FAULT must be SYSCALL:ERRNO:N[..M|+][,...], found "
                            + "\"\(text)\""
                    )
                    return ExitCode.usage
                }
                faults.install()
            }
        #endif

        // Under the unit, systemd reads the root-only boarding file and hands it over (docs/design.md §3).
        let boardingSource = BoardingSource(
            directory: layout.configurationDirectory, credentialsDirectory: environment["CREDENTIALS_DIRECTORY"])
        if loaded.state.identity == nil {
            switch boardingSource.read() {
            case .failure(let error)?:
                // Without an identity to keep running on, a broken boarding file is fatal.
                return configurationError(error.description)
            case .success(let configuration)?:
                if let expiry = configuration.expiresAt, expiry <= SystemWallClock().now(),
                    !loaded.state.hasUsed(configuration.fingerprint)
                {
                    return configurationError(
                        "\(boardingSource.path): the initial access token expired at \(Format.time(expiry)); download "
                            + "a new boarding file from Asset Manager"
                    )
                }
            case nil:
                logger.notice("waiting for a boarding file at \(boardingSource.path)")
            }
        }

        let daemon = AgentDaemon(
            configuration: .init(
                boardingSource: boardingSource, store: store, transportOptions: settings.transportOptions,
                policy: policy(settings), clock: SystemWallClock()),
            logger: logger)
        let runtime: StateDirectory?
        do {
            runtime = try StateDirectory(path: layout.runtimeDirectory, isPrivate: false)
        } catch {
            logger.warning("runtime directory: \(error); `hubagent status` will not see this daemon")
            runtime = nil
        }
        let publisher = StatusPublisher(
            runtime: runtime, serviceManager: serviceManager, logger: logger, clock: SystemWallClock())
        // Start-up pages go back to the kernel once things are quiet (docs/platform-notes.md swift §6).
        let idleRelease = IdleMemoryRelease(logger: logger)
        daemon.onStatusChange = {
            publisher.agentChanged($0)
            idleRelease.noteActivity()
        }
        let relay =
            settings.relay.enabled
            ? RelaySlot.forRun(
                layout: layout, settings: settings, agent: daemon, logger: logger,
                onStatusChange: {
                    publisher.relayChanged($0)
                    idleRelease.noteActivity()
                }) : nil
        if let relay { daemon.onUploadContextChange = { relay.update($0) } }

        // Set once the sockets are open; a socket systemd made stays when the daemon stops.
        let openSockets = Mutex<[UnixStreamServer]>([])
        let signals = SignalHandling()
        signals.install(.terminate, queue: daemon.work) {
            serviceManager.stopping()
            logger.notice("stopping on SIGTERM")
            // Within systemd's TimeoutStopSec (20 s in the unit), with room to store the answer;
            // the relay finishes or abandons its upload meanwhile (its journal keeps the rest).
            RelaySlot.stop(relay, agent: daemon) {
                openSockets.withLock { sockets in
                    for socket in sockets { socket.removeSocketFile() }
                }
                // _exit, not exit: atexit handlers would tear down OpenSSL under a key generation
                // still running on the effects queue. Nothing is buffered (logs are write(2)), and
                // whatever is in flight is crash-safe by design, so there is nothing to flush.
                ProcessControl.exitImmediately(ExitCode.ok)
            }
        }
        signals.install(.hangUp, queue: daemon.work) {
            serviceManager.reloading()
            switch options.settings(at: settingsPath) {
            case .success(let reloaded):
                logger.level = reloaded.logLevel
                if reloaded.relay != settings.relay {
                    logger.warning("relay settings changed in \(settingsPath); they take effect at the next restart")
                }
                daemon.apply(policy: policy(reloaded), transportOptions: reloaded.transportOptions)
                logger.notice(
                    "reloaded \(settingsPath): log_level \(reloaded.logLevel.name), rotation_fraction "
                        + "\(Format.number(reloaded.rotationFraction)), request_timeout "
                        + "\(Format.number(reloaded.requestTimeout)) s"
                )
            case .failure(let error):
                // A broken new file must not stop a working gateway: keep what runs, say why.
                logger.error("\(error); keeping the running settings")
            }
            daemon.reloadConfigurationFiles()
            daemon.work.async { serviceManager.ready(status: daemon.statusLine) }
        }
        let watchdog = Watchdog(serviceManager: serviceManager, queue: daemon.work, logger: logger)
        #if HUBAGENT_TEST_HOOKS
            if environment["HUBAGENT_TEST_HOOKS"] == "1" {
                // Test-only: lets the system tests prove that systemd catches a wedged work queue. The
                // release binary leaves SIGUSR1 at its default action (it ends the process).
                signals.install(.user1, queue: daemon.work) {
                    logger.warning("test hook: watchdog pings stopped")
                    watchdog.stop()
                }
            }
        #endif

        logger.notice(
            "hubagent \(HubAgentVersion.string) starting; state in \(layout.stateDirectory), configuration in "
                + "\(layout.configurationDirectory)"
        )
        // The socket is bound first: binding sets the process umask for a moment, which must not
        // meet a state file being created on the daemon's queues (ListeningSocket.bind). It
        // accepts only once the daemon has started, so no request is answered from a daemon that
        // has not yet read its state.
        let tokenSocket =
            runtime == nil
            ? nil : TokenSocket.open(path: layout.tokenSocket, settings: settings, daemon: daemon, logger: logger)
        let dataSocket =
            runtime == nil
            ? nil : DataSocket.open(path: layout.dataSocket, settings: settings.relay, relay: relay, logger: logger)
        let loopback = relay.flatMap {
            DataSocket.openLoopback(
                settings: settings.relay, relay: $0, configurationDirectory: layout.configurationDirectory,
                credentialsDirectory: environment["CREDENTIALS_DIRECTORY"], logger: logger)
        }
        openSockets.withLock { $0 = [tokenSocket, dataSocket, loopback].compactMap { $0 } }
        daemon.start(with: loaded.state)
        tokenSocket?.start()
        relay?.start()
        dataSocket?.start()
        loopback?.start()
        // READY once the state is loaded and the work loop runs, never after network success:
        // boot must not wait for the cloud (docs/design.md §5).
        daemon.work.async {
            serviceManager.ready(status: daemon.statusLine)
            watchdog.start()
        }
        withExtendedLifetime((signals, daemon, watchdog, tokenSocket, lock, relay, dataSocket, loopback)) {
            dispatchMain()
        }
    }

    static func policy(_ settings: Settings) -> LifecyclePolicy {
        var policy = LifecyclePolicy()
        policy.rotationFraction = settings.rotationFraction
        policy.tokenRefreshMargin = settings.tokenRefreshMargin
        #if HUBAGENT_TEST_HOOKS
            let environment = ProcessEnvironment.current
            if environment["HUBAGENT_TEST_HOOKS"] == "1" {
                // Test-only: the soak run's fast cycles (Tests/System/soak.py).
                policy.testRotationInterval = environment["HUBAGENT_TEST_ROTATION_INTERVAL"].flatMap(Double.init)
                policy.testTokenRefreshInterval = environment["HUBAGENT_TEST_TOKEN_REFRESH_INTERVAL"].flatMap(
                    Double.init)
            }
        #endif
        return policy
    }
}
