/// Builds the next batch from journal frames read in sequence order after the acknowledged cursor
/// (docs/relay.md §4).
///
/// - Units are taken until the batch's estimated body reaches `target`; the unit that reaches it
///   is still taken.
/// - Then only units whose key is already in the batch are taken, so the values of one timestamp
///   are not split across requests; the first other unit closes the batch.
/// - Nothing is added that would take the batch over `ceiling`. When a unit of a key already in
///   the batch does not fit, the batch is cut before that key's first unit instead, provided the
///   cut leaves something to send. Only a single key too large for one request on its own is
///   split across requests: the service keeps one record ≤ 200,000 bytes (docs/protocol.md §14),
///   so this needs a timestamp with tens of thousands of data points.
/// - A first unit larger than `ceiling` makes a batch of its own: `UploadPolicy` dead-letters it
///   without sending (docs/relay.md §4: a single record over the ceiling is a dead letter).
public struct Batcher: Sendable {
    public let cursor: UInt64?
    public let target: Int
    public let ceiling: Int
    private var units: [BatchUnit] = []
    private var keys: Set<TimeseriesKey> = []
    private var configurations: Set<String> = []
    /// The estimated body size of what has been taken so far.
    public private(set) var estimatedBytes = ExchangeEncoder.closingBytes
    /// The batch is closed: feed no more frames.
    public private(set) var isFull = false

    /// Records with a sequence at or below `cursor` are skipped (nil: nothing is acknowledged yet).
    public init(after cursor: UInt64?, target: Int, ceiling: Int = UploadSettings.maximumBatchBytes) {
        self.cursor = cursor
        self.ceiling = ceiling
        self.target = min(target, ceiling)
    }

    /// The batch's estimated size has reached the target: it is worth sending now.
    public var reachedTarget: Bool { estimatedBytes >= target }

    /// Takes what the batch can of the frame whose first record is `firstSequence`. Returns false
    /// once the batch is closed; the rest of this frame and later frames belong to the next batch.
    @discardableResult
    public mutating func add(firstSequence: UInt64, content: JournalContent) -> Bool {
        guard !isFull else { return false }
        switch content {
        case .event(let event):
            if let cursor, firstSequence <= cursor { return true }
            offer(BatchUnit(sequence: firstSequence, event: event))
        case .timeseries(let entries):
            var sequence = firstSequence
            for entry in entries where !isFull {
                let count = UInt64(entry.values.count)
                let start = sequence
                sequence += count
                guard count > 0 else { continue }
                // A frame may straddle the cursor: keep only the records after it.
                var skipped: UInt64 = 0
                if let cursor, cursor >= start { skipped = min(count, cursor - start + 1) }
                guard skipped < count else { continue }
                var remaining = entry
                remaining.values.removeFirst(Int(skipped))
                offer(BatchUnit(firstSequence: start + skipped, entry: remaining))
            }
        }
        return !isFull
    }

    /// The batch taken so far; nil when it has no unit.
    public func batch() -> Batch? {
        units.isEmpty ? nil : Batch(units: units)
    }

    /// The batch made from `frames` (in sequence order) after `cursor`.
    public static func batch(
        frames: some Sequence<(firstSequence: UInt64, content: JournalContent)>, after cursor: UInt64?, target: Int,
        ceiling: Int = UploadSettings.maximumBatchBytes
    ) -> Batch? {
        var batcher = Batcher(after: cursor, target: target, ceiling: ceiling)
        for frame in frames where !batcher.add(firstSequence: frame.firstSequence, content: frame.content) { break }
        return batcher.batch()
    }

    /// What a frame adds to the pending upload at most, without the per-configuration item framing:
    /// for the flush decision (docs/relay.md §4), kept as a running sum by the caller.
    public static func estimatedBytes(of content: JournalContent) -> Int {
        switch content {
        case .event(let event): ExchangeEncoder.eventItemBytes(event)
        case .timeseries(let entries):
            entries.reduce(0) { $0 + ($1.values.isEmpty ? 0 : ExchangeEncoder.unitBytes($1)) }
        }
    }

    private mutating func offer(_ unit: BatchUnit) {
        var added = unit.estimatedBytes
        if case .timeseries(let entry) = unit.content, !configurations.contains(entry.configurationID) {
            added += ExchangeEncoder.timeseriesItemBytes(configurationID: entry.configurationID)
        }
        guard !units.isEmpty else { return take(unit, adding: added) }
        let continuesKey = unit.key.map { keys.contains($0) } ?? false
        if reachedTarget && !continuesKey {
            isFull = true
            return
        }
        if estimatedBytes + added > ceiling {
            if continuesKey, let key = unit.key { cut(before: key) }
            isFull = true
            return
        }
        take(unit, adding: added)
    }

    private mutating func take(_ unit: BatchUnit, adding bytes: Int) {
        units.append(unit)
        estimatedBytes += bytes
        if let key = unit.key {
            keys.insert(key)
            configurations.insert(key.configurationID)
        }
    }

    /// Drops the units from the last point before `key`'s first unit where no key has units on both
    /// sides; keeps everything when that point is the start.
    private mutating func cut(before key: TimeseriesKey) {
        guard let first = units.firstIndex(where: { $0.key == key }) else { return }
        var lastIndex: [TimeseriesKey: Int] = [:]
        for (index, unit) in units.enumerated() {
            if let unitKey = unit.key { lastIndex[unitKey] = index }
        }
        var reach = -1
        var cut = 0
        for index in 0..<first {
            if let unitKey = units[index].key, let last = lastIndex[unitKey] { reach = max(reach, last) }
            if reach <= index { cut = index + 1 }
        }
        guard cut > 0 else { return }
        let kept = Array(units[..<cut])
        units = []
        keys = []
        configurations = []
        estimatedBytes = ExchangeEncoder.closingBytes
        for unit in kept {
            var added = unit.estimatedBytes
            if case .timeseries(let entry) = unit.content, !configurations.contains(entry.configurationID) {
                added += ExchangeEncoder.timeseriesItemBytes(configurationID: entry.configurationID)
            }
            take(unit, adding: added)
        }
    }
}
