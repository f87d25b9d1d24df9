/// When to build and send the next batch (docs/relay.md §4): at once when a batch's worth is
/// pending, else when the oldest unsent record has waited `flushInterval`; no timer at all when
/// nothing is pending.
public struct FlushPolicy: Equatable, Sendable {
    /// `relay_flush_interval`, seconds.
    public var flushInterval: Double

    public init(flushInterval: Double = 5) {
        self.flushInterval = flushInterval
    }

    public init(settings: UploadSettings) {
        self.init(flushInterval: settings.flushInterval)
    }

    /// The gateway time to flush at (≤ `now` means now), or nil when nothing is pending.
    /// `pendingBytes` is the running estimate of unsent bytes (`Batcher.estimatedBytes(of:)`),
    /// `oldestIngestTime` the ingest time of the oldest unsent record, `batchTarget` the policy's.
    public func flushTime(pendingBytes: Int, oldestIngestTime: Double?, batchTarget: Int, now: Double) -> Double? {
        guard pendingBytes > 0, let oldestIngestTime else { return nil }
        if pendingBytes >= batchTarget { return now }
        return oldestIngestTime + flushInterval
    }
}
