import Agent
import Dispatch
import Glibc
import Platform
import Southgate

/// `hubagent run`: the daemon in the foreground.
enum RunCommand {
    static let help = """
        Usage: hubagent run [options]

        Runs the agent in the foreground, as systemd starts it. It onboards the gateway from the
        boarding file, keeps an access token fresh and rotates the credentials before they
        expire. Waiting for a boarding file or for the network is a state, not an error.

        Options:
          --config-dir DIR    boarding.json, hubagent.conf (default $CONFIGURATION_DIRECTORY, else /etc/hubagent)
          --state-dir DIR     credentials, mode 0700 (default $STATE_DIRECTORY, else /var/lib/hubagent)
          --runtime-dir DIR   status and token socket (default $RUNTIME_DIRECTORY, else /run/hubagent)
          --ca-file FILE      extra trusted CA bundle (PEM), as ca_file in hubagent.conf
          --log-level LEVEL   error, warning, notice, info (default) or debug

        Signals: SIGTERM stops; SIGHUP reads the boarding file again.
        Exit status: 0 stopped, 64 usage, 78 configuration error (fix it, then start again), 1 other.
        """

    struct Directories {
        var config: String
        var state: String
        var runtime: String

        /// Flags win over systemd's variables, which win over the defaults (design.md §2).
        init(_ options: Options, environment: [String: String]) {
            func pick(_ flag: String, _ variable: String, _ fallback: String) -> String {
                if let value = options.values[flag] { return value }
                // systemd may list several directories separated by ':'; ours is the first.
                if let value = environment[variable], let first = value.split(separator: ":").first { return String(first) }
                return fallback
            }
            config = pick("config-dir", "CONFIGURATION_DIRECTORY", "/etc/hubagent")
            state = pick("state-dir", "STATE_DIRECTORY", "/var/lib/hubagent")
            runtime = pick("runtime-dir", "RUNTIME_DIRECTORY", "/run/hubagent")
        }
    }

    static func main(_ arguments: [String]) -> Int32 {
        let options: Options
        do {
            options = try Options(arguments, valued: ["config-dir", "state-dir", "runtime-dir", "ca-file", "log-level"], switches: [])
        } catch {
            Output.error("hubagent run: \(error); see `hubagent help run`")
            return ExitCode.usage
        }
        let environment = ProcessEnvironment.current
        let directories = Directories(options, environment: environment)
        let logger = Logger(minimum: .info)

        var settings = Settings()
        let settingsPath = directories.config + "/hubagent.conf"
        switch SettingsFile.read(settingsPath) {
        case .success(let read?): settings = read
        case .success(nil): break
        case .failure(let error):
            logger.error(error.description)
            return ExitCode.configuration
        }
        if let name = options.values["log-level"] {
            guard let level = LogLevel(name: name) else {
                Output.error("hubagent run: --log-level must be one of error, warning, notice, info, debug")
                return ExitCode.usage
            }
            settings.logLevel = level
        }
        logger.level = settings.logLevel
        if let caFile = options.values["ca-file"] { settings.caFile = caFile }

        let directory: StateDirectory
        let loaded: StateStore.Loaded
        let store: StateStore
        do {
            directory = try StateDirectory(path: directories.state)
            store = StateStore(directory: directory)
            for name in directory.removeStaleTemporaryFiles() {
                logger.notice("removed \(directory.pathOf(name)), left behind by an interrupted write")
            }
            loaded = try store.load()
        } catch {
            logger.error("state directory: \(error)")
            if case .insecure = error { return ExitCode.configuration }
            if case .system(let failure) = error, failure.errno == EACCES || failure.errno == ENOTDIR { return ExitCode.configuration }
            return ExitCode.failure
        }
        for problem in loaded.skipped {
            logger.error("ignoring unreadable state \(problem); continuing from the generation before it")
        }

        let boardingSource = BoardingSource(directory: directories.config)
        let boarding = boardingSource.read()
        if loaded.state.identity == nil {
            switch boarding {
            case .failure(let error)?:
                // Without an identity to keep running on, a broken boarding file is fatal.
                logger.error(error.description)
                return ExitCode.configuration
            case .success(let configuration)?:
                if let expiry = configuration.expiresAt, expiry <= SystemWallClock().now(), !loaded.state.hasUsed(configuration.fingerprint) {
                    logger.error("\(boardingSource.path): the initial access token expired at \(Format.time(expiry)); download a new boarding file from Asset Manager")
                    return ExitCode.configuration
                }
            case nil:
                logger.notice("waiting for a boarding file at \(boardingSource.path)")
            }
        }

        var policy = LifecyclePolicy()
        policy.rotationFraction = settings.rotationFraction
        policy.tokenRefreshMargin = settings.tokenRefreshMargin
        let transportOptions = TransportOptions(
            caFile: settings.caFile, proxy: settings.proxy, noProxy: settings.noProxy,
            timeout: settings.requestTimeout, userAgent: "hubagent/\(HubAgentVersion.string)")
        let daemon = AgentDaemon(
            configuration: .init(boardingSource: boardingSource, store: store, transportOptions: transportOptions,
                                 policy: policy, clock: SystemWallClock()),
            logger: logger)
        daemon.onStatusChange = { status in logger.debug("status: \(status)") }

        let signals = SignalHandling()
        signals.install(SIGTERM, queue: daemon.work) {
            logger.notice("stopping on SIGTERM")
            exit(ExitCode.ok)
        }
        signals.install(SIGHUP, queue: daemon.work) {
            logger.notice("SIGHUP: reading the boarding file again")
            daemon.reloadBoarding()
        }
        logger.notice("hubagent \(HubAgentVersion.string) starting; state in \(directories.state), configuration in \(directories.config)")
        daemon.start(with: loaded.state)
        withExtendedLifetime((signals, daemon)) { dispatchMain() }
    }
}

/// `hubagent.conf`, optional.
enum SettingsFile {
    static func read(_ path: String) -> Result<Settings?, ConfigurationError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return .success(nil) }
            return .failure(ConfigurationError(file: path, message: "cannot be read: \(SystemError.message(for: errno))"))
        }
        defer { close(fd) }
        do {
            let bytes = try Syscall.readAll(fd, limit: 64 * 1024, subject: path)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(ConfigurationError(file: path, message: "is not UTF-8 text"))
            }
            return .success(try Settings.parse(text, file: path))
        } catch let error as ConfigurationError {
            return .failure(error)
        } catch {
            return .failure(ConfigurationError(file: path, message: "cannot be read: \(error)"))
        }
    }
}
