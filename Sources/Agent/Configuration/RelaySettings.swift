/// The data relay's settings in `hubagent.conf` (docs/relay.md §5). Every key is optional; the
/// relay is off until `relay = on`, so that an upgrade never opens a new socket on its own.
public struct RelaySettings: Equatable, Sendable {
    public enum FullPolicy: String, Sendable, CaseIterable {
        /// Delete the oldest whole segment, counting its records (docs/relay.md §3).
        case dropOldest = "drop_oldest"
        /// Refuse new records with 507 until there is room.
        case rejectNew = "reject_new"
    }

    public enum Durability: Equatable, Sendable {
        /// A 202 only once the records are on disk (group commit).
        case sync
        /// Answer first, fdatasync at this interval (seconds): a power cut loses up to it.
        case interval(Double)
    }

    public var enabled = false
    public var dataSocketGroup: String?
    /// A loopback address and port.
    public struct Address: Equatable, Sendable {
        public var host: String
        public var port: UInt16
    }

    /// Loopback address and port of the optional HTTP listener, e.g. `127.0.0.1:8765`.
    public var ingestListen: Address?
    public var ingestKeyFile: String?
    public var ingestMaxRequest = 1 << 20
    public var maxDisk: Int64 = 256 << 20
    public var fullPolicy = FullPolicy.dropOldest
    /// Seconds; nil = records never expire.
    public var maxAge: Double?
    public var durability = Durability.sync
    public var batchBytes = 1 << 20
    public var flushInterval: Double = 5
    /// Bytes per second; nil = unlimited.
    public var uploadRate: Int?
    /// How far ahead of southgate's clock a timestamp may be, in seconds.
    public var maxFuture: Double = 86_400

    public init() {}

    /// The exchange accepts at most 10,485,760 bytes (docs/protocol.md §14); a batch leaves room
    /// for the multipart framing.
    public static let batchCeiling = 10_485_760 - 64 * 1024
    public static let minimumDisk: Int64 = 8 << 20

    public static let keys = [
        "relay", "data_socket_group", "ingest_listen", "ingest_key_file", "ingest_max_request", "relay_max_disk",
        "relay_full_policy", "relay_max_age", "relay_durability", "relay_batch_bytes", "relay_flush_interval",
        "relay_upload_rate", "max_future",
    ]

    /// Applies one `key = value` line; the message of a thrown error says what is accepted.
    mutating func set(_ key: String, _ value: String) throws(RelaySettingError) {
        switch key {
        case "relay":
            guard value == "on" || value == "off" else { throw .init("relay must be on or off") }
            enabled = value == "on"
        case "data_socket_group": dataSocketGroup = value
        case "ingest_listen": ingestListen = try Self.loopbackAddress(value)
        case "ingest_key_file":
            guard value.hasPrefix("/") else { throw .init("ingest_key_file must be an absolute path") }
            ingestKeyFile = value
        case "ingest_max_request": ingestMaxRequest = Int(try Self.size(value, key: key, in: 1024...(10 << 20)))
        case "relay_max_disk": maxDisk = try Self.size(value, key: key, in: Self.minimumDisk...(1 << 40))
        case "relay_full_policy":
            guard let policy = FullPolicy(rawValue: value) else {
                throw .init("relay_full_policy must be drop_oldest or reject_new")
            }
            fullPolicy = policy
        case "relay_max_age":
            maxAge = value == "off" ? nil : try Self.duration(value, key: key, in: 60...(366 * 86_400))
        case "relay_durability":
            if value == "sync" {
                durability = .sync
            } else if value.hasPrefix("interval:") {
                let interval = try Self.duration(String(value.dropFirst(9)), key: key, in: 0.001...60)
                durability = .interval(interval)
            } else {
                throw .init("relay_durability must be sync or interval:<duration>, e.g. interval:200ms")
            }
        case "relay_batch_bytes":
            batchBytes = Int(try Self.size(value, key: key, in: 4096...Int64(Self.batchCeiling)))
        case "relay_flush_interval": flushInterval = try Self.duration(value, key: key, in: 0.01...3600)
        case "relay_upload_rate":
            uploadRate = value == "off" ? nil : Int(try Self.size(value, key: key, in: 1024...(1 << 30)))
        case "max_future": maxFuture = try Self.duration(value, key: key, in: 0...(366 * 86_400))
        default: throw .init("unknown relay setting \(key)")
        }
    }

    /// Bytes with an optional binary unit: `1048576`, `512KiB`, `256 MiB`, `1GiB`.
    static func size(_ text: String, key: String, in range: ClosedRange<Int64>) throws(RelaySettingError) -> Int64 {
        let units: [(suffix: String, factor: Int64)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
        var digits = Substring(text)
        var factor: Int64 = 1
        for unit in units where digits.hasSuffix(unit.suffix) {
            digits = digits.dropLast(unit.suffix.count)
            factor = unit.factor
            break
        }
        while digits.last == " " { digits = digits.dropLast() }
        guard let number = Int64(digits), number >= 0, number <= range.upperBound / factor,
            range.contains(number * factor)
        else {
            throw .init(
                "\(key) must be a size from \(range.lowerBound) to \(range.upperBound) bytes (units B, KiB, MiB, GiB), "
                    + "found \"\(text)\"")
        }
        return number * factor
    }

    /// Seconds with an optional unit: `5`, `500ms`, `5s`, `10m`, `2h`, `1d`.
    static func duration(_ text: String, key: String, in range: ClosedRange<Double>) throws(RelaySettingError)
        -> Double
    {
        let units: [(suffix: String, factor: Double)] = [
            ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400),
        ]
        var digits = Substring(text)
        var factor = 1.0
        for unit in units where digits.hasSuffix(unit.suffix) {
            digits = digits.dropLast(unit.suffix.count)
            factor = unit.factor
            break
        }
        while digits.last == " " { digits = digits.dropLast() }
        guard let number = Double(digits), number.isFinite, range.contains(number * factor) else {
            throw .init(
                "\(key) must be a duration from \(Format.duration(range.lowerBound)) to "
                    + "\(Format.duration(range.upperBound)) (units ms, s, m, h, d), found \"\(text)\"")
        }
        return number * factor
    }

    /// `127.0.0.1:PORT` or `[::1]:PORT`: never beyond loopback (docs/relay.md §1).
    static func loopbackAddress(_ text: String) throws(RelaySettingError) -> Address {
        let hosts = ["127.0.0.1:": "127.0.0.1", "[::1]:": "::1", "localhost:": "127.0.0.1"]
        for (prefix, host) in hosts where text.hasPrefix(prefix) {
            if let port = UInt16(text.dropFirst(prefix.count)), port > 0 { return Address(host: host, port: port) }
        }
        throw .init("ingest_listen must be a loopback address and port, e.g. 127.0.0.1:8765, found \"\(text)\"")
    }
}

/// Why a relay setting's value was refused.
public struct RelaySettingError: Error, Equatable, Sendable {
    public var message: String
    init(_ message: String) { self.message = message }
}
