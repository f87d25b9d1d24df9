/// One configuration and timestamp: the exchange's unit of overwrite. A later partial write at the
/// same timestamp replaces the whole record on the real service, so the values of one key travel
/// in one request (docs/relay.md §4, docs/protocol.md §14).
public struct TimeseriesKey: Hashable, Sendable {
    public var configurationID: String
    public var timestamp: Int64

    public init(configurationID: String, timestamp: Int64) {
        self.configurationID = configurationID
        self.timestamp = timestamp
    }
}

/// The smallest thing a batch is made of: one timeseries entry of one journal frame with its
/// contiguous sequence range (one record per value), or one event with its sequence.
public struct BatchUnit: Equatable, Sendable {
    public enum Content: Equatable, Sendable {
        case timeseries(TimeseriesEntry)
        case event(EventRecord)
    }

    public let firstSequence: UInt64
    public let content: Content
    /// What this unit adds to the request body at most (exactly, unless merged with another unit of
    /// the same key): the batch size estimate never under-estimates (docs/relay.md §4).
    public let estimatedBytes: Int

    /// A timeseries unit: the entry's values are the records `firstSequence…`, in order. An entry
    /// without values is not a unit (the batcher never makes one).
    public init(firstSequence: UInt64, entry: TimeseriesEntry) {
        self.firstSequence = firstSequence
        content = .timeseries(entry)
        estimatedBytes = ExchangeEncoder.unitBytes(entry)
    }

    public init(sequence: UInt64, event: EventRecord) {
        firstSequence = sequence
        content = .event(event)
        estimatedBytes = ExchangeEncoder.eventItemBytes(event)
    }

    public var recordCount: Int {
        switch content {
        case .timeseries(let entry): entry.values.count
        case .event: 1
        }
    }

    public var lastSequence: UInt64 { firstSequence + UInt64(max(recordCount, 1)) - 1 }

    /// What is left of this unit after the records through `sequence` are gone; nil when none is.
    public func trimmed(after sequence: UInt64) -> BatchUnit? {
        guard lastSequence > sequence else { return nil }
        guard firstSequence <= sequence, case .timeseries(var entry) = content else { return self }
        entry.values.removeFirst(Int(sequence - firstSequence + 1))
        return BatchUnit(firstSequence: sequence + 1, entry: entry)
    }

    /// The key a timeseries unit must not be separated from; nil for an event.
    public var key: TimeseriesKey? {
        guard case .timeseries(let entry) = content else { return nil }
        return TimeseriesKey(configurationID: entry.configurationID, timestamp: entry.timestamp)
    }
}

/// Units in sequence order that go out in one exchange request (docs/relay.md §4).
public struct Batch: Equatable, Sendable {
    public let units: [BatchUnit]
    /// An upper bound of the encoded body's size, framing included.
    public let estimatedBytes: Int

    /// `units` must be non-empty and in sequence order.
    public init(units: [BatchUnit]) {
        self.units = units
        var configurations = Set<String>()
        var bytes = ExchangeEncoder.closingBytes
        for unit in units {
            bytes += unit.estimatedBytes
            if case .timeseries(let entry) = unit.content, configurations.insert(entry.configurationID).inserted {
                bytes += ExchangeEncoder.timeseriesItemBytes(configurationID: entry.configurationID)
            }
        }
        estimatedBytes = bytes
    }

    public var firstSequence: UInt64 { units.first?.firstSequence ?? 0 }
    public var lastSequence: UInt64 { units.last?.lastSequence ?? 0 }
    public var recordCount: Int { units.reduce(0) { $0 + $1.recordCount } }

    /// Two batches, each with about half of the bytes, split where no key has units on both sides
    /// (docs/relay.md §4: 413 split, 400 bisect, 429 halving). Nil when there is no such point:
    /// one unit, or units that all belong to one key.
    public func halves() -> (first: Batch, second: Batch)? {
        guard units.count > 1 else { return nil }
        var lastIndex: [TimeseriesKey: Int] = [:]
        for (index, unit) in units.enumerated() {
            if let key = unit.key { lastIndex[key] = index }
        }
        let total = units.reduce(0) { $0 + $1.estimatedBytes }
        // A cut after `index` is allowed when every key seen so far ends at or before `index`.
        var reach = -1
        var prefix = 0
        var best: (cut: Int, distance: Int)?
        for index in 0..<(units.count - 1) {
            if let key = units[index].key, let last = lastIndex[key] { reach = max(reach, last) }
            prefix += units[index].estimatedBytes
            guard reach <= index else { continue }
            let distance = abs(2 * prefix - total)
            if let current = best, current.distance <= distance { continue }
            best = (index + 1, distance)
        }
        guard let cut = best?.cut else { return nil }
        return (Batch(units: Array(units[..<cut])), Batch(units: Array(units[cut...])))
    }
}
