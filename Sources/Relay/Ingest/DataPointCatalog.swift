public import Agent

/// The data points of the configuration in force, for validating values at ingest
/// (docs/relay.md §2). A producer may name a point by its id or as `<data source name>/<data point
/// name>` (docs/relay.md §1); ids win when a text is both.
public struct DataPointCatalog: Sendable {
    /// A resolved data point: the id the exchange expects and the type its value must fit.
    public struct Point: Equatable, Sendable {
        public let id: String
        public let type: DataPointType

        public init(id: String, type: DataPointType) {
            self.id = id
            self.type = type
        }
    }

    /// What a reference resolves to.
    public enum Resolution: Equatable, Sendable {
        case found(Point)
        case unknown
        /// Two (source, point) pairs spell the same `source/point` text, e.g. `a/b` + `c` and `a` + `b/c`.
        case ambiguousName
    }

    public let configurationID: String
    /// In configuration order; the position is the point's ordinal.
    let points: [Point]
    /// Keyed by UTF-8 so that a request body's bytes are looked up without making a String.
    private let byID: [UTF8Key: Int]
    /// -1 marks an ambiguous name.
    private let byName: [UTF8Key: Int]

    /// UTF-8 bytes hashed in one call rather than byte by byte.
    struct UTF8Key: Hashable, Sendable {
        let bytes: ArraySlice<UInt8>

        func hash(into hasher: inout Hasher) {
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    public init(_ configuration: DataSourceConfiguration) {
        var points: [Point] = []
        var byID: [UTF8Key: Int] = [:]
        var byName: [UTF8Key: Int] = [:]
        for source in configuration.dataSources {
            for point in source.dataPoints {
                let ordinal = points.count
                points.append(Point(id: point.id, type: point.type))
                byID[UTF8Key(bytes: Array(point.id.utf8)[...])] = ordinal
                let name = UTF8Key(bytes: Array((source.name + "/" + point.name).utf8)[...])
                byName[name] = byName[name] == nil ? ordinal : -1
            }
        }
        self.configurationID = configuration.configurationID
        self.points = points
        self.byID = byID
        self.byName = byName
    }

    /// The point with this id, never by name: what revalidation of stored values uses.
    public func point(id: String) -> Point? {
        byID[UTF8Key(bytes: Array(id.utf8)[...])].map { points[$0] }
    }

    /// An id first, then a `source/point` name.
    public func resolve(_ reference: String) -> Resolution {
        resolve(utf8: Array(reference.utf8)[...]).resolution
    }

    /// `resolve` without the reason.
    public func lookup(_ reference: String) -> Point? {
        if case .found(let point) = resolve(reference) { point } else { nil }
    }

    public var count: Int { points.count }

    /// The resolution and, when found, the point's ordinal.
    func resolve(utf8 reference: ArraySlice<UInt8>) -> (resolution: Resolution, ordinal: Int) {
        let key = UTF8Key(bytes: reference)
        if let ordinal = byID[key] { return (.found(points[ordinal]), ordinal) }
        switch byName[key] {
        case .none: return (.unknown, -1)
        case .some(-1): return (.ambiguousName, -1)
        case .some(let ordinal): return (.found(points[ordinal]), ordinal)
        }
    }
}
