/// The numbers behind the lifecycle's schedule (docs/design.md §4), in one place.
public struct LifecyclePolicy: Equatable, Sendable {
    /// Rotate when this fraction of the secret's lifetime has passed (docs/design.md §4 rule 4).
    public var rotationFraction: Double = 2.0 / 3.0
    /// Refresh the access token this long before it expires at the latest (docs/design.md §4 rule 6).
    public var tokenRefreshMargin: Double = 300
    /// Backoff after a failure: exponential from `backoffInitial`, capped (docs/design.md §4 rule 8).
    public var backoffInitial: Double = 1
    public var backoffMaximum: Double = 300
    /// A server clock further off than this from our estimate means our offset is stale: the
    /// first thing to fix after a refused assertion (docs/design.md §4 rule 1).
    public var clockResyncThreshold: Double = 5
    /// Token lifetimes are taken within these bounds: southgate grants an hour (docs/protocol.md
    /// §6.3); a lifetime of years would cache one token forever, one of a second would refresh it
    /// in a loop.
    public var maximumTokenLifetime: Double = 86400
    public var minimumTokenRefreshDelay: Double = 1
    /// A token closer than this to its expiry is not handed to a local program: it needs the
    /// time to use it (docs/design.md §4 rule 6).
    public var tokenHandOutMargin: Double = 5
    #if HUBAGENT_TEST_HOOKS
        /// Test builds only (for the soak run): also rotate this long after the credentials in use
        /// were obtained, and refresh the token this long after it was granted, on the gateway's
        /// clock. Real lifetimes count in whole seconds and refreshes never come before half a
        /// token's life, which would make 10,000 rotations take days.
        public var testRotationInterval: Double?
        public var testTokenRefreshInterval: Double?
    #endif

    public init() {}

    /// Seconds after issue to refresh a token that lives `lifetime` seconds: at 80 % or `margin`
    /// before expiry, whichever is earlier, but never before half of its life, so that short
    /// test lifetimes do not turn into a refresh loop.
    public func tokenRefreshDelay(lifetime: Double) -> Double {
        let delay = max(min(lifetime * 0.8, lifetime - tokenRefreshMargin), lifetime * 0.5, minimumTokenRefreshDelay)
        #if HUBAGENT_TEST_HOOKS
            if let interval = testTokenRefreshInterval { return min(interval, delay) }
        #endif
        return delay
    }

    /// The delay before retry number `failures` (1-based), with `jitter` in [0, 1) spreading it
    /// between half and all of the exponential value, so a fleet does not retry in step.
    public func backoff(failures: Int, jitter: Double) -> Double {
        let exponential = backoffInitial * pow2(min(failures - 1, 30))
        return min(exponential, backoffMaximum) * (0.5 + 0.5 * jitter)
    }

    private func pow2(_ exponent: Int) -> Double {
        Double(1 << max(0, exponent))
    }
}
