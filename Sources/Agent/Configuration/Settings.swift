public import Platform
public import Southgate

/// `hubagent.conf`: `key = value` lines, `#` comments (docs/design.md §7). Every key is optional.
public struct Settings: Equatable, Sendable {
    public var caFile: String?
    public var proxy: String?
    public var noProxy: String?
    /// Rotate when this fraction of the secret's lifetime has passed (docs/design.md §4 rule 4); the
    /// default is the lifecycle's own.
    public var rotationFraction: Double = LifecyclePolicy().rotationFraction
    /// Refresh the access token at least this long before it expires (docs/design.md §4 rule 6).
    public var tokenRefreshMargin: Double = LifecyclePolicy().tokenRefreshMargin
    /// Total deadline for one HTTPS request.
    public var requestTimeout: Double = 30
    public var logLevel: LogLevel = .info
    public var tokenSocketGroup: String?
    /// The data relay's settings (docs/relay.md §5).
    public var relay = RelaySettings()

    public init() {}

    public static let keys =
        [
            "ca_file", "proxy", "no_proxy", "rotation_fraction", "token_refresh_margin",
            "request_timeout", "log_level", "token_socket_group",
        ] + RelaySettings.keys

    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> Settings {
        var settings = Settings()
        var seen = Set<String>()
        // Split on the scalar: Swift reads "\r\n" as one Character, which a Character split misses.
        for (index, rawLine) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let lineNumber = index + 1
            let line = String(String.UnicodeScalarView(rawLine)).trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(
                    file: file, line: lineNumber, message: "expected `key = value`, found \"\(line)\"")
            }
            let key = line[..<equals].trimmingSpaces()
            let value = line[line.index(after: equals)...].trimmingSpaces()
            func fail(_ message: String) -> ConfigurationError {
                ConfigurationError(file: file, line: lineNumber, column: nil, message: message)
            }
            guard keys.contains(key) else {
                throw ConfigurationError(
                    file: file, line: lineNumber, message: "unknown setting \"\(key)\"",
                    fix: "known settings: \(keys.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw fail("\(key) is set twice") }
            guard !value.isEmpty else { throw fail("\(key) has no value") }
            func number(_ range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
                guard let number = Double(value), range.contains(number) else {
                    throw fail(
                        "\(key) must be a number from \(Format.number(range.lowerBound)) to "
                            + "\(Format.number(range.upperBound)), found \"\(value)\""
                    )
                }
                return number
            }
            switch key {
            case "ca_file":
                guard value.hasPrefix("/") else { throw fail("ca_file must be an absolute path") }
                settings.caFile = value
            case "proxy": settings.proxy = value
            case "no_proxy": settings.noProxy = value
            case "rotation_fraction": settings.rotationFraction = try number(0.1...0.9)
            case "token_refresh_margin": settings.tokenRefreshMargin = try number(0...3000)
            case "request_timeout": settings.requestTimeout = try number(1...600)
            case "log_level":
                guard let level = LogLevel(name: value) else {
                    throw fail("log_level must be one of error, warning, notice, info, debug")
                }
                settings.logLevel = level
            case "token_socket_group": settings.tokenSocketGroup = value
            case _ where RelaySettings.keys.contains(key):
                do { try settings.relay.set(key, value) } catch { throw fail(error.message) }
            default: break
            }
        }
        return settings
    }
}

extension Settings {
    /// The transport as these settings configure it, for the daemon and for `hubagent check`.
    public var transportOptions: TransportOptions {
        TransportOptions(
            caFile: caFile, caFileLimit: Layout.Limit.caBundle, proxy: proxy, noProxy: noProxy, timeout: requestTimeout,
            userAgent: "hubagent/\(HubAgentVersion.string)")
    }

    /// `hubagent.conf` at `path`: nil when there is none (every setting is optional).
    public static func read(_ path: String) -> Result<Settings?, ConfigurationError> {
        let loaded = ConfigurationFile.load(path, limit: Layout.Limit.settings) { (bytes) throws(ConfigurationError) in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ConfigurationError(file: path, message: "is not UTF-8 text")
            }
            return try Settings.parse(text, file: path)
        }
        switch loaded {
        case nil: return .success(nil)
        case .success(let settings)?: return .success(settings)
        case .failure(let error)?: return .failure(error)
        }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" || first == "\r" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" || last == "\r" { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
