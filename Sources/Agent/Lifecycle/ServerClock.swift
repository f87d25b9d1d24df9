/// A moment on southgate's clock, in epoch seconds: when a secret expires, when it was issued,
/// when a rotation is due. The lifecycle's own `now`, deadlines and timers are plain `Double`
/// seconds on the gateway's clock; the two meet only through `ServerClock`, so a gateway time
/// cannot be compared with a server time by mistake (docs/design.md §4 rule 7).
public struct ServerTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var seconds: Double

    public init(_ seconds: Double) { self.seconds = seconds }

    public static func < (lhs: ServerTime, rhs: ServerTime) -> Bool { lhs.seconds < rhs.seconds }

    public var description: String { Format.time(seconds) }
}

/// Southgate's clock as seen from the gateway: the offset learnt from the responses that carried
/// the server's time (`Server-Time` or `Date`, docs/protocol.md §10.3).
///
/// One answer alone does not move a known offset by more than the tolerance: a far-off header
/// (a proxy's cache, a misconfigured balancer node) would otherwise make valid credentials look
/// expired. A different offset is taken once two answers in a row agree on it, or at once when
/// southgate refused an assertion and said its time (`resync`).
public struct ServerClock: Equatable, Sendable {
    /// Server clock minus gateway clock, seconds; nil until a response has told us.
    public private(set) var offset: Double?
    /// An offset one answer reported that disagrees with `offset`, waiting for a second one.
    public private(set) var candidate: Double?

    public init(offset: Double? = nil) { self.offset = offset }

    /// Whether a response has told us the server's time: rules that judge expiry wait for it,
    /// so that a wrong gateway clock cannot declare credentials expired.
    public var isKnown: Bool { offset != nil }

    /// The server's time at gateway time `now` (the gateway's own time while unknown).
    public func serverTime(at now: Double) -> ServerTime { ServerTime(now + (offset ?? 0)) }

    /// The gateway time at which the server's clock shows `time`.
    public func gatewayTime(of time: ServerTime) -> Double { time.seconds - (offset ?? 0) }

    /// The offset to sign assertions with (0 while unknown).
    public var assertionOffset: Double { offset ?? 0 }

    /// A response said the server's time was `serverTime` at gateway time `now`.
    public mutating func observe(_ serverTime: Double?, at now: Double, tolerance: Double) {
        guard let serverTime else { return }
        let sample = serverTime - now
        guard let known = offset, abs(sample - known) > tolerance else {
            offset = sample
            candidate = nil
            return
        }
        if let candidate, abs(sample - candidate) <= tolerance {
            offset = sample
            self.candidate = nil
        } else {
            candidate = sample
        }
    }

    /// Southgate refused an assertion and told its time: take it at once.
    public mutating func resync(_ serverTime: Double, at now: Double) {
        offset = serverTime - now
        candidate = nil
    }
}

extension Registration {
    public var secretExpiry: ServerTime? { secretExpiresAt.map(ServerTime.init) }
}

extension Identity {
    /// When to rotate on the server's clock: `fraction` of the way from issue to expiry
    /// (docs/design.md §4 rule 4).
    public func rotationDue(fraction: Double) -> ServerTime? {
        guard let expiresAt = current.secretExpiresAt else { return nil }
        return ServerTime(current.issuedAt + max(0, expiresAt - current.issuedAt) * fraction)
    }
}

extension BoardingConfiguration {
    /// The earlier of `expiration` and the IAT's `exp` on the server's clock.
    public var expiry: ServerTime? { expiresAt.map(ServerTime.init) }
}
