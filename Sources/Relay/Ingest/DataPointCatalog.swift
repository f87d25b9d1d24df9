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
    private let byID: [String: Point]
    /// Nil marks an ambiguous name.
    private let byName: [String: Point?]

    public init(_ configuration: DataSourceConfiguration) {
        var byID: [String: Point] = [:]
        var byName: [String: Point?] = [:]
        for source in configuration.dataSources {
            for point in source.dataPoints {
                let entry = Point(id: point.id, type: point.type)
                byID[point.id] = entry
                let name = source.name + "/" + point.name
                if byName[name] != nil {
                    byName[name] = .some(nil)
                } else {
                    byName[name] = .some(entry)
                }
            }
        }
        self.configurationID = configuration.configurationID
        self.byID = byID
        self.byName = byName
    }

    /// The point with this id, never by name: what revalidation of stored values uses.
    public func point(id: String) -> Point? { byID[id] }

    /// An id first, then a `source/point` name.
    public func resolve(_ reference: String) -> Resolution {
        if let point = byID[reference] { return .found(point) }
        switch byName[reference] {
        case .none: return .unknown
        case .some(.none): return .ambiguousName
        case .some(.some(let point)): return .found(point)
        }
    }

    /// `resolve` without the reason.
    public func lookup(_ reference: String) -> Point? {
        if case .found(let point) = resolve(reference) { point } else { nil }
    }

    public var count: Int { byID.count }
}
