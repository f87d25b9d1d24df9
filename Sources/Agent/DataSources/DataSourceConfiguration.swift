import Crypto
public import JSON
import Platform

/// `datasources.yaml` (docs/design.md §6), validated against docs/protocol.md §7: what Insights Hub needs to
/// interpret the agent's data, in the shape of the `PUT …/dataSourceConfiguration` body.
///
/// Values the file may leave out are derived so that they are the same on every run and machine:
/// - a data point `id` is `dp-` followed by the first 32 hex digits of SHA-256 over the UTF-8 of
///   *source name* U+001F *point name* (35 characters). Names cannot hold control characters, so
///   different (source, point) pairs never feed the same bytes to the hash.
/// - `configurationId` is `cfg-` followed by the first 32 hex digits of SHA-256 over the compact
///   JSON `{"dataSources":[…]}`, i.e. `canonicalJSON` without its `configurationId` member, derived
///   point ids included (36 characters). It changes exactly when the content does.
///
/// Further rules where docs/protocol.md is silent (documented here, enforced by `parse`):
/// - `name`, `id`, `configurationId` must not be empty; `unit` must be present and may be `""`;
///   `description` may be `""`.
/// - `customData` is a mapping of text to text: at most 5 entries (NODE-SDK "Max 5 tuples"), keys of
///   at most 64 characters, values of at most 256, kept in file order.
/// - Data source names are unique in the file, data point ids in the whole configuration; two
///   points of one source with the same name and no `id` would derive the same id and are refused.
/// - At most 2,000 data points overall: the page size agents use for data point mappings
///   (docs/protocol.md §7.1), and one request of about 250 KiB.
/// - Lengths count UTF-16 code units, as the Java service does; for text without emoji or
///   combining marks that is the number of characters.
/// - Control characters are refused in ids, names, units and customData keys; descriptions and
///   customData values may hold line breaks and tabs (written `\n`, `\t` in double quotes).
public struct DataSourceConfiguration: Equatable, Sendable {
    public var configurationID: String
    public var dataSources: [DataSource]

    public init(configurationID: String, dataSources: [DataSource]) {
        self.configurationID = configurationID
        self.dataSources = dataSources
    }

    /// docs/protocol.md §7: `configurationId` string ≤ 36.
    static let maximumConfigurationIDLength = 36
    /// docs/protocol.md §7: `dataSources[].name` ≤ 64; `dataPoints[].name` ≤ 64.
    static let maximumNameLength = 64
    /// docs/protocol.md §7: `description` ≤ 256, for sources and points.
    static let maximumDescriptionLength = 256
    /// docs/protocol.md §7: `dataPoints[].id` ≤ 36, unique per configuration.
    static let maximumPointIDLength = 36
    /// docs/protocol.md §7: `dataPoints[].unit` ≤ 32, "Can be empty".
    static let maximumUnitLength = 32
    /// docs/protocol.md §7: customData, "A list of string tuples. Max 5 tuples allowed." (NODE-SDK).
    static let maximumCustomDataEntries = 5
    static let maximumCustomDataKeyLength = 64
    static let maximumCustomDataValueLength = 256
    /// The mapping API's page size (docs/protocol.md §7.1, `size=2000`).
    static let maximumDataPoints = 2000

    /// Reads and validates `datasources.yaml`. Errors carry the line and column of the offending
    /// key or value, and what to write instead.
    public static func parse(_ bytes: [UInt8], file: String) throws(ConfigurationError) -> DataSourceConfiguration {
        let root = try YAMLSubset.parse(bytes, file: file)
        var reader = ConfigurationReader(file: file)
        return try reader.configuration(root)
    }

    /// The `PUT …/dataSourceConfiguration` body (docs/protocol.md §7): members in the protocol's order,
    /// absent descriptions and customData left out.
    public var canonicalJSON: JSONValue {
        .object([("configurationId", .string(configurationID)), ("dataSources", Self.json(dataSources))])
    }

    /// SHA-256 (lowercase hex) of `canonicalJSON.serialized`: what the last upload record keeps.
    public var contentHash: String {
        SHA256.hexHash(Array(canonicalJSON.serialized.utf8))
    }

    /// Sources, points, and points per type, for `hubagent validate`.
    public var summary: (sources: Int, points: Int, types: [DataPointType: Int]) {
        var types: [DataPointType: Int] = [:]
        var points = 0
        for source in dataSources {
            for point in source.dataPoints {
                types[point.type, default: 0] += 1
                points += 1
            }
        }
        return (dataSources.count, points, types)
    }

    /// Reads a configuration in the shape of `canonicalJSON`, e.g. the server's copy from `GET`.
    /// Members the server adds (`id`, `eTag`, …) are ignored, and so is a `null` description or
    /// customData. Nil when a required member is missing or of the wrong type, a type is unknown,
    /// or a customData value is not text: such a copy cannot equal the file's, so the caller
    /// overwrites it. Limits are not checked; this only reads.
    public static func fromCanonicalJSON(_ json: JSONValue) -> DataSourceConfiguration? {
        func customData(_ value: JSONValue?) -> [(String, String)]? {
            guard let value, value != .null else { return [] }
            guard let members = value.objectValue else { return nil }
            var pairs: [(String, String)] = []
            for (key, value) in members {
                guard let text = value.stringValue else { return nil }
                pairs.append((key, text))
            }
            return pairs
        }
        func description(_ value: JSONValue?) -> String?? {
            guard let value, value != .null else { return .some(nil) }
            guard let text = value.stringValue else { return nil }
            return .some(text)
        }
        guard let configurationID = json["configurationId"]?.stringValue, let sources = json["dataSources"]?.arrayValue
        else { return nil }
        var dataSources: [DataSource] = []
        for source in sources {
            guard let name = source["name"]?.stringValue, let sourceDescription = description(source["description"]),
                let sourceCustomData = customData(source["customData"]), let points = source["dataPoints"]?.arrayValue
            else { return nil }
            var dataPoints: [DataPoint] = []
            for point in points {
                guard let id = point["id"]?.stringValue, let pointName = point["name"]?.stringValue,
                    let typeName = point["type"]?.stringValue, let type = DataPointType(rawValue: typeName),
                    let unit = point["unit"]?.stringValue, let pointDescription = description(point["description"]),
                    let pointCustomData = customData(point["customData"])
                else { return nil }
                dataPoints.append(
                    DataPoint(
                        id: id, name: pointName, description: pointDescription, type: type, unit: unit,
                        customData: pointCustomData))
            }
            dataSources.append(
                DataSource(
                    name: name, description: sourceDescription, customData: sourceCustomData, dataPoints: dataPoints))
        }
        return DataSourceConfiguration(configurationID: configurationID, dataSources: dataSources)
    }

    /// `dp-` + 32 hex digits of SHA-256(source name U+001F point name); see the type's documentation.
    static func derivedPointID(source: String, point: String) -> String {
        "dp-" + SHA256.hexHash(Array((source + "\u{1F}" + point).utf8)).prefix(32)
    }

    /// `cfg-` + 32 hex digits of SHA-256(`{"dataSources":[…]}`); see the type's documentation.
    static func derivedConfigurationID(_ dataSources: [DataSource]) -> String {
        let content = JSONValue.object([("dataSources", json(dataSources))]).serialized
        return "cfg-" + SHA256.hexHash(Array(content.utf8)).prefix(32)
    }

    private static func json(_ dataSources: [DataSource]) -> JSONValue {
        func customData(_ pairs: [(String, String)], into members: inout [(String, JSONValue)]) {
            if !pairs.isEmpty { members.append(("customData", .object(pairs.map { ($0.0, .string($0.1)) }))) }
        }
        return .array(
            dataSources.map { source in
                var members: [(String, JSONValue)] = [("name", .string(source.name))]
                if let description = source.description { members.append(("description", .string(description))) }
                customData(source.customData, into: &members)
                members.append(
                    (
                        "dataPoints",
                        .array(
                            source.dataPoints.map { point in
                                var members: [(String, JSONValue)] = [
                                    ("id", .string(point.id)), ("name", .string(point.name)),
                                ]
                                if let description = point.description {
                                    members.append(("description", .string(description)))
                                }
                                members.append(("type", .string(point.type.rawValue)))
                                members.append(("unit", .string(point.unit)))
                                customData(point.customData, into: &members)
                                return .object(members)
                            })
                    ))
                return .object(members)
            })
    }
}

/// One `dataSources[]` entry: a named group of data points.
public struct DataSource: Equatable, Sendable {
    public var name: String
    public var description: String?
    /// In file order; empty when the file has none (then left out of the JSON).
    public var customData: [(String, String)]
    public var dataPoints: [DataPoint]

    public init(name: String, description: String? = nil, customData: [(String, String)] = [], dataPoints: [DataPoint])
    {
        self.name = name
        self.description = description
        self.customData = customData
        self.dataPoints = dataPoints
    }

    /// Order-sensitive, like `contentHash`.
    public static func == (lhs: DataSource, rhs: DataSource) -> Bool {
        lhs.name == rhs.name && lhs.description == rhs.description && sameCustomData(lhs.customData, rhs.customData)
            && lhs.dataPoints == rhs.dataPoints
    }
}

/// One `dataPoints[]` entry: a value the agent sends, identified in timeseries uploads by `id`.
public struct DataPoint: Equatable, Sendable {
    public var id: String
    public var name: String
    public var description: String?
    public var type: DataPointType
    public var unit: String
    /// In file order; empty when the file has none (then left out of the JSON).
    public var customData: [(String, String)]

    public init(
        id: String, name: String, description: String? = nil, type: DataPointType, unit: String,
        customData: [(String, String)] = []
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.type = type
        self.unit = unit
        self.customData = customData
    }

    /// Order-sensitive, like `contentHash`.
    public static func == (lhs: DataPoint, rhs: DataPoint) -> Bool {
        lhs.id == rhs.id && lhs.name == rhs.name && lhs.description == rhs.description && lhs.type == rhs.type
            && lhs.unit == rhs.unit && sameCustomData(lhs.customData, rhs.customData)
    }
}

private func sameCustomData(_ lhs: [(String, String)], _ rhs: [(String, String)]) -> Bool {
    lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
}

/// docs/protocol.md §7: AM-OAS 3.5.2 lists INT LONG DOUBLE BOOLEAN STRING; the NODE-SDK model and the
/// mapping types add BIG_STRING and TIMESTAMP. Case-sensitive: the server's case rules are unknown,
/// so the file uses the spelling of the API documentation.
public enum DataPointType: String, CaseIterable, Sendable {
    case int = "INT"
    case long = "LONG"
    case double = "DOUBLE"
    case boolean = "BOOLEAN"
    case string = "STRING"
    case bigString = "BIG_STRING"
    case timestamp = "TIMESTAMP"
}

// MARK: - From the YAML tree to the model

private struct ConfigurationReader {
    typealias Entry = YAMLNode.Entry
    let file: String
    var sourceNames: [String: Int] = [:]
    /// Every point id with the line of its `id` (or, when derived, its `name`) and whether it was derived.
    var pointIDs: [String: (line: Int, derived: Bool)] = [:]
    var pointCount = 0

    init(file: String) { self.file = file }

    func fail(_ line: Int?, _ column: Int?, _ message: String, _ fix: String? = nil) -> ConfigurationError {
        ConfigurationError(file: file, line: line, column: column, message: message, fix: fix)
    }

    static let topKeys = ["configurationId", "dataSources"]
    static let sourceKeys = ["name", "description", "customData", "dataPoints"]
    static let pointKeys = ["id", "name", "description", "type", "unit", "customData"]
    static let typeNames = DataPointType.allCases.map(\.rawValue).joined(separator: ", ")

    mutating func configuration(_ root: YAMLNode) throws(ConfigurationError) -> DataSourceConfiguration {
        guard case .mapping(let entries) = root else {
            var line = 1
            if case .sequence(let items) = root, case .mapping(let entries)? = items.first, let first = entries.first {
                line = first.line
            }
            throw fail(
                line, 1, "the top level must be a mapping with `dataSources:`, not a list",
                "start the file with `dataSources:` and indent the `- ` items under it")
        }
        guard let first = entries.first else {
            throw fail(
                nil, nil, "the file is empty", "describe the data sources under `dataSources:` (docs/design.md §6)")
        }
        let fields = try self.fields(entries, allowed: Self.topKeys, in: "at the top level")
        guard let sourcesEntry = fields["dataSources"] else {
            throw fail(
                first.line, first.column, "`dataSources` is missing",
                "add `dataSources:` with one `- name: …` item per data source")
        }
        let explicitID = try fields["configurationId"].map { entry throws(ConfigurationError) in
            try text(
                entry, "configurationId", limit: DataSourceConfiguration.maximumConfigurationIDLength, identifier: true)
        }
        var dataSources: [DataSource] = []
        for item in try list(sourcesEntry, of: "data source") {
            dataSources.append(try source(item))
        }
        return DataSourceConfiguration(
            configurationID: explicitID ?? DataSourceConfiguration.derivedConfigurationID(dataSources),
            dataSources: dataSources)
    }

    mutating func source(_ node: YAMLNode) throws(ConfigurationError) -> DataSource {
        guard case .mapping(let entries) = node, let first = entries.first else {
            // Unreachable: the parser makes every item a mapping.
            throw fail(nil, nil, "a data source must be a mapping")
        }
        let fields = try self.fields(entries, allowed: Self.sourceKeys, in: "in a data source")
        guard let nameEntry = fields["name"] else {
            throw fail(
                first.line, first.column, "this data source has no `name`", "add `name: …` (at most 64 characters)")
        }
        let name = try text(
            nameEntry, "data source name", limit: DataSourceConfiguration.maximumNameLength, identifier: true)
        if let earlier = sourceNames[name] {
            throw fail(
                nameEntry.value.line, nameEntry.value.column,
                "data source name `\(name)` is used twice: first at line \(earlier)",
                "give each data source its own name")
        }
        sourceNames[name] = nameEntry.line
        let description = try fields["description"].map { entry throws(ConfigurationError) in
            try text(entry, "description", limit: DataSourceConfiguration.maximumDescriptionLength, allowEmpty: true)
        }
        let customData =
            try fields["customData"].map { entry throws(ConfigurationError) in try self.customData(entry) } ?? []
        guard let pointsEntry = fields["dataPoints"] else {
            throw fail(
                first.line, first.column, "data source `\(name)` has no `dataPoints`",
                "add `dataPoints:` with one `- name: …` item per data point")
        }
        var dataPoints: [DataPoint] = []
        for item in try list(pointsEntry, of: "data point") {
            dataPoints.append(try point(item, source: name))
        }
        return DataSource(name: name, description: description, customData: customData, dataPoints: dataPoints)
    }

    mutating func point(_ node: YAMLNode, source: String) throws(ConfigurationError) -> DataPoint {
        guard case .mapping(let entries) = node, let first = entries.first else {
            // Unreachable: the parser makes every item a mapping.
            throw fail(nil, nil, "a data point must be a mapping")
        }
        pointCount += 1
        guard pointCount <= DataSourceConfiguration.maximumDataPoints else {
            throw fail(
                first.line, first.column, "more than \(DataSourceConfiguration.maximumDataPoints) data points",
                "an agent's configuration holds at most \(DataSourceConfiguration.maximumDataPoints) data points; "
                    + "remove unused ones"
            )
        }
        let fields = try self.fields(entries, allowed: Self.pointKeys, in: "in a data point")
        guard let nameEntry = fields["name"] else {
            throw fail(
                first.line, first.column, "this data point has no `name`", "add `name: …` (at most 64 characters)")
        }
        let name = try text(
            nameEntry, "data point name", limit: DataSourceConfiguration.maximumNameLength, identifier: true)
        guard let typeEntry = fields["type"] else {
            throw fail(
                first.line, first.column, "data point `\(name)` has no `type`",
                "add `type: …`, one of \(Self.typeNames)")
        }
        let typeName = try text(typeEntry, "type", limit: .max)
        guard let type = DataPointType(rawValue: typeName) else {
            let (line, column) = (typeEntry.value.line, typeEntry.value.column)
            if let upper = DataPointType(rawValue: typeName.uppercased()) {
                throw fail(
                    line, column, "type `\(typeName)` must be written in upper case", "write `type: \(upper.rawValue)`")
            }
            throw fail(line, column, "unknown type `\(typeName)`", "use one of \(Self.typeNames)")
        }
        guard let unitEntry = fields["unit"] else {
            throw fail(
                first.line, first.column, "data point `\(name)` has no `unit`",
                "add `unit: …`, or `unit: \"\"` when it has none")
        }
        let unit = try text(
            unitEntry, "unit", limit: DataSourceConfiguration.maximumUnitLength, allowEmpty: true, identifier: true)
        let description = try fields["description"].map { entry throws(ConfigurationError) in
            try text(entry, "description", limit: DataSourceConfiguration.maximumDescriptionLength, allowEmpty: true)
        }
        let customData =
            try fields["customData"].map { entry throws(ConfigurationError) in try self.customData(entry) } ?? []

        let id: String
        if let idEntry = fields["id"] {
            id = try text(idEntry, "id", limit: DataSourceConfiguration.maximumPointIDLength, identifier: true)
            if let earlier = pointIDs[id] {
                throw fail(
                    idEntry.value.line, idEntry.value.column, "id `\(id)` is used twice: first at line \(earlier.line)",
                    "data point ids must be unique in the whole file")
            }
            pointIDs[id] = (idEntry.line, false)
        } else {
            id = DataSourceConfiguration.derivedPointID(source: source, point: name)
            if let earlier = pointIDs[id] {
                let (line, column) = (nameEntry.value.line, nameEntry.value.column)
                if earlier.derived {
                    throw fail(
                        line, column,
                        "data point `\(name)` appears twice in data source `\(source)` (first at line "
                            + "\(earlier.line)), so both would get the id \(id)",
                        "rename one, or give each an explicit `id:`")
                }
                throw fail(
                    line, column, "the id derived for `\(name)`, \(id), is used twice: first at line \(earlier.line)",
                    "give this data point an explicit `id:`")
            }
            pointIDs[id] = (nameEntry.line, true)
        }
        return DataPoint(id: id, name: name, description: description, type: type, unit: unit, customData: customData)
    }

    func customData(_ entry: Entry) throws(ConfigurationError) -> [(String, String)] {
        guard case .mapping(let entries) = entry.value else {
            throw fail(
                entry.line, entry.column, "`customData` must be a mapping of `key: value` lines",
                "indent `key: value` lines under `customData:`")
        }
        var pairs: [(String, String)] = []
        for item in entries {
            if pairs.count == DataSourceConfiguration.maximumCustomDataEntries {
                throw fail(
                    item.line, item.column,
                    "more than \(DataSourceConfiguration.maximumCustomDataEntries) customData entries",
                    "Insights Hub accepts at most \(DataSourceConfiguration.maximumCustomDataEntries); remove some")
            }
            try checkLength(
                item.key, "customData key", limit: DataSourceConfiguration.maximumCustomDataKeyLength, line: item.line,
                column: item.column, identifier: true)
            guard !item.key.isEmpty else {
                throw fail(item.line, item.column, "a customData key is empty", "name the entry")
            }
            pairs.append(
                (
                    item.key,
                    try text(
                        item, "customData value", limit: DataSourceConfiguration.maximumCustomDataValueLength,
                        allowEmpty: true)
                ))
        }
        return pairs
    }

    /// The entries of a mapping by key, refusing keys that are not in `allowed`.
    func fields(_ entries: [Entry], allowed: [String], in place: String) throws(ConfigurationError) -> [String: Entry] {
        var fields: [String: Entry] = [:]
        for entry in entries {
            guard allowed.contains(entry.key) else {
                let guess = Self.closest(to: entry.key, in: allowed).map { "did you mean `\($0)`? " } ?? ""
                throw fail(
                    entry.line, entry.column, "unknown key `\(entry.key)` \(place)",
                    guess + "the keys here are \(allowed.joined(separator: ", ")) (case matters)")
            }
            fields[entry.key] = entry
        }
        return fields
    }

    /// The items of a `- ` list.
    func list(_ entry: Entry, of what: String) throws(ConfigurationError) -> [YAMLNode] {
        switch entry.value {
        case .sequence(let items) where !items.isEmpty: return items
        case .scalar(_, let line, let column, _):
            throw fail(
                line, column, "`\(entry.key)` must be a list of \(what)s",
                "write one `- name: …` line per \(what), indented under `\(entry.key):`")
        default:
            throw fail(
                entry.line, entry.column, "`\(entry.key)` must be a list of \(what)s",
                "write one `- name: …` line per \(what), indented under `\(entry.key):`")
        }
    }

    /// A scalar's text within `limit`; `identifier` refuses control characters.
    func text(_ entry: Entry, _ what: String, limit: Int, allowEmpty: Bool = false, identifier: Bool = false)
        throws(ConfigurationError) -> String
    {
        guard case .scalar(let value, let line, let column, _) = entry.value else {
            throw fail(
                entry.line, entry.column, "`\(entry.key)` must be a single value, not an indented block",
                "write `\(entry.key): …` on one line")
        }
        if value.isEmpty && !allowEmpty {
            throw fail(line, column, "\(what) is empty", "write the \(what) between the quotes")
        }
        try checkLength(value, what, limit: limit, line: line, column: column, identifier: identifier)
        return value
    }

    func checkLength(_ value: String, _ what: String, limit: Int, line: Int, column: Int, identifier: Bool)
        throws(ConfigurationError)
    {
        let length = value.utf16.count
        if length > limit {
            throw fail(line, column, "\(what) is \(length) characters long; at most \(limit) are allowed", "shorten it")
        }
        if identifier, value.unicodeScalars.contains(where: \.isControlCharacter) {
            throw fail(
                line, column, "\(what) contains a control character",
                "remove the \\n, \\t or \\u escape; only descriptions and customData values may hold them")
        }
    }

    /// The allowed key an operator most likely meant: same letters in another case, or at most
    /// two edits away.
    static func closest(to key: String, in allowed: [String]) -> String? {
        if let match = allowed.first(where: { $0.lowercased() == key.lowercased() }) { return match }
        let candidates = allowed.map { ($0, distance(Array($0.lowercased()), Array(key.lowercased()))) }
        return candidates.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension YAMLNode {
    /// Where a scalar starts; for a block, 0 (callers use the key's position instead).
    fileprivate var line: Int { if case .scalar(_, let line, _, _) = self { line } else { 0 } }
    fileprivate var column: Int { if case .scalar(_, _, let column, _) = self { column } else { 0 } }
}
