public import JSON
import Platform

/// What `status.json` in the runtime directory says, and `hubagent status` shows: the agent's
/// state for people and scripts, never a credential. Field names are stable
/// (docs/status.md).
public struct StatusReport: Equatable, Sendable {
    public var state: String
    public var summary: String
    public var clientID: String?
    public var tenant: String?
    public var profile: String?
    public var southgate: String?
    /// Epoch seconds on the server's clock, like the credentials they describe.
    public var secretExpiresAt: Double?
    public var nextRotationAt: Double?
    public var tokenExpiresAt: Double?
    /// Server clock minus local clock, seconds; nil until a response told us.
    public var clockOffset: Double?
    public var offline: Bool
    public var dataSourcesConfigurationID: String?
    public var dataSourcesETag: String?
    public var dataSourcesUploadedAt: Double?
    public var problems: [String]
    public var lastError: String?
    public var lastErrorAt: Double?
    public var pid: Int32?
    /// The data relay's block (docs/status.md), when the relay is on.
    public var relay: JSONValue?
    public var version: String
    public var updatedAt: Double

    public init(lifecycle: Lifecycle, now: Double, pid: Int32?) {
        let identity = lifecycle.stored.identity
        let clock = lifecycle.session.clock
        state = lifecycle.phase.rawValue
        summary = lifecycle.statusLine(now: now)
        clientID = identity?.clientID
        tenant = identity?.tenant
        profile = identity?.profile.rawValue
        southgate = identity?.baseURL
        secretExpiresAt = identity?.current.secretExpiresAt
        nextRotationAt = identity?.rotationDue(fraction: lifecycle.policy.rotationFraction)?.seconds
        tokenExpiresAt = lifecycle.session.token.map { clock.serverTime(at: $0.expiresAt).seconds }
        clockOffset = clock.offset
        offline = lifecycle.retry.offline
        if let record = lifecycle.stored.dataSources, record.clientID == identity?.clientID {
            dataSourcesConfigurationID = record.configurationID
            dataSourcesETag = record.eTag
            dataSourcesUploadedAt = record.uploadedAt
        }
        problems = lifecycle.problems
        lastError = lifecycle.health.lastError
        lastErrorAt = lifecycle.health.lastErrorAt
        self.pid = pid
        version = HubAgentVersion.string
        updatedAt = now
    }

    public var json: JSONValue {
        func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func number(_ value: Double?) -> JSONValue { value.map(JSONValue.number) ?? .null }
        return .object([
            ("state", .string(state)), ("summary", .string(summary)),
            ("clientId", string(clientID)), ("tenant", string(tenant)), ("profile", string(profile)),
            ("southgate", string(southgate)),
            ("secretExpiresAt", number(secretExpiresAt)), ("nextRotationAt", number(nextRotationAt)),
            ("tokenExpiresAt", number(tokenExpiresAt)), ("clockOffset", number(clockOffset)),
            ("offline", .bool(offline)),
            (
                "dataSources",
                dataSourcesConfigurationID == nil
                    ? .null
                    : .object([
                        ("configurationId", string(dataSourcesConfigurationID)), ("eTag", string(dataSourcesETag)),
                        ("uploadedAt", number(dataSourcesUploadedAt)),
                    ])
            ),
            ("problems", .array(problems.map(JSONValue.string))),
            (
                "lastError",
                lastError == nil ? .null : .object([("message", string(lastError)), ("at", number(lastErrorAt))])
            ),
            ("pid", pid.map { .number(Double($0)) } ?? .null), ("relay", relay ?? .null), ("version", .string(version)),
            ("updatedAt", .number(updatedAt)),
        ])
    }

    public init?(json: JSONValue) {
        guard let state = json["state"]?.stringValue, let summary = json["summary"]?.stringValue,
            let version = json["version"]?.stringValue, let updatedAt = json["updatedAt"]?.numberValue
        else { return nil }
        self.state = state
        self.summary = summary
        clientID = json["clientId"]?.stringValue
        tenant = json["tenant"]?.stringValue
        profile = json["profile"]?.stringValue
        southgate = json["southgate"]?.stringValue
        secretExpiresAt = json["secretExpiresAt"]?.numberValue
        nextRotationAt = json["nextRotationAt"]?.numberValue
        tokenExpiresAt = json["tokenExpiresAt"]?.numberValue
        clockOffset = json["clockOffset"]?.numberValue
        offline = json["offline"]?.boolValue ?? false
        dataSourcesConfigurationID = json["dataSources"]?["configurationId"]?.stringValue
        dataSourcesETag = json["dataSources"]?["eTag"]?.stringValue
        dataSourcesUploadedAt = json["dataSources"]?["uploadedAt"]?.numberValue
        problems = json["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
        lastError = json["lastError"]?["message"]?.stringValue
        lastErrorAt = json["lastError"]?["at"]?.numberValue
        pid = json["pid"]?.int64Value.map { Int32($0) }
        if let relay = json["relay"], relay != .null { self.relay = relay }
        self.version = version
        self.updatedAt = updatedAt
    }

    /// The aligned block `hubagent status` prints; `now` for the "in 3d 4h" parts.
    /// `more` rows follow the report's own (the relay's line).
    public func humanReadable(now: Double, running: Bool, more: [(label: String, value: String)] = []) -> String {
        func at(_ time: Double?, serverClock: Bool = true) -> String {
            guard let time else { return "-" }
            let local = serverClock ? ServerClock(offset: clockOffset).gatewayTime(of: ServerTime(time)) : time
            let delta = local - now
            return
                "\(Format.time(time)) "
                + "(\(delta >= 0 ? "in " + Format.duration(delta) : Format.duration(-delta) + " ago"))"
        }
        var rows: [(String, String)] = [
            ("state", running ? state : "\(state) (daemon not running)"),
            ("summary", summary),
            ("agent id", clientID ?? "-"), ("tenant", tenant ?? "-"), ("profile", profile ?? "-"),
            ("southgate", southgate ?? "-"),
            ("secret expires", at(secretExpiresAt)), ("next rotation", at(nextRotationAt)),
            ("access token", tokenExpiresAt.map { "valid until " + at($0) } ?? "none"),
            (
                "clock offset",
                clockOffset.map { ($0 >= 0 ? "+" : "") + Format.number($0) + " s (southgate minus this gateway)" }
                    ?? "unknown yet"
            ),
            (
                "data sources",
                dataSourcesConfigurationID.map {
                    "\($0), eTag \(dataSourcesETag ?? "-"), uploaded \(at(dataSourcesUploadedAt, serverClock: false))"
                } ?? "not uploaded"
            ),
        ]
        for problem in problems { rows.append(("problem", problem)) }
        rows.append(("last error", lastError.map { "\($0) (\(at(lastErrorAt, serverClock: false)))" } ?? "none"))
        return Format.aligned(rows + more)
    }
}

extension StatusReport {
    /// What the daemon last wrote to `status.json` at `path`; nil when there is no such file or
    /// it is not a status report.
    public static func read(_ path: String) -> StatusReport? {
        guard case .success(let bytes)? = ConfigurationFile.read(path, limit: Layout.Limit.status),
            let json = try? JSONValue.parse(bytes)
        else { return nil }
        return StatusReport(json: json)
    }
}
