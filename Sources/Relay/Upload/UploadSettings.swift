/// The numbers behind the relay's upload (docs/relay.md §4, §5), in one place.
public struct UploadSettings: Equatable, Sendable {
    /// The exchange endpoint answers 413 above this many body bytes (docs/protocol.md §14).
    public static let exchangeBodyLimit = 10_485_760
    /// Kept free below the limit: for proxies that count headers against it, and so that a batch
    /// that just fits is never the one that tips a request over.
    public static let framingHeadroom = 65_536
    /// No batch is built larger than this, whatever `relay_batch_bytes` says (docs/relay.md §4).
    public static let maximumBatchBytes = exchangeBodyLimit - framingHeadroom
    /// Halving after 429 stops here: MCL's default maximum body (docs/protocol.md §14), small enough
    /// for any proxy, large enough to carry a useful batch.
    public static let minimumBatchBytes = 16_384

    /// `relay_batch_bytes`: flush and close a batch at this many estimated body bytes, within
    /// `minimumBatchBytes…maximumBatchBytes`.
    public var batchBytes: Int {
        didSet { batchBytes = Self.clampedBatchBytes(batchBytes) }
    }
    /// `relay_flush_interval`: the oldest unsent record waits at most this long, in seconds.
    public var flushInterval: Double
    /// `relay_upload_rate`: bytes per second, nil for no limit.
    public var uploadRate: Double?

    /// Back-off after a transient failure (network, timeout, 5xx, 408): exponential from
    /// `backoffInitial` to `backoffMaximum`, forever (docs/relay.md §4).
    public var backoffInitial: Double = 1
    public var backoffMaximum: Double = 300
    /// Waiting after 429 without Retry-After: 30 s doubling to 5 min (docs/relay.md §4).
    public var throttleInitial: Double = 30
    public var throttleMaximum: Double = 300
    /// A server's Retry-After is taken within these bounds: 0 would retry in a loop, an hour would
    /// leave the backlog untouched far longer than any outage we retry through.
    public var retryAfterMinimum: Double = 1
    public var retryAfterMaximum: Double = 900
    /// While paused on 403 or an unexpected status, try again this often (docs/relay.md §4: pause
    /// and report; a permission can be granted again without hubagent noticing).
    public var pauseRetryInterval: Double = 300

    public init(batchBytes: Int = 1_048_576, flushInterval: Double = 5, uploadRate: Double? = nil) {
        self.batchBytes = Self.clampedBatchBytes(batchBytes)
        self.flushInterval = flushInterval
        self.uploadRate = uploadRate
    }

    static func clampedBatchBytes(_ bytes: Int) -> Int {
        min(max(bytes, minimumBatchBytes), maximumBatchBytes)
    }
}
