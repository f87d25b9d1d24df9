import Agent
import Platform
import Southgate

/// What the checks share, each piece read or fetched once, on first use: the settings, the
/// boarding file, the stored state (`StoredStateReader`), the proxy route (`ProxyRoute`) and one
/// GET of southgate's `oauth/token_key` (`SouthgateProbe`, for TLS and clock).
final class CheckContext {
    /// Every network step (name resolution, connection, TLS, request) gives up after this long.
    static let networkTimeout = 5.0

    let options: Options
    let environment: [String: String]
    let layout: Layout
    let online: Bool
    let clock: any WallClock

    init(options: Options, environment: [String: String], clock: any WallClock = SystemWallClock()) {
        self.options = options
        self.environment = environment
        self.clock = clock
        layout = options.layout(environment: environment)
        online = options.flags.contains("online")
    }

    var boardingSource: BoardingSource { BoardingSource(directory: layout.configurationDirectory) }

    /// hubagent.conf with --ca-file on top, as `run` reads it.
    private(set) lazy var settingsFile: Result<Settings, ConfigurationError> = options.settings(at: layout.settingsFile)

    /// The settings the network checks use: a broken hubagent.conf stops the daemon (config.settings
    /// says so); the network is still checked with the defaults and --ca-file.
    var settings: Settings {
        if case .success(let settings) = settingsFile { return settings }
        var settings = Settings()
        if let caFile = options.values["ca-file"] { settings.caFile = caFile }
        return settings
    }

    /// nil when there is no boarding file.
    private(set) lazy var boarding: Result<BoardingConfiguration, ConfigurationError>? = boardingSource.read()

    var validBoarding: BoardingConfiguration? {
        if case .success(let boarding)? = boarding { return boarding }
        return nil
    }

    /// The stored state, read with the daemon's own checks.
    private(set) lazy var state: StoredStateReader.Outcome = StoredStateReader.read(layout.stateDirectory)

    var identity: Identity? {
        if case .loaded(let loaded) = state { return loaded.state.identity }
        return nil
    }

    /// "no identity stored", or why the state could not be read: for messages of other checks.
    var noIdentityReason: String {
        if case .unreadable = state { return "the stored state cannot be read (see state.permissions)" }
        return "no identity stored"
    }

    /// Southgate's base URL: the stored identity's, else the boarding file's.
    var southgate: (url: String, source: String)? {
        if let identity { return (identity.baseURL, "the stored identity") }
        if let boarding = validBoarding { return (boarding.baseURL, "the boarding file") }
        return nil
    }

    /// Why the network checks are skipped, when they are.
    static let noSouthgate = CheckResult.skip(
        "no southgate URL: no stored identity and no valid boarding file",
        fix: "put the boarding file from Asset Manager in place (see config.boarding)")

    /// The transport as the daemon configures it, with every step bounded by `networkTimeout`.
    var transportOptions: TransportOptions {
        var options = settings.transportOptions
        options.timeout = min(options.timeout, Self.networkTimeout)
        return options
    }

    /// How the extra CA bundle was given: `--ca-file` or `ca_file` (hubagent.conf).
    var caFileOrigin: String { options.values["ca-file"] != nil ? "--ca-file" : "ca_file" }

    /// "the system CA store and /x (ca_file)", or "the system CA store".
    var caDescription: String {
        settings.caFile.map { "the system CA store and \($0) (\(caFileOrigin))" } ?? "the system CA store"
    }

    /// Which proxy libcurl uses, from the settings and the environment.
    var proxyRoute: ProxyRoute { ProxyRoute(settings: settings, environment: environment) }

    /// The proxy libcurl will use for `host`, credentials removed; nil for a direct connection.
    func proxy(for host: String) -> String? { proxyRoute.proxy(for: host) }

    /// One unauthenticated GET of `oauth/token_key`, made on first use; nil without a southgate URL.
    private(set) lazy var probe: SouthgateProbe? = southgate.map {
        SouthgateProbe.fetch(baseURL: $0.url, options: transportOptions, clock: clock)
    }
}
