import Agent
import Glibc
import JSON
import Platform
import Southgate

/// `hubagent check [--json] [--online]`: diagnostics, one check per file under `Checks/`, each
/// with a stable id. It only reads: nothing is written, and no credential is printed.
enum CheckCommand {
    static let help = """
        Usage: hubagent check [--json] [--online] [options]

        Diagnoses this gateway: one line per check with its status (OK, WARN, FAIL or SKIP), a
        stable id and what was found; under anything not OK, the fix. It only reads: nothing is
        written, no credential is printed, and each network step gives up after 5 s.

        Checks, in this order:
          config.boarding     boarding.json parses (not needed once an identity is stored)
          config.datasources  datasources.yaml parses, when there is one
          config.settings     hubagent.conf parses, when there is one; the CA bundle can be read
          state.permissions   state directory 0700, its files 0600, all of one owner
          boarding.expiry     an unused boarding file's initial access token has not expired
          network.dns         the southgate host resolves
          network.tls         TCP + TLS handshake with southgate, through the proxy if one is
                              set, verified with the CA in use (a GET of oauth/token_key)
          clock.offset        this clock against southgate's: WARN above 60 s, FAIL above 300 s
          token.roundtrip     with --online only: one real token request with the stored
                              credentials (it counts against southgate's rate limits)
          systemd.unit        under systemd: hubagent.service active, its watchdog set

        The southgate URL is the stored identity's, else the boarding file's; without either,
        the network checks are skipped.

        Options:
          --json              one JSON object: {"checks":[{"id","status","message","fix"}],
                              "fails":N,"warnings":N}; "fix" is null when there is none
          --online            also run token.roundtrip
          --config-dir DIR    as for `hubagent run` (default $CONFIGURATION_DIRECTORY, else \(Layout.defaultConfigurationDirectory))
          --state-dir DIR     as for `hubagent run` (default $STATE_DIRECTORY, else \(Layout.defaultStateDirectory))
          --runtime-dir DIR   as for `hubagent run` (default $RUNTIME_DIRECTORY, else \(Layout.defaultRuntimeDirectory))
          --ca-file FILE      extra trusted CA bundle (PEM), as ca_file in hubagent.conf

        Run it as the user hubagent runs as, or as root.
        Exit status: the number of FAILs (0 when healthy, at most 63), 64 usage.
        """

    /// Every check, in the order they run and are shown. Ids are stable: scripts match on them.
    static var checks: [any HealthCheck.Type] {
        [
            ConfigBoardingCheck.self, ConfigDataSourcesCheck.self, ConfigSettingsCheck.self,
            StatePermissionsCheck.self, BoardingExpiryCheck.self,
            NetworkDNSCheck.self, NetworkTLSCheck.self, ClockOffsetCheck.self, TokenRoundTripCheck.self,
            SystemdUnitCheck.self,
        ]
    }

    /// The exit status counts FAILs, kept below 64 so that it is never read as a usage error.
    static let maximumExitStatus: Int32 = 63

    static func main(_ arguments: [String]) -> Int32 {
        let options: Options
        do {
            options = try Options(arguments, valued: ["config-dir", "state-dir", "runtime-dir", "ca-file"], switches: ["json", "online"])
            if let extra = options.positional.first { throw Options.UsageError(description: "unexpected argument '\(extra)'") }
        } catch {
            Output.error("hubagent check: \(error); see `hubagent help check`")
            return ExitCode.usage
        }
        let context = CheckContext(options: options, environment: ProcessEnvironment.current)
        let secrets = context.proxyCredentials
        let results = checks.map { check in
            var result = check.run(context)
            result.id = check.id
            // Belt and braces: a proxy password must not reach the output even inside an error
            // text of libcurl's.
            for secret in secrets {
                result.message = result.message.replacing(secret, with: "<redacted>")
                result.fix = result.fix?.replacing(secret, with: "<redacted>")
            }
            return result
        }
        let fails = results.count { $0.status == .fail }
        let warnings = results.count { $0.status == .warn }
        if options.flags.contains("json") {
            Output.line(json(results, fails: fails, warnings: warnings).serialized)
        } else {
            Output.line(table(results, fails: fails, warnings: warnings))
        }
        return min(Int32(fails), maximumExitStatus)
    }

    /// `STATUS  id  message`, aligned, the fix on an indented line below, a count at the end.
    static func table(_ results: [CheckResult], fails: Int, warnings: Int) -> String {
        let idWidth = results.map(\.id.count).max() ?? 0
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var lines = [String]()
        for result in results {
            lines.append(pad(result.status.rawValue, 4) + "  " + pad(result.id, idWidth) + "  " + result.message)
            if let fix = result.fix {
                lines.append(String(repeating: " ", count: 4 + 2 + idWidth + 2) + "fix: " + fix)
            }
        }
        lines.append("")
        lines.append("\(fails) \(fails == 1 ? "failure" : "failures"), \(warnings) \(warnings == 1 ? "warning" : "warnings") in \(results.count) checks")
        return lines.joined(separator: "\n")
    }

    static func json(_ results: [CheckResult], fails: Int, warnings: Int) -> JSONValue {
        .object([
            ("checks", .array(results.map { result in
                .object([
                    ("id", .string(result.id)), ("status", .string(result.status.rawValue)),
                    ("message", .string(result.message)), ("fix", result.fix.map(JSONValue.string) ?? .null),
                ])
            })),
            ("fails", .number(Double(fails))),
            ("warnings", .number(Double(warnings))),
        ])
    }
}

/// One diagnostic. `id` is stable (shown, and matched on by scripts); `run` only reads.
protocol HealthCheck {
    static var id: String { get }
    static func run(_ context: CheckContext) -> CheckResult
}

/// What a check found: a one-line message and, unless OK, a one-line fix.
struct CheckResult {
    enum Status: String { case ok = "OK", warn = "WARN", fail = "FAIL", skip = "SKIP" }

    var id = ""
    var status: Status
    var message: String
    var fix: String?

    init(_ status: Status, _ message: String, fix: String? = nil) {
        self.status = status
        self.message = Self.oneLine(message)
        self.fix = fix.map(Self.oneLine)
    }

    static func ok(_ message: String) -> CheckResult { CheckResult(.ok, message) }
    static func warn(_ message: String, fix: String) -> CheckResult { CheckResult(.warn, message, fix: fix) }
    static func fail(_ message: String, fix: String) -> CheckResult { CheckResult(.fail, message, fix: fix) }
    static func skip(_ message: String, fix: String) -> CheckResult { CheckResult(.skip, message, fix: fix) }

    private static func oneLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 }))
    }
}

/// What the checks share, each piece read or fetched once, on first use: the settings, the
/// boarding file, the stored state, and one GET of southgate's `oauth/token_key` (TLS and clock).
final class CheckContext {
    /// Every network step (name resolution, connection, TLS, request) gives up after this long.
    static let networkTimeout = 5.0

    let options: Options
    let environment: [String: String]
    let layout: Layout
    let online: Bool
    let clock = SystemWallClock()

    init(options: Options, environment: [String: String]) {
        self.options = options
        self.environment = environment
        layout = options.layout(environment: environment)
        online = options.flags.contains("online")
    }

    var boardingSource: BoardingSource { BoardingSource(directory: layout.configurationDirectory) }

    /// hubagent.conf with --ca-file on top, as `run` reads it.
    private(set) lazy var settingsFile: Result<Settings, ConfigurationError> = RunCommand.loadSettings(layout.settingsFile, options: options)

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

    enum StateLoad {
        case missing
        case unreadable(String)
        case loaded(StateStore.Loaded)
    }

    /// The stored state, read with the daemon's own checks.
    private(set) lazy var state: StateLoad = {
        let path = layout.stateDirectory
        var info = stat()
        guard stat(path, &info) == 0 else {
            return errno == ENOENT ? .missing : .unreadable("\(path): \(SystemError.message(for: errno))")
        }
        func load(_ location: String) -> StateLoad {
            do throws(StorageError) {
                let directory = try StateDirectory(path: location, create: false)
                return .loaded(try StateStore(directory: directory).load())
            } catch {
                return .unreadable(error.description)
            }
        }
        guard geteuid() == 0, info.st_uid != 0 else { return load(path) }
        // Root, on the service user's directory (systemd's DynamicUser): read it with that user's
        // effective ids, so the daemon's checks hold it to the service user's standard, not
        // root's. The directory is opened as root first and reached through /proc/self/fd,
        // because its parent (/var/lib/private, 0700 root) is closed to that user.
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return .unreadable("\(path): \(SystemError.message(for: errno))") }
        defer { close(descriptor) }
        let handle = "/proc/self/fd/\(descriptor)"
        switch Self.asOwner(uid: info.st_uid, gid: info.st_gid, { load(handle) }) {
        case .missing: return .missing
        case .unreadable(let reason): return .unreadable(reason.replacing(handle, with: path))
        case .loaded(var loaded):
            loaded.skipped = loaded.skipped.map { $0.replacing(handle, with: path) }
            return .loaded(loaded)
        }
    }()

    var identity: Identity? {
        if case .loaded(let loaded) = state { return loaded.state.identity }
        return nil
    }

    /// "no identity stored", or why the state could not be read: for messages of other checks.
    var noIdentityReason: String {
        if case .unreadable = state { return "the stored state cannot be read (see state.permissions)" }
        return "no identity stored"
    }

    /// Runs `body` with the effective uid and gid of `uid`/`gid` (root only), then as root again.
    static func asOwner<Value>(uid: uid_t, gid: gid_t, _ body: () -> Value) -> Value {
        guard setegid(gid) == 0 else { return body() }
        guard seteuid(uid) == 0 else {
            _ = setegid(0)
            return body()
        }
        defer {
            _ = seteuid(0)
            _ = setegid(0)
        }
        return body()
    }

    /// Southgate's base URL: the stored identity's, else the boarding file's.
    var southgate: (url: String, source: String)? {
        if let identity { return (identity.baseURL, "the stored identity") }
        if let boarding = validBoarding { return (boarding.baseURL, "the boarding file") }
        return nil
    }

    /// Why the network checks are skipped, when they are.
    static let noSouthgate = CheckResult.skip("no southgate URL: no stored identity and no valid boarding file",
                                              fix: "put the boarding file from Asset Manager in place (see config.boarding)")

    var endpoint: Endpoint? { southgate.flatMap { Endpoint(url: $0.url) } }

    /// The transport as the daemon configures it, with every step bounded by `networkTimeout`.
    var transportOptions: TransportOptions {
        var options = RunCommand.transportOptions(settings)
        options.timeout = min(options.timeout, Self.networkTimeout)
        return options
    }

    /// How the extra CA bundle was given: `--ca-file` or `ca_file` (hubagent.conf).
    var caFileOrigin: String { options.values["ca-file"] != nil ? "--ca-file" : "ca_file" }

    /// "the system CA store and /x (ca_file)", or "the system CA store".
    var caDescription: String {
        settings.caFile.map { "the system CA store and \($0) (\(caFileOrigin))" } ?? "the system CA store"
    }

    /// The proxy libcurl will use for `host`, as the operator may see it (credentials removed);
    /// nil for a direct connection.
    func proxy(for host: String) -> String? {
        let settings = settings
        let candidates = [settings.proxy, environment["https_proxy"], environment["HTTPS_PROXY"], environment["all_proxy"], environment["ALL_PROXY"]]
        guard let proxy = candidates.compactMap({ $0 }).first(where: { !$0.isEmpty }) else { return nil }
        let noProxy = settings.noProxy ?? environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
        let name = host.lowercased()
        for entry in noProxy.split(separator: ",") {
            var pattern = String(entry.filter { $0 != " " && $0 != "\t" }).lowercased()
            if pattern == "*" { return nil }
            while pattern.hasPrefix(".") { pattern.removeFirst() }
            if !pattern.isEmpty && (name == pattern || name.hasSuffix("." + pattern)) { return nil }
        }
        return Self.withoutCredentials(proxy)
    }

    /// The `user:password` parts of every proxy URL in play, and the passwords alone.
    var proxyCredentials: [String] {
        let urls = [settings.proxy, environment["https_proxy"], environment["HTTPS_PROXY"], environment["all_proxy"], environment["ALL_PROXY"]]
        var found = [String]()
        for url in urls.compactMap({ $0 }) {
            let schemeEnd = url.firstRange(of: "://")?.upperBound ?? url.startIndex
            let authority = url[schemeEnd...].prefix { $0 != "/" }
            guard let at = authority.lastIndex(of: "@") else { continue }
            let userinfo = authority[..<at]
            found.append(String(userinfo))
            if let colon = userinfo.firstIndex(of: ":") { found.append(String(userinfo[userinfo.index(after: colon)...])) }
        }
        // Longest first, so that user:password goes as a whole before its password alone.
        return found.filter { $0.count >= 3 }.sorted { $0.count > $1.count }
    }

    /// `http://user:password@proxy:3128` → `http://proxy:3128`: a proxy password is a secret.
    static func withoutCredentials(_ url: String) -> String {
        let schemeEnd = url.firstRange(of: "://")?.upperBound ?? url.startIndex
        let rest = url[schemeEnd...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd]) + String(rest[rest.index(after: at)...])
    }

    struct Probe {
        var url: String
        var result: Result<HTTPResponse, TransportError>
        /// Local clock when the request left and when its answer arrived.
        var sentAt: Double
        var receivedAt: Double
    }

    /// One unauthenticated GET of `<baseUrl>/api/agentmanagement/v3/oauth/token_key`: it proves
    /// DNS, TCP, proxy and TLS as the daemon would use them, and brings the server's clock.
    private(set) lazy var probe: Probe? = {
        guard let southgate else { return nil }
        var base = southgate.url
        while base.hasSuffix("/") { base.removeLast() }
        let url = base + "/api/agentmanagement/v3/oauth/token_key"
        let transport = CurlTransport(options: transportOptions)
        let sentAt = clock.now()
        let result: Result<HTTPResponse, TransportError>
        do throws(TransportError) {
            result = .success(try transport.perform(HTTPRequest(method: .get, url: url, headers: [("Accept", "application/json")])))
        } catch {
            result = .failure(error)
        }
        return Probe(url: url, result: result, sentAt: sentAt, receivedAt: clock.now())
    }()
}

/// Host and port of an `https://` URL.
struct Endpoint: Equatable, CustomStringConvertible {
    var host: String
    var port: Int

    init?(url: String) {
        guard let schemeEnd = url.firstRange(of: "://")?.upperBound else { return nil }
        var authority = url[schemeEnd...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else { return nil }
            self.port = port
        } else {
            port = url.lowercased().hasPrefix("http://") ? 80 : 443
        }
        guard !host.isEmpty else { return nil }
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension ConfigurationError {
    /// `file:line:column: message`, without the fix (a check shows that on its own line).
    var checkMessage: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return "\(location): \(message)"
    }
}


