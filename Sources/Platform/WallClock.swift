import Glibc

/// Wall-clock time in seconds since the epoch. Replaced by a fake in tests, so that every
/// schedule can be checked in microseconds (style.md).
public protocol WallClock: Sendable {
    func now() -> Double
}

public struct SystemWallClock: WallClock {
    /// Added to the system time: lets tests run the daemon with a local clock that is wrong by
    /// hours without touching the machine's clock.
    public let skew: Double

    public init(skew: Double = 0) { self.skew = skew }

    /// The corresponding C function is `clock_gettime(CLOCK_REALTIME)`.
    public func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9 + skew
    }
}

/// Microseconds of CLOCK_MONOTONIC, as systemd wants in `MONOTONIC_USEC=`.
public func monotonicMicroseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
}
