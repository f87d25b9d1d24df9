/// A queued value that can no longer be sent after a configuration change (docs/relay.md §2): it
/// goes to the dead-letter file with its reason, is counted and reported, and is never sent.
public struct DeadValue: Equatable, Sendable {
    /// The configuration it was accepted under.
    public var configurationID: String
    public var timestamp: Int64
    public var value: TimeseriesValue
    public var reason: String

    public init(configurationID: String, timestamp: Int64, value: TimeseriesValue, reason: String) {
        self.configurationID = configurationID
        self.timestamp = timestamp
        self.value = value
        self.reason = reason
    }
}

/// Queued content checked again against a new configuration (docs/relay.md §2).
public enum Revalidation {
    /// Splits `content` into what still fits `catalog` and the values that do not.
    ///
    /// A value fits when its data point id is still in the configuration and the stored value
    /// fits the point's type now (`ValueRules.misfit`: an INT value fits a point changed to LONG;
    /// a LONG one fits INT only within 32 bits). What is kept moves to the new configurationId:
    /// the exchange knows only the configuration in force, and the old id would be dropped there.
    /// Entries left without values disappear; `keep` is nil when nothing is left. Events always fit.
    public static func split(_ content: JournalContent, against catalog: DataPointCatalog) -> (
        keep: JournalContent?, dead: [DeadValue]
    ) {
        guard case .timeseries(let entries) = content else { return (content, []) }
        var kept: [TimeseriesEntry] = []
        var dead: [DeadValue] = []
        for entry in entries {
            var values: [TimeseriesValue] = []
            values.reserveCapacity(entry.values.count)
            for value in entry.values {
                let reason = misfit(value, in: catalog)
                if let reason {
                    dead.append(
                        DeadValue(
                            configurationID: entry.configurationID, timestamp: entry.timestamp, value: value,
                            reason: reason))
                } else {
                    values.append(value)
                }
            }
            if !values.isEmpty {
                kept.append(
                    TimeseriesEntry(
                        configurationID: catalog.configurationID, timestamp: entry.timestamp, values: values))
            }
        }
        return (kept.isEmpty ? nil : .timeseries(kept), dead)
    }

    /// A journal frame's content checked against `catalog` with every record's sequence number
    /// kept: what fits, as runs of consecutive records (each run starts at its own sequence, so
    /// that the upload cursor counts exactly what was sent), and what does not, each with its
    /// sequence. Events always fit. Runs carry the catalog's configurationId.
    public static func pieces(_ content: JournalContent, firstSequence: UInt64, against catalog: DataPointCatalog)
        -> (fit: [(firstSequence: UInt64, content: JournalContent)], dead: [(sequence: UInt64, value: DeadValue)])
    {
        guard case .timeseries(let entries) = content else { return ([(firstSequence, content)], []) }
        // The common case, a frame of the configuration in force that still fits it, goes as it is.
        if entries.allSatisfy({ entry in
            entry.configurationID == catalog.configurationID
                && entry.values.allSatisfy { misfit($0, in: catalog) == nil }
        }) {
            return ([(firstSequence, content)], [])
        }
        var fit: [(firstSequence: UInt64, content: JournalContent)] = []
        var dead: [(sequence: UInt64, value: DeadValue)] = []
        var sequence = firstSequence
        for entry in entries {
            var run: [TimeseriesValue] = []
            var runStart = sequence
            func close() {
                if !run.isEmpty {
                    let kept = TimeseriesEntry(
                        configurationID: catalog.configurationID, timestamp: entry.timestamp, values: run)
                    fit.append((runStart, .timeseries([kept])))
                }
                run = []
            }
            for value in entry.values {
                defer { sequence += 1 }
                if let reason = misfit(value, in: catalog) {
                    close()
                    dead.append(
                        (
                            sequence,
                            DeadValue(
                                configurationID: entry.configurationID, timestamp: entry.timestamp, value: value,
                                reason: reason)
                        ))
                } else {
                    if run.isEmpty { runStart = sequence }
                    run.append(value)
                }
            }
            close()
        }
        return (fit, dead)
    }

    private static func misfit(_ value: TimeseriesValue, in catalog: DataPointCatalog) -> String? {
        guard let point = catalog.point(id: value.dataPointID) else {
            return "data point \(value.dataPointID) is not in configuration \(catalog.configurationID)"
        }
        return ValueRules.misfit(value.value, for: point.type).map {
            "data point \(value.dataPointID) is now \(point.type.rawValue) in configuration "
                + "\(catalog.configurationID): \($0)"
        }
    }
}
