/// `relay_upload_rate`: a token bucket in bytes per second, so that draining a backlog does not
/// flood a metered uplink (docs/relay.md §4).
///
/// The bucket holds at most `burst` bytes. A request larger than the bucket waits until the
/// bucket is full and then drives it into debt, which later requests wait out: over time the rate
/// holds whatever the batch size.
public struct RateLimiter: Equatable, Sendable {
    public let bytesPerSecond: Double
    public let burst: Double
    /// Bytes available at `updated`; negative while in debt.
    public private(set) var tokens: Double
    public private(set) var updated: Double

    /// A full bucket at `now`. `burst` defaults to one second's worth.
    public init(bytesPerSecond: Double, burst: Double? = nil, now: Double) {
        self.bytesPerSecond = max(bytesPerSecond, 1)
        self.burst = max(burst ?? bytesPerSecond, 1)
        tokens = self.burst
        updated = now
    }

    /// The limiter `relay_upload_rate` asks for; nil when it is not set.
    public init?(settings: UploadSettings, now: Double) {
        guard let rate = settings.uploadRate else { return nil }
        self.init(bytesPerSecond: rate, now: now)
    }

    /// Seconds to wait from `now` before sending `bytes` (0: send now).
    public func delay(forSending bytes: Int, now: Double) -> Double {
        let needed = min(Double(bytes), burst)
        let available = tokens(at: now)
        return available >= needed ? 0 : (needed - available) / bytesPerSecond
    }

    /// Records that `bytes` were sent at `now`.
    public mutating func spend(_ bytes: Int, now: Double) {
        tokens = tokens(at: now) - Double(bytes)
        updated = max(updated, now)
    }

    private func tokens(at now: Double) -> Double {
        min(burst, tokens + max(0, now - updated) * bytesPerSecond)
    }
}
